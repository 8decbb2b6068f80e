"""The MetaTrader 4 terminal model: the order pool over the simulated trade server.

MT4 has no positions: every market order is an entry of the pool (`MODE_TRADES`) until it is
closed, then it moves to `MODE_HISTORY`. The pool is rebuilt from the account's deals on the
server, in order, so a restarted terminal sees exactly the same tickets:

- an opening deal adds an order whose ticket is the server position's ticket;
- a closing deal for the whole volume closes it: close price/time/profit from the deal, and
  the comment MT4 writes for server-side closes: `<comment>[sl]`, `<comment>[tp]`, or
  `so: <margin level>%/<equity>/<margin>` for a stop-out;
- a closing deal for part of the volume closes the order with the closed lots and the comment
  `to #N`, and opens its remainder as a new order N (the closing order's ticket on the
  server) with the same open price/time, SL/TP and magic and the comment `from #<old>`;
- balance operations are history entries of type OP_BALANCE (6).

`OrderSelect` copies one entry into the program (MQL4: the Order* getters read that copy).
Trade functions return MT4's results: a ticket or -1 / true or false, with `GetLastError`
set to the ERR_* code mapped from the server's retcode; a market price further than
`slippage` points from the quote is a requote (138), as on a market-execution MT4 server.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from mqlnative.host.terminal import Enum, Program, Terminal
from simulator.server import TradeRequest
from simulator.server import retcodes as rc

OP_BUY, OP_SELL, OP_BALANCE = 0, 1, 6
ZERO = Decimal(0)

# MQL4 error codes (MQL4 Reference, "Error codes"); the values are documented
ERR_NO_ERROR = 0
ERR_NO_RESULT = 1
ERR_COMMON_ERROR = 2
ERR_INVALID_TRADE_PARAMETERS = 3
ERR_SERVER_BUSY = 4
ERR_INVALID_PRICE = 129
ERR_INVALID_STOPS = 130
ERR_INVALID_TRADE_VOLUME = 131
ERR_MARKET_CLOSED = 132
ERR_TRADE_DISABLED = 133
ERR_NOT_ENOUGH_MONEY = 134
ERR_OFF_QUOTES = 136
ERR_REQUOTE = 138
ERR_INVALID_FUNCTION_PARAMVALUE = 4051
ERR_GLOBAL_VARIABLE_NOT_FOUND = 4058
ERR_NO_ORDER_SELECTED = 4105
ERR_UNKNOWN_SYMBOL = 4106
ERR_INVALID_TICKET = 4108
ERR_TRADE_NOT_ALLOWED = 4109

RETCODE_TO_ERR = {
    rc.TRADE_RETCODE_INVALID: ERR_INVALID_TRADE_PARAMETERS,
    rc.TRADE_RETCODE_INVALID_VOLUME: ERR_INVALID_TRADE_VOLUME,
    rc.TRADE_RETCODE_INVALID_CLOSE_VOLUME: ERR_INVALID_TRADE_VOLUME,
    rc.TRADE_RETCODE_INVALID_PRICE: ERR_INVALID_PRICE,
    rc.TRADE_RETCODE_INVALID_STOPS: ERR_INVALID_STOPS,
    rc.TRADE_RETCODE_TRADE_DISABLED: ERR_TRADE_DISABLED,
    rc.TRADE_RETCODE_MARKET_CLOSED: ERR_MARKET_CLOSED,
    rc.TRADE_RETCODE_NO_MONEY: ERR_NOT_ENOUGH_MONEY,
    rc.TRADE_RETCODE_PRICE_OFF: ERR_OFF_QUOTES,
    rc.TRADE_RETCODE_POSITION_CLOSED: ERR_INVALID_TICKET,
    rc.TRADE_RETCODE_NO_CHANGES: ERR_NO_RESULT,
}
"""Server retcode -> MQL4 error (anything else: ERR_COMMON_ERROR)."""


@dataclass(slots=True)
class Mt4Order:
    ticket: int
    symbol: str
    type: int
    lots: Decimal
    open_price: Decimal
    open_ms: int  # UTC
    sl: Decimal
    tp: Decimal
    magic: int
    comment: str
    position: int  # the server position behind it (0 for balance entries)
    close_price: Decimal = ZERO
    close_ms: int = 0
    profit: Decimal = ZERO
    swap: Decimal = ZERO
    commission: Decimal = ZERO


class Mt4Terminal(Terminal):
    platform = "MT4"
    build = 1420

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.trades: dict[int, Mt4Order] = {}  # open, in opening order
        self.history: list[Mt4Order] = []
        self._by_position: dict[int, int] = {}
        self._deals_seen = 0
        self.refresh()

    def refresh(self) -> None:
        """Apply the account's new deals, then the live SL/TP/profit of open orders."""
        deals = self.server.history_deals(self.login)[self._deals_seen:]
        self._deals_seen += len(deals)
        for d in deals:
            self._apply(d)
        live = {p.ticket: p for p in self.server.positions(self.login)}
        for o in self.trades.values():
            p = live.get(o.position)
            if p is not None:
                o.sl, o.tp, o.profit, o.swap, o.close_price = p.sl, p.tp, p.profit, p.swap, p.price_current

    def _apply(self, d) -> None:
        if d.type not in (rc.DEAL_TYPE_BUY, rc.DEAL_TYPE_SELL):
            self.history.append(Mt4Order(d.ticket, "", OP_BALANCE, ZERO, ZERO, d.time_msc, ZERO, ZERO, 0, d.comment,
                                         0, ZERO, d.time_msc, d.profit))
            return
        if d.entry == rc.DEAL_ENTRY_IN:
            opening = [o for o in self.server.history_orders(self.login) if o.ticket == d.order]
            sl, tp = (opening[0].sl, opening[0].tp) if opening else (ZERO, ZERO)
            o = Mt4Order(d.position_id, d.symbol, OP_BUY if d.type == rc.DEAL_TYPE_BUY else OP_SELL, d.volume,
                         d.price, d.time_msc, sl, tp, d.magic, d.comment, d.position_id, commission=d.commission)
            self.trades[o.ticket] = o
            self._by_position[d.position_id] = o.ticket
            return
        live = self._by_position.get(d.position_id)
        o = self.trades.get(live) if live is not None else None
        if o is None:  # a close for an order this terminal never saw open: keep the books honest
            return
        closed = replace(o, close_price=d.price, close_ms=d.time_msc, profit=d.profit, swap=d.swap,
                         commission=o.commission + d.commission)
        del self.trades[o.ticket]
        if d.volume < o.lots:
            rest = Mt4Order(d.order, o.symbol, o.type, o.lots - d.volume, o.open_price, o.open_ms, o.sl, o.tp,
                            o.magic, f"from #{o.ticket}", o.position)
            closed.lots, closed.comment = d.volume, f"to #{rest.ticket}"
            self.trades[rest.ticket] = rest
            self._by_position[o.position] = rest.ticket
        else:
            del self._by_position[d.position_id]
            if d.reason == rc.DEAL_REASON_SL:
                closed.comment = f"{o.comment}[sl]"
            elif d.reason == rc.DEAL_REASON_TP:
                closed.comment = f"{o.comment}[tp]"
            elif d.reason == rc.DEAL_REASON_SO:
                a = self.server.account_info(self.login)
                level = a.margin_level if a.margin_level is not None else ZERO
                closed.comment = f"so: {level:.1f}%/{a.equity:.2f}/{a.margin:.2f}"
        self.history.append(closed)


