"""`TradeServer`: time and quotes: moving the clock, applying ticks, firing crossed levels; prices per account."""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from decimal import Decimal

from bridge.domain.errors import DomainError
from bridge.domain.trading import Side
from simulator.server import retcodes as rc
from simulator.server.records import TickInfo
from simulator.server.state import _BAND, _NEVER, _PENDING, _RISK, _SL, _TP, _Account, _Symbol


class MarketOps:
    """Time and quotes: moving the clock, applying ticks, firing crossed levels; prices per account.

    A part of `TradeServer` (see `simulator.server.server`); it uses the state and
    helpers the other parts define."""

    def load_history(self, symbol: str, ticks: Iterable) -> int:
        """Quotes from before the server started, for history queries (ticks, bars) only: no
        trigger, no current price, not journaled. They must all be older than every quote
        already recorded for `symbol`; returns how many were added."""
        st = self._symbols[symbol]
        first = st.times[0] if st.times else _NEVER
        ticks = list(ticks)
        if any(t.symbol != symbol or t.time_ms >= first for t in ticks) or \
                any(a.time_ms > b.time_ms for a, b in zip(ticks, ticks[1:])):
            raise ValueError(f"{symbol}: history must be in time order and older than the recorded quotes")
        st.times[:0] = [t.time_ms for t in ticks]
        st.bids[:0] = [t.bid for t in ticks]
        st.asks[:0] = [t.ask for t in ticks]
        return len(ticks)

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
                self._plugins.drain()
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
        lv = st.levels
        if not (lv.bid_lo < bp < lv.bid_hi and lv.ask_lo < ap < lv.ask_hi):  # `Levels.quiet`, inlined
            self._fire(st, self._index.fire(lv, bp, ap))
        if self._volatile:
            for login in list(self._volatile):
                acct = self._accounts[login]
                if acct.positions:
                    self._refresh_risk(acct)
            if self._plugins.pending:  # actions returned by events of this quote
                self._plugins.drain()

    def _fire(self, st: _Symbol, fired: list) -> None:
        touched: set[int] = set()  # exact check for these
        bands: dict[int, list[int]] = {}  # login -> exposures whose `MarginBands` edge fired
        for eid, (kind, login, ticket) in fired:
            acct = self._accounts[login]
            if kind == _BAND:
                if acct.bands is not None and acct.bands.eids[ticket] == eid:
                    bands.setdefault(login, []).append(ticket)
                continue
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
        if bands:
            # in login order like the exact checks: only those can write to the journal
            for login in sorted(touched.union(bands)):
                acct = self._accounts[login]
                if login in touched:
                    self._refresh_risk(acct)
                elif acct.bands is not None:
                    self._bands_fired(acct, bands[login])
        else:
            for login in sorted(touched):
                self._refresh_risk(self._accounts[login])
        if self._plugins.pending:  # actions returned by events of this quote
            self._plugins.drain()

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
