"""`TradeServer`: queries (snapshots; never change state): account, positions, orders, history, ticks, bars."""

from __future__ import annotations

from bridge.domain.account import margin_level
from bridge.domain.errors import DomainError
from bridge.domain.money import round_money
from bridge.domain.trading import Side, profit
from simulator.server import retcodes as rc
from simulator.server.plugins.host import PluginFailure
from simulator.server.records import AccountInfo, Bar, DealInfo, OrderInfo, PositionInfo, TickInfo
from simulator.server.state import _NEVER, ZERO


class HistoryOps:
    """Queries (snapshots; never change state): account, positions, orders, history, ticks, bars.

    A part of `TradeServer` (see `simulator.server.server`); it uses the state and
    helpers the other parts define."""

    def account_info(self, login: int) -> AccountInfo:
        acct = self._account(login)
        equity, risks = self._equity(acct)
        margin = acct.book.total
        prof = sum((r.profit for r in risks), ZERO)
        t = acct.type
        try:
            allowed = self._trade_veto(acct) is None
        except (DomainError, PluginFailure):  # e.g. no USD rate for the account currency yet: cannot tell
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
