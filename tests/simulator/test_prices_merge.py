from datetime import datetime, timezone
from decimal import Decimal
from itertools import islice

from simulator.prices import RandomWalkFeed, Tick, WalkSpec, merge_feeds

MON = int(datetime(2024, 1, 1, tzinfo=timezone.utc).timestamp()) * 1000


def tick(symbol, t, bid="1.0", tag=0):
    # `tag` rides in flags so equal-looking ticks from different sources can be told apart
    return Tick(symbol, t, Decimal(bid), Decimal(bid) + 1, None, None, tag)


def test_tie_break_time_then_symbol_then_source_order():
    a = [tick("GBPUSD", 1, tag=0), tick("EURUSD", 2, tag=0), tick("EURUSD", 3, tag=0)]
    b = [tick("EURUSD", 1, tag=1), tick("EURUSD", 2, tag=1), tick("AUDUSD", 3, tag=1)]
    c = [tick("EURUSD", 1, tag=2), tick("EURUSD", 2, tag=2)]
    merged = list(merge_feeds(a, b, c))
    tagged = [(t, src) for src, feed in enumerate((a, b, c)) for t in feed]
    expected = [t for t, src in sorted(tagged, key=lambda p: (p[0].time_ms, p[0].symbol, p[1]))]
    assert merged == expected
    assert [(t.time_ms, t.symbol, t.flags) for t in merged[:3]] == [
        (1, "EURUSD", 1), (1, "EURUSD", 2), (1, "GBPUSD", 0)]
    # swapping the sources swaps the tie order, and nothing else
    swapped = list(merge_feeds(c, b, a))
    assert sorted(swapped, key=lambda t: (t.time_ms, t.symbol)) == swapped
    assert [t.flags for t in swapped[:2]] == [2, 1]


def test_merging_generated_feeds_is_time_ordered_and_complete():
    specs = [WalkSpec(s, Decimal("1.20000"), 5, 8, volatility_points=Decimal(2),
                      ticks_per_second=Decimal(20)) for s in ("USDJPY", "EURUSD", "GBPUSD")]
    feeds = [RandomWalkFeed(s, 11, MON, MON + 60_000) for s in specs]
    merged = list(merge_feeds(*feeds))
    keys = [(t.time_ms, t.symbol) for t in merged]
    assert keys == sorted(keys)
    assert len(merged) == sum(len(list(f)) for f in feeds)
    for f in feeds:  # each symbol's own sequence is untouched
        assert [t for t in merged if t.symbol == f.symbol] == list(f)
    assert merged == list(merge_feeds(*feeds))  # deterministic


def test_merge_is_lazy():
    spec = WalkSpec("EURUSD", Decimal("1.1"), 5, 8, volatility_points=Decimal(2),
                    interval_ms=10)
    huge = RandomWalkFeed(spec, 1, MON, max_ticks=10**12)
    first = list(islice(merge_feeds(huge, [tick("AAA", MON)]), 3))
    assert [t.symbol for t in first] == ["AAA", "EURUSD", "EURUSD"]