_MARKET_INFO = {
    "MODE_POINT": "point", "MODE_DIGITS": "digits", "MODE_SPREAD": "spread", "MODE_STOPLEVEL": "trade_stops_level",
    "MODE_LOTSIZE": "trade_contract_size", "MODE_TICKVALUE": "trade_tick_value", "MODE_TICKSIZE": "trade_tick_size",
    "MODE_SWAPLONG": "swap_long", "MODE_SWAPSHORT": "swap_short", "MODE_MINLOT": "volume_min",
    "MODE_LOTSTEP": "volume_step", "MODE_MAXLOT": "volume_max", "MODE_FREEZELEVEL": "trade_freeze_level",
    "MODE_BID": "bid", "MODE_ASK": "ask", "MODE_LOW": "bidlow", "MODE_HIGH": "bidhigh", "MODE_TIME": "time",
}


class Mt4Program(Program):
    """One MQL4 program: the selected order (a copy), trading, MT4's account functions."""

    ERR_GLOBAL_NOT_FOUND = ERR_GLOBAL_VARIABLE_NOT_FOUND
    ERR_UNKNOWN_SYMBOL = ERR_UNKNOWN_SYMBOL
    ERR_BAD_PARAMETER = ERR_INVALID_FUNCTION_PARAMVALUE

    def __init__(self, terminal: Mt4Terminal, name: str, **kw) -> None:
        super().__init__(terminal, name, **kw)
        self._selected: Mt4Order | None = None

    @property
    def pool(self) -> Mt4Terminal:
        t: Mt4Terminal = self.terminal  # type: ignore[assignment]
        t.refresh()
        return t

    # --- the pool
    def OrdersTotal(self) -> int:  # noqa: N802
        return len(self.pool.trades)

    def OrdersHistoryTotal(self) -> int:  # noqa: N802
        return len(self.pool.history)

    def OrderSelect(self, index: int, select: str, pool: str = "MODE_TRADES") -> bool:  # noqa: N802
        t = self.pool
        found: Mt4Order | None = None
        if select == "SELECT_BY_TICKET":
            found = t.trades.get(index) or next((o for o in t.history if o.ticket == index), None)
        elif select == "SELECT_BY_POS":
            rows = list(t.trades.values()) if pool == "MODE_TRADES" else t.history
            found = rows[index] if isinstance(index, int) and 0 <= index < len(rows) else None
        else:
            return self.fail(ERR_INVALID_FUNCTION_PARAMVALUE)
        if found is None:
            return self.fail(ERR_INVALID_TICKET if select == "SELECT_BY_TICKET" else ERR_INVALID_FUNCTION_PARAMVALUE)
        self._selected = replace(found)
        return True

    def _sel(self, getter, default: Any) -> Any:
        if self._selected is None:
            return self.fail(ERR_NO_ORDER_SELECTED, default)
        return getter(self._selected)

    def _server_s(self, ms: int) -> int:
        return self.terminal.server_ms(ms) // 1000 if ms else 0

    def OrderTicket(self) -> int:  # noqa: N802
        return self._sel(lambda o: o.ticket, -1)

    def OrderSymbol(self) -> str:  # noqa: N802
        return self._sel(lambda o: o.symbol, "")

    def OrderType(self) -> int:  # noqa: N802
        return self._sel(lambda o: o.type, -1)

    def OrderLots(self) -> float:  # noqa: N802
        return self._sel(lambda o: float(o.lots), 0.0)

    def OrderOpenPrice(self) -> float:  # noqa: N802
        return self._sel(lambda o: float(o.open_price), 0.0)

    def OrderClosePrice(self) -> float:  # noqa: N802
        return self._sel(lambda o: float(o.close_price), 0.0)

    def OrderOpenTime(self) -> int:  # noqa: N802
        return self._sel(lambda o: self._server_s(o.open_ms), 0)

    def OrderCloseTime(self) -> int:  # noqa: N802
        return self._sel(lambda o: self._server_s(o.close_ms), 0)

    def OrderStopLoss(self) -> float:  # noqa: N802
        return self._sel(lambda o: float(o.sl), 0.0)

    def OrderTakeProfit(self) -> float:  # noqa: N802
        return self._sel(lambda o: float(o.tp), 0.0)

    def OrderMagicNumber(self) -> int:  # noqa: N802
        return self._sel(lambda o: o.magic, 0)

    def OrderComment(self) -> str:  # noqa: N802
        return self._sel(lambda o: o.comment, "")

    def OrderProfit(self) -> float:  # noqa: N802
        return self._sel(lambda o: float(o.profit), 0.0)

    def OrderSwap(self) -> float:  # noqa: N802
        return self._sel(lambda o: float(o.swap), 0.0)

    def OrderCommission(self) -> float:  # noqa: N802
        return self._sel(lambda o: float(o.commission), 0.0)

    def OrderExpiration(self) -> int:  # noqa: N802
        return self._sel(lambda o: 0, 0)

    # --- market
    def MarketInfo(self, symbol: str, mode: str) -> float:  # noqa: N802
        if not self._known_symbol(symbol):
            return self.fail(ERR_UNKNOWN_SYMBOL, 0.0)
        if mode == "MODE_TRADEALLOWED":
            return 1.0
        field = _MARKET_INFO.get(mode)
        if field is None:
            return self.fail(ERR_INVALID_FUNCTION_PARAMVALUE, 0.0)
        return float(getattr(self.terminal.facade.symbol_info(symbol), field))

    def RefreshRates(self) -> bool:  # noqa: N802
        self.terminal.sync()
        return True  # the host always serves the latest quote

    # --- trading
    def _trade(self, request: TradeRequest) -> Any:
        self.terminal.sync()
        r = self.server.order_send(self.terminal.session, request, reason=rc.DEAL_REASON_EXPERT)
        self.pool  # noqa: B018 - apply the deal to the pool now
        return r

    def _requote(self, symbol: str, side_buy: bool, price: float, slippage: int) -> int:
        """ERR_* for the price a market request names, 0 when it may be executed."""
        t = self.server.symbol_tick(symbol, self.terminal.login)
        if t is None:
            return ERR_OFF_QUOTES
        spec = self.server.rules.symbols.get(symbol)
        market = t.ask if side_buy else t.bid
        p = Decimal(repr(float(price)))
        if p != p.quantize(spec.point) or p <= 0:
            return ERR_INVALID_PRICE
        if abs(p - market) > spec.point * max(int(slippage), 0):
            return ERR_REQUOTE
        return 0

    def OrderSend(self, symbol: str, cmd: int, volume: float, price: float, slippage: int, stoploss: float,  # noqa: N802
                  takeprofit: float, comment: str = "", magic: int = 0, expiration: int = 0,
                  arrow_color: int = 0) -> int:
        if not self._known_symbol(symbol):
            return self.fail(ERR_UNKNOWN_SYMBOL, -1)
        if cmd not in (OP_BUY, OP_SELL):
            return self.fail(ERR_INVALID_TRADE_PARAMETERS, -1)  # pending orders are not modelled
        bad = self._requote(symbol, cmd == OP_BUY, price, slippage)
        if bad:
            return self.fail(bad, -1)
        req = TradeRequest(rc.TRADE_ACTION_DEAL, symbol, Decimal(repr(float(volume))),
                           rc.ORDER_TYPE_BUY if cmd == OP_BUY else rc.ORDER_TYPE_SELL, Decimal(repr(float(price))),
                           Decimal(repr(float(stoploss))), Decimal(repr(float(takeprofit))), int(slippage),
                           int(magic), str(comment))
        r = self._trade(req)
        if not r.ok:
            return self.fail(RETCODE_TO_ERR.get(r.retcode, ERR_COMMON_ERROR), -1)
        return r.position

    def _open_order(self, ticket: int) -> Mt4Order | None:
        return self.pool.trades.get(ticket)

    def OrderClose(self, ticket: int, lots: float, price: float, slippage: int, arrow_color: int = 0) -> bool:  # noqa: N802
        o = self._open_order(ticket)
        if o is None:
            return self.fail(ERR_INVALID_TICKET)
        volume = Decimal(repr(float(lots)))
        if volume <= 0 or volume > o.lots:
            return self.fail(ERR_INVALID_TRADE_VOLUME)
        bad = self._requote(o.symbol, o.type == OP_SELL, price, slippage)
        if bad:
            return self.fail(bad)
        req = TradeRequest(rc.TRADE_ACTION_DEAL, o.symbol, volume,
                           rc.ORDER_TYPE_SELL if o.type == OP_BUY else rc.ORDER_TYPE_BUY,
                           Decimal(repr(float(price))), deviation=int(slippage), magic=o.magic, position=o.position)
        r = self._trade(req)
        return True if r.ok else self.fail(RETCODE_TO_ERR.get(r.retcode, ERR_COMMON_ERROR))

    def OrderModify(self, ticket: int, price: float, stoploss: float, takeprofit: float, expiration: int = 0,  # noqa: N802
                    arrow_color: int = 0) -> bool:
        o = self._open_order(ticket)
        if o is None:
            return self.fail(ERR_INVALID_TICKET)
        sl, tp = Decimal(repr(float(stoploss))), Decimal(repr(float(takeprofit)))
        if sl == o.sl and tp == o.tp:
            return self.fail(ERR_NO_RESULT)
        r = self._trade(TradeRequest(rc.TRADE_ACTION_SLTP, o.symbol, sl=sl, tp=tp, position=o.position))
        return True if r.ok else self.fail(RETCODE_TO_ERR.get(r.retcode, ERR_COMMON_ERROR))

    def OrderCloseBy(self, ticket: int, opposite: int, arrow_color: int = 0) -> bool:  # noqa: N802
        return self.fail(ERR_INVALID_TRADE_PARAMETERS)  # close-by is not simulated by the server

    def OrderPrint(self) -> None:  # noqa: N802
        o = self._selected
        if o is None:
            self.fail(ERR_NO_ORDER_SELECTED)
            return
        self.Print(f"#{o.ticket} {o.symbol} type {o.type} lots {o.lots} open {o.open_price} sl {o.sl} tp {o.tp} "
                   f"close {o.close_price} profit {o.profit} comment {o.comment!r} magic {o.magic}")

    def OrderDelete(self, ticket: int, arrow_color: int = 0) -> bool:  # noqa: N802
        return self.fail(ERR_INVALID_TICKET)  # no pending orders in this model

    # --- MQL4 account / state functions
    def _a(self):
        return self.terminal.facade.account_info()

    def AccountBalance(self) -> float:  # noqa: N802
        return self._a().balance

    def AccountEquity(self) -> float:  # noqa: N802
        return self._a().equity

    def AccountMargin(self) -> float:  # noqa: N802
        return self._a().margin

    def AccountFreeMargin(self) -> float:  # noqa: N802
        return self._a().margin_free

    def AccountProfit(self) -> float:  # noqa: N802
        return self._a().profit

    def AccountLeverage(self) -> int:  # noqa: N802
        return self._a().leverage

    def AccountNumber(self) -> int:  # noqa: N802
        return self._a().login

    def AccountCurrency(self) -> str:  # noqa: N802
        return self._a().currency

    def AccountName(self) -> str:  # noqa: N802
        return self._a().name

    def AccountServer(self) -> str:  # noqa: N802
        return self._a().server

    def AccountCompany(self) -> str:  # noqa: N802
        return self._a().company

    def IsConnected(self) -> bool:  # noqa: N802
        return self.terminal.connected

    def IsTradeAllowed(self, *args) -> bool:  # noqa: N802
        return bool(self._a().trade_allowed)

    def IsDllsAllowed(self) -> bool:  # noqa: N802
        return self.dlls_allowed

    def IsExpertEnabled(self) -> bool:  # noqa: N802
        return True

    def IsTesting(self) -> bool:  # noqa: N802
        return False

    def IsDemo(self) -> bool:  # noqa: N802
        return self._a().trade_mode == rc.ACCOUNT_TRADE_MODE_DEMO

    def IsTradeContextBusy(self) -> bool:  # noqa: N802
        return False

    def AccountInfoInteger(self, prop: str) -> int:  # noqa: N802
        if prop == "ACCOUNT_MARGIN_MODE":  # MQL4 has no margin modes: always hedging
            return Enum("ACCOUNT_MARGIN_MODE_RETAIL_HEDGING")
        return super().AccountInfoInteger(prop)
