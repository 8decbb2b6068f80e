"""Calculations and trading of the simulated terminal: `order_calc_margin`,
`order_calc_profit`, `order_check`, `order_send` (a request dict in, the server's
`TradeRequest` to it, the real records out)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bridge.domain.errors import DomainError
from bridge.domain.margin import position_notional
from bridge.domain.money import round_money, to_decimal
from bridge.domain.trading import Side
from bridge.domain.trading import profit as domain_profit
from simulator.mt5 import constants as C
from simulator.mt5 import records as R
from simulator.mt5._common import ZERO, Fail, f
from simulator.server import TradeRequest as ServerRequest

_REQUEST_KEYS = ("action", "magic", "order", "symbol", "volume", "price", "stoplimit", "sl", "tp", "deviation",
                 "type", "type_filling", "type_time", "expiration", "comment", "position", "position_by")
_INT_KEYS = ("action", "magic", "order", "deviation", "type", "type_filling", "type_time", "position",
             "position_by")
_NUM_KEYS = ("volume", "price", "stoplimit", "sl", "tp")


class TradingCalls:
    """Mixed into `Terminal` (state and helpers from `simulator.mt5._core.Core`)."""

    def _action_side(self, action) -> Side:
        if action == C.ORDER_TYPE_BUY or action in (C.ORDER_TYPE_BUY_LIMIT, C.ORDER_TYPE_BUY_STOP,
                                                     C.ORDER_TYPE_BUY_STOP_LIMIT):
            return Side.BUY
        if action in (C.ORDER_TYPE_SELL, C.ORDER_TYPE_SELL_LIMIT, C.ORDER_TYPE_SELL_STOP, C.ORDER_TYPE_SELL_STOP_LIMIT):
            return Side.SELL
        raise Fail(C.RES_E_INVALID_PARAMS, "Invalid \"action\" argument")

    def _rates_at(self, spec, price: Decimal, currency: str):
        """The server's conversion rates for a calculation at `price` of a currency pair: the
        pair's own rate is that price (USDJPY at 150 converts JPY at 150, as each position
        converts at its own price), and when the quote currency has no direct rate to the
        account's, it converts through the base (EURJPY on a USD account: JPY -> EUR at the
        price, EUR -> USD at the EURUSD quote)."""
        rates = self.server.rates()
        if spec.name != spec.base + spec.quote or price <= 0:
            return rates
        rates = rates.with_rate(spec.name, price)
        try:
            rates.rate(spec.quote, currency)
        except DomainError:
            try:
                rates = rates.with_rate(currency + spec.quote, price / rates.rate(spec.base, currency))
            except DomainError:
                pass  # no way to this currency: the calculation reports no_rate
        return rates

    def order_calc_margin(self, action, symbol, volume, price) -> float:
        """Margin of this order alone on the account (tier tables, account leverage and
        currency; other open positions not counted, as MT5 does)."""
        login = self.need_login()
        self._action_side(action)
        spec = self.spec(symbol)
        vol, px = self.num(volume, "volume"), self.num(price, "price")
        if vol <= 0 or px <= 0:
            raise Fail(C.RES_E_INVALID_PARAMS, "Invalid \"volume\" or \"price\" argument")
        srv = self.server
        a = srv.account_info(login)
        try:
            calc = srv.margin_model.account_margin(a.account_type, a.currency, a.leverage)
            notional = position_notional(spec, vol, px, a.currency, self._rates_at(spec, px, a.currency))
        except DomainError as exc:
            raise Fail(C.RES_E_FAIL, exc.detail) from None
        return float(round_money(calc.total([(spec.group, notional)])))

    def order_calc_profit(self, action, symbol, volume, price_open, price_close) -> float:
        login = self.need_login()
        side = self._action_side(action)
        spec = self.spec(symbol)
        vol = self.num(volume, "volume")
        po, pc = self.num(price_open, "price_open"), self.num(price_close, "price_close")
        if vol <= 0 or po <= 0 or pc <= 0:
            raise Fail(C.RES_E_INVALID_PARAMS, "Invalid \"volume\" or price argument")
        a = self.server.account_info(login)
        try:
            p = domain_profit(spec, side, vol, po, pc, a.currency, self._rates_at(spec, pc, a.currency))
        except DomainError as exc:
            raise Fail(C.RES_E_FAIL, exc.detail) from None
        return float(round_money(p))

    # ------------------------------------------------------------------ trading
    def _request(self, request) -> tuple[ServerRequest, Any]:
        if not isinstance(request, dict):
            raise Fail(C.RES_E_INVALID_PARAMS, "Invalid \"request\" argument: expected a dict")
        for k in request:
            if k not in _REQUEST_KEYS:
                raise Fail(C.RES_E_INVALID_PARAMS, f"Invalid \"request\" argument: unknown field {k!r}")
        if "action" not in request:
            raise Fail(C.RES_E_INVALID_PARAMS, "Invalid \"request\" argument: no action")
        kw: dict[str, Any] = {}
        for k in _INT_KEYS:
            v = request.get(k, 0)
            if isinstance(v, bool) or not isinstance(v, int):
                raise Fail(C.RES_E_INVALID_PARAMS, f"Invalid \"{k}\" argument")
            kw[k] = v
        if self.server.strict and type(request.get("volume")) is int:  # simulator.server.strict
            raise Fail(C.RES_E_INVALID_PARAMS, "Invalid \"volume\" argument: expected a float, e.g. 1.0 (strict)")
        for k in _NUM_KEYS:
            v = request.get(k, 0.0)
            if isinstance(v, bool) or not isinstance(v, (int, float, Decimal)):
                raise Fail(C.RES_E_INVALID_PARAMS, f"Invalid \"{k}\" argument")
            if isinstance(v, float) and v != v or v in (float("inf"), float("-inf")):
                kw[k] = Decimal(str(v))  # NaN/inf reach the server, which refuses them with a retcode
            else:
                kw[k] = to_decimal(v, k)
        symbol, comment = request.get("symbol", ""), request.get("comment", "")
        if not isinstance(symbol, str) or not isinstance(comment, str):
            raise Fail(C.RES_E_INVALID_PARAMS, "Invalid \"symbol\" or \"comment\" argument")
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
        self.request_id += 1  # the terminal numbers its requests, as the real one does
        comment = "Request executed" if r.ok else r.comment
        symbol = req.symbol if req.symbol in self.server.rules.symbols else None
        quote = self.server.symbol_tick(symbol, session.login) if symbol else None  # the account's bid/ask
        bid, ask = (quote.bid, quote.ask) if quote is not None else (r.bid, r.ask)
        return R.OrderSendResult(retcode=r.retcode, deal=r.deal, order=r.order, volume=f(r.volume), price=f(r.price),
                                 bid=f(bid), ask=f(ask), comment=comment, request_id=self.request_id,
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
        return R.OrderCheckResult(retcode=0 if ok else r.retcode, balance=f(a.balance), equity=f(a.equity),
                                  profit=f(a.profit), margin=f(margin), margin_free=f(free), margin_level=f(level),
                                  comment="Done" if ok else r.comment, request=echo)

    def _margin_with(self, login: int, req: ServerRequest) -> Decimal:
        srv = self.server
        a = srv.account_info(login)
        spec = srv.rules.symbols.get(req.symbol)
        tick = srv.symbol_tick(req.symbol, login)
        price = req.price if req.action == C.TRADE_ACTION_PENDING else (
            tick.ask if req.type == C.ORDER_TYPE_BUY else tick.bid)
        calc = srv.margin_model.account_margin(a.account_type, a.currency, a.leverage)
        items = [(srv.rules.symbols.get(p.symbol).group, p.notional) for p in srv.positions(login)]
        items.append((spec.group, position_notional(spec, req.volume, price, a.currency, srv.rates())))
        return round_money(calc.total(items))
