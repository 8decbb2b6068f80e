"""The server keeps UTC; its time zone places server midnight, the triple-swap day and market hours."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from srv_helpers import HOUR, MONDAY, account, market, new_server, quote

from bridge.domain.servertime import BROKER_DEFAULT, UTC, ServerTimeZone
from simulator.calendar import TradingCalendar
from simulator.server import TradeServer
from simulator.server import retcodes as rc

DAY = 24 * HOUR
JULY_MONDAY = 1720396800000  # 2024-07-08 00:00 UTC, a Monday (US summer time: UTC+3)
NEW_YORK = ServerTimeZone(-5 * HOUR, "us")


def rollovers(server) -> list[tuple[int, int]]:
    return [(r["time_ms"], r["weekday_ended"]) for r in server.journal.records("rollover")]


@pytest.mark.parametrize(("zone", "first"), [
    (UTC, MONDAY + DAY), (BROKER_DEFAULT, MONDAY + 22 * HOUR), (NEW_YORK, MONDAY + 29 * HOUR),
])
def test_rollover_at_server_midnight(zone, first):
    s = new_server(timezone=zone)
    s.advance_to(MONDAY + 3 * DAY)
    assert rollovers(s)[0] == (first, 0)  # Monday ended
    assert [t - first for t, _ in rollovers(s)] == [0, DAY, 2 * DAY][: len(rollovers(s))]


def test_summer_time_moves_midnight_an_hour_earlier():
    s = TradeServer(start_ms=JULY_MONDAY + 10 * HOUR, scrypt_n=2 ** 10, timezone=BROKER_DEFAULT)
    s.advance_to(JULY_MONDAY + DAY + 10 * HOUR)
    assert rollovers(s) == [(JULY_MONDAY + 21 * HOUR, 0)]


def test_triple_swap_on_server_wednesday():
    s = new_server(timezone=BROKER_DEFAULT)
    login, sess = account(s, account_type="mt5_raw_spread")
    quote(s, "1.10000", "1.10002")
    market(s, sess, "sell", "2.00")
    s.advance_to(MONDAY + 2 * DAY + 22 * HOUR + 1)  # just after server midnight ending Wednesday
    swaps = [r["nights"] for r in s.journal.records("swap") if r["login"] == login]
    assert swaps == [1, 1, 3]
    assert s.positions(login)[0].swap == D("4.20") * 5


def test_market_closes_at_server_saturday():
    friday_22 = MONDAY + 4 * DAY + 22 * HOUR  # Saturday 00:00 at UTC+2
    s = new_server(timezone=BROKER_DEFAULT)
    _, sess = account(s)
    quote(s, "1.10000", "1.10002", dt=friday_22 - 1000 - s.now_ms)
    assert market(s, sess, "buy", "0.10").retcode == rc.TRADE_RETCODE_DONE
    quote(s, "1.10000", "1.10002", dt=1000)
    assert market(s, sess, "buy", "0.10").retcode == rc.TRADE_RETCODE_MARKET_CLOSED
    utc = new_server(timezone=UTC)
    _, usess = account(utc)
    quote(utc, "1.10000", "1.10002", dt=friday_22 - utc.now_ms)
    assert market(utc, usess, "buy", "0.10").retcode == rc.TRADE_RETCODE_DONE


def test_calendar_follows_the_zone():
    cal = TradingCalendar(timezone=BROKER_DEFAULT)
    saturday = MONDAY + 5 * DAY - 2 * HOUR  # Saturday 00:00 server time
    assert cal.next_close(MONDAY + 10 * HOUR, "forex") == saturday
    assert cal.next_open(saturday, "forex") == saturday + 2 * DAY
    assert cal.weekday(saturday - 1) == 4 and cal.weekday(saturday) == 5
    assert cal.rollover_dates(MONDAY, MONDAY + DAY)[0].isoformat() == "2024-01-02"
    assert TradeServer(scrypt_n=2 ** 10).timezone == BROKER_DEFAULT
