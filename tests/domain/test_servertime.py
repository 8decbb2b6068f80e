from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.domain.errors import DomainError
from bridge.domain.servertime import BROKER_DEFAULT, HOUR_MS, UTC, ServerTimeZone, check_offset

H = HOUR_MS
ZONES = [BROKER_DEFAULT, UTC, ServerTimeZone(-5 * H, "us"), ServerTimeZone(2 * H, "eu"),
         ServerTimeZone(-5 * H), ServerTimeZone(5 * H + 30 * 60_000), ServerTimeZone(-3 * H - 30 * 60_000, "us")]
instants = st.integers(min_value=0, max_value=4_102_444_800_000)  # 1970 .. 2100


def ms(*args) -> int:
    return int(datetime(*args, tzinfo=timezone.utc).timestamp() * 1000)


@given(st.sampled_from(ZONES), instants)
def test_offset_is_standard_or_summer(zone, t):
    assert zone.offset_ms(t) in (zone.std_offset_ms, zone.std_offset_ms + (H if zone.dst else 0))


@given(st.sampled_from(ZONES), instants)
def test_round_trip(zone, t):
    server = zone.to_server(t)
    back = zone.to_utc(server)
    assert zone.to_server(back) == server
    # only the repeated autumn hour maps back to its first (summer) occurrence
    assert back == t or (back == t - H and zone.offset_ms(t) == zone.std_offset_ms)


@given(st.sampled_from([(ServerTimeZone(-5 * H, "us"), "America/New_York"),
                        (ServerTimeZone(1 * H, "eu"), "Europe/Berlin"),
                        (ServerTimeZone(2 * H, "eu"), "Europe/Helsinki")]),
       st.integers(min_value=ms(2008, 1, 1), max_value=ms(2037, 1, 1)))
def test_rules_match_the_tz_database(pair, t):
    zone, name = pair
    real = datetime.fromtimestamp(t / 1000, ZoneInfo(name)).utcoffset()
    assert zone.offset_ms(t) == int(real.total_seconds() * 1000)


# (year, US summer start, US summer end) as UTC instants for UTC+2/us: 02:00 server = 00:00 UTC
# in March; 02:00 server summer time = 23:00 UTC the day before in November.
US_DAYS = [(2024, 10, 3), (2025, 9, 2), (2026, 8, 1), (2027, 14, 7)]


@pytest.mark.parametrize("year, march, november", US_DAYS)
def test_broker_default_boundaries(year, march, november):
    start = ms(year, 3, march, 0)
    end = ms(year, 11, november, 0) - H
    z = BROKER_DEFAULT
    assert (z.offset_ms(start - 1), z.offset_ms(start)) == (2 * H, 3 * H)
    assert (z.offset_ms(end - 1), z.offset_ms(end)) == (3 * H, 2 * H)
    ny = ServerTimeZone(-5 * H, "us")  # New York switches at 02:00 New York time
    assert (ny.offset_ms(ms(year, 3, march, 7) - 1), ny.offset_ms(ms(year, 3, march, 7))) == (-5 * H, -4 * H)
    assert (ny.offset_ms(ms(year, 11, november, 6) - 1), ny.offset_ms(ms(year, 11, november, 6))) == (-4 * H, -5 * H)


@pytest.mark.parametrize("year, march, october", [(2024, 31, 27), (2025, 30, 26), (2026, 29, 25), (2027, 28, 31)])
def test_eu_boundaries(year, march, october):
    z = ServerTimeZone(2 * H, "eu")
    assert (z.offset_ms(ms(year, 3, march, 1) - 1), z.offset_ms(ms(year, 3, march, 1))) == (2 * H, 3 * H)
    assert (z.offset_ms(ms(year, 10, october, 1) - 1), z.offset_ms(ms(year, 10, october, 1))) == (3 * H, 2 * H)


def test_gap_and_repeated_hour():
    z = BROKER_DEFAULT
    start = ms(2026, 3, 8, 0)  # server 02:00 -> 03:00; 02:30 server never happens
    assert z.to_utc(start + 2 * H + 30 * 60_000) == start + 30 * 60_000  # read as standard time
    end = ms(2026, 11, 1, 0) - H  # server 02:00 summer -> 01:00 standard; 01:30 happens twice
    assert z.to_utc(end + 2 * H + 30 * 60_000) == end - 30 * 60_000  # the first one


def test_server_midnight_follows_new_york_close():
    z = BROKER_DEFAULT
    assert z.server_midnight(ms(2026, 1, 14, 12)) == ms(2026, 1, 13, 22)  # winter: 17:00 New York
    assert z.server_midnight(ms(2026, 7, 14, 12)) == ms(2026, 7, 13, 21)  # summer: 17:00 New York


@pytest.mark.parametrize("text, zone", [
    ("UTC", UTC), ("UTC+2/us", BROKER_DEFAULT), ("UTC-5", ServerTimeZone(-5 * H)),
    (" utc+5:30 ", ServerTimeZone(5 * H + 30 * 60_000)), ("UTC+1/EU", ServerTimeZone(H, "eu")),
])
def test_parse_and_render(text, zone):
    assert ServerTimeZone.parse(text) == zone
    assert ServerTimeZone.parse(str(zone)) == zone


@pytest.mark.parametrize("text", ["", "GMT+2", "UTC+2/mars", "UTC+15", "UTC+2:10", "UTC+", 2])
def test_parse_refuses(text):
    with pytest.raises(DomainError):
        ServerTimeZone.parse(text)


def test_check_offset():
    check_offset(-14 * H)
    for bad in (14 * H + 900_000, 60_000, 7.2e6):
        with pytest.raises(DomainError, match="multiple of 15 min"):
            check_offset(bad)
