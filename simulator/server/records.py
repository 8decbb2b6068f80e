"""Values crossing the trade server's API: requests, results and read-only snapshots.

They mirror MetaTrader 5's structures (``MqlTradeRequest``, ``MqlTradeResult``,
``TradePosition``, ``TradeOrder``, ``TradeDeal``, ``AccountInfo``) field for field where it
matters, with exact ``Decimal`` prices/lots/money and ``int`` millisecond times
(``time_msc``-style). The facade converts to floats and seconds at its edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from simulator.server.retcodes import (
    DEAL_REASON_EXPERT,
    ORDER_FILLING_FOK,
    ORDER_TIME_GTC,
    RETCODE_NAMES,
)

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class TradeRequest:
    """``MqlTradeRequest``. Prices/volume are Decimal (the facade converts floats through
    ``repr``); a non-finite value is refused by the server with INVALID_PRICE/INVALID_VOLUME.
    ``0`` means "not set" for price, sl, tp, position, order, as in MT5."""

    action: int
    symbol: str = ""
    volume: Decimal = ZERO
    type: int = 0
    price: Decimal = ZERO
    sl: Decimal = ZERO
    tp: Decimal = ZERO
    deviation: int = 0
    magic: int = 0
    comment: str = ""
    position: int = 0
    position_by: int = 0
    order: int = 0
    stoplimit: Decimal = ZERO
    type_filling: int = ORDER_FILLING_FOK
    type_time: int = ORDER_TIME_GTC
    expiration_ms: int = 0


@dataclass(frozen=True, slots=True)
class TradeResult:
    """``MqlTradeResult`` (+ ``position``: the position the request opened/changed/closed)."""

    retcode: int
    deal: int = 0
    order: int = 0
    volume: Decimal = ZERO
    price: Decimal = ZERO
    bid: Decimal = ZERO
    ask: Decimal = ZERO
    comment: str = ""
    request_id: int = 0
    position: int = 0

    @property
    def ok(self) -> bool:
        return self.retcode in (10008, 10009, 10010)

    @property
    def retcode_name(self) -> str:
        return RETCODE_NAMES.get(self.retcode, str(self.retcode))


@dataclass(frozen=True, slots=True)
class Session:
    """What `TradeServer.login` hands out. ``read_only`` for the investor password."""

    login: int
    read_only: bool
    session_id: int


@dataclass(frozen=True, slots=True)
class ClientInfo:
    client_id: int
    email: str
    name: str
    logins: tuple[int, ...]
    country: str | None = None  # ISO 3166-1 alpha-2


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """``AccountInfo`` of MT5 with exact money. ``margin_level`` is None with no margin used
    (MT5 shows 0.0). ``trade_allowed`` is False below the type's minimum deposit."""

    login: int
    client_id: int
    email: str
    name: str
    account_type: str
    platform: str  # "MT4" | "MT5"
    trade_mode: int  # ACCOUNT_TRADE_MODE_DEMO / _REAL
    margin_mode: int  # ACCOUNT_MARGIN_MODE_RETAIL_HEDGING / _NETTING
    swap_free: bool
    leverage: int
    currency: str
    balance: Decimal
    credit: Decimal
    profit: Decimal
    equity: Decimal
    margin: Decimal
    margin_free: Decimal
    margin_level: Decimal | None
    margin_so_call: Decimal
    margin_so_so: Decimal
    trade_allowed: bool
    server: str


@dataclass(frozen=True, slots=True)
class PositionInfo:
    """``TradePosition``: ``profit`` is the floating profit at the current close price
    (bid for a buy, ask incl. markup for a sell), rounded to the account's cent."""

    ticket: int
    identifier: int
    login: int
    symbol: str
    type: int  # POSITION_TYPE_BUY / _SELL
    volume: Decimal
    price_open: Decimal
    price_current: Decimal
    sl: Decimal
    tp: Decimal
    swap: Decimal
    profit: Decimal
    time_msc: int
    time_update_msc: int
    magic: int
    reason: int
    comment: str
    notional: Decimal  # fixed at open, account currency (seed 004)


@dataclass(frozen=True, slots=True)
class OrderInfo:
    """``TradeOrder`` (pending orders while active; every order in history)."""

    ticket: int
    login: int
    symbol: str
    type: int
    state: int
    volume_initial: Decimal
    volume_current: Decimal
    price_open: Decimal
    sl: Decimal
    tp: Decimal
    price_current: Decimal
    time_setup_msc: int
    time_done_msc: int
    type_filling: int
    type_time: int
    magic: int
    reason: int
    position_id: int
    comment: str


@dataclass(frozen=True, slots=True)
class DealInfo:
    """``TradeDeal``. Balance operations are deals of type DEAL_TYPE_BALANCE with ``profit``
    = the amount and an empty symbol."""

    ticket: int
    login: int
    order: int
    time_msc: int
    type: int
    entry: int
    reason: int
    position_id: int
    symbol: str
    volume: Decimal
    price: Decimal
    commission: Decimal
    swap: Decimal
    profit: Decimal
    fee: Decimal
    magic: int
    comment: str


@dataclass(frozen=True, slots=True)
class TickInfo:
    """A quote as one account sees it: feed bid, ask + the account type's markup."""

    symbol: str
    time_msc: int
    bid: Decimal
    ask: Decimal


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLC bar built from feed bids (``tick_volume`` = ticks in the bar)."""

    time_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    tick_volume: int
    spread: int  # minimum feed spread in points during the bar


__all__ = [
    "DEAL_REASON_EXPERT",
    "AccountInfo",
    "Bar",
    "ClientInfo",
    "DealInfo",
    "OrderInfo",
    "PositionInfo",
    "Session",
    "TickInfo",
    "TradeRequest",
    "TradeResult",
]
