"""Bytes <-> messages. Sans-I/O: no sockets, no clock.

`decode` never raises on any input bytes: it returns a message or a
`ProtocolError`. `encode` writes the canonical bytes (docs/protocol.md,
"Canonical encoding") and checks its own output with `decode`, raising
`EncodeError` if our code built a message the peer would refuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

import msgpack

from bridge.protocol import errors as E
from bridge.protocol.errors import EncodeError, ProtocolError
from bridge.protocol.messages import ErrorReply, Message, Order, Position, Quote
from bridge.protocol.schema import (
    ENVELOPE,
    LIST_KINDS,
    NUMBER_KINDS,
    ORDER_FIELDS,
    POSITION_FIELDS,
    PROTOCOL_VERSION,
    QUOTE_FIELDS,
    SCHEMA,
    Direction,
    FieldSpec,
    Kind,
)
from bridge.protocol.validate import Pairs, validate
from bridge.protocol.validate_fast import fast_message

DEFAULT_MAX_FRAME_SIZE = 64 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """Decoder limits; a hostile frame can make the decoder allocate little more than these."""

    max_frame_size: int = DEFAULT_MAX_FRAME_SIZE  # bytes, checked before decoding
    max_str_len: int = 4096  # bytes per string (also per bin / ext payload)
    max_array_len: int = 4096  # elements per array (hello positions)
    max_map_len: int = 64  # pairs per map


DEFAULT_LIMITS = Limits()


@lru_cache(maxsize=64)  # built once per Limits, not 9 entries per frame (unpackb copies the kwargs)
def _unpack_options(limits: Limits) -> dict[str, Any]:
    return dict(
        raw=False,
        use_list=True,
        strict_map_key=False,  # non-str keys are reported by the validator, precisely
        object_pairs_hook=Pairs,
        max_str_len=limits.max_str_len,
        max_bin_len=limits.max_str_len,  # bin/ext are never valid; bounded, then
        max_ext_len=limits.max_str_len,  # refused by the validator as wrong_type
        max_array_len=limits.max_array_len,
        max_map_len=limits.max_map_len,
    )


def _truncated(frame: bytes | bytearray | memoryview, limits: Limits) -> bool:
    """The frame ends inside its value. `unpackb` says so only in its message text; the
    streaming `Unpacker` raises the class `OutOfData`. Asked on the error path only (an
    Unpacker costs a tenth of a frame's decoding), with the same limits: nothing big is built."""
    unpacker = msgpack.Unpacker(**_unpack_options(limits))
    unpacker.feed(frame)
    try:
        unpacker.unpack()
    except msgpack.OutOfData:
        return True
    except Exception:  # noqa: BLE001 - any other refusal: not a truncation
        return False
    return False


def is_limit_error(exc: ValueError) -> bool:
    """msgpack reports a max_*_len cap as a plain ValueError ("... exceeds max_map_len(...)"):
    it has no exception class of its own, so its text is the only mark. One place reads it."""
    return "exceeds max_" in str(exc)


def unpack_frame(frame: bytes | bytearray | memoryview, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Raw bytes -> one msgpack value (maps as `Pairs`), or a frame-level ProtocolError."""
    size = len(frame)
    if size > limits.max_frame_size:
        return ProtocolError(E.FRAME_TOO_LARGE, f"{size} bytes > limit {limits.max_frame_size}")
    if size == 0:
        return ProtocolError(E.NOT_MSGPACK, "empty frame")
    # unpackb, not an Unpacker per frame: an Unpacker object embeds its parse stack, ~40 KB
    # zeroed at every construction (a tenth of a frame's decoding, and the cache it evicts)
    try:
        value = msgpack.unpackb(frame, **_unpack_options(limits))
    except msgpack.ExtraData as exc:
        return ProtocolError(E.TRAILING_BYTES, f"{len(exc.extra)} bytes after the msgpack value")
    except msgpack.StackError:
        return ProtocolError(E.NOT_MSGPACK, "nesting too deep")
    except UnicodeDecodeError:
        return ProtocolError(E.NOT_MSGPACK, "string is not valid UTF-8")
    except ValueError as exc:
        if _truncated(frame, limits):
            return ProtocolError(E.NOT_MSGPACK, "truncated msgpack value")
        if is_limit_error(exc):
            return ProtocolError(E.LIMIT_EXCEEDED, str(exc))
        return ProtocolError(E.NOT_MSGPACK, f"invalid msgpack: {exc or type(exc).__name__}")
    except Exception as exc:  # noqa: BLE001 - the contract is "never raises on bytes"
        return ProtocolError(E.NOT_MSGPACK, f"invalid msgpack: {type(exc).__name__}")
    return value


def decode(
    frame: bytes | bytearray | memoryview,
    *,
    direction: Direction | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Message | ProtocolError:
    """One frame -> a message dataclass, or the ProtocolError explaining the refusal.

    `direction` is the way the frame travelled (the daemon passes TO_DAEMON); a type
    not sent that way is refused with `wrong_direction`. None accepts both.
    """
    value = unpack_frame(frame, limits)
    if type(value) is Pairs:
        msg = fast_message(value, direction)  # a plainly valid frame; else `validate` says why
        if msg is not None:
            return msg
    elif isinstance(value, ProtocolError):
        return value
    return validate(value, direction)


# --- encoding ----------------------------------------------------------------------

_PACKER_OPTIONS = {"use_bin_type": True, "use_single_float": False, "autoreset": True}


def pack_canonical(wire: Mapping[str, Any]) -> bytes:
    """Pack a wire map as given: keys in iteration order, smallest ints, float64, str.

    The caller supplies the key order and Python types (floats for numbers);
    `to_wire` builds such a map from a message.
    """
    return msgpack.Packer(**_PACKER_OPTIONS).pack(wire)


def _number(value: Any, path: str) -> float:
    if type(value) is int:
        value = Decimal(value)
    if not isinstance(value, Decimal):
        raise EncodeError(ProtocolError(E.WRONG_TYPE, f"expected Decimal, got {type(value).__name__}", path))
    if not value.is_finite():
        raise EncodeError(ProtocolError(E.NOT_FINITE, f"{value} is not finite", path))
    f = float(value)
    if f != f or f in (float("inf"), float("-inf")):
        raise EncodeError(ProtocolError(E.NOT_FINITE, f"{value} overflows float64", path))
    if Decimal(repr(f)) != value:
        raise EncodeError(
            ProtocolError(E.INEXACT_NUMBER, f"{value} does not survive float64 (would read {f!r})", path)
        )
    return f if f != 0 else 0.0  # canonical zero is +0.0


_ITEM_CLASSES: dict[Kind, tuple[type, tuple[FieldSpec, ...]]] = {
    Kind.POSITIONS: (Position, POSITION_FIELDS), Kind.QUOTES: (Quote, QUOTE_FIELDS), Kind.SYMBOLS: (str, ()),
    Kind.ORDERS: (Order, ORDER_FIELDS),
}  # fmt: skip

_PY_TYPES: dict[Kind, tuple[type, ...]] = {
    Kind.UINT: (int,), Kind.INT: (int,), Kind.BOOL: (bool,),
    Kind.TEXT: (str,), Kind.NAME: (str,), Kind.ENUM: (str,),
}  # fmt: skip


def _wire_value(spec: FieldSpec, value: Any, path: str) -> Any:
    if spec.kind in NUMBER_KINDS:
        return _number(value, path)
    if spec.kind in LIST_KINDS:
        item_cls, fields = _ITEM_CLASSES[spec.kind]
        if not isinstance(value, (tuple, list)):
            raise EncodeError(ProtocolError(E.WRONG_TYPE, f"expected a tuple of {item_cls.__name__}", path))
        out = []
        for i, p in enumerate(value):
            if not isinstance(p, item_cls):
                raise EncodeError(ProtocolError(E.WRONG_TYPE, f"expected {item_cls.__name__}", f"{path}[{i}]"))
            if spec.kind is Kind.SYMBOLS:
                out.append(str(p))
            else:
                out.append({f.name: _wire_value(f, getattr(p, f.name), f"{path}[{i}].{f.name}") for f in fields
                            if not _left_out(f, getattr(p, f.name))})
        return out
    expected = _PY_TYPES[spec.kind]
    if expected == (str,):
        if isinstance(value, str):
            return str(value)  # a StrEnum member travels as its plain value
    elif type(value) is expected[0]:  # `is`: bool is an int subclass and must not pass as int
        return value
    raise EncodeError(
        ProtocolError(E.WRONG_TYPE, f"expected {expected[0].__name__}, got {type(value).__name__}", path)
    )


def _left_out(field: FieldSpec, value: Any) -> bool:
    """Canonical: an optional field at 0 (or empty, or an enum at its first choice) is left out
    (one form per value)."""
    return field.optional and (type(value) in (int, Decimal) and value == 0 or type(value) is tuple and not value
                               or bool(field.choices) and value == field.choices[0])


def to_wire(message: Message) -> dict[str, Any]:
    """A message -> its wire map, keys in canonical order, numbers as float.

    Raises EncodeError for Python values that have no wire form (wrong type, NaN,
    a Decimal float64 cannot carry exactly).
    """
    spec = SCHEMA[message.TYPE]
    wire: dict[str, Any] = {"v": PROTOCOL_VERSION, "type": message.TYPE}
    for field in ENVELOPE[2:] + spec.fields:
        value = getattr(message, field.name)
        if _left_out(field, value):
            continue
        wire[field.name] = _wire_value(field, value, field.name)
    return wire


def encode(message: Message, *, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """A message -> its canonical frame. Raises EncodeError if the peer would refuse it."""
    frame = pack_canonical(to_wire(message))
    check = decode(frame, limits=limits)
    if isinstance(check, ProtocolError):
        raise EncodeError(check)
    return frame


def error_reply(error: ProtocolError, *, id: int, seq: int, ts: int, login: int = 0) -> ErrorReply:  # noqa: A002
    """The `error` message telling the peer why its message was refused.

    `login` is the account addressed (0 if the frame was too broken to tell);
    `ref_id` comes from the error (the offending message's id, 0 if unknown).
    """
    return ErrorReply(
        id=id, seq=seq, ts=ts, login=login,
        code=error.code, detail=error.detail, ref_id=error.ref_id, field=error.field,
    )  # fmt: skip
