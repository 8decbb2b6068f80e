"""Review of issue 15 item 8 (adversarial): the daily loss limit's day base.

docs/copy-trading.md: "daily loss = day base - equity    day base: the equity at the server
day's start". The engine rolls the day at the first look after the server midnight and takes
the equity *after* the event that looks (risk_limits.py `_roll_day` is called from
`_check_limits`, after the tick moved the equity): a loss made by the first tick of the day
(a weekend or overnight gap) belongs to no day at all, and the limit never acts on it."""

from __future__ import annotations

from decimal import Decimal as D

from bridge.copytrading import PriceTick, RiskLimitTriggered, SetCopySettings
from bridge.copytrading.subscription import SubState
from bridge.domain.servertime import BROKER_DEFAULT, HOUR_MS
from tests.copytrading.helpers import World


def _limited() -> tuple[World, int]:
    w = World()
    w.trader()
    sub = w.investor("I1", amount="10000")
    w.handle(SetCopySettings(w.tick(), sub, "I1", daily_loss_limit="300"))
    w.open("1", price="1.10000")
    w.handle(PriceTick(w.tick(), "EURUSD", D("1.10000"), D("1.10002")))  # equity ~10000 before midnight
    return w, sub


def test_the_first_tick_after_the_server_midnight_counts_against_the_new_days_base():
    w, sub = _limited()
    equity_before = w.engine.subscriptions[sub].equity
    midnight = BROKER_DEFAULT.server_midnight(w.now + 24 * HOUR_MS)
    assert midnight > w.now
    w.now = midnight + 5
    # the market opens 400 points lower (a gap): the day's first tick
    step = w.handle(PriceTick(w.tick(), "EURUSD", D("1.09600"), D("1.09602")))
    s = w.engine.subscriptions[sub]
    assert equity_before - s.equity >= D("390")  # the loss since the day's start
    trips = [r for r in step.records if isinstance(r, RiskLimitTriggered)]
    assert trips and trips[0].base == equity_before, (s.day_base, s.equity, trips)
    assert s.state is SubState.CLOSE_ONLY


def test_the_same_fall_one_tick_later_trips_so_the_result_depends_on_when_the_engine_looks():
    """The rollover's own docstring: "stamped with the midnight itself, so the result does not
    depend on when the engine looks". One unchanged tick just after midnight makes the limit act."""
    w, sub = _limited()
    midnight = BROKER_DEFAULT.server_midnight(w.now + 24 * HOUR_MS)
    w.now = midnight + 5
    w.handle(PriceTick(w.tick(), "EURUSD", D("1.10000"), D("1.10002")))  # the same price: a look
    w.handle(PriceTick(w.tick(), "EURUSD", D("1.09600"), D("1.09602")))
    looked = w.engine.subscriptions[sub].state
    w2, sub2 = _limited()
    w2.now = midnight + 5
    w2.handle(PriceTick(w2.tick(), "EURUSD", D("1.09600"), D("1.09602")))
    w2.handle(PriceTick(w2.tick(), "EURUSD", D("1.09600"), D("1.09602")))
    assert looked is SubState.CLOSE_ONLY
    assert w2.engine.subscriptions[sub2].state is looked  # same prices at the same times of day
