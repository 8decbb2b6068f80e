import hashlib
import random
import statistics
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from itertools import islice

import pytest

from simulator.calendar import DAY_MS, TradingCalendar
from simulator.prices import RandomWalkFeed, Tick, WalkSpec, symbol_rng

UTC = timezone.utc
MON = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp()) * 1000  # a Monday 00:00
SAT = MON + 5 * DAY_MS
NEXT_MON = MON + 7 * DAY_MS

EURUSD = WalkSpec("EURUSD", Decimal("1.10000"), 5, 10,
                  volatility_points=Decimal("3"), ticks_per_second=Decimal(4))


def feed(spec=EURUSD, seed=7, start=MON, **kw):
    if "end_ms" not in kw and "max_ticks" not in kw:
        kw["max_ticks"] = 2000
    return list(RandomWalkFeed(spec, seed, start, **kw))


def weekday(t):
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=t)).weekday()


def test_same_seed_same_ticks_different_seed_differs():
    a, b = feed(seed=7), feed(seed=7)
    assert a == b and len(a) == 2000
    c = feed(seed=8)
    assert [t.bid for t in c] != [t.bid for t in a]
    assert [t.time_ms for t in c] != [t.time_ms for t in a]


def test_iterating_again_replays_from_the_start():
    f = RandomWalkFeed(EURUSD, 3, MON, max_ticks=100)
    assert list(f) == list(f)


def test_seed_is_derived_from_sha256_of_seed_and_symbol():
    digest = hashlib.sha256(b"7:EURUSD").digest()
    expected = random.Random(int.from_bytes(digest[:8], "big")).getrandbits(64)
    assert symbol_rng(7, "EURUSD").getrandbits(64) == expected
    assert symbol_rng(7, "GBPUSD").getrandbits(64) != expected
    # a symbol's path does not depend on other symbols: only on (seed, symbol)
    gbp = replace(EURUSD, symbol="GBPUSD")
    assert [t.bid for t in feed(gbp)] != [t.bid for t in feed()]


def test_prices_are_quantised_and_bid_below_ask():
    spec = replace(EURUSD, start_bid=Decimal("1.123455"), volatility_points=Decimal("2.7"))
    ticks = feed(spec)
    point = Decimal(1).scaleb(-spec.digits)
    assert ticks[0].bid == spec.start_bid.quantize(point, ROUND_HALF_UP)
    for t in ticks:
        assert t.bid.as_tuple().exponent == -spec.digits == t.ask.as_tuple().exponent
        assert t.bid < t.ask
        assert t.ask - t.bid == spec.spread_points * point
        assert t.symbol == "EURUSD" and t.last is None and t.volume is None


def test_digits_zero_and_three():
    for digits, start in ((0, Decimal("38000.4")), (3, Decimal("151.2345"))):
        spec = WalkSpec("X", start, digits, 3, volatility_points=Decimal(5), interval_ms=100,
                        market="indices")
        ticks = feed(spec, max_ticks=200)
        assert all(t.bid.as_tuple().exponent == -digits for t in ticks)
        assert ticks[0].bid == start.quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP)


def test_times_increase_and_respect_the_end():
    ticks = feed(end_ms=MON + 600_000, max_ticks=None)
    times = [t.time_ms for t in ticks]
    assert times[0] == MON
    assert all(b > a for a, b in zip(times, times[1:]))
    assert times[-1] < MON + 600_000
    assert len(feed(max_ticks=17)) == 17


def test_fixed_interval():
    spec = replace(EURUSD, ticks_per_second=None, interval_ms=250)
    times = [t.time_ms for t in feed(spec, max_ticks=500)]
    assert {b - a for a, b in zip(times, times[1:])} == {250}


def test_poisson_rate_matches_mean():
    spec = replace(EURUSD, ticks_per_second=Decimal(8), market="crypto")
    times = [t.time_ms for t in feed(spec, max_ticks=20_001)]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert statistics.fmean(gaps) == pytest.approx(1000 / 8, rel=0.03)
    assert statistics.pstdev(gaps) == pytest.approx(1000 / 8, rel=0.08)  # exponential: sd = mean


def test_volatility_in_points_and_relative():
    ticks = feed(replace(EURUSD, market="crypto"), max_ticks=20_001)
    steps = [(b.bid - a.bid).scaleb(5) for a, b in zip(ticks, ticks[1:])]
    assert float(statistics.pstdev(steps)) == pytest.approx(3, rel=0.05)
    assert abs(float(statistics.fmean(steps))) < 0.1

    btc = WalkSpec("BTCUSD", Decimal("40000.00"), 2, 1500, volatility_relative=Decimal("0.0001"),
                   interval_ms=500, market="crypto_majors")
    ticks = feed(btc, max_ticks=20_001)
    rel = [(b.bid - a.bid) / a.bid for a, b in zip(ticks, ticks[1:])]
    assert float(statistics.pstdev(rel)) == pytest.approx(0.0001, rel=0.05)


