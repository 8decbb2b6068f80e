"""`TradeServer`: trade requests and orders: validation with MT5 retcodes, execution, pending orders."""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from bridge.domain.errors import DomainError
from bridge.domain.trading import Side
from simulator.server import retcodes as rc
from simulator.server.plugins.api import AccountState, TradeRequestEvent, TradeResultEvent, Veto
from simulator.server.plugins.host import PluginFailure
from simulator.server.records import Session, TradeRequest, TradeResult
from simulator.server.strict import check_market_order
from simulator.server.triggers import ASK_GE, ASK_LE, BID_GE, BID_LE
from simulator.server.state import (
    _Account,
    _dec,
    _Order,
    _order_fields,
    _PENDING,
    _PENDING_TYPES,
    _Refused,
    _request_fields,
    _Symbol,
    ZERO,
)


def _to_grid(value: Decimal | None, point: Decimal) -> Decimal | None:
    """A request price within half a point of the symbol's grid, moved onto it, as MT5 servers
    normalise prices: ``1.0941400000000001`` (``price - 100 * point`` in floats) is 1.09414. A
    price exactly half a point from two grid prices stays as it is and is refused later."""
    if value is None or not value:
        return value
    try:
        on_grid = value.quantize(point, ROUND_HALF_EVEN)
    except InvalidOperation:  # too many digits to place: refused later as it is
        return value
    return value if abs(value - on_grid) * 2 == point else on_grid


class OrderOps:
    """Trade requests and orders: validation with MT5 retcodes, execution, pending orders.

    A part of `TradeServer` (see `simulator.server.server`); it uses the state and
    helpers the other parts define."""

    strict = False  # opt-in: market orders refused where a live server may (simulator.server.strict)

    def _activate(self, acct: _Account, order: _Order, st: _Symbol) -> None:
        """A pending order's level was crossed: fill at the quote (gaps fill at the quote)."""
        side = Side.BUY if order.type in (rc.ORDER_TYPE_BUY_LIMIT, rc.ORDER_TYPE_BUY_STOP) else Side.SELL
        price = self._open_price(acct, st, side)
        try:
            veto = self._trade_veto(acct)
            if veto is not None:
                raise _Refused(veto.retcode, veto.detail)
            self._check_money(acct, st, side, order.volume_current, price)
        except _Refused as refused:
            self._finish_order(acct, order, rc.ORDER_STATE_REJECTED, refused.detail)
            return
        except PluginFailure as failure:
            self._finish_order(acct, order, rc.ORDER_STATE_REJECTED, str(failure))
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
        host = self._plugins
        try:
            plan = self._validate_safely(session, request)
            if host.hook_trade_request_add or host.hook_trade_request_process:
                request, plan = self._request_hooks(session, request, plan, reason)
        except _Refused as r:
            result = self._result(r.retcode, request, r.detail)
        except PluginFailure as failure:
            result = self._result(rc.TRADE_RETCODE_ERROR, request, str(failure))
        else:
            result = self._execute(session, request, plan, reason)
        self._j("answer", op="order_send", login=session.login, retcode=result.retcode, order=result.order,
                deal=result.deal, position=result.position, volume=result.volume, price=result.price,
                comment=result.comment)
        hook = "on_trade_request_process" if result.ok else "on_trade_request_refuse"
        if host.table[hook]:
            host.emit(hook, TradeResultEvent(session.login, session.session_id, reason, request, result.retcode,
                                             result.deal, result.order, result.position, result.comment))
        host.drain()
        return result

    def _refused_request(self, session: Session, request: TradeRequest, reason: int, retcode: int,
                         detail: str) -> TradeResult:
        """Journal and answer a request refused before the checks could even name it (a dealer
        closing a position that does not exist: no symbol to check it against)."""
        self._j("request", op="order_send", session=session.session_id, login=session.login,
                reason=reason, request=_request_fields(request))
        result = self._result(retcode, request, detail)
        self._j("answer", op="order_send", login=session.login, retcode=result.retcode, order=0, deal=0,
                position=0, volume=result.volume, price=result.price, comment=result.comment)
        return result

    def _account_state(self, acct: _Account) -> AccountState:
        return AccountState(acct.login, acct.type, acct.currency, acct.leverage, acct.balance, acct.credit,
                            acct.swap_free, acct.demo, acct.netting)

    def _trade_veto(self, acct: _Account) -> Veto | None:
        """The plugins' `check_trade_allowed` (None: allowed; raises PluginFailure, DomainError)."""
        if not self._plugins.check_trade_allowed:
            return None
        return self._plugins.trade_allowed(self._account_state(acct))

    def _request_hooks(self, session: Session, request: TradeRequest, plan: dict,
                       reason: int) -> tuple[TradeRequest, dict]:
        """HookTradeRequestAdd (veto / adjust; an adjusted request is checked again), then
        HookTradeRequestProcess (veto) - MT5's order, after the server's own checks."""
        host = self._plugins
        event = TradeRequestEvent(session.login, session.session_id, reason, request,
                                  self._account_state(plan["acct"]))
        if host.hook_trade_request_add:
            veto, adjusted, by = host.request_add(event)
            if veto is not None:
                raise _Refused(veto.retcode, veto.detail)
            if by:
                self._j("request_adjusted", login=session.login, plugins=by, request=_request_fields(adjusted))
                plan = self._validate_safely(session, adjusted)
                request = adjusted
                event = TradeRequestEvent(session.login, session.session_id, reason, request,
                                          self._account_state(plan["acct"]))
        if host.hook_trade_request_process:
            veto = host.request_process(event)
            if veto is not None:
                raise _Refused(veto.retcode, veto.detail)
        return request, plan

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

    def _did_you_mean(self, symbol: object) -> str:
        """' (did you mean 'EURUSD'?)' for another case or a broker suffix ('eurusd', 'EURUSDm'), else ''."""
        if not isinstance(symbol, str) or not symbol:
            return ""
        wanted = symbol.upper()
        close = [n for n in sorted(self._symbols) if n.upper() == wanted] or \
                [n for n in sorted(self._symbols) if wanted.startswith(n.upper()) or n.upper().startswith(wanted)]
        return f" (did you mean {close[0]!r}?)" if close else ""

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
                               f"{name} {value} must be at least {dist} point{'' if dist == 1 else 's'} {where} "
                               f"{Decimal(ref_pts).scaleb(-st.digits)}")

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
        # MT5 primary verification, "if trading is allowed for that account" (a plugin's rule)
        veto = self._trade_veto(acct)
        if veto is not None and action in (rc.TRADE_ACTION_DEAL, rc.TRADE_ACTION_PENDING):
            raise _Refused(veto.retcode, veto.detail)
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
                hint = self._did_you_mean(request.symbol)
                raise _Refused(rc.TRADE_RETCODE_INVALID, f"unknown symbol {request.symbol!r}{hint}")
        plan["st"] = st
        # numbers
        sl, tp, price = (_to_grid(_dec(v), st.point) for v in (request.sl, request.tp, request.price))
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
            if self.strict:
                check_market_order(request, price, fill, st.point, side is Side.BUY)
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
            self._position_event("on_position_update", pos)
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
