"""`TradeServer`: a deterministic simulated MetaTrader 4/5 trade server.

Design notes
------------
**Time.** The server's time is the `VirtualClock`; it moves only with `on_tick` (to the
tick's time) and `advance_to`. Before a quote is applied, every event due in between is run
in time order: rollovers (swaps, at server midnight) and pending-order expirations. The clock
and every time the server keeps or returns is UTC ms; `timezone` (default `BROKER_DEFAULT`,
UTC+2/UTC+3 with US summer time) places server midnight, the triple-swap day and market hours.

**Prices and markup.** The feed's bid/ask are the raw (interbank) quote. An account type's
``spread_markup_points`` is *added to the ask*: every account sees the feed bid, and
``ask + markup x point``. Buys fill at that ask, sells at the bid; a buy closes at the bid, a
sell at the marked-up ask. (Adding it to the ask keeps prices on the symbol's point grid for
odd markups, which a symmetric split around the mid would not.)

**Retcodes** (real MT5 values, `simulator.server.retcodes`): investor (read-only) session or
balance below the type's minimum deposit (`trading_refusal`) -> TRADE_DISABLED 10017; unknown
symbol, unknown action/type, malformed request, unknown pending order, CLOSE_BY (not
simulated) -> INVALID 10013 (MT5 has no dedicated "unknown symbol" trade retcode);
`SymbolSpec.volume_problem` or a non-finite volume -> INVALID_VOLUME 10014; non-finite, non
positive or off-grid price (`SymbolSpec.price_problem`), or a pending price on the wrong side
of the market -> INVALID_PRICE 10015; SL/TP off-grid, on the wrong side or closer than the
stops level -> INVALID_STOPS 10016; calendar closure -> MARKET_CLOSED 10018; free margin
after the order < 0 -> NO_MONEY 10019; no quote yet -> PRICE_OFF 10021; unsupported
time-in-force or past expiration -> INVALID_EXPIRATION 10022; unknown filling mode ->
INVALID_FILL 10030; position not open (never existed, closed, other account or symbol)
-> POSITION_CLOSED 10036; close volume above the position -> INVALID_CLOSE_VOLUME 10038;
SL/TP modification that changes nothing -> NO_CHANGES 10025. Market orders ignore
``price``/``deviation`` except for validity (no requotes: the fill is at the current quote).
A refused request changes nothing: only its ``request``/``answer`` journal records are
written.

**Indices.** SL/TP, pending orders and per-account risk bands live in one
`TriggerIndex` (sorted integer keys per symbol and side, bisect), so a quote costs O(log n)
plus what it fires. **Risk bands:** margin only changes with trades (notional is fixed at
open), so between trades an account's margin-call/stop-out threshold is a fixed equity.
Its slack above that threshold is split evenly among its (symbol, side) exposures; each
exposure gets one price edge (a buy's bid falling by ``share / units``, a sell's ask rising
by ``share / units``) registered in the index. Only when an edge is crossed is the account
evaluated exactly (domain `profit` per position, `margin_level`, `stop_out`) and its bands
re-set. Accounts whose profit needs a currency conversion (quote != account currency) move
with other symbols' rates, so they are evaluated exactly on every quote instead ("volatile").
`margin_level(login)` is always computed exactly on read.

**Money.** Commission (`trading.commission`, per side), realised profit (`trading.profit`)
and swaps (`trading.swap` x `swap_nights`) are rounded half up to the cent when booked.
Commission is booked to the balance at each deal; swaps accrue on the position and are
realised with the closing deal (pro rata on a partial close). Floating profit counts per
position rounded to the cent. Margin is the domain's tiered `MarginBook`, notional fixed at
open with `position_notional`; a partial close keeps the remaining volume's share of the
notional (quantised like the domain does). Conversion rates are the mids of the latest
quotes of currency-pair symbols layered over the `rates` given at construction.

**Netting** (MT5 only): one position per symbol, ticket = first order's ticket; a same-side
deal increases it (volume-weighted open price, notional added), an opposite one reduces,
closes or reverses it (one INOUT deal; the remainder re-opens at the deal price).
"""

from __future__ import annotations

import heapq
import random
from dataclasses import replace
from collections.abc import Iterable, Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from bridge.domain.account import (
    PositionRisk,
    at_or_below,
    leverage_change_refusal,
    margin_level,
    trading_refusal,
)
from bridge.domain.account import stop_out as domain_stop_out
from bridge.domain.account_types import AccountType
from bridge.domain.currency import Rates
from bridge.domain.errors import DomainError, Refusal
from bridge.domain.instruments import SymbolSpec
from bridge.domain.margin import (
    NOTIONAL_QUANTUM,
    AccountMargin,
    MarginBook,
    position_notional,
)
from bridge.domain.money import round_money, to_decimal
from bridge.domain.rules import Rules, default_rules
from bridge.domain.servertime import BROKER_DEFAULT, ServerTimeZone
from bridge.domain.trading import Side, commission, profit, swap, swap_nights
from simulator.calendar import TradingCalendar
from simulator.clock import VirtualClock
from simulator.journal import Journal
from simulator.server import retcodes as rc
from simulator.server.backoffice import (
    check_password,
    hash_password,
    normalise_email,
    password_refusal,
)
from simulator.server.fastjournal import tick_appender
from simulator.server.records import (
    AccountInfo,
    Bar,
    ClientInfo,
    DealInfo,
    OrderInfo,
    PositionInfo,
    Session,
    TickInfo,
    TradeRequest,
    TradeResult,
)
from simulator.server.triggers import ASK_GE, ASK_LE, BID_GE, BID_LE, TriggerIndex

ZERO = Decimal(0)
HUNDRED = Decimal(100)
CENT = Decimal("0.01")
_NEVER = 1 << 62
# trigger payload kinds
_PENDING, _SL, _TP, _RISK = 0, 1, 2, 3
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
        "lists",
        "markups",
        "name",
        "point",
        "rate_source",
        "scale",
        "spec",
        "time_ms",
        "times",
    )

    def __init__(self, spec: SymbolSpec, lists: tuple, rate_source: bool) -> None:
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
        self.lists = lists
        self.rate_source = rate_source
        self.markups: dict[int, Decimal] = {}

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
    __slots__ = ("client_id", "email", "logins", "name")

    def __init__(self, client_id: int, email: str, name: str) -> None:
        self.client_id = client_id
        self.email = email
        self.name = name
        self.logins: list[int] = []


class _Account:
    __slots__ = (
        "balance",
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
                 leverage: int, calc: AccountMargin, demo: bool, netting: bool, swap_free: bool,
                 master: bytes, investor: bytes) -> None:
        self.login = login
        self.client = client
        self.name = name
        self.type = atype
        self.currency = currency
        self.leverage = leverage
        self.calc = calc
        self.book = MarginBook(calc)
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
        self.risk_entries: list[int] = []
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


