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

from bridge.protocol.orders import ORDER_TYPES

PROTOCOL_VERSION = 1
SUPPORTED_VERSIONS = frozenset({PROTOCOL_VERSION})

# A volume above this many lots is refused as absurd (fat finger or garbage).
MAX_VOLUME = Decimal(10_000)
# Money and prices beyond this magnitude are refused: far above any real account or quote, far
# below where the engine's 28-digit decimals overflow (a price x 100 000 units x 10 000 lots x a
# conversion rate still fits). The same bound as the `mtbridge` command line's.
MAX_AMOUNT = Decimal("1e12")
# A number other than 0 closer to 0 than this is refused (5e-324 is not a price): below any
# tick, lot step or cent, and it keeps every decimal the engine derives short.
MIN_MAGNITUDE = Decimal("1e-8")

# Integer ranges. Ids, sequence numbers, tickets and logins end up in SQLite INTEGER columns and
# MQL `long`s: signed 64-bit. Times are UTC ms up to the last instant a datetime holds.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
UINT64_MAX = 2**64 - 1  # msgpack's largest int (magic: MT5 numbers are ulong)
MAX_ID = INT64_MAX
MAX_TIME_MS = 253_402_300_799_999  # 9999-12-31 23:59:59.999 UTC
MAX_LEVERAGE = 1_000_000  # 1:1 000 000; brokers offer up to 1:3000
RETCODE_MIN, RETCODE_MAX = -(2**31), 2**32 - 1  # MT4 int error codes, MT5 uint retcodes

# command_result.retcode of an `open` refused because it arrived after its `expires`. An
# mtbridge code outside MetaTrader's 10004-10046, so never mistaken for 10012 (server timeout,
# outcome unknown): the terminal did not trade.
RETCODE_EXPIRED = 20001

# quotes.quotes and welcome.quote_symbols: at most this many items (a terminal reports a few
# conversion pairs; the daemon asks for Rules.conversion_symbols(), 7 with the packaged rules).
MAX_QUOTES = 32

# orders_snapshot.orders: at most this many pending orders (the EAs watch as many, Orders.mqh)
MAX_SNAPSHOT_ORDERS = 512

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
    QUOTES = "quotes"  # msgpack array of 1..MAX_QUOTES quote maps -> tuple[Quote, ...]
    SYMBOLS = "symbols"  # msgpack array of 0..MAX_QUOTES non-empty str -> tuple[str, ...]
    ORDERS = "orders"  # msgpack array of 0..MAX_SNAPSHOT_ORDERS order maps -> tuple[Order, ...]


NUMBER_KINDS = frozenset({Kind.MONEY, Kind.PRICE, Kind.VOLUME, Kind.VOLUME0})
INT_KINDS = frozenset({Kind.UINT, Kind.INT})
LIST_KINDS = frozenset({Kind.POSITIONS, Kind.QUOTES, Kind.SYMBOLS, Kind.ORDERS})
# (fewest, most) items of a bounded array kind; POSITIONS is bounded by the decoder's array limit
ITEM_RANGES = {Kind.QUOTES: (1, MAX_QUOTES), Kind.SYMBOLS: (0, MAX_QUOTES), Kind.ORDERS: (0, MAX_SNAPSHOT_ORDERS)}


class Direction(Enum):
    TO_DAEMON = "to_daemon"  # terminal -> daemon
    TO_TERMINAL = "to_terminal"  # daemon -> terminal


