"""The simulated terminal behind `simulator.mt5`: state, conversions and every API call.

Floats exist only here, at the edge: server Decimals go out as ``float``, incoming floats
come in through `bridge.domain.money.to_decimal` (``repr``), times go out as int seconds
(and ``*_msc`` milliseconds) and come in as datetimes or int/float seconds.

Times here are **trade-server time**, as the official package gives them: the server keeps
UTC, and `_out` / `_in` convert with its `timezone` at this edge (a naive or UTC datetime
passed in is read as a server wall-clock time, as MetaTrader5 does).
"""

from __future__ import annotations

import fnmatch
import os
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bridge.domain.errors import DomainError, Refusal
from bridge.domain.money import round_money, to_decimal
from bridge.domain.trading import Side
from bridge.domain.trading import profit as domain_profit
from simulator.mt5 import constants as C
from simulator.mt5 import records as R
from simulator.server import TradeRequest as ServerRequest
from simulator.server import TradeServer

ZERO = Decimal(0)
SIM_BUILD = 4000
SIM_DATE = "01 Jan 2024"
_COMPANY = "mtbridge simulator"

_ERR_TEXT = {
    C.RES_S_OK: "Success", C.RES_E_FAIL: "Generic fail", C.RES_E_INVALID_PARAMS: "Invalid arguments",
    C.RES_E_NOT_FOUND: "Not found", C.RES_E_AUTH_FAILED: "Authorization failed",
    C.RES_E_UNSUPPORTED: "Unsupported method", C.RES_E_INTERNAL_FAIL: "Internal error",
    C.RES_E_INTERNAL_FAIL_INIT: "IPC initialize failed", C.RES_E_INTERNAL_FAIL_CONNECT: "No IPC connection",
}

_REQUEST_KEYS = ("action", "magic", "order", "symbol", "volume", "price", "stoplimit", "sl", "tp", "deviation",
                 "type", "type_filling", "type_time", "expiration", "comment", "position", "position_by")
_INT_KEYS = ("action", "magic", "order", "deviation", "type", "type_filling", "type_time", "position",
             "position_by")
_NUM_KEYS = ("volume", "price", "stoplimit", "sl", "tp")


class _Fail(Exception):
    def __init__(self, code: int, text: str | None = None) -> None:
        super().__init__(text)
        self.code = code
        self.text = text or _ERR_TEXT.get(code, "Error")


def _f(d: Decimal | None) -> float:
    return 0.0 if d is None else float(d)


def _s(ms: int) -> int:
    return ms // 1000


def to_ms(value: Any, what: str) -> int:
    """A datetime (naive = UTC) or int/float seconds since the epoch -> int ms."""
    if isinstance(value, bool):
        raise _Fail(C.RES_E_INVALID_PARAMS, f"Invalid \"{what}\" argument")
    if isinstance(value, datetime):
        dt = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
        delta = dt - datetime(1970, 1, 1, tzinfo=timezone.utc)
        return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
    if isinstance(value, int):
        return value * 1000
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        return int(to_decimal(value, what) * 1000)
    raise _Fail(C.RES_E_INVALID_PARAMS, f"Invalid \"{what}\" argument")


def group_match(mask: str, symbol: str) -> bool:
    """MT5 group masks: comma-separated patterns with ``*``; ``!`` excludes. A symbol is
    selected when it matches an inclusion (or there is none) and no exclusion."""
    inc, exc = [], []
    for part in mask.split(","):
        part = part.strip()
        if not part:
            continue
        (exc if part.startswith("!") else inc).append(part.lstrip("!"))
    if exc and any(fnmatch.fnmatchcase(symbol, p) for p in exc):
        return False
    return not inc or any(fnmatch.fnmatchcase(symbol, p) for p in inc)


