"""Protocol errors as values.

The decoder and the sequence tracker never raise on bad input: they return a
`ProtocolError`. `EncodeError` is the one exception, raised by `encode` when our
own code tries to send a message that would not pass the peer's validation
(a programming error, not hostile input).

The codes are a stable, documented set (docs/protocol.md, "Error codes"):
never rename one; add new ones at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

# Frame level (raw bytes, before the map is looked at).
FRAME_TOO_LARGE = "frame_too_large"
NOT_MSGPACK = "not_msgpack"
LIMIT_EXCEEDED = "limit_exceeded"
TRAILING_BYTES = "trailing_bytes"
NOT_A_MAP = "not_a_map"
# Map level.
DUPLICATE_FIELD = "duplicate_field"
UNSUPPORTED_VERSION = "unsupported_version"
UNKNOWN_TYPE = "unknown_type"
WRONG_DIRECTION = "wrong_direction"
MISSING_FIELD = "missing_field"
EXTRA_FIELD = "extra_field"
# Field values.
WRONG_TYPE = "wrong_type"
NOT_FINITE = "not_finite"
NEGATIVE_VALUE = "negative_value"
ZERO_VOLUME = "zero_volume"
VOLUME_TOO_LARGE = "volume_too_large"
EMPTY_STRING = "empty_string"
BAD_ENUM = "bad_enum"
INEXACT_NUMBER = "inexact_number"
OUT_OF_RANGE = "out_of_range"
# Connection sequence.
NOT_STARTED = "not_started"
BAD_START_SEQ = "bad_start_seq"
SEQUENCE_REPLAY = "sequence_replay"
SEQUENCE_GAP = "sequence_gap"

# code -> one-line meaning; docs/protocol.md must list every key (tested).
ERROR_CODES = MappingProxyType(
    {
        FRAME_TOO_LARGE: "the raw frame is longer than the receiver's limit (checked before decoding)",
        NOT_MSGPACK: "the bytes are not one valid msgpack value (truncated, reserved byte 0xc1, bad UTF-8, nesting too deep)",
        LIMIT_EXCEEDED: "a msgpack string, array, map, bin or ext header is longer than the decoder's limit",
        TRAILING_BYTES: "bytes follow the first msgpack value in the frame",
        NOT_A_MAP: "the frame's value is not a msgpack map",
        DUPLICATE_FIELD: "a map holds the same key twice",
        UNSUPPORTED_VERSION: "`v` is an int but not a version this receiver speaks",
        UNKNOWN_TYPE: "`type` names no message in the schema",
        WRONG_DIRECTION: "the message type exists but may not be sent in this direction",
        MISSING_FIELD: "a required field is absent",
        EXTRA_FIELD: "a field not in the schema is present (or a map key is not a string)",
        WRONG_TYPE: "a field has the wrong msgpack type (bool is never a number or an int)",
        NOT_FINITE: "a number is NaN, +inf or -inf",
        NEGATIVE_VALUE: "a field that must be >= 0 is negative",
        ZERO_VOLUME: "a volume that must be positive is zero",
        VOLUME_TOO_LARGE: "a volume is above MAX_VOLUME (10 000 lots)",
        EMPTY_STRING: "a string that must be non-empty is empty",
        BAD_ENUM: "a string field holds a value outside its enumeration",
        INEXACT_NUMBER: "a number has no exact float64 form (an int beyond +/-2^53; on encode, a Decimal that float64 would change)",
        NOT_STARTED: "a message arrived on a connection before its opening hello/welcome",
        BAD_START_SEQ: "a hello/welcome carried a seq other than 1",
        SEQUENCE_REPLAY: "seq is lower than or equal to the last accepted seq",
        SEQUENCE_GAP: "seq is higher than the last accepted seq + 1",
        OUT_OF_RANGE: "an int or a number is outside its field's range (a number other than 0 closer to 0 than "
                      "1e-8 too), or an int is not a multiple of its step (hello.utc_offset_ms)",
    }
)


@dataclass(frozen=True, slots=True)
class ProtocolError:
    """Why a frame or message was refused.

    `field` is a path into the message ("volume", "positions[1].side"), empty when
    the error is about the whole frame. `ref_id` is the offending message's `id`
    when it could be read, else 0.
    """

    code: str
    detail: str
    field: str = ""
    ref_id: int = 0


class EncodeError(ValueError):
    """Raised by `encode` when a message would not validate; carries the error."""

    def __init__(self, error: ProtocolError) -> None:
        super().__init__(f"{error.code}: {error.field}: {error.detail}")
        self.error = error
