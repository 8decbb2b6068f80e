"""Investment protection §4.3: equity < (100 % - p) x invested funds, strictly."""

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


SEED_4_3 = ("The Investment Protection suspends copying new orders of the Trader and closes all the existing "
            "orders if the Investor's equity in percent of the initially invested funds equals the set value "
            "or less.")
SEED_4_3_FORMULA = "Investor Equity < (100% – Deposit Percentage) × Investor Balance."


def test_base_is_the_invested_funds_not_the_balance_38_6_percent_example():
    # Seed 003 §4.3: SEED_4_3 and SEED_4_3_FORMULA. 20 % protection on 1000 invested; three
    # losing trades, each at its worst (balance before it, lowest equity during it), then
    # closed at that loss: 1000 -> 810 -> 686 -> 614, 38.6 % of the invested funds lost.
    invested, p = D("1000"), D("20")
    worst = [(D("1000"), D("810")), (D("810"), D("686")), (D("686"), D("614"))]
    # Measured against the current balance (the old reading) nothing ever triggers ...
    assert not any(triggered(equity, balance, p) for balance, equity in worst)
    assert (invested - worst[-1][1]) / invested == D("0.386")
    # ... against the invested funds the second trade triggers, at the 20 % point.
    assert [triggered(equity, invested, p) for _, equity in worst] == [False, True, True]
    assert threshold(invested, p) == D("800")


def test_engine_realised_loss_does_not_lower_the_trigger():
    w, sub, ticket = _world("20")
    w.handle(AccountUpdated(w.tick(), 2000, D("1000"), D("810")))  # -19 %: no trigger
    w.close(ticket, "0.1", price="1.08100")  # 0.1 lot 1.10000 -> 1.08100: realised -190.00
    s = w.engine.subscriptions[sub]
    assert (s.balance, s.invested, s.state) == (D("810.00"), D("1000"), SubState.ACTIVE)
    w.open("0.1", price="1.08100")
    # exactly at the level (80 % of the invested funds): the formula's strict "<", no trigger
    step = w.handle(AccountUpdated(w.tick(), 2000, D("810.00"), D("800.00")))
    assert not of(step, ProtectionTriggered) and s.state is SubState.ACTIVE
    # one cent below: triggered, although the balance-based level (0.8 x 810 = 648) is far away
    step = w.handle(AccountUpdated(w.tick(), 2000, D("810.00"), D("799.99")))
    (trig,) = of(step, ProtectionTriggered)
    assert (trig.equity, trig.threshold, trig.invested, trig.balance) == (D("799.99"), D("800"), D("1000"),
                                                                          D("810.00"))
    assert s.state is SubState.SUSPENDED


def test_gain_does_not_raise_the_trigger():
    # The base is the invested funds also after a realised gain: 1000 invested, +500 closed.
    w, sub, ticket = _world("20")
    w.close(ticket, "0.1", price="1.15000")  # +500.00
    assert w.engine.subscriptions[sub].balance == D("1500.00")
    w.open("0.1", price="1.15000")
    step = w.handle(AccountUpdated(w.tick(), 2000, D("1500.00"), D("800.00")))
    assert not of(step, ProtectionTriggered)
    step = w.handle(AccountUpdated(w.tick(), 2000, D("1500.00"), D("799.99")))
    assert of(step, ProtectionTriggered)
