"""Price sources for the simulated trade server: ticks, generators and replays.

- `Tick`: one quote (frozen dataclass, exact Decimal prices, ms server time).
- `RandomWalkFeed` + `WalkSpec`: seeded, integer-point random walk honouring market hours.
- `Mt5TickFileFeed`: replay of MetaTrader 5 tick exports (UTF-16 or UTF-8, tab-separated).
- `CsvTickFeed`: replay of ``time,symbol,bid,ask`` CSV files with several symbols.
- `merge_feeds`: one time-ordered stream from several (time, symbol, source order).
- `FeedError`: a bad line in a tick file (file, line number, problem).

Every feed is an iterable: each ``iter()`` starts again from the beginning and yields the
same ticks in time order.
"""

from simulator.prices.csv_file import CsvTickFeed
from simulator.prices.merge import merge_feeds
from simulator.prices.mt5_file import Mt5TickFileFeed
from simulator.prices.random_walk import RandomWalkFeed, WalkSpec, symbol_rng
from simulator.prices.tick import (
    TICK_FLAG_ASK,
    TICK_FLAG_BID,
    TICK_FLAG_BUY,
    TICK_FLAG_LAST,
    TICK_FLAG_SELL,
    TICK_FLAG_VOLUME,
    FeedError,
    PointDecimals,
    Tick,
)

__all__ = [
    "CsvTickFeed",
    "FeedError",
    "Mt5TickFileFeed",
    "PointDecimals",
    "RandomWalkFeed",
    "TICK_FLAG_ASK",
    "TICK_FLAG_BID",
    "TICK_FLAG_BUY",
    "TICK_FLAG_LAST",
    "TICK_FLAG_SELL",
    "TICK_FLAG_VOLUME",
    "Tick",
    "WalkSpec",
    "merge_feeds",
    "symbol_rng",
]
