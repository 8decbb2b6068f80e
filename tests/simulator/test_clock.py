from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time

from simulator.clock import VirtualClock, datetime_to_ms, ms_to_datetime

T0 = 1_704_153_600_123  # 2024-01-02 00:00:00.123 UTC


def test_starts_where_told_and_advances():
    clock = VirtualClock(T0)
    assert clock.now_ms == T0
    assert clock.advance(250) == T0 + 250
    assert clock.advance(0) == T0 + 250
    assert clock.advance_to(T0 + 1000) == T0 + 1000
    assert clock.advance_to(T0 + 1000) == T0 + 1000  # same instant: allowed no-op
    assert clock.now_ms == T0 + 1000


def test_never_moves_backwards():
    clock = VirtualClock(T0)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance_to(T0 - 1)
    with pytest.raises(ValueError, match="negative"):
        clock.advance(-1)
    assert clock.now_ms == T0


@pytest.mark.parametrize("bad", [1.5, True, "10", None])
def test_refuses_non_int_times(bad):
    clock = VirtualClock(T0)
    with pytest.raises(TypeError):
        clock.advance(bad)
    with pytest.raises(TypeError):
        clock.advance_to(bad)
    with pytest.raises(TypeError):
        VirtualClock(bad)


def test_now_datetime_is_aware_utc_and_exact():
    clock = VirtualClock(T0)
    dt = clock.now_datetime()
    assert dt.tzinfo is not None and dt.utcoffset() == timedelta(0)
    assert dt == datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=T0)
    assert dt.microsecond == (T0 % 1000) * 1000
    assert datetime_to_ms(dt) == T0


def test_does_not_read_the_wall_clock():
    with freeze_time("2031-05-06 07:08:09"):
        clock = VirtualClock(T0)
        assert clock.now_datetime().year == 2024
        assert VirtualClock().now_ms == 0


def test_datetime_to_ms_rules():
    with pytest.raises(ValueError, match="naive"):
        datetime_to_ms(datetime(2024, 1, 2))
    with pytest.raises(ValueError, match="sub-millisecond"):
        datetime_to_ms(datetime(2024, 1, 2, microsecond=1, tzinfo=timezone.utc))
    plus2 = timezone(timedelta(hours=2))
    assert datetime_to_ms(datetime(2024, 1, 2, 2, tzinfo=plus2)) == datetime_to_ms(
        datetime(2024, 1, 2, tzinfo=timezone.utc))
    assert ms_to_datetime(-1) == datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=timezone.utc)