def test_no_ticks_at_the_weekend_and_open_at_monday():
    ticks = feed(start=SAT - 3_600_000, end_ms=NEXT_MON + 3_600_000, max_ticks=None)
    assert all(weekday(t.time_ms) < 5 for t in ticks)
    before = [t for t in ticks if t.time_ms < SAT]
    after = [t for t in ticks if t.time_ms >= NEXT_MON]
    assert before and after
    assert after[0].time_ms == NEXT_MON


def test_crypto_ticks_through_the_weekend():
    spec = replace(EURUSD, symbol="BTCUSD", market="crypto", ticks_per_second=None,
                   interval_ms=60_000)
    ticks = feed(spec, start=SAT, end_ms=NEXT_MON, max_ticks=None)
    assert ticks[0].time_ms == SAT
    assert {weekday(t.time_ms) for t in ticks} == {5, 6}


def test_start_while_closed_begins_at_the_open():
    ticks = feed(start=SAT + 1234, max_ticks=3)
    assert ticks[0].time_ms == NEXT_MON
    assert ticks[0].bid == EURUSD.start_bid


def _weekend_jump(spec, seed):
    f = RandomWalkFeed(spec, seed, SAT - 10_000, NEXT_MON + 1)
    ticks = list(f)
    last_fri = [t for t in ticks if t.time_ms < SAT][-1]
    first_mon = [t for t in ticks if t.time_ms >= NEXT_MON][0]
    assert first_mon.time_ms == NEXT_MON
    return int((first_mon.bid - last_fri.bid).scaleb(spec.digits))


def test_weekend_gap():
    still = replace(EURUSD, volatility_points=Decimal(0), interval_ms=1000, ticks_per_second=None)
    assert {_weekend_jump(still, s) for s in range(10)} == {0}  # no gap configured: no jump
    gapped = replace(still, gap_points=Decimal(200))
    jumps = [_weekend_jump(gapped, s) for s in range(60)]
    assert statistics.pstdev(jumps) == pytest.approx(200, rel=0.3)
    assert len(set(jumps)) > 50  # not stuck on a coarse lattice
    rel = replace(still, gap_relative=Decimal("0.002"))  # 0.002 * 110000 points = 220
    jumps = [_weekend_jump(rel, s) for s in range(60)]
    assert statistics.pstdev(jumps) == pytest.approx(220, rel=0.3)


def test_prices_stay_positive():
    spec = WalkSpec("PENNY", Decimal("0.00003"), 5, 2, volatility_points=Decimal(50),
                    interval_ms=10, market="stocks")
    ticks = feed(spec, max_ticks=5000)
    assert min(t.bid for t in ticks) == Decimal("0.00001")
    assert all(t.bid > 0 and t.bid < t.ask for t in ticks)


@pytest.mark.parametrize("kw", [
    {"volatility_points": None},
    {"volatility_relative": Decimal("0.1")},
    {"interval_ms": 100},
    {"ticks_per_second": None},
    {"spread_points": 0},
    {"digits": 13},
    {"start_bid": Decimal("-1")},
    {"gap_points": Decimal(1), "gap_relative": Decimal("0.1")},
    {"volatility_points": Decimal("NaN")},
])
def test_spec_validation(kw):
    with pytest.raises((ValueError, TypeError)):
        replace(EURUSD, **kw)


def test_feed_needs_an_end_and_a_known_market():
    with pytest.raises(ValueError):
        RandomWalkFeed(EURUSD, 1, MON)
    with pytest.raises(ValueError):
        RandomWalkFeed(replace(EURUSD, market="bonds"), 1, MON, max_ticks=1)


def test_custom_calendar_is_honoured():
    cal = TradingCalendar(closed_weekdays=frozenset({2}))  # closed on Wednesdays only
    spec = replace(EURUSD, interval_ms=60_000, ticks_per_second=None)
    ticks = list(RandomWalkFeed(spec, 1, MON, MON + 7 * DAY_MS, calendar=cal))
    assert {weekday(t.time_ms) for t in ticks} == {0, 1, 3, 4, 5, 6}


def test_ticks_are_frozen():
    t = next(iter(RandomWalkFeed(EURUSD, 1, MON, max_ticks=1)))
    assert isinstance(t, Tick)
    with pytest.raises(AttributeError):
        t.bid = Decimal(1)  # type: ignore[misc]
    assert list(islice(RandomWalkFeed(EURUSD, 1, MON, max_ticks=5), 2))[0] == t
