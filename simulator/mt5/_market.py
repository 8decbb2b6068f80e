"""Market data of the simulated terminal: `copy_ticks_*` and `copy_rates_*` as numpy
structured arrays with the official package's dtypes (`records.TICKS_DTYPE`,
`records.RATES_DTYPE`), over the server's quote history plus the warm-up history before the
scenario's start (`simulator.mt5._warmup`), loaded into the server the first time a symbol's
history is asked for."""

from __future__ import annotations

import numpy as np

from simulator.mt5 import constants as C
from simulator.mt5 import records as R
from simulator.mt5._common import Fail, f, s
from simulator.mt5._warmup import history_ticks


class MarketCalls:
    """Mixed into `Terminal` (state and helpers from `simulator.mt5._core.Core`)."""

    def _history(self, symbol: str) -> None:
        """Give the server the symbol's warm-up history once (scenario terminals only)."""
        if symbol in self.history_loaded or self.sim is None:
            return
        self.history_loaded.add(symbol)
        sim = self.sim
        feed = next((x for x in sim.scenario.feeds if x.symbol == symbol), None)
        if feed is None:
            return
        ticks = history_ticks(feed, self.server.rules.symbols.get(symbol), sim.seed, sim.scenario.start_ms,
                              sim.scenario.mt5_history_bars, self.server.calendar)
        self.server.load_history(symbol, ticks)

    def copy_ticks(self, symbol, date_from, count, date_to, flags):
        self.spec(symbol)
        if isinstance(flags, bool) or flags not in (C.COPY_TICKS_ALL, C.COPY_TICKS_INFO, C.COPY_TICKS_TRADE):
            raise Fail(C.RES_E_INVALID_PARAMS, "Invalid \"flags\" argument")
        lo = self._in(date_from, "date_from")
        self._history(symbol)
        if date_to is None:
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise Fail(C.RES_E_INVALID_PARAMS, "Invalid \"count\" argument")
            ticks = self.server.copy_ticks_from(symbol, lo, count)
        else:
            ticks = self.server.copy_ticks_range(symbol, lo, self._in(date_to, "date_to"))
        if flags == C.COPY_TICKS_TRADE:
            ticks = []  # the simulated feed has no trade (last/volume) ticks
        flag = C.TICK_FLAG_BID | C.TICK_FLAG_ASK
        out = self._out
        return np.array([(s(out(t.time_msc)), f(t.bid), f(t.ask), 0.0, 0, out(t.time_msc), flag, 0.0)
                         for t in ticks], dtype=R.TICKS_DTYPE)

    def _tf(self, timeframe) -> int:
        ms = C.TIMEFRAME_MS.get(timeframe) if not isinstance(timeframe, bool) else None
        if ms is None:
            code = C.RES_E_UNSUPPORTED if timeframe == C.TIMEFRAME_MN1 else C.RES_E_INVALID_PARAMS
            raise Fail(code, "Invalid \"timeframe\" argument" if code == C.RES_E_INVALID_PARAMS
                       else "TIMEFRAME_MN1 is not simulated")
        return ms

    def copy_rates(self, symbol, timeframe, date_from, date_to, start_pos, count):
        self.spec(symbol)
        tf = self._tf(timeframe)
        srv = self.server
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
            raise Fail(C.RES_E_INVALID_PARAMS, "Invalid \"count\" argument")
        self._history(symbol)
        # bars open on server-time multiples of the timeframe; their times are UTC until _out
        if date_to is not None:  # range: bars opened in [from, to]
            lo, hi = self._in(date_from, "date_from"), self._in(date_to, "date_to")
            bars = srv.bars(symbol, tf, lo - tf, hi + 1)
            bars = [b for b in bars if lo <= b.time_ms <= hi]
        elif start_pos is not None:  # from position: 0 = the current bar, counting back
            if isinstance(start_pos, bool) or not isinstance(start_pos, int) or start_pos < 0:
                raise Fail(C.RES_E_INVALID_PARAMS, "Invalid \"start_pos\" argument")
            bars = srv.bars(symbol, tf, 0, srv.now_ms + 1)
            end = len(bars) - start_pos
            bars = bars[max(end - count, 0):max(end, 0)]
        else:  # `count` bars opened at or before date_from
            hi = self._in(date_from, "date_from")
            bars = srv.bars(symbol, tf, 0, hi + tf)
            bars = [b for b in bars if b.time_ms <= hi][-count:] if count else []
        out = self._out
        return np.array([(s(out(b.time_ms)), f(b.open), f(b.high), f(b.low), f(b.close), b.tick_volume, b.spread, 0)
                         for b in bars], dtype=R.RATES_DTYPE)