class TradeServer:
    """The simulated trade server. See the package docstring for the API overview."""

    def __init__(self, rules: Rules | None = None, *, seed: int = 0, start_ms: int = 0,
                 rates: Rates | Mapping[str, Decimal] | None = None, calendar: TradingCalendar | None = None,
                 journal: Journal | None = None, clock: VirtualClock | None = None,
                 stops_level_points: int | Mapping[str, int] = 0, scrypt_n: int = 2 ** 14,
                 journal_ticks: bool = True, server_name: str = "mtbridge-sim",
                 timezone: ServerTimeZone | None = None) -> None:
        self.rules = rules if rules is not None else default_rules()
        self.seed = seed
        # `timezone` wins over the calendar's own; neither given: the usual broker clock
        if timezone is None:
            timezone = calendar.timezone if calendar is not None else BROKER_DEFAULT
        self.calendar = replace(calendar if calendar is not None else TradingCalendar(), timezone=timezone)
        self.clock = clock if clock is not None else VirtualClock(start_ms)
        self.journal = journal if journal is not None else Journal()
        self.server_name = server_name
        self._scrypt_n = scrypt_n
        self._stops = stops_level_points
        if isinstance(rates, Rates):
            self._base_rates = rates.as_dict()
        else:
            self._base_rates = {k: Decimal(v) for k, v in (rates or {}).items()}
        self._rates: Rates | None = None
        self._index = TriggerIndex()
        self._symbols: dict[str, _Symbol] = {}
        currencies = {s.quote for s in self.rules.symbols} | {"USD", "EUR", "GBP", "NGN"}
        for spec in self.rules.symbols:
            src = spec.name == spec.base + spec.quote and spec.base in currencies and spec.quote in currencies
            self._symbols[spec.name] = _Symbol(spec, self._index.lists(spec.name), src)
        self._rate_symbols = [s for s in self._symbols.values() if s.rate_source]
        self._clients: dict[str, _Client] = {}
        self._accounts: dict[int, _Account] = {}
        self._volatile: list[int] = []  # logins evaluated on every quote, sorted
        # identities: a seeded stream (MT5 logins look random; tickets start somewhere)
        rng = random.Random(seed)
        self._next_login = 10_000_000 + rng.randrange(0, 8_000_000)
        self._next_ticket = 1_000_000 * (1 + rng.randrange(0, 50))
        self._next_deal = self._next_ticket + 500_000_000
        self._next_client = 1
        self._next_session = 1
        self._expiry: list[tuple[int, int, int]] = []  # (expires_ms, ticket, login)
        self._next_midnight = self.calendar.next_midnight(self.clock.now_ms)
        self._journal_ticks = journal_ticks
        self._append_tick = tick_appender(self.journal)
        self.journal.append("server_start", self.clock.now_ms, seed=seed, server=server_name,
                            first_login=self._next_login, first_ticket=self._next_ticket)

    # ------------------------------------------------------------------ basics
    @property
    def now_ms(self) -> int:
        """UTC ms: the server keeps UTC; `timezone` gives its wall clock (the MT5 facade's times)."""
        return self.clock.now_ms

    @property
    def timezone(self) -> ServerTimeZone:
        return self.calendar.timezone

    def digest(self) -> str:
        """SHA-256 of the journal so far (see `Journal.digest`)."""
        return self.journal.digest()

    def stops_level(self, symbol: str) -> int:
        """Minimum distance of SL/TP from the price, in points (SYMBOL_TRADE_STOPS_LEVEL)."""
        return self._stops

    def symbols(self) -> list[str]:
        return list(self._symbols)

    def rates(self) -> Rates:
        """Conversion rates now: construction rates overlaid with the latest pair mids."""
        r = self._rates
        if r is None:
            live = dict(self._base_rates)
            for s in self._rate_symbols:
                if s.bid is not None:
                    live[s.name] = (s.bid + s.ask) / 2
            r = self._rates = Rates(live)
        return r

    def _j(self, kind: str, **fields) -> None:
        self.journal.append(kind, self.clock.now_ms, **fields)

    def _ticket(self) -> int:
        t = self._next_ticket
        self._next_ticket += 1
        return t

    def _account(self, login: int) -> _Account:
        acct = self._accounts.get(login)
        if acct is None:
            raise KeyError(f"unknown login {login}")
        return acct

    # ------------------------------------------------------------------ back office
    def register_client(self, email: str, name: str = "") -> ClientInfo | Refusal:
        """One back office per e-mail (case-insensitive); a second registration is refused."""
        self._j("request", op="register_client", email=str(email), name=str(name))
        e = normalise_email(email)
        if e is None:
            return self._bo_refuse("register_client", Refusal("invalid_email", f"{email!r} is not an e-mail"))
        if e in self._clients:
            return self._bo_refuse("register_client", Refusal("duplicate_email",
                                                              f"a back office already exists for {e}"))
        client = _Client(self._next_client, e, name)
        self._next_client += 1
        self._clients[e] = client
        self._j("client_registered", client_id=client.client_id, email=e, name=name)
        self._j("answer", op="register_client", ok=True, client_id=client.client_id)
        return self._client_info(client)

    def client(self, email: str) -> ClientInfo | None:
        e = normalise_email(email)
        c = self._clients.get(e) if e else None
        return self._client_info(c) if c else None

    def _client_info(self, c: _Client) -> ClientInfo:
        return ClientInfo(c.client_id, c.email, c.name, tuple(c.logins))

    def _bo_refuse(self, op: str, refusal: Refusal) -> Refusal:
        self._j("answer", op=op, ok=False, code=refusal.code, detail=refusal.detail)
        return refusal

    def open_account(self, email: str, account_type: str, currency: str, leverage: int, *,
                     master_password: str, investor_password: str, demo: bool = False,
                     margin_mode: str | None = None, swap_free: bool = False,
                     name: str | None = None) -> int | Refusal:
        """Open a trading account for a registered client; returns its login.

        Validated against the domain rules: the type exists, `Rules.margin_for` accepts the
        currency, the leverage is in the type's list, the margin mode is offered (MT4: always
        hedging; MT5: the type's ``margin_modes``; default hedging), both passwords pass the
        seed-000 policy (all problems reported at once)."""
        self._j("request", op="open_account", email=str(email), account_type=str(account_type),
                currency=str(currency), leverage=leverage if type(leverage) is int else str(leverage),
                demo=bool(demo), margin_mode=margin_mode, swap_free=bool(swap_free))
        op = "open_account"
        e = normalise_email(email)
        client = self._clients.get(e) if e else None
        if client is None:
            return self._bo_refuse(op, Refusal("unknown_client", f"no back office for {email!r}; register first"))
        try:
            atype = self.rules.account_types.get(account_type)
            calc_currency_check = self.rules.margin_for(atype, currency, 1)
        except DomainError as err:
            return self._bo_refuse(op, Refusal(err.code, err.detail))
        del calc_currency_check
        if type(leverage) is not int or leverage not in atype.leverages:
            offered = ", ".join(f"1:{x}" for x in atype.leverages)
            return self._bo_refuse(op, Refusal("invalid_leverage",
                                               f"1:{leverage} is not offered on {atype.title} ({offered})"))
        mode = margin_mode or "hedging"
        if atype.platform == "MT4" and mode != "hedging":
            return self._bo_refuse(op, Refusal("invalid_margin_mode", "MT4 accounts are always hedging"))
        if mode not in atype.margin_modes:
            return self._bo_refuse(op, Refusal("invalid_margin_mode",
                                               f"{mode!r} is not offered on {atype.title} "
                                               f"({', '.join(atype.margin_modes)})"))
        bad = password_refusal(master_password, investor_password)
        if bad is not None:
            return self._bo_refuse(op, bad)
        login = self._next_login
        self._next_login += 1
        n = self._scrypt_n
        acct = _Account(login, client, name if name is not None else client.name, atype, currency, leverage,
                        self.rules.margin_for(atype, currency, leverage), bool(demo), mode == "netting",
                        bool(swap_free), hash_password(master_password, login, "master", n),
                        hash_password(investor_password, login, "investor", n))
        self._accounts[login] = acct
        client.logins.append(login)
        self._j("account_opened", login=login, client_id=client.client_id, account_type=atype.id,
                currency=currency, leverage=leverage, demo=bool(demo), margin_mode=mode,
                swap_free=bool(swap_free))
        self._j("answer", op=op, ok=True, login=login)
        return login

    def login(self, login: int, password: str) -> Session | Refusal:
        """Master password -> trading session; investor password -> read-only session."""
        acct = self._accounts.get(login)
        n = self._scrypt_n
        session: Session | Refusal
        if acct is not None and check_password(password, acct.master, login, "master", n):
            session = Session(login, False, self._next_session)
        elif acct is not None and check_password(password, acct.investor, login, "investor", n):
            session = Session(login, True, self._next_session)
        else:
            session = Refusal("invalid_account", f"login {login}: wrong login or password")
        if isinstance(session, Session):
            self._next_session += 1
            self._j("login", login=login, ok=True, read_only=session.read_only, session_id=session.session_id)
        else:
            self._j("login", login=login if type(login) is int else str(login), ok=False)
        return session

    def _balance_deal(self, acct: _Account, amount: Decimal, comment: str) -> DealInfo:
        acct.balance += amount
        deal = DealInfo(self._next_deal, acct.login, 0, self.clock.now_ms, rc.DEAL_TYPE_BALANCE, rc.DEAL_ENTRY_IN,
                        rc.DEAL_REASON_CLIENT, 0, "", ZERO, ZERO, ZERO, ZERO, amount, ZERO, 0, comment)
        self._next_deal += 1
        acct.hist_deals.append(deal)
        self._j("deal", **_deal_fields(deal), balance=acct.balance)
        return deal

    def _amount(self, acct: _Account, amount: object) -> Decimal | Refusal:
        d = _dec(amount)
        if d is None or d <= 0:
            return Refusal("invalid_amount", f"amount {amount!r} must be a positive finite number")
        if d != round_money(d):
            return Refusal("invalid_amount", f"amount {d} has more than 2 decimals of {acct.currency}")
        return d

    def _money_request(self, op: str, login: int, amount: object) -> tuple[_Account, Decimal] | Refusal:
        """The shared start of a balance operation: a known account and a valid amount, or the
        refusal (already journaled as the answer)."""
        acct = self._accounts.get(login)
        if acct is None:
            return self._bo_refuse(op, Refusal("invalid_account", f"unknown login {login}"))
        d = self._amount(acct, amount)
        if isinstance(d, Refusal):
            return self._bo_refuse(op, d)
        return acct, d

    def deposit(self, login: int, amount: Decimal, *, payer_email: str,
                payer_name: str | None = None) -> DealInfo | Refusal:
        """Instant deposit in the account currency; only from the client's own e-mail (and
        name, when given): third-party deposits are refused."""
        op = "deposit"
        self._j("request", op=op, login=login, amount=str(amount), payer_email=str(payer_email),
                payer_name=payer_name)
        checked = self._money_request(op, login, amount)
        if isinstance(checked, Refusal):
            return checked
        acct, d = checked
        if normalise_email(payer_email) != acct.client.email or (
                payer_name is not None and acct.client.name
                and payer_name.strip().casefold() != acct.client.name.strip().casefold()):
            return self._bo_refuse(op, Refusal("third_party_payment",
                                               "deposits are accepted only from the account holder"))
        deal = self._balance_deal(acct, d, "deposit")
        self._refresh_risk(acct)
        self._j("answer", op=op, ok=True, deal=deal.ticket)
        return deal

    def _withdrawal_refusal(self, acct: _Account, amount: Decimal) -> Refusal | None:
        if amount > acct.balance:
            return Refusal("insufficient_balance", f"{amount} > balance {acct.balance} {acct.currency}")
        equity, _ = self._equity(acct)
        free = equity - acct.book.total
        if free - amount < 0:
            return Refusal("insufficient_margin",
                           f"free margin {free} {acct.currency} would fall below 0 after withdrawing {amount}")
        return None

    def withdraw(self, login: int, amount: Decimal) -> DealInfo | Refusal:
        """Withdraw up to the balance, keeping free margin >= 0."""
        op = "withdraw"
        self._j("request", op=op, login=login, amount=str(amount))
        checked = self._money_request(op, login, amount)
        if isinstance(checked, Refusal):
            return checked
        acct, d = checked
        bad = self._withdrawal_refusal(acct, d)
        if bad:
            return self._bo_refuse(op, bad)
        deal = self._balance_deal(acct, -d, "withdrawal")
        self._refresh_risk(acct)
        self._j("answer", op=op, ok=True, deal=deal.ticket)
        return deal

    def transfer(self, from_login: int, to_login: int, amount: Decimal) -> tuple[DealInfo, DealInfo] | Refusal:
        """Internal transfer between two accounts of the same client. `amount` is in the
        source currency; the credited amount is converted with `rates()` and rounded half up
        to the cent."""
        op = "transfer"
        self._j("request", op=op, from_login=from_login, to_login=to_login, amount=str(amount))
        src, dst = self._accounts.get(from_login), self._accounts.get(to_login)
        if src is None or dst is None:
            return self._bo_refuse(op, Refusal("invalid_account", "unknown login"))
        if src is dst:
            return self._bo_refuse(op, Refusal("invalid_transfer", "source and destination are the same account"))
        if src.client is not dst.client:
            return self._bo_refuse(op, Refusal("foreign_account",
                                               "transfers are allowed only between one client's own accounts"))
        d = self._amount(src, amount)
        if isinstance(d, Refusal):
            return self._bo_refuse(op, d)
        bad = self._withdrawal_refusal(src, d)
        if bad:
            return self._bo_refuse(op, bad)
        try:
            credited = round_money(self.rates().convert(d, src.currency, dst.currency))
        except DomainError as err:
            return self._bo_refuse(op, Refusal(err.code, err.detail))
        if credited <= 0:
            return self._bo_refuse(op, Refusal("invalid_amount", "converted amount rounds to zero"))
        out = self._balance_deal(src, -d, f"transfer to {to_login}")
        inn = self._balance_deal(dst, credited, f"transfer from {from_login}")
        self._refresh_risk(src)
        self._refresh_risk(dst)
        self._j("answer", op=op, ok=True, deals=[out.ticket, inn.ticket])
        return out, inn

    def set_leverage(self, login: int, leverage: int) -> None | Refusal:
        """Change leverage via `leverage_change_refusal` (free with nothing open)."""
        op = "set_leverage"
        self._j("request", op=op, login=login, leverage=leverage if type(leverage) is int else str(leverage))
        acct = self._accounts.get(login)
        if acct is None:
            return self._bo_refuse(op, Refusal("invalid_account", f"unknown login {login}"))
        if type(leverage) is not int:
            return self._bo_refuse(op, Refusal("invalid_leverage", f"{leverage!r} is not an integer"))
        _, risks = self._equity(acct)
        bad = leverage_change_refusal(acct.type, acct.calc, acct.balance, risks, leverage, acct.credit)
        if bad is not None:
            return self._bo_refuse(op, bad)
        acct.leverage = leverage
        acct.calc = acct.calc.with_leverage(leverage)
        book = MarginBook(acct.calc)
        for p in acct.positions.values():
            book.open(p.ticket, p.sym.spec.group, p.notional)
        acct.book = book
        self._j("leverage_changed", login=login, leverage=leverage, margin=book.total)
        self._refresh_risk(acct)
        self._j("answer", op=op, ok=True)
        return None

    # ------------------------------------------------------------------ time and quotes
    def advance_to(self, time_ms: int) -> None:
        """Move server time forward with no quote (runs rollovers and expirations due)."""
        if type(time_ms) is not int:
            raise TypeError("time_ms must be an int")
        if time_ms < self.clock.now_ms:
            raise ValueError(f"cannot move time backwards ({time_ms} < {self.clock.now_ms})")
        self._run_events(time_ms)
        self.clock.advance_to(time_ms)

    def _run_events(self, t: int) -> None:
        """Rollovers and expirations in (now, t], in time order."""
        exp = self._expiry
        while True:
            nxt_exp = exp[0][0] if exp else _NEVER
            mid = self._next_midnight
            if mid > t and nxt_exp > t:
                return
            if mid <= nxt_exp:
                self.clock.advance_to(max(mid, self.clock.now_ms))
                self._next_midnight = self.calendar.next_midnight(mid)
                self._rollover(mid)
            else:
                _, ticket, login = heapq.heappop(exp)
                self.clock.advance_to(max(nxt_exp, self.clock.now_ms))
                acct = self._accounts[login]
                order = acct.orders.get(ticket)
                if order is not None:
                    self._finish_order(acct, order, rc.ORDER_STATE_EXPIRED)

    def run(self, ticks: Iterable) -> int:
        """Feed a time-ordered stream of `Tick`s; returns how many were processed."""
        n = 0
        on_tick = self.on_tick
        for tick in ticks:
            on_tick(tick)
            n += 1
        return n

    def on_tick(self, tick) -> None:
        """Apply one quote (a `simulator.prices.Tick`): journal it, keep it for history,
        fire the SL/TP/pending/risk levels it crosses."""
        t = tick.time_ms
        clock = self.clock
        if t != clock.now_ms:
            if t >= self._next_midnight or (self._expiry and self._expiry[0][0] <= t):
                self._run_events(t)
            clock.advance_to(t)
        st = self._symbols.get(tick.symbol)
        if st is None:
            raise DomainError("unknown_symbol", f"quote for unknown symbol {tick.symbol!r}")
        bid = tick.bid
        ask = tick.ask
        cache = st.cache
        bp = cache.get(bid)
        if bp is None:
            bp = st.to_points(bid)
        ap = cache.get(ask)
        if ap is None:
            ap = st.to_points(ask)
        st.bid = bid
        st.ask = ask
        st.bid_pts = bp
        st.ask_pts = ap
        st.time_ms = t
        st.times.append(t)
        st.bids.append(bid)
        st.asks.append(ask)
        if self._journal_ticks:
            self._append_tick(st.name, t, bid, ask)
        if st.rate_source:
            self._rates = None
        lists = st.lists
        if (lists[0] and lists[0][-1] >> 32 >= bp) or (lists[1] and lists[1][0] >> 32 <= bp) or \
                (lists[2] and lists[2][-1] >> 32 >= ap) or (lists[3] and lists[3][0] >> 32 <= ap):
            self._fire(st, self._index.fire(lists, bp, ap))
        if self._volatile:
            for login in list(self._volatile):
                acct = self._accounts[login]
                if acct.positions:
                    self._refresh_risk(acct)

    def _fire(self, st: _Symbol, fired: list) -> None:
        touched: set[int] = set()
        for eid, (kind, login, ticket) in fired:
            acct = self._accounts[login]
            touched.add(login)
            if kind == _RISK:
                continue
            if kind == _PENDING:
                order = acct.orders.get(ticket)
                if order is not None and order.entry == eid:
                    order.entry = 0
                    self._activate(acct, order, st)
            else:
                pos = acct.positions.get(ticket)
                if pos is None:
                    continue
                if kind == _SL and pos.sl_entry == eid:
                    pos.sl_entry = 0
                    self._market_close(acct, pos, pos.volume, rc.DEAL_REASON_SL, "sl")
                elif kind == _TP and pos.tp_entry == eid:
                    pos.tp_entry = 0
                    self._market_close(acct, pos, pos.volume, rc.DEAL_REASON_TP, "tp")
        for login in sorted(touched):
            self._refresh_risk(self._accounts[login])

    # ------------------------------------------------------------------ prices per account
    def _close_price(self, acct: _Account, st: _Symbol, side: Side) -> Decimal:
        """Where a position of `side` closes now: bid for a buy, marked-up ask for a sell."""
        return st.bid if side is Side.BUY else st.ask + st.markup(acct.markup)

    def _open_price(self, acct: _Account, st: _Symbol, side: Side) -> Decimal:
        return st.ask + st.markup(acct.markup) if side is Side.BUY else st.bid

    def symbol_tick(self, symbol: str, login: int | None = None) -> TickInfo | None:
        """The latest quote, as `login` sees it (ask + its type's markup), None before any."""
        st = self._symbols.get(symbol)
        if st is None or st.bid is None:
            return None
        m = self._accounts[login].markup if login is not None else 0
        return TickInfo(symbol, st.time_ms, st.bid, st.ask + st.markup(m))

    # ------------------------------------------------------------------ risk
    def _equity(self, acct: _Account) -> tuple[Decimal, list[PositionRisk]]:
        rates = self.rates() if acct.positions else None
        risks = []
        total = ZERO
        for p in acct.positions.values():
            pr = round_money(profit(p.sym.spec, p.side, p.volume, p.price_open, self._close_price(acct, p.sym, p.side),
                                    acct.currency, rates)) + p.swap
            total += pr
            risks.append(PositionRisk(p.ticket, p.sym.spec.group, p.notional, pr))
        return acct.balance + acct.credit + total, risks

    def margin_level(self, login: int) -> Decimal | None:
        """Exact equity / margin x 100 at current prices (None with no margin in use)."""
        acct = self._account(login)
        equity, _ = self._equity(acct)
        return margin_level(equity, acct.book.total)

    def _clear_bands(self, acct: _Account) -> None:
        for eid in acct.risk_entries:
            self._index.remove(eid)
        acct.risk_entries.clear()

    def _set_volatile(self, acct: _Account, volatile: bool) -> None:
        if volatile == acct.volatile:
            return
        acct.volatile = volatile
        if volatile:
            self._volatile.append(acct.login)
            self._volatile.sort()
        else:
            self._volatile.remove(acct.login)

    def _refresh_risk(self, acct: _Account) -> None:
        """Exact evaluation: stop-out, margin call, then new risk bands."""
        self._clear_bands(acct)
        if not acct.positions:
            acct.in_call = False
            self._set_volatile(acct, False)
            return
        atype = acct.type
        equity, risks = self._equity(acct)
        level = margin_level(equity, acct.book.total)
        if at_or_below(level, atype.stop_out_level):
            self._stop_out(acct, equity, risks, level)
            if not acct.positions:
                acct.in_call = False
                self._set_volatile(acct, False)
                return
            equity, risks = self._equity(acct)
            level = margin_level(equity, acct.book.total)
        if at_or_below(level, atype.margin_call_level):
            if not acct.in_call:
                acct.in_call = True
                self._j("margin_call", login=acct.login, margin_level=_lvl(level), equity=equity,
                        margin=acct.book.total, threshold=atype.margin_call_level)
        elif acct.in_call:
            acct.in_call = False
            self._j("margin_call_cleared", login=acct.login, margin_level=_lvl(level))
        volatile = any(acct.currency != p.sym.spec.quote for p in acct.positions.values())
        self._set_volatile(acct, volatile)
        if volatile or level is None:
            return
        threshold = atype.stop_out_level if acct.in_call else atype.margin_call_level
        # per-position cent rounding can move equity by < 0.005 each: keep it out of the slack
        slack = equity - acct.book.total * threshold / HUNDRED - CENT * len(acct.positions)
        movers = [(sym, i, u) for sym, units in acct.exposure.items() for i, u in enumerate(units) if u > 0]
        if not movers:
            return
        share = max(slack, ZERO) / len(movers)
        for sym_name, i, units in movers:
            st = self._symbols[sym_name]
            move = share / units * st.scale  # points of adverse move this exposure may take
            if i == 0:  # buys lose as the bid falls
                edge = int((st.bid_pts - move).to_integral_value(ROUND_CEILING))
                eid = self._index.add(sym_name, BID_LE, edge, (_RISK, acct.login, 0))
            else:  # sells lose as the (marked-up) ask rises
                edge = int((st.ask_pts + move).to_integral_value(ROUND_FLOOR))
                eid = self._index.add(sym_name, ASK_GE, edge, (_RISK, acct.login, 0))
            if eid:
                acct.risk_entries.append(eid)

    def _stop_out(self, acct: _Account, equity: Decimal, risks: list[PositionRisk], level: Decimal | None) -> None:
        """Close the largest loser first, re-evaluating after each close (domain `stop_out`
        picks the order; each close is re-checked exactly, since a close commission can
        lower equity)."""
        so = acct.type.stop_out_level
        self._j("stop_out", login=acct.login, margin_level=_lvl(level), equity=equity, margin=acct.book.total,
                threshold=so)
        while acct.positions:
            plan = domain_stop_out(acct.balance, risks, acct.calc, so, acct.credit)
            if not plan:
                return
            victim = acct.positions[plan[0].ticket]
            self._market_close(acct, victim, victim.volume, rc.DEAL_REASON_SO, "so")
            equity, risks = self._equity(acct)
            if not at_or_below(margin_level(equity, acct.book.total), so):
                return

    # ------------------------------------------------------------------ rollover
    def _rollover(self, midnight: int) -> None:
        """Swaps for positions held over `midnight` (00:00 server time): one night, three
        on the symbol's triple day (`swap_nights` of the day that ends), none for a market
        closed that day (weekends) or a swap-free account."""
        ended = midnight - 1
        wd = self.calendar.weekday(ended)
        self._j("rollover", weekday_ended=wd)
        rates = None
        for login, acct in self._accounts.items():
            if not acct.positions or acct.swap_free:
                continue
            charged = False
            for p in acct.positions.values():
                spec = p.sym.spec
                if p.time_msc >= midnight or not self.calendar.is_open(spec.group, ended):
                    continue
                if rates is None:
                    rates = self.rates()
                nights = swap_nights(spec, wd)
                amount = round_money(swap(spec, p.side, p.volume, nights, acct.currency, rates))
                if amount:
                    p.swap += amount
                    charged = True
                    self._j("swap", login=login, position=p.ticket, symbol=spec.name, nights=nights,
                            amount=amount, swap_total=p.swap)
            if charged:
                self._refresh_risk(acct)

    # ------------------------------------------------------------------ position mechanics
    def _exposure(self, acct: _Account, st: _Symbol, side: Side, volume_delta: Decimal) -> None:
        units = acct.exposure.get(st.name)
        if units is None:
            units = acct.exposure[st.name] = [ZERO, ZERO]
        units[0 if side is Side.BUY else 1] += volume_delta * st.spec.contract_size
        if not units[0] and not units[1]:
            del acct.exposure[st.name]

    def _deal(self, acct: _Account, st: _Symbol, order: int, side: Side, entry: int, reason: int, position: int,
              volume: Decimal, price: Decimal, comm: Decimal, swp: Decimal, prof: Decimal, magic: int,
              comment: str) -> DealInfo:
        acct.balance += comm + swp + prof
        deal = DealInfo(self._next_deal, acct.login, order, self.clock.now_ms,
                        rc.DEAL_TYPE_BUY if side is Side.BUY else rc.DEAL_TYPE_SELL, entry, reason, position,
                        st.name, volume, price, comm, swp, prof, ZERO, magic, comment)
        self._next_deal += 1
        acct.hist_deals.append(deal)
        self._j("deal", **_deal_fields(deal), balance=acct.balance)
        return deal

    def _commission(self, acct: _Account, volume: Decimal) -> Decimal:
        return round_money(commission(acct.type, volume, acct.currency, self.rates()))

    def _notional(self, acct: _Account, st: _Symbol, volume: Decimal, price: Decimal) -> Decimal:
        return position_notional(st.spec, volume, price, acct.currency, self.rates())

    def _set_level(self, acct: _Account, pos: _Position, which: str, value: Decimal) -> None:
        """Set SL or TP and (re)index it in feed points (ask side shifted by the markup)."""
        st = pos.sym
        old = pos.sl_entry if which == "sl" else pos.tp_entry
        self._index.remove(old)
        eid = 0
        if value:
            pts = int(value.scaleb(st.digits))
            buy = pos.side is Side.BUY
            payload = (_SL if which == "sl" else _TP, acct.login, pos.ticket)
            if which == "sl":
                eid = self._index.add(st.name, BID_LE, pts, payload) if buy else \
                    self._index.add(st.name, ASK_GE, pts - acct.markup, payload)
            else:
                eid = self._index.add(st.name, BID_GE, pts, payload) if buy else \
                    self._index.add(st.name, ASK_LE, pts - acct.markup, payload)
        if which == "sl":
            pos.sl, pos.sl_entry = value, eid
        else:
            pos.tp, pos.tp_entry = value, eid

    def _open_position(self, acct: _Account, st: _Symbol, side: Side, volume: Decimal, price: Decimal,
                       ticket: int, reason: int, magic: int, comment: str, sl: Decimal, tp: Decimal) -> _Position:
        notional = self._notional(acct, st, volume, price)
        pos = _Position(ticket, acct.login, st, side, volume, price, self.clock.now_ms, magic, reason, comment,
                        notional)
        acct.positions[ticket] = pos
        if acct.netting:
            acct.net[st.name] = ticket
        acct.book.open(ticket, st.spec.group, notional)
        self._exposure(acct, st, side, volume)
        self._set_level(acct, pos, "sl", sl)
        self._set_level(acct, pos, "tp", tp)
        return pos

    def _reduce(self, acct: _Account, pos: _Position, volume: Decimal, price: Decimal) -> tuple[Decimal, Decimal]:
        """Take `volume` off `pos` at `price`: returns (profit, swap share) to realise."""
        st = pos.sym
        prof = round_money(profit(st.spec, pos.side, volume, pos.price_open, price, acct.currency, self.rates()))
        self._exposure(acct, st, pos.side, -volume)
        if volume == pos.volume:
            swp = pos.swap
            self._index.remove(pos.sl_entry)
            self._index.remove(pos.tp_entry)
            del acct.positions[pos.ticket]
            if acct.netting:
                acct.net.pop(st.name, None)
            acct.book.close(pos.ticket)
            pos.volume = ZERO
        else:
            remaining = pos.volume - volume
            swp = round_money(pos.swap * volume / pos.volume)
            pos.swap -= swp
            pos.notional = (pos.notional * remaining / pos.volume).quantize(NOTIONAL_QUANTUM, ROUND_HALF_UP)
            acct.book.resize(pos.ticket, pos.notional)
            pos.volume = remaining
            pos.time_update_msc = self.clock.now_ms
        return prof, swp

    def _history_order(self, acct: _Account, st: _Symbol, otype: int, volume: Decimal, price: Decimal,
                       reason: int, magic: int, comment: str, position: int, sl: Decimal = ZERO,
                       tp: Decimal = ZERO, ticket: int | None = None) -> _Order:
        now = self.clock.now_ms
        order = _Order(ticket=ticket or self._ticket(), login=acct.login, symbol=st.name, type=otype,
                       state=rc.ORDER_STATE_FILLED, volume_initial=volume, volume_current=ZERO, price_open=price,
                       sl=sl, tp=tp, time_setup_msc=now, time_done_msc=now, type_filling=rc.ORDER_FILLING_FOK,
                       type_time=rc.ORDER_TIME_GTC, expiration_ms=0, magic=magic, reason=reason,
                       position_id=position, comment=comment, entry=0)
        acct.hist_orders.append(order)
        self._j("order", **_order_fields(order))
        return order

    def _market_close(self, acct: _Account, pos: _Position, volume: Decimal, reason: int, comment: str,
                      magic: int | None = None) -> DealInfo:
        """Close `volume` of `pos` at the current quote (a gap fills at the quote, not the level)."""
        st = pos.sym
        price = self._close_price(acct, st, pos.side)
        mg = pos.magic if magic is None else magic
        order = self._history_order(acct, st, _opposite_type(pos.side), volume, price, reason, mg, comment,
                                    pos.ticket)
        comm = self._commission(acct, volume)
        prof, swp = self._reduce(acct, pos, volume, price)
        return self._deal(acct, st, order.ticket, pos.side.opposite, rc.DEAL_ENTRY_OUT, reason, pos.ticket, volume,
                          price, comm, swp, prof, mg, comment)

    def _fill(self, acct: _Account, st: _Symbol, side: Side, volume: Decimal, price: Decimal, order: _Order,
              reason: int, sl: Decimal, tp: Decimal, close_ticket: int = 0) -> tuple[DealInfo, int]:
        """Execute a filled order; returns (deal, position ticket)."""
        comm = self._commission(acct, volume)
        magic, comment = order.magic, order.comment
        target = acct.positions.get(close_ticket) if close_ticket else (
            acct.positions.get(acct.net.get(st.name, 0)) if acct.netting else None)
        if target is None:
            pos = self._open_position(acct, st, side, volume, price, order.ticket, reason, magic, comment, sl, tp)
            deal = self._deal(acct, st, order.ticket, side, rc.DEAL_ENTRY_IN, reason, pos.ticket, volume, price,
                              comm, ZERO, ZERO, magic, comment)
            order.position_id = pos.ticket
            return deal, pos.ticket
        order.position_id = target.ticket
        if target.side is side:  # netting increase
            new_volume = target.volume + volume
            target.price_open = (target.price_open * target.volume + price * volume) / new_volume
            target.notional += self._notional(acct, st, volume, price)
            acct.book.resize(target.ticket, target.notional)
            self._exposure(acct, st, side, volume)
            target.volume = new_volume
            target.time_update_msc = self.clock.now_ms
            if sl:
                self._set_level(acct, target, "sl", sl)
            if tp:
                self._set_level(acct, target, "tp", tp)
            deal = self._deal(acct, st, order.ticket, side, rc.DEAL_ENTRY_IN, reason, target.ticket, volume, price,
                              comm, ZERO, ZERO, magic, comment)
            return deal, target.ticket
        if volume <= target.volume:
            prof, swp = self._reduce(acct, target, volume, price)
            deal = self._deal(acct, st, order.ticket, side, rc.DEAL_ENTRY_OUT, reason, target.ticket, volume, price,
                              comm, swp, prof, magic, comment)
            return deal, target.ticket
        # netting reversal: close all, re-open the remainder at the deal price (same ticket)
        ticket, rest = target.ticket, volume - target.volume
        prof, swp = self._reduce(acct, target, target.volume, price)
        self._open_position(acct, st, side, rest, price, ticket, reason, magic, comment, sl, tp)
        deal = self._deal(acct, st, order.ticket, side, rc.DEAL_ENTRY_INOUT, reason, ticket, volume, price, comm,
                          swp, prof, magic, comment)
        return deal, ticket

    def _margin_after(self, acct: _Account, st: _Symbol, side: Side, volume: Decimal, price: Decimal,
                      close_ticket: int) -> Decimal | None:
        """Margin after the deal, or None when the deal only reduces exposure."""
        target = acct.positions.get(close_ticket) if close_ticket else (
            acct.positions.get(acct.net.get(st.name, 0)) if acct.netting else None)
        group = st.spec.group
        if target is None or target.side is side:
            return acct.book.total_if_opened(group, self._notional(acct, st, volume, price))
        if volume <= target.volume:
            return None
        # reversal (the domain has no "replace" query: one GroupTiers.margin look-up)
        new_group = acct.book.group_notional(group) - target.notional + \
            self._notional(acct, st, volume - target.volume, price)
        return acct.book.total - acct.book.group_margin(group) + acct.calc.tiers(group).margin(new_group)

    def _check_money(self, acct: _Account, st: _Symbol, side: Side, volume: Decimal, price: Decimal,
                     close_ticket: int = 0) -> None:
        after = self._margin_after(acct, st, side, volume, price, close_ticket)
        if after is None:
            return
        equity, _ = self._equity(acct)
        free = equity + self._commission(acct, volume) - after
        if free < 0:
            raise _Refused(rc.TRADE_RETCODE_NO_MONEY,
                           f"free margin after the order would be {round_money(free)} {acct.currency} "
                           f"(margin {after}, equity {equity})")

    def _activate(self, acct: _Account, order: _Order, st: _Symbol) -> None:
        """A pending order's level was crossed: fill at the quote (gaps fill at the quote)."""
        side = Side.BUY if order.type in (rc.ORDER_TYPE_BUY_LIMIT, rc.ORDER_TYPE_BUY_STOP) else Side.SELL
        price = self._open_price(acct, st, side)
        try:
            if trading_refusal(acct.type, acct.currency, acct.balance, self.rates()) is not None:
                raise _Refused(rc.TRADE_RETCODE_TRADE_DISABLED, "trading disabled below the minimum deposit")
            self._check_money(acct, st, side, order.volume_current, price)
        except _Refused as refused:
            self._finish_order(acct, order, rc.ORDER_STATE_REJECTED, refused.detail)
            return
        del acct.orders[order.ticket]
        volume = order.volume_current
        order.state = rc.ORDER_STATE_FILLED
        order.volume_current = ZERO
        order.time_done_msc = self.clock.now_ms
        acct.hist_orders.append(order)
        self._j("order", **_order_fields(order), fill_price=price)
        self._fill(acct, st, side, volume, price, order, order.reason, order.sl, order.tp)
        self._j("order_position", order=order.ticket, position=order.position_id)

    def _finish_order(self, acct: _Account, order: _Order, state: int, detail: str = "") -> None:
        acct.orders.pop(order.ticket, None)
        self._index.remove(order.entry)
        order.entry = 0
        order.state = state
        order.time_done_msc = self.clock.now_ms
        acct.hist_orders.append(order)
        self._j("order", **_order_fields(order), detail=detail)

    # ------------------------------------------------------------------ trade requests
    def order_check(self, session: Session, request: TradeRequest) -> TradeResult:
        """Validate a request as `order_send` would, changing nothing (not journaled).
        Returns DONE (10009) when `order_send` would accept it, else the refusal."""
        try:
            self._validate_safely(session, request)
        except _Refused as r:
            return self._result(r.retcode, request, r.detail)
        return self._result(rc.TRADE_RETCODE_DONE, request, "check passed")

    def order_send(self, session: Session, request: TradeRequest, *,
                   reason: int = rc.DEAL_REASON_EXPERT) -> TradeResult:
        """Execute one MT5 trade request (actions DEAL, PENDING, SLTP, MODIFY, REMOVE).

        Market orders fill at once at the account's ask (buy) / bid (sell); pending orders
        are placed (PLACED 10008); refusals carry the real MT5 retcode and change nothing
        but the journal's request/answer records. `reason` is the origin recorded on orders
        and deals (DEAL_REASON_CLIENT/MOBILE/WEB/EXPERT)."""
        self._j("request", op="order_send", session=session.session_id, login=session.login,
                reason=reason, request=_request_fields(request))
        try:
            plan = self._validate_safely(session, request)
        except _Refused as r:
            result = self._result(r.retcode, request, r.detail)
        else:
            result = self._execute(session, request, plan, reason)
        self._j("answer", op="order_send", login=session.login, retcode=result.retcode, order=result.order,
                deal=result.deal, position=result.position, volume=result.volume, price=result.price,
                comment=result.comment)
        return result

    def _result(self, retcode: int, request: TradeRequest, comment: str, **kw) -> TradeResult:
        st = self._symbols.get(request.symbol) if isinstance(request.symbol, str) else None
        bid = ask = ZERO
        if st is not None and st.bid is not None:
            bid, ask = st.bid, st.ask
        return TradeResult(retcode, bid=bid, ask=ask, comment=comment, **kw)

    def _stop_distance(self, symbol: str) -> int:
        s = self._stops
        level = s.get(symbol, 0) if isinstance(s, Mapping) else s
        return max(int(level), 1)

    def _check_stops(self, st: _Symbol, side: Side, ref_pts: int, sl: Decimal, tp: Decimal) -> None:
        """SL/TP against the reference price (current close price or the pending price)."""
        dist = self._stop_distance(st.name)
        for name, value in (("sl", sl), ("tp", tp)):
            if not value:
                continue
            problem = st.spec.price_problem(value)
            if problem:
                raise _Refused(rc.TRADE_RETCODE_INVALID_STOPS, f"{name}: {problem}")
            pts = int(value.scaleb(st.digits))
            below = (name == "sl") == (side is Side.BUY)  # buy SL / sell TP sit below
            gap = ref_pts - pts if below else pts - ref_pts
            if gap < dist:
                where = "below" if below else "above"
                raise _Refused(rc.TRADE_RETCODE_INVALID_STOPS,
                               f"{name} {value} must be at least {dist} points {where} {Decimal(ref_pts).scaleb(-st.digits)}")

    def _validate_safely(self, session: Session, request: TradeRequest) -> dict:
        """`_validate`, with a missing conversion rate (no quote of the pair yet, none given
        at construction) answered as PRICE_OFF instead of an exception."""
        try:
            return self._validate(session, request)
        except DomainError as err:
            if err.code == "no_rate":
                raise _Refused(rc.TRADE_RETCODE_PRICE_OFF, err.detail) from None
            raise _Refused(rc.TRADE_RETCODE_INVALID, err.detail) from None

    def _validate(self, session: Session, request: TradeRequest) -> dict:
        """All checks of a request; raises _Refused. Returns what execution needs."""
        if not isinstance(session, Session) or session.login not in self._accounts:
            raise _Refused(rc.TRADE_RETCODE_INVALID, "no such session")
        acct = self._accounts[session.login]
        if session.read_only:
            raise _Refused(rc.TRADE_RETCODE_TRADE_DISABLED, "investor (read-only) session cannot trade")
        if not isinstance(request, TradeRequest):
            raise _Refused(rc.TRADE_RETCODE_INVALID, "request must be a TradeRequest")
        action = request.action
        plan: dict = {"acct": acct}
        if action == rc.TRADE_ACTION_REMOVE:
            order = acct.orders.get(request.order)
            if order is None:
                raise _Refused(rc.TRADE_RETCODE_INVALID, f"no active pending order {request.order}")
            plan["order"] = order
            return plan
        if action not in (rc.TRADE_ACTION_DEAL, rc.TRADE_ACTION_PENDING, rc.TRADE_ACTION_SLTP,
                          rc.TRADE_ACTION_MODIFY):
            raise _Refused(rc.TRADE_RETCODE_INVALID, f"action {action!r} is not supported")
        refusal = trading_refusal(acct.type, acct.currency, acct.balance, self.rates())
        if refusal is not None and action in (rc.TRADE_ACTION_DEAL, rc.TRADE_ACTION_PENDING):
            raise _Refused(rc.TRADE_RETCODE_TRADE_DISABLED, refusal.detail)
        # the symbol: for SLTP/MODIFY it may be taken from the position/order
        if action == rc.TRADE_ACTION_SLTP:
            pos = acct.positions.get(request.position)
            if pos is None or (request.symbol and request.symbol != pos.sym.name):
                raise _Refused(rc.TRADE_RETCODE_POSITION_CLOSED, f"position {request.position} is not open")
            st = pos.sym
            plan["pos"] = pos
        elif action == rc.TRADE_ACTION_MODIFY:
            order = acct.orders.get(request.order)
            if order is None or (request.symbol and request.symbol != order.symbol):
                raise _Refused(rc.TRADE_RETCODE_INVALID, f"no active pending order {request.order}")
            st = self._symbols[order.symbol]
            plan["order"] = order
        else:
            st = self._symbols.get(request.symbol) if isinstance(request.symbol, str) else None
            if st is None:
                raise _Refused(rc.TRADE_RETCODE_INVALID, f"unknown symbol {request.symbol!r}")
        plan["st"] = st
        # numbers
        sl, tp, price = _dec(request.sl), _dec(request.tp), _dec(request.price)
        if price is None or (price and price < 0):
            raise _Refused(rc.TRADE_RETCODE_INVALID_PRICE, f"price {request.price!r} is not a valid price")
        if sl is None or tp is None or sl < 0 or tp < 0:
            raise _Refused(rc.TRADE_RETCODE_INVALID_STOPS, f"sl/tp ({request.sl!r}, {request.tp!r}) are not valid")
        plan.update(sl=sl, tp=tp, price=price)
        if action in (rc.TRADE_ACTION_DEAL, rc.TRADE_ACTION_PENDING):
            volume = _dec(request.volume)
            if volume is None:
                raise _Refused(rc.TRADE_RETCODE_INVALID_VOLUME, f"volume {request.volume!r} is not a number")
            problem = st.spec.volume_problem(volume)
            if problem:
                raise _Refused(rc.TRADE_RETCODE_INVALID_VOLUME, problem)
            plan["volume"] = volume
            if request.type_filling not in (rc.ORDER_FILLING_FOK, rc.ORDER_FILLING_IOC, rc.ORDER_FILLING_RETURN):
                raise _Refused(rc.TRADE_RETCODE_INVALID_FILL, f"filling mode {request.type_filling!r} is unknown")
        if price:
            problem = st.spec.price_problem(price)
            if problem:
                raise _Refused(rc.TRADE_RETCODE_INVALID_PRICE, problem)
        if not self.calendar.is_open(st.spec.group, self.clock.now_ms):
            raise _Refused(rc.TRADE_RETCODE_MARKET_CLOSED, f"{st.name} market is closed")
        if st.bid is None:
            raise _Refused(rc.TRADE_RETCODE_PRICE_OFF, f"no quote for {st.name} yet")
        markup = st.markup(acct.markup)
        if action == rc.TRADE_ACTION_DEAL:
            if request.type not in (rc.ORDER_TYPE_BUY, rc.ORDER_TYPE_SELL):
                raise _Refused(rc.TRADE_RETCODE_INVALID, f"order type {request.type!r} is not a market order")
            side = Side.BUY if request.type == rc.ORDER_TYPE_BUY else Side.SELL
            plan["side"] = side
            close_ticket = 0
            if request.position:
                pos = acct.positions.get(request.position)
                if pos is None or pos.sym is not st:
                    raise _Refused(rc.TRADE_RETCODE_POSITION_CLOSED, f"position {request.position} is not open")
                if pos.side is side:
                    raise _Refused(rc.TRADE_RETCODE_INVALID, "closing order must be opposite to the position")
                if plan["volume"] > pos.volume:
                    raise _Refused(rc.TRADE_RETCODE_INVALID_CLOSE_VOLUME,
                                   f"close volume {plan['volume']} exceeds position volume {pos.volume}")
                close_ticket = pos.ticket
            plan["close_ticket"] = close_ticket
            fill = st.ask + markup if side is Side.BUY else st.bid
            plan["fill"] = fill
            target = acct.positions.get(close_ticket) if close_ticket else (
                acct.positions.get(acct.net.get(st.name, 0)) if acct.netting else None)
            opening = target is None or target.side is side or plan["volume"] > target.volume
            if opening and (sl or tp):
                ref = st.bid_pts if side is Side.BUY else st.ask_pts + acct.markup
                self._check_stops(st, side, ref, sl, tp)
            elif not opening and (sl or tp):
                raise _Refused(rc.TRADE_RETCODE_INVALID_STOPS, "sl/tp cannot be set by a closing order")
            self._check_money(acct, st, side, plan["volume"], fill, close_ticket)
            return plan
        if action == rc.TRADE_ACTION_PENDING or action == rc.TRADE_ACTION_MODIFY:
            otype = request.type if action == rc.TRADE_ACTION_PENDING else plan["order"].type
            if otype not in _PENDING_TYPES:
                raise _Refused(rc.TRADE_RETCODE_INVALID, f"order type {otype!r} is not a pending order type")
            if not price:
                raise _Refused(rc.TRADE_RETCODE_INVALID_PRICE, "a pending order needs a price")
            side = Side.BUY if otype in (rc.ORDER_TYPE_BUY_LIMIT, rc.ORDER_TYPE_BUY_STOP) else Side.SELL
            pts = int(price.scaleb(st.digits))
            dist = self._stop_distance(st.name)
            ask_pts = st.ask_pts + acct.markup
            gap = {rc.ORDER_TYPE_BUY_LIMIT: ask_pts - pts, rc.ORDER_TYPE_SELL_LIMIT: pts - st.bid_pts,
                   rc.ORDER_TYPE_BUY_STOP: pts - ask_pts, rc.ORDER_TYPE_SELL_STOP: st.bid_pts - pts}[otype]
            if gap < dist:
                raise _Refused(rc.TRADE_RETCODE_INVALID_PRICE,
                               f"pending price {price} is on the wrong side of the market or closer than {dist} points")
            self._check_stops(st, side, pts, sl, tp)
            expiration = self._expiration(request)
            plan.update(side=side, otype=otype, pts=pts, expiration=expiration)
            if action == rc.TRADE_ACTION_PENDING:
                self._check_money(acct, st, side, plan["volume"], price)
            return plan
        # SLTP
        pos = plan["pos"]
        ref = st.bid_pts if pos.side is Side.BUY else st.ask_pts + acct.markup
        self._check_stops(st, pos.side, ref, sl, tp)
        if sl == pos.sl and tp == pos.tp:
            raise _Refused(rc.TRADE_RETCODE_NO_CHANGES, "sl and tp are unchanged")
        return plan

    def _expiration(self, request: TradeRequest) -> int:
        tt = request.type_time
        now = self.clock.now_ms
        if tt == rc.ORDER_TIME_GTC:
            return 0
        if tt == rc.ORDER_TIME_DAY:
            return self.calendar.next_midnight(now)
        if tt == rc.ORDER_TIME_SPECIFIED:
            if type(request.expiration_ms) is not int or request.expiration_ms <= now:
                raise _Refused(rc.TRADE_RETCODE_INVALID_EXPIRATION, "expiration must be in the future")
            return request.expiration_ms
        raise _Refused(rc.TRADE_RETCODE_INVALID_EXPIRATION, f"type_time {tt!r} is not supported")

    def _execute(self, session: Session, request: TradeRequest, plan: dict, reason: int) -> TradeResult:
        acct: _Account = plan["acct"]
        action = request.action
        if action == rc.TRADE_ACTION_REMOVE:
            order = plan["order"]
            self._finish_order(acct, order, rc.ORDER_STATE_CANCELED)
            return self._result(rc.TRADE_RETCODE_DONE, request, "order removed", order=order.ticket)
        st: _Symbol = plan["st"]
        if action == rc.TRADE_ACTION_DEAL:
            side, volume, fill = plan["side"], plan["volume"], plan["fill"]
            order = self._history_order(acct, st, request.type, volume, fill, reason, request.magic,
                                        request.comment, plan["close_ticket"], plan["sl"], plan["tp"])
            deal, position = self._fill(acct, st, side, volume, fill, order, reason, plan["sl"], plan["tp"],
                                        plan["close_ticket"])
            self._refresh_risk(acct)
            return self._result(rc.TRADE_RETCODE_DONE, request, "done", deal=deal.ticket, order=order.ticket,
                                volume=volume, price=fill, position=position)
        if action == rc.TRADE_ACTION_SLTP:
            pos = plan["pos"]
            self._set_level(acct, pos, "sl", plan["sl"])
            self._set_level(acct, pos, "tp", plan["tp"])
            pos.time_update_msc = self.clock.now_ms
            self._j("position_modified", login=acct.login, position=pos.ticket, sl=pos.sl, tp=pos.tp)
            return self._result(rc.TRADE_RETCODE_DONE, request, "sl/tp set", position=pos.ticket)
        # PENDING / MODIFY
        if action == rc.TRADE_ACTION_MODIFY:
            order = plan["order"]
            self._index.remove(order.entry)
            order.price_open, order.sl, order.tp = plan["price"], plan["sl"], plan["tp"]
            order.type_time, order.expiration_ms = request.type_time, plan["expiration"]
        else:
            now = self.clock.now_ms
            order = _Order(ticket=self._ticket(), login=acct.login, symbol=st.name, type=plan["otype"],
                           state=rc.ORDER_STATE_PLACED, volume_initial=plan["volume"],
                           volume_current=plan["volume"], price_open=plan["price"], sl=plan["sl"], tp=plan["tp"],
                           time_setup_msc=now, time_done_msc=0, type_filling=request.type_filling,
                           type_time=request.type_time, expiration_ms=plan["expiration"], magic=request.magic,
                           reason=reason, position_id=0, comment=request.comment, entry=0)
            acct.orders[order.ticket] = order
        otype, pts = order.type, plan["pts"]
        payload = (_PENDING, acct.login, order.ticket)
        which = {rc.ORDER_TYPE_BUY_LIMIT: ASK_LE, rc.ORDER_TYPE_SELL_LIMIT: BID_GE,
                 rc.ORDER_TYPE_BUY_STOP: ASK_GE, rc.ORDER_TYPE_SELL_STOP: BID_LE}[otype]
        order.entry = self._index.add(st.name, which, pts - acct.markup if which in (ASK_LE, ASK_GE) else pts,
                                      payload)
        if order.expiration_ms:
            heapq.heappush(self._expiry, (order.expiration_ms, order.ticket, acct.login))
        self._j("order", **_order_fields(order), modified=action == rc.TRADE_ACTION_MODIFY)
        return self._result(rc.TRADE_RETCODE_PLACED if action == rc.TRADE_ACTION_PENDING else rc.TRADE_RETCODE_DONE,
                            request, "placed" if action == rc.TRADE_ACTION_PENDING else "modified",
                            order=order.ticket, volume=order.volume_current, price=order.price_open)

    # ------------------------------------------------------------------ queries
    def account_info(self, login: int) -> AccountInfo:
        acct = self._account(login)
        equity, risks = self._equity(acct)
        margin = acct.book.total
        prof = sum((r.profit for r in risks), ZERO)
        t = acct.type
        try:
            allowed = trading_refusal(t, acct.currency, acct.balance, self.rates()) is None
        except DomainError:  # no USD rate for the account currency yet: cannot tell
            allowed = False
        return AccountInfo(login, acct.client.client_id, acct.client.email, acct.name, t.id, t.platform,
                           rc.ACCOUNT_TRADE_MODE_DEMO if acct.demo else rc.ACCOUNT_TRADE_MODE_REAL,
                           rc.ACCOUNT_MARGIN_MODE_RETAIL_NETTING if acct.netting
                           else rc.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING,
                           acct.swap_free, acct.leverage, acct.currency, acct.balance, acct.credit, prof, equity,
                           margin, equity - margin, margin_level(equity, margin), t.margin_call_level,
                           t.stop_out_level, allowed, self.server_name)

    def positions(self, login: int, symbol: str | None = None) -> list[PositionInfo]:
        acct = self._account(login)
        rates = self.rates()
        out = []
        for p in sorted(acct.positions.values(), key=lambda p: p.ticket):
            if symbol is not None and p.sym.name != symbol:
                continue
            close = self._close_price(acct, p.sym, p.side)
            pr = round_money(profit(p.sym.spec, p.side, p.volume, p.price_open, close, acct.currency, rates))
            out.append(PositionInfo(p.ticket, p.ticket, login, p.sym.name,
                                    rc.POSITION_TYPE_BUY if p.side is Side.BUY else rc.POSITION_TYPE_SELL,
                                    p.volume, p.price_open, close, p.sl, p.tp, p.swap, pr, p.time_msc,
                                    p.time_update_msc, p.magic, p.reason, p.comment, p.notional))
        return out

    def orders(self, login: int, symbol: str | None = None) -> list[OrderInfo]:
        acct = self._account(login)
        out = []
        for o in sorted(acct.orders.values(), key=lambda o: o.ticket):
            if symbol is None or o.symbol == symbol:
                st = self._symbols[o.symbol]
                side_buy = o.type in (rc.ORDER_TYPE_BUY_LIMIT, rc.ORDER_TYPE_BUY_STOP)
                cur = (st.ask + st.markup(acct.markup) if side_buy else st.bid) if st.bid is not None else ZERO
                out.append(o.info(cur))
        return out

    def history_orders(self, login: int, from_ms: int = 0, to_ms: int | None = None) -> list[OrderInfo]:
        """Finished orders (filled, canceled, rejected, expired) done in [from_ms, to_ms]."""
        acct = self._account(login)
        hi = _NEVER if to_ms is None else to_ms
        return [o.info(o.price_open) for o in acct.hist_orders if from_ms <= o.time_done_msc <= hi]

    def history_deals(self, login: int, from_ms: int = 0, to_ms: int | None = None) -> list[DealInfo]:
        acct = self._account(login)
        hi = _NEVER if to_ms is None else to_ms
        return [d for d in acct.hist_deals if from_ms <= d.time_msc <= hi]

    def copy_ticks_range(self, symbol: str, from_ms: int, to_ms: int) -> list[TickInfo]:
        """Feed quotes with from_ms <= time <= to_ms (raw feed prices, no markup)."""
        from bisect import bisect_left, bisect_right
        st = self._symbols[symbol]
        lo, hi = bisect_left(st.times, from_ms), bisect_right(st.times, to_ms)
        return [TickInfo(symbol, st.times[i], st.bids[i], st.asks[i]) for i in range(lo, hi)]

    def copy_ticks_from(self, symbol: str, from_ms: int, count: int) -> list[TickInfo]:
        from bisect import bisect_left
        st = self._symbols[symbol]
        lo = bisect_left(st.times, from_ms)
        return [TickInfo(symbol, st.times[i], st.bids[i], st.asks[i])
                for i in range(lo, min(lo + max(count, 0), len(st.times)))]

    def bars(self, symbol: str, timeframe_ms: int, from_ms: int, to_ms: int) -> list[Bar]:
        """OHLC of feed bids in [from_ms, to_ms), opening on server-time multiples of
        `timeframe_ms` (a D1 bar starts at server midnight); bar times are UTC like the rest."""
        from bisect import bisect_left
        st = self._symbols[symbol]
        lo, hi = bisect_left(st.times, from_ms), bisect_left(st.times, to_ms)
        out: list[Bar] = []
        cur = None
        tz = self.timezone
        for i in range(lo, hi):
            local = tz.to_server(st.times[i])
            start = tz.to_utc(local - local % timeframe_ms)
            b, spread = st.bids[i], int((st.asks[i] - st.bids[i]).scaleb(st.digits))
            if cur is None or cur[0] != start:
                if cur is not None:
                    out.append(Bar(*cur))
                cur = [start, b, b, b, b, 0, spread]
            cur[2] = max(cur[2], b)
            cur[3] = min(cur[3], b)
            cur[4] = b
            cur[5] += 1
            cur[6] = min(cur[6], spread)
        if cur is not None:
            out.append(Bar(*cur))
        return out


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
