"""Investment protection §4.3: equity < (100 % - p) x balance, strictly."""

from decimal import Decimal as D

import pytest

from bridge.copytrading import (AccountUpdated, CloseCopy, CopyRefused, EditSettings, OpenCopy,
                                ProtectionTriggered, Resume, SubState)
from bridge.copytrading.protection import threshold, triggered
from tests.copytrading.helpers import World, of


def test_formula_boundary_both_ways():
    balance, p = D("1000"), D("20")
    assert threshold(balance, p) == D("800")
    assert not triggered(D("800.01"), balance, p)
    assert not triggered(D("800.00"), balance, p)  # at the set value: the formula's strict "<"
    assert triggered(D("799.99"), balance, p)


def test_p_zero_and_unset():
    # p = 0 %: any floating loss triggers; an unchanged equity does not.
    assert not triggered(D("1000"), D("1000"), D("0"))
    assert triggered(D("999.99"), D("1000"), D("0"))
    # unset: never
    assert not triggered(D("1"), D("1000"), None)


def _world(protection):
    w = World()
    w.trader()
    sub = w.investor("I", account=2000, amount="1000", protection=protection)
    ticket, _ = w.open("0.1")
    return w, sub, ticket


@pytest.mark.parametrize("equity,fires", [("800.00", False), ("799.99", True), ("850", False)])
def test_engine_boundary(equity, fires):
    w, sub, _ = _world("20")
    step = w.handle(AccountUpdated(w.tick(), 2000, D("1000"), D(equity)))
    assert bool(of(step, ProtectionTriggered)) is fires
    assert (w.engine.subscriptions[sub].state is SubState.SUSPENDED) is fires


def test_trigger_closes_copies_suspends_then_resumes_on_edit():
    w, sub, ticket = _world("20")
    step = w.handle(AccountUpdated(w.tick(), 2000, D("1000"), D("790")))
    (trig,) = of(step, ProtectionTriggered)
    assert (trig.threshold, trig.equity) == (D("800"), D("790"))
    assert [c.reason for c in of(step, CloseCopy)] == ["protection"]
    assert w.engine.subscriptions[sub].state is SubState.SUSPENDED
    assert w.engine.subscription_view("I", sub).state == "suspended_by_protection"
    _, step = w.open("0.1")
    assert [r.code for r in of(step, CopyRefused)] == ["protection_suspended"]
    w.handle(EditSettings(w.tick(), sub, "I", protection_pct=D("30")))
    assert w.engine.subscriptions[sub].state is SubState.ACTIVE
    _, step = w.open("0.1")
    assert of(step, OpenCopy)


def test_resume_without_changes():
    w, sub, _ = _world("10")
    w.handle(AccountUpdated(w.tick(), 2000, D("1000"), D("899")))
    w.handle(Resume(w.tick(), sub, "I"))
    assert w.engine.subscriptions[sub].state is SubState.ACTIVE


def test_unset_protection_never_fires_and_zero_fires_on_first_loss():
    w, sub, _ = _world(None)
    w.handle(AccountUpdated(w.tick(), 2000, D("1000"), D("100")))
    assert w.engine.subscriptions[sub].state is SubState.ACTIVE
    w, sub, _ = _world("0")
    w.handle(AccountUpdated(w.tick(), 2000, D("1000"), D("1000")))
    assert w.engine.subscriptions[sub].state is SubState.ACTIVE
    w.handle(AccountUpdated(w.tick(), 2000, D("1000"), D("999.99")))
    assert w.engine.subscriptions[sub].state is SubState.SUSPENDED
