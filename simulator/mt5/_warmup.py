"""History before the scenario's start, so that a script's first ``copy_rates_from_pos``
has bars to compute indicators on (a real terminal has the server's history).

``history_ticks(...)`` gives the quotes of the `bars` trading minutes before the start,
four per minute (every 15 s), deterministic from the seed:

- a **random-walk** feed walks *backwards* from its ``start_bid``: a walk of the same
  symbol, seeded with ``"{seed}:history"``, is generated forwards from the start price and
  laid out backwards in time, so the history ends exactly where the scenario's first quote
  begins (no jump). The per-tick volatility is the feed's scaled to the 15 s spacing
  (sigma x sqrt(15 s / feed interval)); the spread is the feed's. Times step back over
  market closures (a weekend is skipped, as on a chart);
- a **tick file** gives its own quotes before the start (those of the last `bars` minutes
  that have quotes); a file that starts at the scenario's start gives no history.

Pure: no clock, no global random state.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal

from simulator.calendar import DAY_MS, TradingCalendar
from simulator.prices import CsvTickFeed, Mt5TickFileFeed, RandomWalkFeed, Tick, WalkSpec

__all__ = ["HISTORY_TICK_MS", "history_ticks"]

HISTORY_TICK_MS = 15_000
_MINUTE = 60_000
_MAX_FILE_TICKS = 1_000_000  # memory bound when reading a tick file's history


def _walk_history(feed, spec, seed, start_ms: int, bars: int, calendar: TradingCalendar) -> list[Tick]:
    n = bars * (_MINUTE // HISTORY_TICK_MS)
    feed_ms = Decimal(feed.interval_ms) if feed.interval_ms is not None else Decimal(1000) / feed.ticks_per_second
    scale = (Decimal(HISTORY_TICK_MS) / feed_ms).sqrt()
    vp = None if feed.volatility_points is None else feed.volatility_points * scale
    vr = None if feed.volatility_relative is None else feed.volatility_relative * scale
    walk = WalkSpec(symbol=feed.symbol, start_bid=feed.start_bid, digits=spec.digits,
                    spread_points=feed.spread_points, volatility_points=vp, volatility_relative=vr,
                    interval_ms=HISTORY_TICK_MS, market=True)
    path = list(RandomWalkFeed(walk, f"{seed}:history", 0, max_ticks=n + 1))[1:]  # [0] is the start quote
    market = feed.market if feed.market is not None else spec.group
    tz = calendar.timezone
    out: list[Tick] = []
    t = start_ms
    for q in path:
        t -= HISTORY_TICK_MS
        while not calendar.is_open(market, t):  # back over a closure to its last open instant
            local = tz.to_server(t)
            t = tz.to_utc(local - local % DAY_MS) - HISTORY_TICK_MS
        out.append(Tick(feed.symbol, t, q.bid, q.ask))
    out.reverse()
    return out


def _file_history(feed, start_ms: int, bars: int) -> list[Tick]:
    source = Mt5TickFileFeed(feed.path, feed.symbol) if feed.kind == "mt5_file" else CsvTickFeed(feed.path)
    before: deque[Tick] = deque(maxlen=_MAX_FILE_TICKS)
    for t in source:
        if t.symbol != feed.symbol:
            continue
        if t.time_ms >= start_ms:
            break
        before.append(t)
    minutes: set[int] = set()
    keep: list[Tick] = []
    for t in reversed(before):
        minute = t.time_ms // _MINUTE
        if minute not in minutes:
            if len(minutes) == bars:
                break
            minutes.add(minute)
        keep.append(t)
    keep.reverse()
    return keep


def history_ticks(feed, spec, seed: int, start_ms: int, bars: int, calendar: TradingCalendar) -> list[Tick]:
    """The quotes of `feed` (a `simulator.scenario.FeedSpec` of the symbol `spec`) in the
    `bars` trading minutes before `start_ms`, oldest first (see the module docstring)."""
    if bars <= 0:
        return []
    if feed.kind == "random_walk":
        return _walk_history(feed, spec, seed, start_ms, bars, calendar)
    return _file_history(feed, start_ms, bars)