_NUMBER_RANGES: dict[Kind, tuple[Decimal, Decimal]] = {
    Kind.MONEY: (-MAX_AMOUNT, MAX_AMOUNT), Kind.PRICE: (Decimal(0), MAX_AMOUNT),
    Kind.VOLUME: (Decimal(0), MAX_VOLUME), Kind.VOLUME0: (Decimal(0), MAX_VOLUME),
}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    kind: Kind
    doc: str
    choices: tuple[str, ...] = ()
    bound: int = 0  # INT/UINT: |value| <= bound when > 0 (sets low and high)
    step: int = 0  # INT/UINT: value % step == 0 when > 0
    # May be absent, read as 0 (an array: as empty; an enum: its first choice): only for a field
    # added after senders shipped, until they all send it; the canonical encoding leaves it out
    # at that value.
    optional: bool = False
    low: int | None = None  # INT/UINT: the smallest value (default: 0 for UINT, -bound for INT)
    high: int | None = None  # INT/UINT: the largest value; every int field states one

    def int_range(self) -> tuple[int, int]:
        """(lowest, highest) value of an INT/UINT field, both inclusive."""
        if self.bound:
            return -self.bound, self.bound
        low = self.low if self.low is not None else (0 if self.kind is Kind.UINT else INT64_MIN)
        if self.high is None:
            raise AssertionError(f"schema: int field {self.name!r} states no upper bound")
        return low, self.high

    def number_range(self) -> tuple[Decimal, Decimal]:
        """(lowest, highest) value of a number field, both inclusive; 0 < |x| < MIN_MAGNITUDE
        is refused too, and a VOLUME is never 0."""
        return _NUMBER_RANGES[self.kind]  # on the per-frame path: one table, built once

    def range_text(self) -> str:
        """The field's range in words, as docs/protocol.md states it (a test checks the docs);
        "" for a field that is not a number, an int or a bounded array."""
        if self.kind in ITEM_RANGES:
            low, high = ITEM_RANGES[self.kind]
            return f"{low} .. {high} items"
        if self.kind not in INT_KINDS and self.kind not in NUMBER_KINDS:
            return ""
        if self.kind in NUMBER_KINDS:
            low, high = self.number_range()
            if self.kind is Kind.VOLUME:
                return f"{_num(MIN_MAGNITUDE)} .. {_num(high)}"
            tiny = f" (0 or |x| >= {_num(MIN_MAGNITUDE)})" if low < 0 else f" (0 or >= {_num(MIN_MAGNITUDE)})"
            return f"{'-' if low < 0 else ''}{_num(high) if low < 0 else '0'} .. {_num(high)}{tiny}"
        low, high = self.int_range()
        text = f"{_int(low)} .. {_int(high)}"
        return text + (f", a multiple of {_int(self.step)}" if self.step else "")


def _num(value: Decimal) -> str:
    """1e12, 1e-8, 10000: the short form the docs use."""
    if value == value.to_integral_value() and abs(value) < 100_000:
        return str(int(value))
    return f"{value:e}".replace("e+", "e").replace(".0e", "e").replace("1.000000e", "1e")


def _int(value: int) -> str:
    named = {INT64_MIN: "-2^63", INT64_MAX: "2^63-1", UINT64_MAX: "2^64-1", RETCODE_MIN: "-2^31",
             RETCODE_MAX: "2^32-1"}
    return named.get(value, str(value))


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
MARGIN_MODES = ("hedging", "netting")  # hello.margin_mode: the first is what an absent field reads as
CLOSE_REASONS = ("client", "sl", "tp", "so")
# Pending orders (issue 15 items 3, 6): the types (bridge/protocol/orders.py), why one left the book
_ORDER_TYPES_TEXT = ", ".join(ORDER_TYPES[:-1]) + " or " + ORDER_TYPES[-1] + " (the stop-limits: MT5 only)"
ORDER_REMOVED_REASONS = ("cancelled", "expired")

F = FieldSpec

# `v` and `type` are checked first and are not part of the dataclasses; the four
# others are the first fields of every message dataclass.
ENVELOPE: tuple[FieldSpec, ...] = (
    F("v", Kind.UINT, "protocol version, currently 1"),
    F("type", Kind.NAME, "message type, a key of SCHEMA"),
    F("id", Kind.UINT, "message id, unique per sender (never reused, also across reconnects)", high=MAX_ID),
    F("seq", Kind.UINT, "per-connection sequence number: 1 on hello/welcome, +1 per message sent", high=MAX_ID),
    F("ts", Kind.UINT, "sender's clock, UTC milliseconds since the Unix epoch", high=MAX_TIME_MS),
    F("login", Kind.UINT, "MetaTrader account login the message speaks for / is addressed to", high=MAX_ID),
)
ENVELOPE_NAMES = tuple(f.name for f in ENVELOPE)

POSITION_FIELDS: tuple[FieldSpec, ...] = (
    F("ticket", Kind.UINT, "position ticket (MT5 position id / MT4 order ticket)", high=MAX_ID),
    F("symbol", Kind.NAME, "symbol name as the terminal knows it"),
    F("side", Kind.ENUM, "direction", SIDES),
    F("volume", Kind.VOLUME, "open volume, lots"),
    F("price", Kind.PRICE, "open price"),
    F("sl", Kind.PRICE, "stop loss price, 0 = none"),
    F("tp", Kind.PRICE, "take profit price, 0 = none"),
    F("time", Kind.UINT, "open time, UTC ms since the Unix epoch (the terminal converts from trade server time)",
      high=MAX_TIME_MS),
    F("magic", Kind.INT, "EA magic number", high=UINT64_MAX),
    F("comment", Kind.TEXT, "order comment, may be empty"),
    F("swap", Kind.MONEY, "swap accrued so far, account currency (MT5 POSITION_SWAP, MT4 OrderSwap). Optional: "
      "absent reads as 0 (an EA older than the field)", optional=True),
)

