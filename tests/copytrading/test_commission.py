"""Commission §9, §10, §8.3: high-water mark, Sunday payout on the engine's `now`, stop."""

from datetime import datetime, timezone
from decimal import Decimal as D

from freezegun import freeze_time
from hypothesis import given
from hypothesis import strategies as st

from bridge.copytrading import (CommissionAccrued, CommissionPaid, StopCopying, TimePassed, WalletMovement)
from bridge.copytrading.commission import next_period, next_weekly
from bridge.domain.servertime import BROKER_DEFAULT, ServerTimeZone
from tests.copytrading.helpers import DAY, HOUR, T0, World, of

SUNDAY = T0 + 6 * DAY  # 2024-06-09 00:00 UTC (T0 is Monday 2024-06-03)
# Sunday 00:00 server time for the default broker zone (UTC+2, UTC+3 in US summer time)
PAYOUT = SUNDAY - 3 * HOUR


def _trade(w, result_pips: int, volume="0.1"):
    """Open at 1.10000 and close `result_pips` away: 0.1 lot -> 1 USD per pip."""
    w.prices["EURUSD"] = D("1.10000")
    ticket, _ = w.open(volume, price="1.10000")
    w.close(ticket, volume, price=str(D("1.10000") + D(result_pips) * D("0.0001")))


def _world(rate="20"):
    w = World()
    w.trader(commission=rate)
    sub = w.investor("I", amount="1000")
    return w, sub


def test_high_water_mark_across_a_loss_and_a_recovery():
    w, sub = _world("20")
    _trade(w, 100)  # +100: 20 % -> 20.00, mark 100
    _trade(w, -50)  # realised 50: nothing
    _trade(w, 30)  # realised 80: still under the mark: nothing
    _trade(w, 50)  # realised 130: 20 % of 30 = 6.00
    accrued = [(r.amount, r.high_water_mark) for r in w.records(CommissionAccrued)]
    assert accrued == [(D("20.0"), D("100.00")), (D("6.0"), D("130.00"))]
    view = w.engine.subscription_view("I", sub)
    assert view.commission_accrued == D("26.00") and view.commission_paid == 0


def test_sunday_payout_follows_the_engine_now_not_the_wall_clock():
    w, sub = _world()
    _trade(w, 100)
    # The wall clock says Sunday midnight UTC; the engine's now is just before server Sunday: no payout.
    with freeze_time("2024-06-09 00:00:00"):
        step = w.engine.handle(TimePassed(PAYOUT - 1))
        assert of(step, CommissionPaid) == []
    # The wall clock says Wednesday; the engine's now reaches Sunday 00:00: payout.
    with freeze_time("2024-06-05 12:00:00"):
        step = w.engine.handle(TimePassed(PAYOUT))
    (paid,) = of(step, CommissionPaid)
    assert (paid.now, paid.amount, paid.reason, paid.trader) == (PAYOUT, D("20.00"), "weekly", "T")
    moves = of(step, WalletMovement)
    assert [(m.owner, m.amount, m.kind) for m in moves] == [("T", D("20.00"), "commission")]
    assert w.engine.subscriptions[sub].balance == D("1080.00")
    # one payout per Sunday
    assert of(w.engine.handle(TimePassed(PAYOUT + HOUR)), CommissionPaid) == []


def test_sunday_payout_with_now_taken_from_a_frozen_clock():
    # How the daemon's shell builds `now`: from the (here frozen) wall clock.
    def shell_now() -> int:
        return int(datetime.now(timezone.utc).timestamp() * 1000)

    with freeze_time("2024-06-03 00:00:00") as frozen:
        w = World(now=shell_now())
        w.trader()
        w.investor("I", amount="1000")
        _trade(w, 100)
        frozen.move_to("2024-06-08 20:59:59")  # Saturday 23:59:59 server time
        assert of(w.engine.handle(TimePassed(shell_now())), CommissionPaid) == []
        frozen.move_to("2024-06-08 21:00:00")  # Sunday 00:00 server time
        (paid,) = of(w.engine.handle(TimePassed(shell_now())), CommissionPaid)
        assert paid.amount == D("20.00")
        frozen.move_to("2024-06-15 21:00:01")  # nothing accrued that week
        assert of(w.engine.handle(TimePassed(shell_now())), CommissionPaid) == []


def test_commission_settled_at_once_when_copying_stops():
    w, sub = _world("50")
    _trade(w, 40)  # +40: 50 % -> 20.00
    step = w.handle(StopCopying(w.tick(), sub, "I"))
    (paid,) = of(step, CommissionPaid)
    assert (paid.amount, paid.reason) == (D("20.00"), "stop")
    assert w.engine.wallet("I", "I") == D("1020.00")
    assert w.engine.wallets.balance("T") == D("20.00")


def test_loss_only_is_never_charged():
    w, sub = _world()
    _trade(w, -100)
    _trade(w, 60)
    assert w.records(CommissionAccrued) == []
    w.handle(StopCopying(w.tick(), sub, "I"))
    assert w.engine.wallet("I", "I") == D("960.00")


def test_next_weekly_boundaries():
    assert next_weekly(T0, 6) == SUNDAY
    assert next_weekly(SUNDAY, 6) == SUNDAY + 7 * DAY  # strictly after
    assert next_weekly(SUNDAY - 1, 6) == SUNDAY
    # server time UTC+2: Sunday 00:00 server time is Saturday 22:00 UTC
    assert next_weekly(T0, 6, ServerTimeZone(2 * HOUR)) == SUNDAY - 2 * HOUR
    # UTC+2 with US summer time (June): UTC+3, so Saturday 21:00 UTC; UTC-5: Sunday 05:00 UTC
    assert next_weekly(T0, 6, BROKER_DEFAULT) == SUNDAY - 3 * HOUR
    assert next_weekly(T0, 6, ServerTimeZone(-5 * HOUR)) == SUNDAY + 5 * HOUR


def test_next_period_in_server_time():
    half = ServerTimeZone(5 * HOUR + 30 * 60_000)  # UTC+5:30: server hours start at :30 UTC
    assert next_period(T0, HOUR, half) == T0 + 30 * 60_000
    assert next_period(T0, HOUR, BROKER_DEFAULT) == T0 + HOUR
    assert next_period(T0, DAY, BROKER_DEFAULT) == T0 + DAY - 3 * HOUR  # server midnight


@given(st.integers(min_value=1_700_000_000_000, max_value=1_900_000_000_000),
       st.sampled_from([BROKER_DEFAULT, ServerTimeZone(-5 * HOUR, "us"), ServerTimeZone(2 * HOUR, "eu"),
                        ServerTimeZone(-5 * HOUR)]))
def test_next_weekly_is_the_next_server_sunday_midnight(now, zone):
    nxt = next_weekly(now, 6, zone)
    local = zone.to_server(nxt)
    assert nxt > now and local % DAY == 0 and (local // DAY + 3) % 7 == 6
    assert nxt - now <= 7 * DAY + HOUR  # at most a week (and the DST hour)
    assert next_weekly(nxt - 1, 6, zone) == nxt
