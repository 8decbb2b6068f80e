"""Wire messages as frozen dataclasses.

Field names and order mirror `schema.SCHEMA` exactly (tested): the four envelope
fields `id, seq, ts, login` first, then the body. `v` and `type` are not fields:
`type` is the class attribute `TYPE` and `v` is always `PROTOCOL_VERSION`.
Numbers for prices, volumes and money are `Decimal`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import ClassVar, Literal, Union

Side = Literal["buy", "sell"]
Role = Literal["trader", "investor"]
Platform = Literal["MT4", "MT5"]
MarginMode = Literal["hedging", "netting"]
CloseReason = Literal["client", "sl", "tp", "so"]
OrderType = str  # one of bridge.protocol.orders.ORDER_TYPES (the one definition; the codec checks it)
OrderRemovedReason = Literal["cancelled", "expired"]


@dataclass(frozen=True, slots=True)
class Position:
    """One open position, as carried in `hello.positions` and `position_opened`."""

    ticket: int
    symbol: str
    side: Side
    volume: Decimal
    price: Decimal
    sl: Decimal
    tp: Decimal
    time: int
    magic: int
    comment: str
    swap: Decimal = Decimal(0)  # optional on the wire (absent = 0)


@dataclass(frozen=True, slots=True)
class Quote:
    """One market quote, as carried in `quotes.quotes`."""

    symbol: str
    bid: Decimal
    ask: Decimal
    time: int


# --- terminal -> daemon ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hello:
    TYPE: ClassVar[str] = "hello"
    id: int
    seq: int
    ts: int
    login: int
    role: Role
    platform: Platform
    account_type: str
    currency: str
    leverage: int
    balance: Decimal
    equity: Decimal
    positions: tuple[Position, ...]
    utc_offset_ms: int = 0
    margin_mode: MarginMode = "hedging"  # optional on the wire: left out at hedging


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Sent both ways."""

    TYPE: ClassVar[str] = "heartbeat"
    id: int
    seq: int
    ts: int
    login: int


