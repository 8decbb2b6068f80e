"""The message table as data.

Every message is one msgpack map: the envelope fields, then the body fields of its
type, in the order given here. The codec, the validator, the docs and the golden
vectors are all driven by this table, so adding a type here (plus its dataclass in
`messages.py` and a vector) is the whole job.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from types import MappingProxyType

PROTOCOL_VERSION = 1
SUPPORTED_VERSIONS = frozenset({PROTOCOL_VERSION})

# A volume above this many lots is refused as absurd (fat finger or garbage).
MAX_VOLUME = Decimal(10_000)

# command_result.retcode of an `open` refused because it arrived after its `expires`. An
# mtbridge code outside MetaTrader's 10004-10046, so never mistaken for 10012 (server timeout,
# outcome unknown): the terminal did not trade.
RETCODE_EXPIRED = 20001

# hello.utc_offset_ms: real zones lie within ±14 h and are multiples of 15 min.
MAX_UTC_OFFSET_MS = 14 * 3_600_000
UTC_OFFSET_STEP_MS = 15 * 60_000


class Kind(Enum):
    """What a field may hold on the wire, and what it becomes once decoded."""

    UINT = "uint"  # msgpack int >= 0 -> int
    INT = "int"  # any msgpack int -> int
    BOOL = "bool"  # msgpack true/false -> bool
    TEXT = "text"  # msgpack str, may be empty -> str
    NAME = "name"  # msgpack str, non-empty -> str
    ENUM = "enum"  # msgpack str from FieldSpec.choices -> str
    MONEY = "money"  # float64 (or int), finite, any sign -> Decimal
    PRICE = "price"  # float64 (or int), finite, >= 0 (0 = none) -> Decimal
    VOLUME = "volume"  # float64 (or int), 0 < v <= MAX_VOLUME -> Decimal
    VOLUME0 = "volume0"  # float64 (or int), 0 <= v <= MAX_VOLUME -> Decimal
    POSITIONS = "positions"  # msgpack array of position maps -> tuple[Position, ...]


NUMBER_KINDS = frozenset({Kind.MONEY, Kind.PRICE, Kind.VOLUME, Kind.VOLUME0})


class Direction(Enum):
    TO_DAEMON = "to_daemon"  # terminal -> daemon
    TO_TERMINAL = "to_terminal"  # daemon -> terminal


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    kind: Kind
    doc: str
    choices: tuple[str, ...] = ()
    bound: int = 0  # INT/UINT: |value| <= bound when > 0
    step: int = 0  # INT/UINT: value % step == 0 when > 0
    # May be absent, read as 0: only for a field added after senders shipped, until they all send it.
    optional: bool = False


@dataclass(frozen=True, slots=True)
class MessageSpec:
    type: str
    directions: frozenset[Direction]
    fields: tuple[FieldSpec, ...]
    doc: str

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


SIDES = ("buy", "sell")
ROLES = ("trader", "investor")
PLATFORMS = ("MT4", "MT5")
CLOSE_REASONS = ("client", "sl", "tp", "so")

F = FieldSpec

# `v` and `type` are checked first and are not part of the dataclasses; the four
# others are the first fields of every message dataclass.
ENVELOPE: tuple[FieldSpec, ...] = (
    F("v", Kind.UINT, "protocol version, currently 1"),
    F("type", Kind.NAME, "message type, a key of SCHEMA"),
    F("id", Kind.UINT, "message id, unique per sender (never reused, also across reconnects)"),
    F("seq", Kind.UINT, "per-connection sequence number: 1 on hello/welcome, +1 per message sent"),
    F("ts", Kind.UINT, "sender's clock, UTC milliseconds since the Unix epoch"),
    F("login", Kind.UINT, "MetaTrader account login the message speaks for / is addressed to"),
)
ENVELOPE_NAMES = tuple(f.name for f in ENVELOPE)

POSITION_FIELDS: tuple[FieldSpec, ...] = (
    F("ticket", Kind.UINT, "position ticket (MT5 position id / MT4 order ticket)"),
    F("symbol", Kind.NAME, "symbol name as the terminal knows it"),
    F("side", Kind.ENUM, "direction", SIDES),
    F("volume", Kind.VOLUME, "open volume, lots"),
    F("price", Kind.PRICE, "open price"),
    F("sl", Kind.PRICE, "stop loss price, 0 = none"),
    F("tp", Kind.PRICE, "take profit price, 0 = none"),
    F("time", Kind.UINT, "open time, UTC ms since the Unix epoch (the terminal converts from trade server time)"),
    F("magic", Kind.INT, "EA magic number"),
    F("comment", Kind.TEXT, "order comment, may be empty"),
)

_T, _D = frozenset({Direction.TO_DAEMON}), frozenset({Direction.TO_TERMINAL})
_BOTH = _T | _D

_SPECS: tuple[MessageSpec, ...] = (
    MessageSpec(
        "hello",
        _T,
        (
            F("role", Kind.ENUM, "copy-trading role, equal to the key's on the daemon's allow-list: trader (signal source) or investor (follower)", ROLES),
            F("platform", Kind.ENUM, "terminal platform", PLATFORMS),
            F("account_type", Kind.NAME, "account type name, e.g. mt4_standard"),
            F("currency", Kind.NAME, "account deposit currency, e.g. USD"),
            F("leverage", Kind.UINT, "account leverage, e.g. 100 for 1:100"),
            F("balance", Kind.MONEY, "balance, account currency"),
            F("equity", Kind.MONEY, "equity, account currency"),
            F("positions", Kind.POSITIONS, "full snapshot of open positions (maybe empty)"),
            F("utc_offset_ms", Kind.INT, "trade server time minus UTC at the time of the hello, ms "
              "(server time = UTC + offset); |offset| <= 14 h, a multiple of 15 min",
              bound=MAX_UTC_OFFSET_MS, step=UTC_OFFSET_STEP_MS),
        ),
        "first message on every connection (seq 1); also sent again after a reconnect",
    ),
    MessageSpec("heartbeat", _BOTH, (), "liveness, envelope only; both directions"),
    MessageSpec(
        "position_opened", _T, POSITION_FIELDS, "a position was opened (the position map, flattened)"
    ),
    MessageSpec(
        "position_modified",
        _T,
        (
            F("ticket", Kind.UINT, "position ticket"),
            F("sl", Kind.PRICE, "new stop loss, 0 = none"),
            F("tp", Kind.PRICE, "new take profit, 0 = none"),
            F("time", Kind.UINT, "modification time, UTC ms since the Unix epoch"),
        ),
        "stop loss / take profit of a position changed",
    ),
    MessageSpec(
        "position_closed",
        _T,
        (
            F("ticket", Kind.UINT, "position ticket"),
            F("volume", Kind.VOLUME, "volume closed by this deal, lots"),
            F("remaining", Kind.VOLUME0, "volume still open, lots; 0 = fully closed"),
            F("price", Kind.PRICE, "close price"),
            F("time", Kind.UINT, "close time, UTC ms since the Unix epoch"),
            F("reason", Kind.ENUM, "who closed it: client, sl, tp or so (stop out)", CLOSE_REASONS),
            F("profit", Kind.MONEY, "realised profit of this deal, account currency"),
        ),
        "a position was closed fully or partly",
    ),
    MessageSpec(
        "account_update",
        _T,
        (
            F("balance", Kind.MONEY, "balance, account currency"),
            F("equity", Kind.MONEY, "equity, account currency"),
            F("margin", Kind.PRICE, "used margin, account currency (>= 0)"),
            F("free_margin", Kind.MONEY, "free margin, account currency (may be negative)"),
            F("leverage", Kind.UINT, "account leverage"),
        ),
        "account figures changed",
    ),
    MessageSpec(
        "command_result",
        _T,
        (
            F("key", Kind.NAME, "idempotency key of the command answered"),
            F("ok", Kind.BOOL, "true if the command was executed"),
            F("retcode", Kind.INT, "MT5 TRADE_RETCODE_* (10009 = done)"),
            F("ticket", Kind.UINT, "ticket of the position opened/closed/modified, 0 if none"),
            F("price", Kind.PRICE, "execution price, 0 if none"),
            F("volume", Kind.VOLUME0, "executed volume, lots, 0 if none"),
            F("time", Kind.UINT, "execution time, UTC ms since the Unix epoch"),
            F("message", Kind.TEXT, "human-readable detail, may be empty"),
        ),
        "outcome of an open/close/modify command",
    ),
    MessageSpec(
        "welcome",
        _D,
        (
            F("server_time", Kind.UINT, "daemon clock, UTC ms since the Unix epoch"),
            F("heartbeat_ms", Kind.UINT, "heartbeat interval both sides use, ms"),
            F("resume", Kind.BOOL, "true if the daemon knew this login (reconnect), false on first contact"),
            F("last_id", Kind.UINT, "the highest message id of this login the daemon has journaled (0 = none): "
              "the terminal re-sends, with new ids, its reports (position_*) above it. Optional: absent reads as 0",
              optional=True),
        ),
        "answer to hello; first daemon message on a connection (seq 1)",
    ),
    MessageSpec(
        "open",
        _D,
        (
            F("key", Kind.NAME, "idempotency key"),
            F("symbol", Kind.NAME, "symbol to trade"),
            F("side", Kind.ENUM, "direction", SIDES),
            F("volume", Kind.VOLUME, "volume, lots"),
            F("sl", Kind.PRICE, "stop loss, 0 = none"),
            F("tp", Kind.PRICE, "take profit, 0 = none"),
            F("magic", Kind.INT, "magic number to set"),
            F("comment", Kind.TEXT, "comment to set"),
            F("expires", Kind.UINT, "UTC ms after which the terminal must not execute this open "
              f"(it answers retcode {RETCODE_EXPIRED}); 0 = no deadline. Optional: absent reads as 0",
              optional=True),
        ),
        "open a market position",
    ),
    MessageSpec(
        "close",
        _D,
        (
            F("key", Kind.NAME, "idempotency key"),
            F("ticket", Kind.UINT, "position to close"),
            F("volume", Kind.VOLUME, "volume to close, lots (less than open volume = partial close)"),
        ),
        "close a position fully or partly",
    ),
    MessageSpec(
        "modify",
        _D,
        (
            F("key", Kind.NAME, "idempotency key"),
            F("ticket", Kind.UINT, "position to modify"),
            F("sl", Kind.PRICE, "new stop loss, 0 = none"),
            F("tp", Kind.PRICE, "new take profit, 0 = none"),
        ),
        "change stop loss / take profit",
    ),
    MessageSpec(
        "error",
        _D,
        (
            F("code", Kind.NAME, "error code (see the error codes table)"),
            F("detail", Kind.TEXT, "human-readable detail"),
            F("ref_id", Kind.UINT, "id of the offending message, 0 if unknown"),
            F("field", Kind.TEXT, "offending field path, may be empty"),
        ),
        "the daemon refused a message",
    ),
)

SCHEMA: MappingProxyType[str, MessageSpec] = MappingProxyType({s.type: s for s in _SPECS})
