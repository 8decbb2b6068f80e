from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.calendar import DAY_MS, TradingCalendar, rollover_dates, weekday

UTC = timezone.utc
CAL = TradingCalendar()


def ms(*args) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp()) * 1000


def dt(t: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=t)


instants = st.integers(min_value=ms(2000, 1, 1), max_value=ms(2040, 1, 1))

# 2024-01-05 is a Friday, 2024-01-06 Saturday, 2024-01-08 Monday.
FRI, SAT, MON = ms(2024, 1, 5), ms(2024, 1, 6), ms(2024, 1, 8)


@settings(max_examples=200)
@given(instants)
def test_weekday_matches_datetime(t):
    assert weekday(t) == dt(t).weekday()


@pytest.mark.parametrize("group", ["forex", "forex_majors", "metals", "indices", "energies",
                                   "stocks", False])
def test_weekday_markets_close_saturday_to_monday(group):
    assert CAL.is_open(group, SAT - 1)  # Friday 23:59:59.999
    assert not CAL.is_open(group, SAT)
    assert not CAL.is_open(group, MON - 1)  # Sunday 23:59:59.999
    assert CAL.is_open(group, MON)
    assert CAL.is_open(group, FRI + 12 * 3_600_000)


@pytest.mark.parametrize("group", ["crypto", "crypto_majors", "CRYPTO_exotics", True])
def test_crypto_trades_every_day(group):
    for t in range(SAT - DAY_MS, MON + DAY_MS, 3_600_000):
        assert CAL.is_open(group, t)
    assert CAL.next_close(SAT, group) is None
    assert CAL.next_open(SAT + 5, group) == SAT + 5


def test_unknown_group_is_refused():
    with pytest.raises(ValueError, match="unknown instrument group"):
        CAL.is_open("forexish", MON)
    with pytest.raises(TypeError):
        CAL.is_open(3, MON)


def test_next_open_and_close_around_a_weekend():
    assert CAL.next_open(SAT + 12 * 3_600_000, "forex") == MON
    assert CAL.next_open(SAT, "forex") == MON
    assert CAL.next_open(MON, "forex") == MON
    assert CAL.next_close(FRI, "forex") == SAT
    assert CAL.next_close(SAT + 1, "forex") == SAT + 1
    assert CAL.next_close(MON, "forex") == SAT + 7 * DAY_MS


@settings(max_examples=200)
@given(instants)
def test_next_open_is_the_first_open_instant(t):
    o = CAL.next_open(t, "forex")
    assert o >= t and CAL.is_open("forex", o)
    if o != t:
        assert not CAL.is_open("forex", o - 1) and not CAL.is_open("forex", t)
        assert dt(o).weekday() == 0 and o % DAY_MS == 0
    c = CAL.next_close(o, "forex")
    assert c > o and not CAL.is_open("forex", c) and CAL.is_open("forex", c - 1)
    assert dt(c).weekday() == 5 and c % DAY_MS == 0


def test_other_closed_weekdays():
    friday_off = TradingCalendar(closed_weekdays=frozenset({4, 5, 6}))
    assert not friday_off.is_open("forex", FRI)
    assert friday_off.next_open(FRI, "forex") == MON
    with pytest.raises(ValueError):
        TradingCalendar(closed_weekdays=frozenset(range(7)))


def test_rollover_window_is_half_open():
    midnight = ms(2024, 1, 3)
    assert rollover_dates(midnight - 1, midnight) == (date(2024, 1, 3),)
    assert rollover_dates(midnight, midnight + 1) == ()
    assert rollover_dates(midnight, midnight) == ()
    assert CAL.is_rollover(midnight - 1, midnight)
    assert not CAL.is_rollover(midnight, midnight + DAY_MS - 1)
    assert CAL.rollover_dates(FRI + 1, MON) == (date(2024, 1, 6), date(2024, 1, 7),
                                                 date(2024, 1, 8))
    with pytest.raises(ValueError):
        rollover_dates(midnight, midnight - 1)
    with pytest.raises(ValueError):
        CAL.is_rollover(midnight, midnight - 1)


@settings(max_examples=200)
@given(instants, st.integers(min_value=0, max_value=10 * DAY_MS))
def test_rollovers_match_brute_force(prev, span):
    now = prev + span
    expected = []
    d = dt(prev).date() + timedelta(days=1)
    while ms(d.year, d.month, d.day) <= now:
        expected.append(d)
        d += timedelta(days=1)
    assert rollover_dates(prev, now) == tuple(expected)
    assert CAL.is_rollover(prev, now) == bool(expected)
