"""Risk limits that act (issue 15 item 8).

"Risk limits that act: a daily loss limit and a maximum drawdown per subscription, in money or
percent, each with an action (stop opening / close all and suspend / close all and stop), reset
at server-day rollover; a `close_only` state. They sit beside the seed's investment protection,
which keeps its exact formula."
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from bridge.copytrading import (ChangeInvestment, CloseCopy, CopyRefused, OpenCopy, PriceTick, ProtectionTriggered,
                                Resume, RiskLimitReset, RiskLimitTriggered, SetCopySettings, SubscriptionStopped,
                                TimePassed)
from bridge.copytrading import limits as lim
from bridge.copytrading.settings import CopySettings
from bridge.copytrading.subscription import SubState
from bridge.domain.errors import DomainError
from bridge.domain.servertime import BROKER_DEFAULT, HOUR_MS
from tests.copytrading.helpers import World

ITEM_8 = ("Risk limits that act: a daily loss limit and a maximum drawdown per subscription, in money or percent, "
          "each with an action (stop opening / close all and suspend / close all and stop), reset at server-day "
          "rollover; a `close_only` state. They sit beside the seed's investment protection, which keeps its "
          "exact formula.")


def limited(**settings) -> tuple[World, int]:
    w = World()
    w.trader()
    sub = w.investor("I1", amount="10000")
    w.handle(SetCopySettings(w.tick(), sub, "I1", **settings))
    return w, sub


def fall(w: World, bid: str) -> list:
    step = w.handle(PriceTick(w.tick(), "EURUSD", D(bid), D(bid) + D("0.00002")))
    return list(step.records)


def test_the_figures_of_a_limit():
    hit = lim.check(lim.DAILY_LOSS, D("5"), lim.LimitUnit.PERCENT, lim.LimitAction.STOP_OPENING, D("2000"), D("1900"))
    assert hit is not None and (hit.loss, hit.allowed) == (D("100"), D("100"))  # 5 % of 2000, reached: acts
    assert lim.check(lim.DAILY_LOSS, D("5"), lim.LimitUnit.PERCENT, lim.LimitAction.STOP_OPENING, D("2000"),
                     D("1900.01")) is None
    assert lim.check(lim.MAX_DRAWDOWN, D("300"), lim.LimitUnit.MONEY, lim.LimitAction.STOP_OPENING, D("5000"),
                     D("4700")).allowed == D("300")


def test_daily_loss_stop_opening_is_close_only_until_the_server_day_rolls_over():
    w, sub = limited(daily_loss_limit="300")
    ticket, _ = w.open("1", price="1.10000")
    (trip,) = [r for r in fall(w, "1.09600") if isinstance(r, RiskLimitTriggered)]  # 1 lot, 400 points: -400
    assert (trip.limit, trip.action, trip.state) == ("daily_loss_limit", "stop_opening", "close_only")
    assert trip.base == D("10000") and trip.loss >= D("300") and trip.allowed == D("300")
    assert w.engine.subscriptions[sub].state is SubState.CLOSE_ONLY
    # nothing new opens; the open copy still follows the trader
    _, step = w.open("1", price="1.09600")
    (refused,) = [r for r in step.records if isinstance(r, CopyRefused)]
    assert refused.code == "daily_loss_limit" and not [c for c in step.commands if isinstance(c, OpenCopy)]
    assert refused.details["state"] == "close_only" and refused.details["allowed"] == "300"
    step = w.close(ticket, "1", price="1.09600")
    assert [c.subscription for c in step.commands if isinstance(c, CloseCopy)] == [sub]
    # the server day's end (the engine's zone: UTC+2/us, 21:00 UTC in June): lifted, copying again
    midnight = BROKER_DEFAULT.server_midnight(w.now + 24 * HOUR_MS)
    assert midnight > w.now
    w.now = midnight + 5
    _, step = w.open("1", price="1.09600")
    (reset,) = [r for r in step.records if isinstance(r, RiskLimitReset)]
    assert (reset.now, reset.limit, reset.state) == (midnight, "daily_loss_limit", "active")
    assert [c.subscription for c in step.commands if isinstance(c, OpenCopy)] == [sub]


def test_max_drawdown_in_percent_close_and_suspend_closes_every_copy_and_resume_lifts_it():
    w, sub = limited(max_drawdown="3", max_drawdown_unit="percent", max_drawdown_action="close_and_suspend")
    w.open("1", price="1.10000")
    fall(w, "1.10200")  # +200: the peak rises to 10 200
    records = fall(w, "1.09880")  # -120: 320 below the peak, 3 % of 10 200 = 306
    (trip,) = [r for r in records if isinstance(r, RiskLimitTriggered)]
    assert trip.base == D("10200") and trip.allowed == D("306") and trip.state == "suspended_by_limit"
    closes = [c for s in w.steps[-3:] for c in s.commands if isinstance(c, CloseCopy)]
    assert [c.reason for c in closes] == ["max_drawdown"]
    assert not w.engine.subscriptions[sub].copies
    _, step = w.open("1", price="1.09880")
    assert [r.code for r in step.records if isinstance(r, CopyRefused)] == ["max_drawdown"]
    w.handle(Resume(w.tick(), sub, "I1"))
    assert w.engine.subscriptions[sub].state is SubState.ACTIVE
    _, step = w.open("1", price="1.09880")
    assert [c.subscription for c in step.commands if isinstance(c, OpenCopy)] == [sub]


def test_close_and_stop_stops_copying_and_returns_the_funds():
    w, sub = limited(daily_loss_limit="200", daily_loss_action="close_and_stop")
    w.open("1", price="1.10000")
    fall(w, "1.09700")
    assert w.engine.subscriptions[sub].state is SubState.STOPPED
    assert w.records(SubscriptionStopped) and w.records(RiskLimitTriggered)[0].action == "close_and_stop"
    sources, holdings = w.engine.ledger()
    assert sources == holdings


def test_the_seeds_protection_acts_first_with_its_own_formula():
    w = World()
    w.trader()
    sub = w.investor("I1", amount="10000", protection="2")  # trigger below 98 % of 10 000
    w.handle(SetCopySettings(w.tick(), sub, "I1", daily_loss_limit="100"))
    w.open("1", price="1.10000")
    records = fall(w, "1.09700")  # -300: both beyond; protection wins, no limit trip
    assert [type(r) for r in records if isinstance(r, (ProtectionTriggered, RiskLimitTriggered))] == [
        ProtectionTriggered]
    assert w.engine.subscriptions[sub].state is SubState.SUSPENDED


def test_money_in_or_out_is_no_loss():
    w, sub = limited(daily_loss_limit="100")
    w.handle(ChangeInvestment(w.tick(), sub, "I1", D("-500")))  # a take-back of 500 is not a 500 loss
    w.open("1", price="1.10000")
    assert not [r for r in fall(w, "1.09950") if isinstance(r, RiskLimitTriggered)]  # -50
    assert w.engine.subscriptions[sub].day_base == D("9500")
    w.handle(TimePassed(w.tick()))
    assert w.engine.subscriptions[sub].state is SubState.ACTIVE


@pytest.mark.parametrize(("value", "field"), [
    ({"daily_loss_limit": "120", "daily_loss_unit": "percent"}, "daily_loss_limit"),
    ({"max_drawdown": "-5"}, "max_drawdown"),
    ({"max_drawdown_unit": "pips"}, "max_drawdown_unit"),
    ({"daily_loss_action": "alert"}, "daily_loss_action"),
])
def test_a_bad_limit_names_the_field(value, field):
    with pytest.raises(DomainError) as err:
        CopySettings.from_dict(value)
    assert err.value.code == "invalid_settings" and err.value.detail.startswith(field + ":")


def test_the_desks_suspension_over_a_limit_is_refused_as_the_desks():
    from bridge.copytrading.events import SuspendCopying
    w, sub = limited(daily_loss_limit="300")
    w.open("1", price="1.10000")
    fall(w, "1.09600")
    assert w.engine.subscriptions[sub].state is SubState.CLOSE_ONLY
    w.handle(SuspendCopying(w.tick(), sub, "desk"))
    _, step = w.open("1", price="1.09600")
    assert [r.code for r in step.records if isinstance(r, CopyRefused)] == ["desk_suspended"]
