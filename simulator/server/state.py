"""Internal state of the trade server (never handed out; snapshots are frozen records),
its constants and the journal field helpers shared by the server modules."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from bridge.domain.account_types import AccountType
from bridge.domain.errors import DomainError
from bridge.domain.instruments import SymbolSpec
from bridge.domain.margin import AccountMargin, MarginBook
from bridge.domain.money import to_decimal
from bridge.domain.trading import Side
from simulator.server import retcodes as rc
from simulator.server.records import DealInfo, OrderInfo, TradeRequest
from simulator.server.bands import MarginBands
from simulator.server.triggers import Levels

ZERO = Decimal(0)
HUNDRED = Decimal(100)
CENT = Decimal("0.01")
_NEVER = 1 << 62
# trigger payload kinds (_RISK: an exact band, re-checked with Decimals; _BAND: a `bands` edge)
_PENDING, _SL, _TP, _RISK, _BAND = 0, 1, 2, 3, 4
_TICK_SIZE_WINDOW = 64  # quotes averaged by `_Symbol.tick_size`
_TICK_SIZE_EVERY = 256  # quotes between two estimates
_PENDING_TYPES = (rc.ORDER_TYPE_BUY_LIMIT, rc.ORDER_TYPE_SELL_LIMIT, rc.ORDER_TYPE_BUY_STOP,
                  rc.ORDER_TYPE_SELL_STOP)


class _Refused(Exception):
    """Internal: a trade request is refused with `retcode`."""

    def __init__(self, retcode: int, detail: str) -> None:
        super().__init__(detail)
        self.retcode = retcode
        self.detail = detail


# --- mutable internal state (never handed out; snapshots are frozen records) -----------------

class _Symbol:
    __slots__ = (
        "ask",
        "ask_pts",
        "asks",
        "bid",
        "bid_pts",
        "bids",
        "cache",
        "digits",
        "levels",
        "markups",
        "name",
        "point",
        "rate_source",
        "scale",
        "size_at",
        "size_pts",
        "spec",
        "time_ms",
        "times",
    )

    def __init__(self, spec: SymbolSpec, levels: Levels, rate_source: bool) -> None:
        self.spec = spec
        self.name = spec.name
        self.digits = spec.digits
        self.scale = 10 ** spec.digits
        self.point = spec.point
        self.bid: Decimal | None = None
        self.ask: Decimal | None = None
        self.bid_pts = 0
        self.ask_pts = 0
        self.time_ms = 0
        self.times: list[int] = []
        self.bids: list[Decimal] = []
        self.asks: list[Decimal] = []
        self.cache: dict[Decimal, int] = {}
        self.levels = levels
        self.rate_source = rate_source
        self.markups: dict[int, Decimal] = {}
        self.size_pts = 1
        self.size_at = 0

    def tick_size(self) -> int:
        """Mean absolute bid change of the recent quotes, in points (at least 1): how far this
        symbol typically moves per quote. Derived from the tick history only (deterministic),
        re-estimated every `_TICK_SIZE_EVERY` quotes."""
        n = len(self.bids)
        if n - self.size_at >= _TICK_SIZE_EVERY or (self.size_at < _TICK_SIZE_WINDOW and n != self.size_at):
            recent = [self.to_points(b) for b in self.bids[-_TICK_SIZE_WINDOW - 1:]]
            moves = [abs(b - a) for a, b in zip(recent, recent[1:])]
            self.size_pts = max(1, sum(moves) // len(moves)) if moves else 1
            self.size_at = n
        return self.size_pts

    def to_points(self, price: Decimal) -> int:
        """Exact points of a quoted price (ValueError when off-grid / not positive)."""
        pts = self.cache.get(price)
        if pts is None:
            if type(price) is not Decimal or not price.is_finite() or price <= 0:
                raise ValueError(f"{self.name}: quote {price!r} is not a positive finite Decimal")
            scaled = price.scaleb(self.digits)
            pts = int(scaled)
            if pts != scaled:
                raise ValueError(f"{self.name}: quote {price} has more than {self.digits} digits")
            if len(self.cache) > 65536:
                self.cache.clear()
            self.cache[price] = pts
        return pts

    def markup(self, points: int) -> Decimal:
        m = self.markups.get(points)
        if m is None:
            m = self.markups[points] = self.point * points
        return m


class _Position:
    __slots__ = (
        "comment",
        "login",
        "magic",
        "notional",
        "price_open",
        "reason",
        "side",
        "sl",
        "sl_entry",
        "swap",
        "sym",
        "ticket",
        "time_msc",
        "time_update_msc",
        "tp",
        "tp_entry",
        "volume",
    )

    def __init__(self, ticket: int, login: int, sym: _Symbol, side: Side, volume: Decimal, price: Decimal,
                 now: int, magic: int, reason: int, comment: str, notional: Decimal) -> None:
        self.ticket = ticket
        self.login = login
        self.sym = sym
        self.side = side
        self.volume = volume
        self.price_open = price
        self.sl = ZERO
        self.tp = ZERO
        self.swap = ZERO
        self.time_msc = now
        self.time_update_msc = now
        self.magic = magic
        self.reason = reason
        self.comment = comment
        self.notional = notional
        self.sl_entry = 0
        self.tp_entry = 0


class _Order:
    __slots__ = (
        "comment",
        "entry",
        "expiration_ms",
        "login",
        "magic",
        "position_id",
        "price_open",
        "reason",
        "sl",
        "state",
        "symbol",
        "ticket",
        "time_done_msc",
        "time_setup_msc",
        "tp",
        "type",
        "type_filling",
        "type_time",
        "volume_current",
        "volume_initial",
    )

    def __init__(self, **kw) -> None:
        for k in self.__slots__:
            setattr(self, k, kw.get(k, 0))

    def info(self, price_current: Decimal) -> OrderInfo:
        return OrderInfo(self.ticket, self.login, self.symbol, self.type, self.state, self.volume_initial,
                         self.volume_current, self.price_open, self.sl, self.tp, price_current,
                         self.time_setup_msc, self.time_done_msc, self.type_filling, self.type_time,
                         self.magic, self.reason, self.position_id, self.comment)


class _Client:
    __slots__ = ("client_id", "country", "email", "logins", "name")

    def __init__(self, client_id: int, email: str, name: str, country: str | None = None) -> None:
        self.client_id = client_id
        self.email = email
        self.name = name
        self.country = country  # ISO 3166-1 alpha-2, or None when not given
        self.logins: list[int] = []


class _Account:
    __slots__ = (
        "balance",
        "bands",
        "book",
        "calc",
        "client",
        "credit",
        "currency",
        "demo",
        "exposure",
        "hist_deals",
        "hist_orders",
        "in_call",
        "investor",
        "leverage",
        "login",
        "markup",
        "master",
        "name",
        "net",
        "netting",
        "orders",
        "positions",
        "risk_entries",
        "swap_free",
        "type",
        "volatile",
    )

    def __init__(self, login: int, client: _Client, name: str, atype: AccountType, currency: str,
                 leverage: int, calc: AccountMargin, book: MarginBook, demo: bool, netting: bool,
                 swap_free: bool, master: bytes, investor: bytes) -> None:
        self.login = login
        self.client = client
        self.name = name
        self.type = atype
        self.currency = currency
        self.leverage = leverage
        self.calc = calc
        self.book = book  # from the margin model plugin
        self.demo = demo
        self.netting = netting
        self.swap_free = swap_free
        self.balance = ZERO
        self.credit = ZERO
        self.master = master
        self.investor = investor
        self.markup = atype.spread_markup_points
        self.positions: dict[int, _Position] = {}
        self.net: dict[str, int] = {}  # netting: symbol -> position ticket
        self.orders: dict[int, _Order] = {}
        self.exposure: dict[str, list[Decimal]] = {}  # symbol -> [buy units, sell units]
        self.risk_entries: dict[tuple[str, int], tuple[int, int]] = {}  # (symbol, side) -> (edge, eid)
        self.bands: MarginBands | None = None
        self.in_call = False
        self.volatile = False
        self.hist_orders: list[_Order] = []
        self.hist_deals: list[DealInfo] = []


def _dec(value: object) -> Decimal | None:
    """A finite Decimal from a request field, or None (NaN, inf, garbage): the caller answers
    with its own retcode instead of an exception."""
    try:
        return to_decimal(value)
    except DomainError:
        return None


def _opposite_type(side: Side) -> int:
    return rc.ORDER_TYPE_SELL if side is Side.BUY else rc.ORDER_TYPE_BUY


# --- journal field helpers --------------------------------------------------------------------

def _lvl(level: Decimal | None) -> Decimal | None:
    return None if level is None else level.quantize(CENT, ROUND_HALF_UP)


def _deal_fields(d: DealInfo) -> dict:
    return {"login": d.login, "deal": d.ticket, "order": d.order, "type": d.type, "entry": d.entry,
            "reason": d.reason, "position": d.position_id, "symbol": d.symbol, "volume": d.volume,
            "price": d.price, "commission": d.commission, "swap": d.swap, "profit": d.profit,
            "comment": d.comment}


def _order_fields(o: _Order) -> dict:
    return {"login": o.login, "order": o.ticket, "symbol": o.symbol, "type": o.type, "state": o.state,
            "volume_initial": o.volume_initial, "volume_current": o.volume_current, "price": o.price_open,
            "sl": o.sl, "tp": o.tp, "reason": o.reason, "position": o.position_id, "expiration_ms": o.expiration_ms}


def _request_fields(r: TradeRequest) -> dict:
    def s(v: object) -> object:
        if isinstance(v, Decimal):
            return str(v)  # NaN stays visible as "NaN" without breaking the journal
        if isinstance(v, (bool, int, str)) or v is None:
            return v
        return repr(v)
    return {"action": s(r.action), "symbol": s(r.symbol), "volume": s(r.volume), "type": s(r.type),
            "price": s(r.price), "sl": s(r.sl), "tp": s(r.tp), "position": s(r.position), "order": s(r.order),
            "magic": s(r.magic), "comment": s(r.comment), "type_filling": s(r.type_filling),
            "type_time": s(r.type_time), "expiration_ms": s(r.expiration_ms)}
