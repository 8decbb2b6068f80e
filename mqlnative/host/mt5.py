"""The MetaTrader 5 terminal model: positions, pending orders, history selection, OrderSend /
OrderCheck with `MqlTradeRequest`/`MqlTradeResult` maps, and `OnTradeTransaction` events.

Selection follows MQL5: `PositionSelectByTicket` / `PositionGetTicket` copy one position and
the `PositionGet*` getters read that copy; `HistorySelect(from, to)` copies the deals and
orders of a period, `HistorySelectByPosition` those of one position, and `HistoryDealSelect`
/ `HistoryOrderSelect` *replace* the list with the one record (MQL5 Reference: "clears in a
MQL5-program the list of deals available for reference and copies the single deal").

Transactions (`Mt5Terminal.poll`) come from diffing the account on the server, in MT5's
order: for each order that reached the history, ORDER_ADD (market orders; pending ones got
theirs when placed), its DEAL_ADDs, ORDER_DELETE and HISTORY_ADD; then deals without an order
(balance); then POSITION for an SL/TP change made without a deal. A program's own OrderSend
is followed by TRADE_TRANSACTION_REQUEST carrying the request and result. Every program on
the terminal gets every transaction (queued, delivered by the driver after the handler that
caused them returns, as MetaTrader delivers them).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from mqlnative.host.terminal import Enum, Out, Program, Terminal, typed
from simulator.mt5 import constants as C
from simulator.mt5._terminal import _deal

_LAST_DATETIME = 32535215999  # D'3000.12.31 23:59:59', MQL's largest datetime
QUEUE_KEPT = 4096  # transactions waiting per program (MetaTrader keeps a bounded queue too)

ERR_TRADE_POSITION_NOT_FOUND = 4753
ERR_TRADE_ORDER_NOT_FOUND = 4754
ERR_TRADE_DEAL_NOT_FOUND = 4755
ERR_TRADE_SEND_FAILED = 4756


def _names(prefix: str, exclude: tuple[str, ...] = ()) -> dict[int, str]:
    out: dict[int, str] = {}
    for k, v in vars(C).items():
        if k.startswith(prefix) and type(v) is int and not any(k.startswith(e) for e in exclude):
            out.setdefault(v, k)
    return out


ENUM_VALUES: dict[str, dict[int, str]] = {
    "ORDER_TYPE": _names("ORDER_TYPE_", ("ORDER_TYPE_FILLING", "ORDER_TYPE_TIME")),
    "ORDER_STATE": _names("ORDER_STATE_"),
    "ORDER_TYPE_FILLING": _names("ORDER_FILLING_"),
    "ORDER_TYPE_TIME": _names("ORDER_TIME_"),
    "ORDER_REASON": _names("ORDER_REASON_"),
    "DEAL_TYPE": _names("DEAL_TYPE_"),
    "DEAL_ENTRY": _names("DEAL_ENTRY_"),
    "DEAL_REASON": _names("DEAL_REASON_"),
    "POSITION_TYPE": _names("POSITION_TYPE_"),
    "POSITION_REASON": _names("POSITION_REASON_"),
}
"""Enum-valued properties -> value -> MQL name (the runtime gets the header's integer)."""


def enum(kind: str, value: int) -> Enum:
    e = Enum(ENUM_VALUES[kind].get(value, str(value)))
    e.fallback = value  # type: ignore[attr-defined]
    return e


def value_of(name: object) -> int:
    """An MQL enum name (or an integer) -> the simulator's value."""
    if isinstance(name, int):
        return name
    v = getattr(C, str(name), None)
    if type(v) is not int:
        raise ValueError(f"unknown MQL constant {name!r}")
    return v


def _prop(record, prop: str, prefix: str, kind: type) -> Any:
    """A property of a facade record by its MQL name (POSITION_VOLUME -> .volume)."""
    if not isinstance(prop, str) or not prop.startswith(prefix):
        return None
    field = prop[len(prefix):].lower()
    if prop in ENUM_VALUES and kind is int:
        return enum(prop, getattr(record, field))
    if field not in record._fields:
        return None
    return typed(getattr(record, field), kind)


class Mt5Terminal(Terminal):
    platform = "MT5"
    build = 5100

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self._deals_seen = len(self.server.history_deals(self.login))
        self._horders_seen = len(self.server.history_orders(self.login))
        self._pending = {o.ticket: o for o in self.server.orders(self.login)}
        self._stops = {p.ticket: (p.sl, p.tp) for p in self.server.positions(self.login)}

    def broadcast(self, trans: dict, request: dict | None = None, result: dict | None = None) -> None:
        for p in self.programs:
            if isinstance(p, Mt5Program):
                p.transactions.append((trans, request or _empty_request(), result or _empty_result()))

    def poll(self) -> int:
        """Turn what changed on the account since the last poll into transactions."""
        srv, login, out = self.server, self.login, self.server_ms
        deals = srv.history_deals(login)[self._deals_seen:]
        horders = srv.history_orders(login)[self._horders_seen:]
        self._deals_seen += len(deals)
        self._horders_seen += len(horders)
        now_orders = {o.ticket: o for o in srv.orders(login)}
        events: list[dict] = []
        for t, o in now_orders.items():
            if t not in self._pending:
                events.append(_order_trans("TRADE_TRANSACTION_ORDER_ADD", o, o.state))
        by_order: dict[int, list] = {}
        for d in deals:
            by_order.setdefault(d.order, []).append(d)
        touched: set[int] = set()
        for o in horders:
            if o.state == C.ORDER_STATE_FILLED:
                if o.ticket not in self._pending:
                    events.append(_order_trans("TRADE_TRANSACTION_ORDER_ADD", o, C.ORDER_STATE_STARTED))
                for d in by_order.pop(o.ticket, []):
                    events.append(_deal_trans(d, out))
                    touched.add(d.position_id)
            events.append(_order_trans("TRADE_TRANSACTION_ORDER_DELETE", o, o.state))
            events.append(_order_trans("TRADE_TRANSACTION_HISTORY_ADD", o, o.state))
        for rest in by_order.values():
            for d in rest:
                events.append(_deal_trans(d, out))
                touched.add(d.position_id)
        stops = {}
        for p in srv.positions(login):
            stops[p.ticket] = (p.sl, p.tp)
            before = self._stops.get(p.ticket)
            if before is not None and before != (p.sl, p.tp) and p.ticket not in touched:
                events.append(_trans("TRADE_TRANSACTION_POSITION", position=p.ticket, symbol=p.symbol,
                                     price=float(p.price_open), price_sl=float(p.sl), price_tp=float(p.tp),
                                     volume=float(p.volume), order_type=enum("ORDER_TYPE", p.type)))
        self._stops = stops
        self._pending = now_orders
        for e in events:
            self.broadcast(e)
        return len(events)


def _trans(kind: str, **kw) -> dict:
    t = {"deal": 0, "order": 0, "symbol": "", "type": Enum(kind), "order_type": enum("ORDER_TYPE", 0),
         "order_state": enum("ORDER_STATE", 0), "deal_type": enum("DEAL_TYPE", 0),
         "time_type": enum("ORDER_TYPE_TIME", 0), "time_expiration": 0, "price": 0.0, "price_trigger": 0.0,
         "price_sl": 0.0, "price_tp": 0.0, "volume": 0.0, "position": 0, "position_by": 0}
    t.update(kw)
    return t


def _order_trans(kind: str, o, state: int) -> dict:
    return _trans(kind, order=o.ticket, symbol=o.symbol, order_type=enum("ORDER_TYPE", o.type),
                  order_state=enum("ORDER_STATE", state), time_type=enum("ORDER_TYPE_TIME", o.type_time),
                  price=float(o.price_open), price_sl=float(o.sl), price_tp=float(o.tp),
                  volume=float(o.volume_current if state != C.ORDER_STATE_FILLED else o.volume_initial),
                  position=o.position_id)


def _deal_trans(d, out) -> dict:
    return _trans("TRADE_TRANSACTION_DEAL_ADD", deal=d.ticket, order=d.order, symbol=d.symbol,
                  deal_type=enum("DEAL_TYPE", d.type), price=float(d.price), volume=float(d.volume),
                  position=d.position_id)


def _empty_request() -> dict:
    return {"action": enum_request_action(0), "magic": 0, "order": 0, "symbol": "", "volume": 0.0, "price": 0.0,
            "stoplimit": 0.0, "sl": 0.0, "tp": 0.0, "deviation": 0, "type": enum("ORDER_TYPE", 0),
            "type_filling": enum("ORDER_TYPE_FILLING", 0), "type_time": enum("ORDER_TYPE_TIME", 0),
            "expiration": 0, "comment": "", "position": 0, "position_by": 0}


def enum_request_action(value: int) -> Enum:
    names = _names("TRADE_ACTION_")
    e = Enum(names.get(value, "TRADE_ACTION_DEAL"))
    e.fallback = value  # type: ignore[attr-defined]
    return e


def _echo(request: dict) -> dict:
    """The request as OnTradeTransaction hands it back: its enum fields as `Enum`s."""
    out = _empty_request()
    for k, v in request.items():
        if k in out:
            if isinstance(v, str) and isinstance(out[k], Enum):
                e = Enum(v)
                e.fallback = value_of(v)  # type: ignore[attr-defined]
                v = e
            out[k] = v
    return out


def _empty_result() -> dict:
    return {"retcode": 0, "deal": 0, "order": 0, "volume": 0.0, "price": 0.0, "bid": 0.0, "ask": 0.0,
            "comment": "", "request_id": 0, "retcode_external": 0}


_REQUEST_INTS = ("action", "magic", "order", "deviation", "type", "type_filling", "type_time", "position",
                 "position_by")
_REQUEST_FLOATS = ("volume", "price", "stoplimit", "sl", "tp")


class Mt5Program(Program):
    """One MQL5 program: selection state, trading, its transaction queue."""

    def __init__(self, terminal: Mt5Terminal, name: str, **kw) -> None:
        super().__init__(terminal, name, **kw)
        self.transactions: deque = deque(maxlen=QUEUE_KEPT)
        self._position = None  # the selected position (a copy)
        self._order = None  # the selected pending order (a copy)
        self._deals: list = []  # the selected history
        self._horders: list = []
        self._request_id = 0

    def take_transactions(self) -> list:
        out = list(self.transactions)
        self.transactions.clear()
        return out

    # --- positions
    def _positions(self):
        return self.terminal.facade.positions_get(None, None, None)

    def PositionsTotal(self) -> int:  # noqa: N802
        return len(self._positions())

    def PositionGetTicket(self, index: int) -> int:  # noqa: N802
        ps = self._positions()
        if not isinstance(index, int) or not 0 <= index < len(ps):
            self._position = None
            return self.fail(ERR_TRADE_POSITION_NOT_FOUND, 0)
        self._position = ps[index]
        return ps[index].ticket

    def PositionSelectByTicket(self, ticket: int) -> bool:  # noqa: N802
        found = [p for p in self._positions() if p.ticket == ticket]
        self._position = found[0] if found else None
        return True if found else self.fail(ERR_TRADE_POSITION_NOT_FOUND)

    def PositionGetSymbol(self, index: int) -> str:  # noqa: N802
        return self._position.symbol if self.PositionGetTicket(index) else ""

    def PositionSelect(self, symbol: str) -> bool:  # noqa: N802
        found = [p for p in self._positions() if p.symbol == symbol]
        self._position = found[0] if found else None
        return True if found else self.fail(ERR_TRADE_POSITION_NOT_FOUND)

    def _position_get(self, prop: str, kind: type) -> Any:
        if self._position is None:
            return self.fail(ERR_TRADE_POSITION_NOT_FOUND, kind())
        v = _prop(self._position, prop, "POSITION_", kind)
        return self.fail(self.ERR_BAD_PARAMETER, kind()) if v is None else v

    def PositionGetDouble(self, prop: str) -> float:  # noqa: N802
        return self._position_get(prop, float)

    def PositionGetInteger(self, prop: str) -> int:  # noqa: N802
        return self._position_get(prop, int)

    def PositionGetString(self, prop: str) -> str:  # noqa: N802
        return self._position_get(prop, str)

    # --- pending orders
    def _orders(self):
        return self.terminal.facade.orders_get(None, None, None)

    def OrdersTotal(self) -> int:  # noqa: N802
        return len(self._orders())

    def OrderGetTicket(self, index: int) -> int:  # noqa: N802
        os_ = self._orders()
        if not isinstance(index, int) or not 0 <= index < len(os_):
            self._order = None
            return self.fail(ERR_TRADE_ORDER_NOT_FOUND, 0)
        self._order = os_[index]
        return os_[index].ticket

    def OrderSelect(self, ticket: int) -> bool:  # noqa: N802
        found = [o for o in self._orders() if o.ticket == ticket]
        self._order = found[0] if found else None
        return True if found else self.fail(ERR_TRADE_ORDER_NOT_FOUND)

    def _order_get(self, prop: str, kind: type) -> Any:
        if self._order is None:
            return self.fail(ERR_TRADE_ORDER_NOT_FOUND, kind())
        v = _prop(self._order, prop, "ORDER_", kind)
        return self.fail(self.ERR_BAD_PARAMETER, kind()) if v is None else v

    def OrderGetDouble(self, prop: str) -> float:  # noqa: N802
        return self._order_get(prop, float)

    def OrderGetInteger(self, prop: str) -> int:  # noqa: N802
        return self._order_get(prop, int)

    def OrderGetString(self, prop: str) -> str:  # noqa: N802
        return self._order_get(prop, str)

    # --- history
    def HistorySelect(self, from_date: int, to_date: int) -> bool:  # noqa: N802
        f = self.terminal.facade
        lo, hi = (min(max(int(x), 0), _LAST_DATETIME) for x in (from_date, to_date))
        self._deals = list(f.history_deals(lo, hi, None, None, None))
        self._horders = list(f.history_orders(lo, hi, None, None, None))
        return True

    def HistorySelectByPosition(self, position_id: int) -> bool:  # noqa: N802
        f = self.terminal.facade
        self._deals = [d for d in f.history_deals(None, None, None, None, position_id)]
        self._horders = [o for o in f.history_orders(None, None, None, None, position_id)]
        return True

    def HistoryDealsTotal(self) -> int:  # noqa: N802
        return len(self._deals)

    def HistoryOrdersTotal(self) -> int:  # noqa: N802
        return len(self._horders)

    def HistoryDealGetTicket(self, index: int) -> int:  # noqa: N802
        if not isinstance(index, int) or not 0 <= index < len(self._deals):
            return self.fail(ERR_TRADE_DEAL_NOT_FOUND, 0)
        return self._deals[index].ticket

    def HistoryOrderGetTicket(self, index: int) -> int:  # noqa: N802
        if not isinstance(index, int) or not 0 <= index < len(self._horders):
            return self.fail(ERR_TRADE_ORDER_NOT_FOUND, 0)
        return self._horders[index].ticket

    def HistoryDealSelect(self, ticket: int) -> bool:  # noqa: N802
        found = [_deal(d, self.terminal.server_ms) for d in self.server.history_deals(self.terminal.login)
                 if d.ticket == ticket]
        if not found:
            return self.fail(ERR_TRADE_DEAL_NOT_FOUND)
        self._deals = found
        return True

    def HistoryOrderSelect(self, ticket: int) -> bool:  # noqa: N802
        found = list(self.terminal.facade.history_orders(None, None, None, ticket, None))
        if not found:
            return self.fail(ERR_TRADE_ORDER_NOT_FOUND)
        self._horders = found
        return True

    def _history_get(self, records: list, ticket: int, prop: str, prefix: str, kind: type, err: int) -> Any:
        found = [r for r in records if r.ticket == ticket]
        if not found:
            return self.fail(err, kind())
        v = _prop(found[0], prop, prefix, kind)
        return self.fail(self.ERR_BAD_PARAMETER, kind()) if v is None else v

    def HistoryDealGetDouble(self, ticket: int, prop: str) -> float:  # noqa: N802
        return self._history_get(self._deals, ticket, prop, "DEAL_", float, ERR_TRADE_DEAL_NOT_FOUND)

    def HistoryDealGetInteger(self, ticket: int, prop: str) -> int:  # noqa: N802
        return self._history_get(self._deals, ticket, prop, "DEAL_", int, ERR_TRADE_DEAL_NOT_FOUND)

    def HistoryDealGetString(self, ticket: int, prop: str) -> str:  # noqa: N802
        return self._history_get(self._deals, ticket, prop, "DEAL_", str, ERR_TRADE_DEAL_NOT_FOUND)

    def HistoryOrderGetDouble(self, ticket: int, prop: str) -> float:  # noqa: N802
        return self._history_get(self._horders, ticket, prop, "ORDER_", float, ERR_TRADE_ORDER_NOT_FOUND)

    def HistoryOrderGetInteger(self, ticket: int, prop: str) -> int:  # noqa: N802
        return self._history_get(self._horders, ticket, prop, "ORDER_", int, ERR_TRADE_ORDER_NOT_FOUND)

    def HistoryOrderGetString(self, ticket: int, prop: str) -> str:  # noqa: N802
        return self._history_get(self._horders, ticket, prop, "ORDER_", str, ERR_TRADE_ORDER_NOT_FOUND)

    # --- trading
    def _request(self, request: dict) -> dict:
        req: dict[str, Any] = {}
        for k in _REQUEST_INTS:
            req[k] = value_of(request.get(k, 0))
        for k in _REQUEST_FLOATS:
            req[k] = float(request.get(k, 0.0))
        req["symbol"] = str(request.get("symbol", ""))
        req["comment"] = str(request.get("comment", ""))
        req["expiration"] = int(request.get("expiration", 0))
        return req

    def OrderSend(self, request: dict, result: dict) -> Out:  # noqa: N802
        term: Mt5Terminal = self.terminal  # type: ignore[assignment]
        term.sync()
        term.poll()  # what happened before belongs before this request's transactions
        f = term.facade
        r = f.call(f.order_send, self._request(request))
        self._request_id += 1
        if r is None:  # malformed request: nothing reached the server
            res = _empty_result()
            res.update(retcode=C.TRADE_RETCODE_INVALID, comment=f.error[1], request_id=self._request_id)
            self.error = ERR_TRADE_SEND_FAILED
            return Out(False, {1: res})
        res = {"retcode": r.retcode, "deal": r.deal, "order": r.order, "volume": r.volume, "price": r.price,
               "bid": r.bid, "ask": r.ask, "comment": r.comment, "request_id": self._request_id,
               "retcode_external": 0}
        term.poll()
        term.broadcast(_trans("TRADE_TRANSACTION_REQUEST"), _echo(request), dict(res))
        ok = r.retcode in (C.TRADE_RETCODE_DONE, C.TRADE_RETCODE_PLACED, C.TRADE_RETCODE_DONE_PARTIAL)
        if not ok:
            self.error = ERR_TRADE_SEND_FAILED
        return Out(ok, {1: res})

    def OrderSendAsync(self, request: dict, result: dict) -> Out:  # noqa: N802
        return self.OrderSend(request, result)  # the simulated server answers at once

    def _calc(self, fn, out_index: int, *args) -> Out:
        f = self.terminal.facade
        value = f.call(fn, *args)
        if value is None:
            self.error = self.ERR_BAD_PARAMETER
            return Out(False, {out_index: 0.0})
        return Out(True, {out_index: value})

    def OrderCalcMargin(self, action: str, symbol: str, volume: float, price: float, margin: float) -> Out:  # noqa: N802
        return self._calc(self.terminal.facade.order_calc_margin, 4, value_of(action), symbol, volume, price)

    def OrderCalcProfit(self, action: str, symbol: str, volume: float, price_open: float, price_close: float,  # noqa: N802
                        profit: float) -> Out:
        return self._calc(self.terminal.facade.order_calc_profit, 5, value_of(action), symbol, volume, price_open,
                          price_close)

    def OrderCheck(self, request: dict, result: dict) -> Out:  # noqa: N802
        f = self.terminal.facade
        r = f.call(f.order_check, self._request(request))
        if r is None:
            res = {"retcode": C.TRADE_RETCODE_INVALID, "balance": 0.0, "equity": 0.0, "profit": 0.0, "margin": 0.0,
                   "margin_free": 0.0, "margin_level": 0.0, "comment": f.error[1]}
            return Out(False, {1: res})
        res = {"retcode": r.retcode, "balance": r.balance, "equity": r.equity, "profit": r.profit,
               "margin": r.margin, "margin_free": r.margin_free, "margin_level": r.margin_level, "comment": r.comment}
        return Out(r.retcode == 0, {1: res})
