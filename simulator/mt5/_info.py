"""Account, terminal and symbol calls of the simulated terminal (`account_info`,
`terminal_info`, `symbols_*`, `symbol_info`, `symbol_select`, `symbol_info_tick`)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from bridge.domain.errors import DomainError
from simulator.mt5 import constants as C
from simulator.mt5 import records as R
from simulator.mt5._common import ZERO, Fail, f, group_match, s

SIM_BUILD = 4000
SIM_DATE = "01 Jan 2024"
COMPANY = "mtbridge simulator"


class InfoCalls:
    """Mixed into `Terminal` (state and helpers from `simulator.mt5._core.Core`)."""

    # ------------------------------------------------------------------ account / terminal
    def account_info(self):
        login = self.need_login()
        a = self.server.account_info(login)
        return R.AccountInfo(
            login=a.login, trade_mode=a.trade_mode, leverage=a.leverage, limit_orders=0,
            margin_so_mode=C.ACCOUNT_STOPOUT_MODE_PERCENT, trade_allowed=a.trade_allowed and not self.session.read_only,
            trade_expert=True, margin_mode=a.margin_mode, currency_digits=2, fifo_close=False,
            balance=f(a.balance), credit=f(a.credit), profit=f(a.profit), equity=f(a.equity),
            margin=f(a.margin), margin_free=f(a.margin_free),
            margin_level=f(None if a.margin_level is None else a.margin_level.quantize(Decimal("0.01"),
                                                                                         ROUND_HALF_UP)),
            margin_so_call=f(a.margin_so_call), margin_so_so=f(a.margin_so_so), margin_initial=0.0,
            margin_maintenance=0.0, assets=0.0, liabilities=0.0, commission_blocked=0.0, name=a.name,
            server=a.server, currency=a.currency, company=COMPANY)

    def terminal_info(self):
        srv = self.need()
        return R.TerminalInfo(
            community_account=False, community_connection=False, connected=True, dlls_allowed=False,
            trade_allowed=self.session is not None and not self.session.read_only, tradeapi_disabled=False,
            email_enabled=False, ftp_enabled=False, notifications_enabled=False, mqid=False, build=SIM_BUILD,
            maxbars=100000, codepage=0, ping_last=0, community_balance=0.0, retransmission=0.0,
            company=COMPANY, name=f"{srv.server_name} terminal", language="English", path=self.path,
            data_path=self.path, commondata_path=self.path)

    # ------------------------------------------------------------------ symbols
    def symbols_total(self) -> int:
        return len(self.need().symbols())

    def symbols_get(self, group):
        srv = self.need()
        names = srv.symbols()
        if group is not None:
            if not isinstance(group, str):
                raise Fail(C.RES_E_INVALID_PARAMS, "Invalid \"group\" argument")
            names = [n for n in names if group_match(group, n)]
        return tuple(self._symbol_info(n) for n in names)

    def symbol_info(self, symbol):
        self.spec(symbol)
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
            time=s(self._out(t)), digits=spec.digits, spread=spread, spread_float=True, ticks_bookdepth=0,
            trade_calc_mode=calc, trade_mode=C.SYMBOL_TRADE_MODE_FULL, start_time=0, expiration_time=0,
            trade_stops_level=self.server.stops_level(name), trade_freeze_level=0, trade_exemode=C.SYMBOL_TRADE_EXECUTION_MARKET,
            swap_mode=C.SYMBOL_SWAP_MODE_POINTS, swap_rollover3days=(spec.swap_triple_day + 1) % 7,
            margin_hedged_use_leg=False,
            expiration_mode=C.SYMBOL_EXPIRATION_GTC | C.SYMBOL_EXPIRATION_DAY | C.SYMBOL_EXPIRATION_SPECIFIED,
            filling_mode=C.SYMBOL_FILLING_FOK | C.SYMBOL_FILLING_IOC,
            order_mode=(C.SYMBOL_ORDER_MARKET | C.SYMBOL_ORDER_LIMIT | C.SYMBOL_ORDER_STOP | C.SYMBOL_ORDER_SL
                        | C.SYMBOL_ORDER_TP),
            order_gtc_mode=C.SYMBOL_ORDERS_GTC, option_mode=0, option_right=0,
            bid=f(bid), bidhigh=f(bid), bidlow=f(bid), ask=f(ask), askhigh=f(ask), asklow=f(ask), last=0.0,
            lasthigh=0.0, lastlow=0.0, volume_real=0.0, volumehigh_real=0.0, volumelow_real=0.0, option_strike=0.0,
            point=f(spec.point), trade_tick_value=tv, trade_tick_value_profit=tv, trade_tick_value_loss=tv,
            trade_tick_size=f(spec.point), trade_contract_size=f(spec.contract_size), trade_accrued_interest=0.0,
            trade_face_value=0.0, trade_liquidity_rate=0.0, volume_min=f(spec.volume_min),
            volume_max=f(spec.volume_max), volume_step=f(spec.volume_step), volume_limit=0.0,
            swap_long=f(spec.swap_long), swap_short=f(spec.swap_short), margin_initial=0.0, margin_maintenance=0.0,
            session_volume=0.0, session_turnover=0.0, session_interest=0.0, session_buy_orders_volume=0.0,
            session_sell_orders_volume=0.0, session_open=0.0, session_close=0.0, session_aw=0.0,
            session_price_settlement=0.0, session_price_limit_min=0.0, session_price_limit_max=0.0,
            margin_hedged=f(spec.contract_size), price_change=0.0, price_volatility=0.0, price_theoretical=0.0,
            price_greeks_delta=0.0, price_greeks_theta=0.0, price_greeks_gamma=0.0, price_greeks_vega=0.0,
            price_greeks_rho=0.0, price_greeks_omega=0.0, price_sensitivity=0.0, basis="", category="",
            currency_base=spec.base, currency_profit=spec.quote, currency_margin=spec.base, bank="",
            description=spec.description or name, exchange="", formula="", isin="", name=name, page="",
            path=f"{group_path}\\{name}")

    def symbol_select(self, symbol, enable: bool) -> bool:
        self.spec(symbol)
        if enable:
            self.selected.add(symbol)
        else:
            self.selected.discard(symbol)
        return True

    def symbol_info_tick(self, symbol):
        self.spec(symbol)
        self.auto_step()
        login = self.session.login if self.session is not None else None
        t = self.server.symbol_tick(symbol, login)
        if t is None:
            raise Fail(C.RES_E_NOT_FOUND, f"Terminal: no quote for {symbol} yet")
        t_msc = self._out(t.time_msc)
        return R.Tick(time=s(t_msc), bid=f(t.bid), ask=f(t.ask), last=0.0, volume=0, time_msc=t_msc,
                      flags=C.TICK_FLAG_BID | C.TICK_FLAG_ASK, volume_real=0.0)


    # ------------------------------------------------------------------ market depth
    def market_book_add(self, symbol) -> bool:
        self.spec(symbol)
        self.books.add(symbol)
        return True

    def market_book_release(self, symbol) -> bool:
        self.spec(symbol)
        if symbol not in self.books:
            raise Fail(C.RES_E_FAIL, f"Terminal: not subscribed to the market depth of {symbol}")
        self.books.discard(symbol)
        return True

    def market_book_get(self, symbol):
        """The simulated book is the top of the book: the account's ask (SELL side) and bid
        (BUY side), with no volume (the feed has none)."""
        self.spec(symbol)
        if symbol not in self.books:
            raise Fail(C.RES_E_FAIL, f"Terminal: call market_book_add({symbol!r}) first")
        login = self.session.login if self.session is not None else None
        t = self.server.symbol_tick(symbol, login)
        if t is None:
            return ()
        return (R.BookInfo(type=C.BOOK_TYPE_SELL, price=f(t.ask), volume=0, volume_dbl=0.0),
                R.BookInfo(type=C.BOOK_TYPE_BUY, price=f(t.bid), volume=0, volume_dbl=0.0))