class Terminal:
    """One simulated terminal: a server (and optionally the `Simulation` that feeds it), the
    logged-in session and the time policy."""

    def __init__(self) -> None:
        self.server: TradeServer | None = None
        self.sim = None  # simulator.runner.Simulation | None
        self.session = None
        self.step = "none"  # "tick" | "none" | "<ms>"
        self.error: tuple[int, str] = (C.RES_S_OK, "Success")
        self.selected: set[str] = set()
        self.path = ""

    # ------------------------------------------------------------------ plumbing
    def call(self, fn, *args, **kwargs):
        try:
            out = fn(*args, **kwargs)
        except _Fail as f:
            self.error = (f.code, f.text)
            return None
        self.error = (C.RES_S_OK, "Success")
        return out

    def need(self) -> TradeServer:
        if self.server is None:
            raise _Fail(C.RES_E_INTERNAL_FAIL_CONNECT, "No IPC connection")
        return self.server

    def need_login(self) -> int:
        self.need()
        if self.session is None:
            raise _Fail(C.RES_E_AUTH_FAILED, "Not logged in")
        return self.session.login

    def attach(self, server: TradeServer, sim=None, session=None, step: str = "none") -> None:
        self.server, self.sim, self.session, self.step = server, sim, session, step
        self.selected = set()
        self.error = (C.RES_S_OK, "Success")

    def detach(self) -> None:
        self.server = self.sim = self.session = None

    # ------------------------------------------------------------------ time
    def _out(self, utc_ms: int) -> int:
        """A server UTC time -> trade-server time (0 stays "none")."""
        return self.server.timezone.to_server(utc_ms) if utc_ms else 0

    def _in(self, value, what: str) -> int:
        """A time argument (trade-server time) -> UTC ms for the server."""
        return self.server.timezone.to_utc(to_ms(value, what))

    def advance(self, seconds: float | int) -> None:
        """Let `seconds` of virtual time pass (quotes, scripted steps, strategies)."""
        srv = self.need()
        ms = int(to_decimal(seconds, "seconds") * 1000)
        if ms < 0:
            raise ValueError("cannot advance by a negative time")
        target = srv.now_ms + ms
        if self.sim is not None:
            self.sim.run_until(target)
        if target > srv.now_ms:
            srv.advance_to(target)

    def _auto_step(self) -> None:
        if self.sim is None or self.step == "none":
            return
        if self.step == "tick":
            self.sim.step_tick()
        else:
            self.sim.run_until(self.sim.now_ms + int(self.step))

    # ------------------------------------------------------------------ connection
    def initialize(self, path: str | None, login, password, server, timeout, portable) -> bool:
        if self.server is None:
            scenario = path if path and str(path).lower().endswith(".toml") else os.environ.get("MTBRIDGE_SCENARIO")
            if not scenario:
                raise _Fail(C.RES_E_INTERNAL_FAIL_INIT,
                            "IPC initialize failed, no scenario: pass initialize(path=\"x.toml\") or set "
                            "MTBRIDGE_SCENARIO")
            self.open_scenario(str(scenario), os.environ.get("MTBRIDGE_SEED"))
        if login is not None:
            self.login(login, password or "", server or "")
        return True

    def open_scenario(self, path: str, seed: str | int | None) -> None:
        from simulator.runner import Simulation, SimulationError
        from simulator.scenario import ScenarioError, load_scenario, parse_duration
        try:
            sc = load_scenario(path)
            sim = Simulation(sc, None if seed in (None, "") else int(seed))
        except (ScenarioError, SimulationError, ValueError) as exc:
            raise _Fail(C.RES_E_INTERNAL_FAIL_INIT, f"IPC initialize failed, {exc}") from None
        account = sc.terminal_account or sc.accounts[0].id
        step = os.environ.get("MTBRIDGE_STEP", sc.mt5_step)
        if step not in ("tick", "none"):
            try:
                step = str(parse_duration(step))
            except ValueError as exc:
                raise _Fail(C.RES_E_INTERNAL_FAIL_INIT, f"IPC initialize failed, MTBRIDGE_STEP: {exc}") from None
        self.attach(sim.server, sim, sim.sessions[account], step)
        self.path = os.path.abspath(path)
        # the first quote(s) of the scenario: a terminal always shows a price
        first = sim.next_tick_ms()
        if first is not None:
            sim.run_until(first)

    def login(self, login, password, server) -> bool:
        srv = self.need()
        if isinstance(login, bool) or not isinstance(login, int) or not isinstance(password, str):
            raise _Fail(C.RES_E_INVALID_PARAMS, "Invalid \"login\" argument")
        s = srv.login(login, password)
        if isinstance(s, Refusal):
            raise _Fail(C.RES_E_AUTH_FAILED, "Authorization failed")
        self.session = s
        return True

    # ------------------------------------------------------------------ account / terminal
    def account_info(self):
        login = self.need_login()
        a = self.server.account_info(login)
        return R.AccountInfo(
            login=a.login, trade_mode=a.trade_mode, leverage=a.leverage, limit_orders=0,
            margin_so_mode=C.ACCOUNT_STOPOUT_MODE_PERCENT, trade_allowed=a.trade_allowed and not self.session.read_only,
            trade_expert=True, margin_mode=a.margin_mode, currency_digits=2, fifo_close=False,
            balance=_f(a.balance), credit=_f(a.credit), profit=_f(a.profit), equity=_f(a.equity),
            margin=_f(a.margin), margin_free=_f(a.margin_free),
            margin_level=_f(None if a.margin_level is None else a.margin_level.quantize(Decimal("0.01"),
                                                                                         ROUND_HALF_UP)),
            margin_so_call=_f(a.margin_so_call), margin_so_so=_f(a.margin_so_so), margin_initial=0.0,
            margin_maintenance=0.0, assets=0.0, liabilities=0.0, commission_blocked=0.0, name=a.name,
            server=a.server, currency=a.currency, company=_COMPANY)

    def terminal_info(self):
        srv = self.need()
        return R.TerminalInfo(
            community_account=False, community_connection=False, connected=True, dlls_allowed=False,
            trade_allowed=self.session is not None and not self.session.read_only, tradeapi_disabled=False,
            email_enabled=False, ftp_enabled=False, notifications_enabled=False, mqid=False, build=SIM_BUILD,
            maxbars=100000, codepage=0, ping_last=0, community_balance=0.0, retransmission=0.0,
            company=_COMPANY, name=f"{srv.server_name} terminal", language="English", path=self.path,
            data_path=self.path, commondata_path=self.path)

    # ------------------------------------------------------------------ symbols
    def _spec(self, symbol):
        srv = self.need()
        if not isinstance(symbol, str):
            raise _Fail(C.RES_E_INVALID_PARAMS, "Invalid \"symbol\" argument")
        if symbol not in srv.rules.symbols:
            raise _Fail(C.RES_E_NOT_FOUND, f"Terminal: symbol {symbol!r} not found")
        return srv.rules.symbols.get(symbol)

    def symbols_total(self) -> int:
        return len(self.need().symbols())

    def symbols_get(self, group):
        srv = self.need()
        names = srv.symbols()
        if group is not None:
            if not isinstance(group, str):
                raise _Fail(C.RES_E_INVALID_PARAMS, "Invalid \"group\" argument")
            names = [n for n in names if group_match(group, n)]
        return tuple(self._symbol_info(n) for n in names)

    def symbol_info(self, symbol):
        self._spec(symbol)
        return self._symbol_info(symbol)

    def _symbol_info(self, name: str):
        srv = self.server
        spec = srv.rules.symbols.get(name)
        login = self.session.login if self.session is not None else None
        tick = srv.symbol_tick(name, login)
        bid, ask, t = (tick.bid, tick.ask, tick.time_msc) if tick else (ZERO, ZERO, 0)
        spread = int((ask - bid).scaleb(spec.digits)) if tick else 0
        tick_value = ZERO
        try:
            currency = srv.account_info(login).currency if login is not None else "USD"
            tick_value = srv.rates().convert(spec.point * spec.contract_size, spec.quote, currency)
        except DomainError:
            pass
        tv = float(tick_value)
        calc = C.SYMBOL_CALC_MODE_FOREX if spec.group.startswith("forex") else C.SYMBOL_CALC_MODE_CFDLEVERAGE
        group_path = spec.group.replace("_", " ").title().replace(" ", "\\")
        return R.SymbolInfo(
            custom=False, chart_mode=C.SYMBOL_CHART_MODE_BID, select=name in self.selected, visible=name in self.selected,
            session_deals=0, session_buy_orders=0, session_sell_orders=0, volume=0, volumehigh=0, volumelow=0,
            time=_s(self._out(t)), digits=spec.digits, spread=spread, spread_float=True, ticks_bookdepth=0,
            trade_calc_mode=calc, trade_mode=C.SYMBOL_TRADE_MODE_FULL, start_time=0, expiration_time=0,
            trade_stops_level=self.server.stops_level(name), trade_freeze_level=0, trade_exemode=C.SYMBOL_TRADE_EXECUTION_MARKET,
            swap_mode=C.SYMBOL_SWAP_MODE_POINTS, swap_rollover3days=(spec.swap_triple_day + 1) % 7,
            margin_hedged_use_leg=False,
            expiration_mode=C.SYMBOL_EXPIRATION_GTC | C.SYMBOL_EXPIRATION_DAY | C.SYMBOL_EXPIRATION_SPECIFIED,
            filling_mode=C.SYMBOL_FILLING_FOK | C.SYMBOL_FILLING_IOC,
            order_mode=(C.SYMBOL_ORDER_MARKET | C.SYMBOL_ORDER_LIMIT | C.SYMBOL_ORDER_STOP | C.SYMBOL_ORDER_SL
                        | C.SYMBOL_ORDER_TP),
            order_gtc_mode=C.SYMBOL_ORDERS_GTC, option_mode=0, option_right=0,
            bid=_f(bid), bidhigh=_f(bid), bidlow=_f(bid), ask=_f(ask), askhigh=_f(ask), asklow=_f(ask), last=0.0,
            lasthigh=0.0, lastlow=0.0, volume_real=0.0, volumehigh_real=0.0, volumelow_real=0.0, option_strike=0.0,
            point=_f(spec.point), trade_tick_value=tv, trade_tick_value_profit=tv, trade_tick_value_loss=tv,
            trade_tick_size=_f(spec.point), trade_contract_size=_f(spec.contract_size), trade_accrued_interest=0.0,
            trade_face_value=0.0, trade_liquidity_rate=0.0, volume_min=_f(spec.volume_min),
            volume_max=_f(spec.volume_max), volume_step=_f(spec.volume_step), volume_limit=0.0,
            swap_long=_f(spec.swap_long), swap_short=_f(spec.swap_short), margin_initial=0.0, margin_maintenance=0.0,
            session_volume=0.0, session_turnover=0.0, session_interest=0.0, session_buy_orders_volume=0.0,
            session_sell_orders_volume=0.0, session_open=0.0, session_close=0.0, session_aw=0.0,
            session_price_settlement=0.0, session_price_limit_min=0.0, session_price_limit_max=0.0,
            margin_hedged=_f(spec.contract_size), price_change=0.0, price_volatility=0.0, price_theoretical=0.0,
            price_greeks_delta=0.0, price_greeks_theta=0.0, price_greeks_gamma=0.0, price_greeks_vega=0.0,
            price_greeks_rho=0.0, price_greeks_omega=0.0, price_sensitivity=0.0, basis="", category="",
            currency_base=spec.base, currency_profit=spec.quote, currency_margin=spec.base, bank="",
            description=spec.description or name, exchange="", formula="", isin="", name=name, page="",
            path=f"{group_path}\\{name}")

    def symbol_select(self, symbol, enable: bool) -> bool:
        self._spec(symbol)
        if enable:
            self.selected.add(symbol)
        else:
            self.selected.discard(symbol)
        return True

    def symbol_info_tick(self, symbol):
        self._spec(symbol)
        self._auto_step()
        login = self.session.login if self.session is not None else None
        t = self.server.symbol_tick(symbol, login)
        if t is None:
            raise _Fail(C.RES_E_NOT_FOUND, f"Terminal: no quote for {symbol} yet")
        t_msc = self._out(t.time_msc)
        return R.Tick(time=_s(t_msc), bid=_f(t.bid), ask=_f(t.ask), last=0.0, volume=0, time_msc=t_msc,
                      flags=C.TICK_FLAG_BID | C.TICK_FLAG_ASK, volume_real=0.0)

    # ------------------------------------------------------------------ calculations
    def _num(self, value, what: str) -> Decimal:
        try:
            return to_decimal(value, what)
        except DomainError:
            raise _Fail(C.RES_E_INVALID_PARAMS, f"Invalid \"{what}\" argument") from None

    def _action_side(self, action) -> Side:
        if action == C.ORDER_TYPE_BUY or action in (C.ORDER_TYPE_BUY_LIMIT, C.ORDER_TYPE_BUY_STOP,
                                                     C.ORDER_TYPE_BUY_STOP_LIMIT):
            return Side.BUY
        if action in (C.ORDER_TYPE_SELL, C.ORDER_TYPE_SELL_LIMIT, C.ORDER_TYPE_SELL_STOP, C.ORDER_TYPE_SELL_STOP_LIMIT):
            return Side.SELL
        raise _Fail(C.RES_E_INVALID_PARAMS, "Invalid \"action\" argument")

    def order_calc_margin(self, action, symbol, volume, price) -> float:
        """Margin of this order alone on the account (tier tables, account leverage and
        currency; other open positions not counted, as MT5 does)."""
        login = self.need_login()
        self._action_side(action)
        spec = self._spec(symbol)
        vol, px = self._num(volume, "volume"), self._num(price, "price")
        if vol <= 0 or px <= 0:
            raise _Fail(C.RES_E_INVALID_PARAMS, "Invalid \"volume\" or \"price\" argument")
        srv = self.server
        a = srv.account_info(login)
        from bridge.domain.margin import position_notional
        try:
            calc = srv.rules.margin_for(a.account_type, a.currency, a.leverage)
            notional = position_notional(spec, vol, px, a.currency, srv.rates())
        except DomainError as exc:
            raise _Fail(C.RES_E_FAIL, exc.detail) from None
        return float(round_money(calc.total([(spec.group, notional)])))

    def order_calc_profit(self, action, symbol, volume, price_open, price_close) -> float:
        login = self.need_login()
        side = self._action_side(action)
        spec = self._spec(symbol)
        vol = self._num(volume, "volume")
        po, pc = self._num(price_open, "price_open"), self._num(price_close, "price_close")
        a = self.server.account_info(login)
        try:
            p = domain_profit(spec, side, vol, po, pc, a.currency, self.server.rates())
        except DomainError as exc:
            raise _Fail(C.RES_E_FAIL, exc.detail) from None
        return float(round_money(p))

    # ------------------------------------------------------------------ trading
    def _request(self, request) -> tuple[ServerRequest, Any]:
        if not isinstance(request, dict):
            raise _Fail(C.RES_E_INVALID_PARAMS, "Invalid \"request\" argument: expected a dict")
        for k in request:
            if k not in _REQUEST_KEYS:
                raise _Fail(C.RES_E_INVALID_PARAMS, f"Invalid \"request\" argument: unknown field {k!r}")
        if "action" not in request:
            raise _Fail(C.RES_E_INVALID_PARAMS, "Invalid \"request\" argument: no action")
        kw: dict[str, Any] = {}
        for k in _INT_KEYS:
            v = request.get(k, 0)
            if isinstance(v, bool) or not isinstance(v, int):
                raise _Fail(C.RES_E_INVALID_PARAMS, f"Invalid \"{k}\" argument")
            kw[k] = v
        for k in _NUM_KEYS:
            v = request.get(k, 0.0)
            if isinstance(v, bool) or not isinstance(v, (int, float, Decimal)):
                raise _Fail(C.RES_E_INVALID_PARAMS, f"Invalid \"{k}\" argument")
            if isinstance(v, float) and v != v or v in (float("inf"), float("-inf")):
                kw[k] = Decimal(str(v))  # NaN/inf reach the server, which refuses them with a retcode
            else:
                kw[k] = to_decimal(v, k)
        symbol, comment = request.get("symbol", ""), request.get("comment", "")
        if not isinstance(symbol, str) or not isinstance(comment, str):
            raise _Fail(C.RES_E_INVALID_PARAMS, "Invalid \"symbol\" or \"comment\" argument")
        expiration = request.get("expiration", 0)
        exp_ms = 0 if expiration in (0, None) else self._in(expiration, "expiration")
        if kw["position_by"]:
            pass  # CLOSE_BY is refused by the server (TRADE_RETCODE_INVALID)
        req = ServerRequest(action=kw["action"], symbol=symbol, volume=kw["volume"], type=kw["type"],
                            price=kw["price"], sl=kw["sl"], tp=kw["tp"], deviation=kw["deviation"], magic=kw["magic"],
                            comment=comment, position=kw["position"], position_by=kw["position_by"], order=kw["order"],
                            stoplimit=kw["stoplimit"], type_filling=kw["type_filling"], type_time=kw["type_time"],
                            expiration_ms=exp_ms)
        echo = R.TradeRequest(
            action=kw["action"], magic=kw["magic"], order=kw["order"], symbol=symbol,
            volume=float(request.get("volume", 0.0)), price=float(request.get("price", 0.0)),
            stoplimit=float(request.get("stoplimit", 0.0)), sl=float(request.get("sl", 0.0)),
            tp=float(request.get("tp", 0.0)), deviation=kw["deviation"], type=kw["type"],
            type_filling=kw["type_filling"], type_time=kw["type_time"],
            expiration=expiration if isinstance(expiration, int) else exp_ms // 1000, comment=comment,
            position=kw["position"], position_by=kw["position_by"])
        return req, echo

    def _session(self):
        self.need_login()
        return self.session

    def order_send(self, request):
        session = self._session()
        req, echo = self._request(request)
        r = self.server.order_send(session, req, reason=C.DEAL_REASON_EXPERT)
        return R.OrderSendResult(retcode=r.retcode, deal=r.deal, order=r.order, volume=_f(r.volume), price=_f(r.price),
                                 bid=_f(r.bid), ask=_f(r.ask), comment=r.comment, request_id=r.request_id,
                                 retcode_external=0, request=echo)

    def order_check(self, request):
        session = self._session()
        req, echo = self._request(request)
        srv = self.server
        r = srv.order_check(session, req)
        a = srv.account_info(session.login)
        ok = r.retcode in (C.TRADE_RETCODE_DONE, C.TRADE_RETCODE_PLACED)
        margin = a.margin
        if ok and req.action in (C.TRADE_ACTION_DEAL, C.TRADE_ACTION_PENDING) and not req.position:
            margin = self._margin_with(session.login, req)
        free = a.equity - margin
        level = ZERO if margin == 0 else (a.equity / margin * 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
        return R.OrderCheckResult(retcode=0 if ok else r.retcode, balance=_f(a.balance), equity=_f(a.equity),
                                  profit=_f(a.profit), margin=_f(margin), margin_free=_f(free), margin_level=_f(level),
                                  comment="Done" if ok else r.comment, request=echo)

    def _margin_with(self, login: int, req: ServerRequest) -> Decimal:
        srv = self.server
        a = srv.account_info(login)
        spec = srv.rules.symbols.get(req.symbol)
        tick = srv.symbol_tick(req.symbol, login)
        price = req.price if req.action == C.TRADE_ACTION_PENDING else (
            tick.ask if req.type == C.ORDER_TYPE_BUY else tick.bid)
        from bridge.domain.margin import position_notional
        calc = srv.rules.margin_for(a.account_type, a.currency, a.leverage)
        items = [(srv.rules.symbols.get(p.symbol).group, p.notional) for p in srv.positions(login)]
        items.append((spec.group, position_notional(spec, req.volume, price, a.currency, srv.rates())))
        return round_money(calc.total(items))

    # ------------------------------------------------------------------ positions / orders
    def _filters(self, symbol, group, ticket):
        if symbol is not None and not isinstance(symbol, str):
            raise _Fail(C.RES_E_INVALID_PARAMS, "Invalid \"symbol\" argument")
        if group is not None and not isinstance(group, str):
            raise _Fail(C.RES_E_INVALID_PARAMS, "Invalid \"group\" argument")
        if ticket is not None and (isinstance(ticket, bool) or not isinstance(ticket, int)):
            raise _Fail(C.RES_E_INVALID_PARAMS, "Invalid \"ticket\" argument")

        def keep(sym: str, tk: int) -> bool:
            if ticket is not None:
                return tk == ticket
            if symbol is not None:
                return sym == symbol
            return group is None or group_match(group, sym)
        return keep

    def positions_total(self) -> int:
        return len(self.server.positions(self.need_login()))

    def positions_get(self, symbol, group, ticket):
        login = self.need_login()
        keep = self._filters(symbol, group, ticket)
        return tuple(_position(p, self._out) for p in self.server.positions(login) if keep(p.symbol, p.ticket))

    def orders_total(self) -> int:
        return len(self.server.orders(self.need_login()))

    def orders_get(self, symbol, group, ticket):
        login = self.need_login()
        keep = self._filters(symbol, group, ticket)
        return tuple(_order(o, self._out) for o in self.server.orders(login) if keep(o.symbol, o.ticket))

    # ------------------------------------------------------------------ history
    def _range(self, date_from, date_to) -> tuple[int, int]:
        if date_from is None or date_to is None:
            raise _Fail(C.RES_E_INVALID_PARAMS, "Invalid arguments: date_from and date_to are required")
        return self._in(date_from, "date_from"), self._in(date_to, "date_to")

    def history_orders(self, date_from, date_to, group, ticket, position):
        login = self.need_login()
        if ticket is not None or position is not None:
            items = self.server.history_orders(login)
            items = [o for o in items if (ticket is None or o.ticket == ticket)
                     and (position is None or o.position_id == position)]
        else:
            lo, hi = self._range(date_from, date_to)
            items = self.server.history_orders(login, lo, hi)
            if group is not None:
                items = [o for o in items if group_match(group, o.symbol)]
        return tuple(_order(o, self._out) for o in items)

    def history_deals(self, date_from, date_to, group, ticket, position):
        login = self.need_login()
        if ticket is not None or position is not None:
            items = self.server.history_deals(login)
            items = [d for d in items if (ticket is None or d.order == ticket)
                     and (position is None or d.position_id == position)]
        else:
            lo, hi = self._range(date_from, date_to)
            items = self.server.history_deals(login, lo, hi)
            if group is not None:
                items = [d for d in items if group_match(group, d.symbol)]
        return tuple(_deal(d, self._out) for d in items)

    # ------------------------------------------------------------------ market data
    def copy_ticks(self, symbol, date_from, count, date_to, flags):
        self._spec(symbol)
        if isinstance(flags, bool) or flags not in (C.COPY_TICKS_ALL, C.COPY_TICKS_INFO, C.COPY_TICKS_TRADE):
            raise _Fail(C.RES_E_INVALID_PARAMS, "Invalid \"flags\" argument")
        lo = self._in(date_from, "date_from")
        if date_to is None:
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise _Fail(C.RES_E_INVALID_PARAMS, "Invalid \"count\" argument")
            ticks = self.server.copy_ticks_from(symbol, lo, count)
        else:
            ticks = self.server.copy_ticks_range(symbol, lo, self._in(date_to, "date_to"))
        if flags == C.COPY_TICKS_TRADE:
            return ()  # the simulated feed has no trade (last/volume) ticks
        f = C.TICK_FLAG_BID | C.TICK_FLAG_ASK
        out = self._out
        return tuple(R.TickRow(_s(out(t.time_msc)), _f(t.bid), _f(t.ask), 0.0, 0, out(t.time_msc), f, 0.0)
                     for t in ticks)

    def _tf(self, timeframe) -> int:
        ms = C.TIMEFRAME_MS.get(timeframe) if not isinstance(timeframe, bool) else None
        if ms is None:
            code = C.RES_E_UNSUPPORTED if timeframe == C.TIMEFRAME_MN1 else C.RES_E_INVALID_PARAMS
            raise _Fail(code, "Invalid \"timeframe\" argument" if code == C.RES_E_INVALID_PARAMS
                        else "TIMEFRAME_MN1 is not simulated")
        return ms

    def _bars(self, symbol, tf_ms: int, lo: int, hi: int):
        return self.server.bars(symbol, tf_ms, lo, hi)

    def copy_rates(self, symbol, timeframe, date_from, date_to, start_pos, count):
        self._spec(symbol)
        tf = self._tf(timeframe)
        srv = self.server
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
            raise _Fail(C.RES_E_INVALID_PARAMS, "Invalid \"count\" argument")
        # bars open on server-time multiples of the timeframe; their times are UTC until _out
        if date_to is not None:  # range: bars opened in [from, to]
            lo, hi = self._in(date_from, "date_from"), self._in(date_to, "date_to")
            bars = self._bars(symbol, tf, lo - tf, hi + 1)
            bars = [b for b in bars if lo <= b.time_ms <= hi]
        elif start_pos is not None:  # from position: 0 = the current bar, counting back
            if isinstance(start_pos, bool) or not isinstance(start_pos, int) or start_pos < 0:
                raise _Fail(C.RES_E_INVALID_PARAMS, "Invalid \"start_pos\" argument")
            bars = self._bars(symbol, tf, 0, srv.now_ms + 1)
            end = len(bars) - start_pos
            bars = bars[max(end - count, 0):max(end, 0)]
        else:  # `count` bars opened at or before date_from
            hi = self._in(date_from, "date_from")
            bars = self._bars(symbol, tf, 0, hi + tf)
            bars = [b for b in bars if b.time_ms <= hi][-count:] if count else []
        return tuple(R.RateRow(_s(self._out(b.time_ms)), _f(b.open), _f(b.high), _f(b.low), _f(b.close), b.tick_volume,
                               b.spread, 0) for b in bars)


def _position(p, out):
    return R.TradePosition(ticket=p.ticket, time=_s(out(p.time_msc)), time_msc=out(p.time_msc),
                           time_update=_s(out(p.time_update_msc)), time_update_msc=out(p.time_update_msc), type=p.type, magic=p.magic, identifier=p.identifier,
                           reason=p.reason if p.reason <= C.POSITION_REASON_EXPERT else C.POSITION_REASON_EXPERT,
                           volume=_f(p.volume), price_open=_f(p.price_open), sl=_f(p.sl), tp=_f(p.tp),
                           price_current=_f(p.price_current), swap=_f(p.swap), profit=_f(p.profit), symbol=p.symbol,
                           comment=p.comment, external_id="")


def _order(o, out):
    return R.TradeOrder(ticket=o.ticket, time_setup=_s(out(o.time_setup_msc)), time_setup_msc=out(o.time_setup_msc),
                        time_done=_s(out(o.time_done_msc)), time_done_msc=out(o.time_done_msc), time_expiration=0, type=o.type,
                        type_time=o.type_time, type_filling=o.type_filling, state=o.state, magic=o.magic,
                        position_id=o.position_id, position_by_id=0, reason=o.reason, volume_initial=_f(o.volume_initial),
                        volume_current=_f(o.volume_current), price_open=_f(o.price_open), sl=_f(o.sl), tp=_f(o.tp),
                        price_current=_f(o.price_current), price_stoplimit=0.0, symbol=o.symbol, comment=o.comment,
                        external_id="")


def _deal(d, out):
    return R.TradeDeal(ticket=d.ticket, order=d.order, time=_s(out(d.time_msc)), time_msc=out(d.time_msc), type=d.type,
                       entry=d.entry, magic=d.magic, position_id=d.position_id, reason=d.reason, volume=_f(d.volume),
                       price=_f(d.price), commission=_f(d.commission), swap=_f(d.swap), profit=_f(d.profit),
                       fee=_f(d.fee), symbol=d.symbol, comment=d.comment, external_id="")