QUOTE_FIELDS: tuple[FieldSpec, ...] = (
    F("symbol", Kind.NAME, "symbol name as the terminal knows it, one of welcome.quote_symbols"),
    F("bid", Kind.PRICE, "bid price (the daemon refuses 0: a quote has both sides)"),
    F("ask", Kind.PRICE, "ask price, >= bid (the daemon refuses ask < bid)"),
    F("time", Kind.UINT, "time of the quote, UTC ms since the Unix epoch (the terminal converts from trade "
      "server time)", high=MAX_TIME_MS),
)

# one pending order as `orders_snapshot` carries it: `order_placed`'s body
def _order_fields() -> tuple[FieldSpec, ...]:
    return next(s for s in _SPECS if s.type == "order_placed").fields


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
            F("leverage", Kind.UINT, "account leverage, e.g. 100 for 1:100", low=1, high=MAX_LEVERAGE),
            F("balance", Kind.MONEY, "balance, account currency"),
            F("equity", Kind.MONEY, "equity, account currency"),
            F("positions", Kind.POSITIONS, "full snapshot of open positions (maybe empty)"),
            F("utc_offset_ms", Kind.INT, "trade server time minus UTC at the time of the hello, ms "
              "(server time = UTC + offset); |offset| <= 14 h, a multiple of 15 min",
              bound=MAX_UTC_OFFSET_MS, step=UTC_OFFSET_STEP_MS),
            F("margin_mode", Kind.ENUM, "the account's position accounting: hedging (positions by ticket; MT4 "
              "always) or netting (MT5 ACCOUNT_MARGIN_MODE_RETAIL_NETTING or _EXCHANGE: one position per "
              "symbol). Optional: absent reads as hedging", MARGIN_MODES, optional=True),
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
            F("ticket", Kind.UINT, "position ticket", high=MAX_ID),
            F("sl", Kind.PRICE, "new stop loss, 0 = none"),
            F("tp", Kind.PRICE, "new take profit, 0 = none"),
            F("time", Kind.UINT, "modification time, UTC ms since the Unix epoch", high=MAX_TIME_MS),
            F("swap", Kind.MONEY, "the position's swap now, account currency; a swap change alone (rollover) is "
              "reported with sl/tp unchanged. Optional: absent reads as 0", optional=True),
        ),
        "stop loss / take profit or the swap of a position changed",
    ),
    MessageSpec(
        "position_closed",
        _T,
        (
            F("ticket", Kind.UINT, "position ticket", high=MAX_ID),
            F("volume", Kind.VOLUME, "volume closed by this deal, lots"),
            F("remaining", Kind.VOLUME0, "volume still open, lots; 0 = fully closed"),
            F("price", Kind.PRICE, "close price"),
            F("time", Kind.UINT, "close time, UTC ms since the Unix epoch", high=MAX_TIME_MS),
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
            F("leverage", Kind.UINT, "account leverage", low=1, high=MAX_LEVERAGE),
        ),
        "account figures changed",
    ),
    MessageSpec(
        "command_result",
        _T,
        (
            F("key", Kind.NAME, "idempotency key of the command answered"),
            F("ok", Kind.BOOL, "true if the command was executed"),
            F("retcode", Kind.INT, "MT5 TRADE_RETCODE_* (10009 = done)", low=RETCODE_MIN, high=RETCODE_MAX),
            F("ticket", Kind.UINT, "ticket of the position opened/closed/modified, 0 if none", high=MAX_ID),
            F("price", Kind.PRICE, "execution price, 0 if none"),
            F("volume", Kind.VOLUME0, "executed volume, lots, 0 if none"),
            F("time", Kind.UINT, "execution time, UTC ms since the Unix epoch", high=MAX_TIME_MS),
            F("message", Kind.TEXT, "human-readable detail, may be empty"),
        ),
        "outcome of an open/close/modify command",
    ),
    MessageSpec(
        "quotes",
        _T,
        (F("quotes", Kind.QUOTES, "the latest quote of each reported symbol (1 .. 32 quote maps)"),),
        "market quotes of welcome.quote_symbols: the daemon's conversion rates",
    ),
    MessageSpec(
        "welcome",
        _D,
        (
            F("server_time", Kind.UINT, "daemon clock, UTC ms since the Unix epoch", high=MAX_TIME_MS),
            F("heartbeat_ms", Kind.UINT, "heartbeat interval both sides use, ms", low=1, high=MAX_TIME_MS),
            F("resume", Kind.BOOL, "true if the daemon knew this login (reconnect), false on first contact"),
            F("last_id", Kind.UINT, "the highest message id of this login the daemon has journaled (0 = none): "
              "the terminal re-sends, with new ids, its reports (position_*) above it. Optional: absent reads as 0",
              optional=True, high=MAX_ID),
            F("quote_symbols", Kind.SYMBOLS, "the symbols whose quotes the terminal reports in `quotes` (the "
              "daemon's conversion pairs). Optional: absent reads as empty (report nothing)", optional=True),
        ),
        "answer to hello; first daemon message on a connection (seq 1)",
    ),
    MessageSpec(
        "redirect",
        _D,
        (
            F("shard", Kind.NAME, "the shard the login belongs to (daemons sharded by trader, docs/scaling.md)"),
            F("endpoint", Kind.TEXT, "where that shard's daemon takes terminals, e.g. tcp://10.0.0.2:5570: close this "
              "connection and say hello there; empty = the shard has no owner right now (failover in progress): "
              "say hello again, here or to another daemon, after heartbeat interval"),
        ),
        "answer to hello instead of welcome (seq 1) from a daemon that does not serve the login",
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
            F("magic", Kind.INT, "magic number to set", high=UINT64_MAX),
            F("comment", Kind.TEXT, "comment to set"),
            F("expires", Kind.UINT, "UTC ms after which the terminal must not execute this open "
              f"(it answers retcode {RETCODE_EXPIRED}); 0 = no deadline. Optional: absent reads as 0",
              optional=True, high=MAX_TIME_MS),
        ),
        "open a market position",
    ),
    MessageSpec(
        "close",
        _D,
        (
            F("key", Kind.NAME, "idempotency key"),
            F("ticket", Kind.UINT, "position to close", high=MAX_ID),
            F("volume", Kind.VOLUME, "volume to close, lots (less than open volume = partial close)"),
        ),
        "close a position fully or partly",
    ),
    MessageSpec(
        "modify",
        _D,
        (
            F("key", Kind.NAME, "idempotency key"),
            F("ticket", Kind.UINT, "position to modify", high=MAX_ID),
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
            F("ref_id", Kind.UINT, "id of the offending message, 0 if unknown", high=MAX_ID),
            F("field", Kind.TEXT, "offending field path, may be empty"),
        ),
        "the daemon refused a message",
    ),
    # --- pending orders (issue 15 item 6): new types, so older peers are unaffected -----------
    MessageSpec(
        "order_placed",
        _T,
        (
            F("ticket", Kind.UINT, "order ticket", high=MAX_ID),
            F("symbol", Kind.NAME, "symbol name as the terminal knows it"),
            F("order_type", Kind.ENUM, _ORDER_TYPES_TEXT, ORDER_TYPES),
            F("volume", Kind.VOLUME, "volume, lots"),
            F("price", Kind.PRICE, "the order's price"),
            F("sl", Kind.PRICE, "stop loss, 0 = none"),
            F("tp", Kind.PRICE, "take profit, 0 = none"),
            F("expiration", Kind.UINT, "UTC ms when the server removes the order, 0 = good till cancelled",
              high=MAX_TIME_MS),
            F("time", Kind.UINT, "placement time, UTC ms since the Unix epoch", high=MAX_TIME_MS),
            F("stoplimit", Kind.PRICE, "a stop-limit's Limit price, placed when `price` is reached (MT5 "
              "ORDER_PRICE_STOPLIMIT); 0 for the other types. Optional: absent reads as 0", optional=True),
            F("magic", Kind.INT, "the order's magic number (MT4 OrderMagicNumber, MT5 ORDER_MAGIC). Optional: "
              "absent reads as 0", optional=True, high=UINT64_MAX),
        ),
        "a limit or stop order was placed (a trader's own, or an investor's copy order)",
    ),
    MessageSpec(
        "order_modified",
        _T,
        (
            F("ticket", Kind.UINT, "order ticket", high=MAX_ID),
            F("price", Kind.PRICE, "new price"),
            F("sl", Kind.PRICE, "new stop loss, 0 = none"),
            F("tp", Kind.PRICE, "new take profit, 0 = none"),
            F("expiration", Kind.UINT, "new expiration, UTC ms, 0 = good till cancelled", high=MAX_TIME_MS),
            F("time", Kind.UINT, "modification time, UTC ms since the Unix epoch", high=MAX_TIME_MS),
            F("stoplimit", Kind.PRICE, "a stop-limit's new Limit price; 0 for the other types. Optional: absent "
              "reads as 0", optional=True),
        ),
        "a pending order's price, stops or expiration changed",
    ),
    MessageSpec(
        "order_removed",
        _T,
        (
            F("ticket", Kind.UINT, "order ticket", high=MAX_ID),
            F("removal", Kind.ENUM, "cancelled (by hand or by command) or expired (by the server)",
              ORDER_REMOVED_REASONS),
            F("time", Kind.UINT, "removal time, UTC ms since the Unix epoch", high=MAX_TIME_MS),
        ),
        "a pending order left the book without a fill",
    ),
    MessageSpec(
        "order_filled",
        _T,
        (
            F("ticket", Kind.UINT, "order ticket", high=MAX_ID),
            F("position", Kind.UINT, "the position the fill made (MT4, MT5 hedging: the order's ticket)",
              high=MAX_ID),
            F("symbol", Kind.NAME, "symbol name as the terminal knows it"),
            F("side", Kind.ENUM, "direction of the position", SIDES),
            F("volume", Kind.VOLUME, "filled volume, lots"),
            F("price", Kind.PRICE, "fill price"),
            F("sl", Kind.PRICE, "stop loss of the position, 0 = none"),
            F("tp", Kind.PRICE, "take profit of the position, 0 = none"),
            F("time", Kind.UINT, "fill time, UTC ms since the Unix epoch", high=MAX_TIME_MS),
            F("magic", Kind.INT, "the order's magic number (the position's). Optional: absent reads as 0",
              optional=True, high=UINT64_MAX),
        ),
        "a pending order filled; its position is reported by this message, not position_opened",
    ),
    MessageSpec(
        "place_order",
        _D,
        (
            F("key", Kind.NAME, "idempotency key"),
            F("symbol", Kind.NAME, "symbol to trade"),
            F("order_type", Kind.ENUM, _ORDER_TYPES_TEXT, ORDER_TYPES),
            F("volume", Kind.VOLUME, "volume, lots"),
            F("price", Kind.PRICE, "the order's price"),
            F("sl", Kind.PRICE, "stop loss, 0 = none"),
            F("tp", Kind.PRICE, "take profit, 0 = none"),
            F("expiration", Kind.UINT, "UTC ms when the server must remove the order, 0 = good till cancelled",
              high=MAX_TIME_MS),
            F("magic", Kind.INT, "magic number to set", high=UINT64_MAX),
            F("comment", Kind.TEXT, "comment to set"),
            F("stoplimit", Kind.PRICE, "a stop-limit's Limit price (MqlTradeRequest.stoplimit); 0 for the other "
              "types. Optional: absent reads as 0", optional=True),
        ),
        "place a limit or stop order (command_result.ticket: the order's ticket)",
    ),
    MessageSpec(
        "modify_order",
        _D,
        (
            F("key", Kind.NAME, "idempotency key"),
            F("ticket", Kind.UINT, "order to modify", high=MAX_ID),
            F("price", Kind.PRICE, "new price"),
            F("sl", Kind.PRICE, "new stop loss, 0 = none"),
            F("tp", Kind.PRICE, "new take profit, 0 = none"),
            F("expiration", Kind.UINT, "new expiration, UTC ms, 0 = good till cancelled", high=MAX_TIME_MS),
            F("stoplimit", Kind.PRICE, "a stop-limit's new Limit price; 0 for the other types. Optional: absent "
              "reads as 0", optional=True),
        ),
        "change a pending order's price, stops and expiration",
    ),
    MessageSpec(
        "cancel_order",
        _D,
        (
            F("key", Kind.NAME, "idempotency key"),
            F("ticket", Kind.UINT, "order to cancel", high=MAX_ID),
        ),
        "delete a pending order",
    ),
)

ORDER_FIELDS: tuple[FieldSpec, ...] = _order_fields()
_SPECS += (
    MessageSpec(
        "orders_snapshot",
        _T,
        (F("orders", Kind.ORDERS, "every pending order on the account now (0 .. 512 order maps, each "
           "`order_placed`'s body)"),),
        "the account's pending orders, sent once after each welcome (after the re-sent reports): the truth "
        "about orders, as hello.positions is about positions (section 6.3)",
    ),
)

SCHEMA: MappingProxyType[str, MessageSpec] = MappingProxyType({s.type: s for s in _SPECS})
