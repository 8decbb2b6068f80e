"""mtbridge wire protocol: msgpack messages between terminals and the daemon (sans-I/O).

    from bridge.protocol import decode, encode, Direction, ProtocolError
    msg = decode(frame, direction=Direction.TO_DAEMON)
    if isinstance(msg, ProtocolError): reply(encode(error_reply(msg, id=..., seq=..., ts=now)))

See docs/protocol.md for the wire format.
"""

from bridge.protocol.codec import (
    DEFAULT_LIMITS,
    DEFAULT_MAX_FRAME_SIZE,
    Limits,
    decode,
    encode,
    error_reply,
    pack_canonical,
    to_wire,
    unpack_frame,
)
from bridge.protocol.errors import ERROR_CODES, EncodeError, ProtocolError
from bridge.protocol.messages import (
    MESSAGE_CLASSES,
    AccountUpdate,
    Close,
    CommandResult,
    ErrorReply,
    Heartbeat,
    Hello,
    Message,
    Modify,
    Open,
    Order,
    OrderFilled,
    OrderModified,
    OrderPlaced,
    OrderRemoved,
    OrdersSnapshot,
    PlaceOrder,
    ModifyOrder,
    CancelOrder,
    Position,
    PositionClosed,
    PositionModified,
    PositionOpened,
    Quote,
    Quotes,
    Redirect,
    Welcome,
)
from bridge.protocol.schema import (
    ENVELOPE,
    MAX_QUOTES,
    MAX_VOLUME,
    PROTOCOL_VERSION,
    RETCODE_EXPIRED,
    SCHEMA,
    Direction,
    FieldSpec,
    Kind,
    MessageSpec,
)
from bridge.protocol.sequence import OutboundCounter, SequenceTracker
from bridge.protocol.validate import to_decimal

__all__ = [
    "DEFAULT_LIMITS", "DEFAULT_MAX_FRAME_SIZE", "ENVELOPE", "ERROR_CODES", "MAX_QUOTES", "MAX_VOLUME",
    "MESSAGE_CLASSES", "PROTOCOL_VERSION", "RETCODE_EXPIRED", "SCHEMA",
    "AccountUpdate", "Close", "CommandResult", "Direction", "EncodeError", "ErrorReply",
    "FieldSpec", "Heartbeat", "Hello", "Kind", "Limits", "Message", "MessageSpec", "Modify",
    "Open", "OutboundCounter", "Position", "PositionClosed", "PositionModified",
    "PositionOpened", "ProtocolError", "Quote", "Quotes", "Redirect", "SequenceTracker", "Welcome",
    "Order", "OrdersSnapshot", "OrderPlaced", "OrderModified", "OrderRemoved", "OrderFilled", "PlaceOrder", "ModifyOrder", "CancelOrder",
    "decode", "encode", "error_reply", "pack_canonical", "to_decimal", "to_wire", "unpack_frame",
]  # fmt: skip