@dataclass(frozen=True, slots=True)
class PositionOpened:
    TYPE: ClassVar[str] = "position_opened"
    id: int
    seq: int
    ts: int
    login: int
    ticket: int
    symbol: str
    side: Side
    volume: Decimal
    price: Decimal
    sl: Decimal
    tp: Decimal
    time: int
    magic: int
    comment: str
    swap: Decimal = Decimal(0)

    @property
    def position(self) -> Position:
        return Position(
            self.ticket, self.symbol, self.side, self.volume, self.price,
            self.sl, self.tp, self.time, self.magic, self.comment, self.swap,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class PositionModified:
    TYPE: ClassVar[str] = "position_modified"
    id: int
    seq: int
    ts: int
    login: int
    ticket: int
    sl: Decimal
    tp: Decimal
    time: int
    swap: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class PositionClosed:
    TYPE: ClassVar[str] = "position_closed"
    id: int
    seq: int
    ts: int
    login: int
    ticket: int
    volume: Decimal
    remaining: Decimal
    price: Decimal
    time: int
    reason: CloseReason
    profit: Decimal


@dataclass(frozen=True, slots=True)
class AccountUpdate:
    TYPE: ClassVar[str] = "account_update"
    id: int
    seq: int
    ts: int
    login: int
    balance: Decimal
    equity: Decimal
    margin: Decimal
    free_margin: Decimal
    leverage: int


@dataclass(frozen=True, slots=True)
class CommandResult:
    TYPE: ClassVar[str] = "command_result"
    id: int
    seq: int
    ts: int
    login: int
    key: str
    ok: bool
    retcode: int
    ticket: int
    price: Decimal
    volume: Decimal
    time: int
    message: str


@dataclass(frozen=True, slots=True)
class Quotes:
    """The latest quotes of the symbols the welcome asked for (the daemon's conversion rates)."""

    TYPE: ClassVar[str] = "quotes"
    id: int
    seq: int
    ts: int
    login: int
    quotes: tuple[Quote, ...]


# --- daemon -> terminal ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Welcome:
    TYPE: ClassVar[str] = "welcome"
    id: int
    seq: int
    ts: int
    login: int
    server_time: int
    heartbeat_ms: int
    resume: bool
    last_id: int = 0  # optional on the wire: left out at 0
    quote_symbols: tuple[str, ...] = ()  # optional on the wire: left out when empty


@dataclass(frozen=True, slots=True)
class Redirect:
    """The daemon does not serve this login: its shard's owner is at `endpoint` (docs/protocol.md)."""

    TYPE: ClassVar[str] = "redirect"
    id: int
    seq: int
    ts: int
    login: int
    shard: str
    endpoint: str  # empty = no owner right now: try again after a heartbeat interval


@dataclass(frozen=True, slots=True)
class Open:
    TYPE: ClassVar[str] = "open"
    id: int
    seq: int
    ts: int
    login: int
    key: str
    symbol: str
    side: Side
    volume: Decimal
    sl: Decimal
    tp: Decimal
    magic: int
    comment: str
    expires: int = 0  # 0 = no deadline


@dataclass(frozen=True, slots=True)
class Close:
    TYPE: ClassVar[str] = "close"
    id: int
    seq: int
    ts: int
    login: int
    key: str
    ticket: int
    volume: Decimal


@dataclass(frozen=True, slots=True)
class Modify:
    TYPE: ClassVar[str] = "modify"
    id: int
    seq: int
    ts: int
    login: int
    key: str
    ticket: int
    sl: Decimal
    tp: Decimal


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """The `error` message: the daemon tells a terminal why it refused a message."""

    TYPE: ClassVar[str] = "error"
    id: int
    seq: int
    ts: int
    login: int
    code: str
    detail: str
    ref_id: int
    field: str


# --- pending orders (issue 15 item 6) ----------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderPlaced:
    TYPE: ClassVar[str] = "order_placed"
    id: int
    seq: int
    ts: int
    login: int
    ticket: int
    symbol: str
    order_type: OrderType
    volume: Decimal
    price: Decimal
    sl: Decimal
    tp: Decimal
    expiration: int
    time: int
    stoplimit: Decimal = Decimal(0)  # optional on the wire (absent = 0): a stop-limit's Limit price
    magic: int = 0  # optional on the wire (absent = 0)


@dataclass(frozen=True, slots=True)
class OrderModified:
    TYPE: ClassVar[str] = "order_modified"
    id: int
    seq: int
    ts: int
    login: int
    ticket: int
    price: Decimal
    sl: Decimal
    tp: Decimal
    expiration: int
    time: int
    stoplimit: Decimal = Decimal(0)  # optional on the wire (absent = 0)


@dataclass(frozen=True, slots=True)
class OrderRemoved:
    TYPE: ClassVar[str] = "order_removed"
    id: int
    seq: int
    ts: int
    login: int
    ticket: int
    removal: OrderRemovedReason
    time: int


@dataclass(frozen=True, slots=True)
class OrderFilled:
    TYPE: ClassVar[str] = "order_filled"
    id: int
    seq: int
    ts: int
    login: int
    ticket: int
    position: int
    symbol: str
    side: Side
    volume: Decimal
    price: Decimal
    sl: Decimal
    tp: Decimal
    time: int
    magic: int = 0  # optional on the wire (absent = 0)


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    TYPE: ClassVar[str] = "place_order"
    id: int
    seq: int
    ts: int
    login: int
    key: str
    symbol: str
    order_type: OrderType
    volume: Decimal
    price: Decimal
    sl: Decimal
    tp: Decimal
    expiration: int
    magic: int
    comment: str
    stoplimit: Decimal = Decimal(0)  # optional on the wire (absent = 0)


@dataclass(frozen=True, slots=True)
class ModifyOrder:
    TYPE: ClassVar[str] = "modify_order"
    id: int
    seq: int
    ts: int
    login: int
    key: str
    ticket: int
    price: Decimal
    sl: Decimal
    tp: Decimal
    expiration: int
    stoplimit: Decimal = Decimal(0)  # optional on the wire (absent = 0)


@dataclass(frozen=True, slots=True)
class CancelOrder:
    TYPE: ClassVar[str] = "cancel_order"
    id: int
    seq: int
    ts: int
    login: int
    key: str
    ticket: int


@dataclass(frozen=True, slots=True)
class Order:
    """One pending order, as carried in `orders_snapshot.orders` (`order_placed`'s body)."""

    ticket: int
    symbol: str
    order_type: OrderType
    volume: Decimal
    price: Decimal
    sl: Decimal
    tp: Decimal
    expiration: int
    time: int
    stoplimit: Decimal = Decimal(0)  # optional on the wire (absent = 0)
    magic: int = 0  # optional on the wire (absent = 0)


@dataclass(frozen=True, slots=True)
class OrdersSnapshot:
    TYPE: ClassVar[str] = "orders_snapshot"
    id: int
    seq: int
    ts: int
    login: int
    orders: tuple[Order, ...]


Message = Union[
    Hello, Heartbeat, PositionOpened, PositionModified, PositionClosed, AccountUpdate,
    CommandResult, Quotes, Welcome, Redirect, Open, Close, Modify, ErrorReply,
    OrderPlaced, OrderModified, OrderRemoved, OrderFilled, PlaceOrder, ModifyOrder, CancelOrder, OrdersSnapshot,
]  # fmt: skip

MESSAGE_CLASSES: MappingProxyType[str, type] = MappingProxyType(
    {
        cls.TYPE: cls
        for cls in (
            Hello, Heartbeat, PositionOpened, PositionModified, PositionClosed, AccountUpdate,
            CommandResult, Quotes, Welcome, Redirect, Open, Close, Modify, ErrorReply,
            OrderPlaced, OrderModified, OrderRemoved, OrderFilled, PlaceOrder, ModifyOrder, CancelOrder,
            OrdersSnapshot,
        )  # fmt: skip
    }
)
