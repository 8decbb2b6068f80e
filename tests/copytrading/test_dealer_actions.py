"""Dealer actions in the engine (issue 13 §2): suspend and resume a subscription, close one copy,
close all copies of a subscription, each with an `actor` leaving an audit record.

Issue 13 §2: "Dealer actions with confirmation, permission checks, CSRF protection and an audit
trail in the journal: stop copying, suspend and resume a subscription, close one copy, close all
copies of a subscription, disable a trader."

Seed 003 §8: "The Service is entitled without prior notification and at its sole discretion to
do the following: [...] 8.2. unsubscribe the Investor from Trader." A desk suspension is the
lesser step: the investor cannot lift it, only the service's `Resume` does.
"""

from __future__ import annotations

from decimal import Decimal as D

from bridge.copytrading import CloseCopy, Engine, OpenCopy, Resume, StopCopying
from bridge.copytrading.desk import DEALER_REASON
from bridge.copytrading.events import CloseAllCopies, CloseOneCopy, EditSettings, SuspendCopying, TraderDisabled
from bridge.copytrading.records import CopyClosed, CopyRefused, DealerAction, Refused, SubscriptionEdited
from tests.copytrading.helpers import World, of


def _world() -> tuple[World, int]:
    w = World()
    w.trader("T", 1000)
    return w, w.investor("I", amount="1000")


def test_suspend_refuses_new_copies_keeps_open_ones_and_only_the_service_resumes():
    w, sub = _world()
    first, _ = w.open("0.1")
    step = w.handle(SuspendCopying(w.tick(), sub, "dana"))
    assert [r.state for r in of(step, SubscriptionEdited)] == ["suspended_by_desk"]
    assert [(a.action, a.actor, a.subscription, a.refused) for a in of(step, DealerAction)] == [
        ("suspend", "dana", sub, None)]
    _, step = w.open("0.1")
    assert [r.code for r in of(step, CopyRefused)] == ["desk_suspended"]
    assert not of(step, OpenCopy)
    w.close(first, "0.1")  # the open copy still follows the trader
    assert [r.trader_ticket for r in w.records(CopyClosed)] == [first]
    # the investor can neither resume nor edit it away; the state survives a restart
    step = w.handle(Resume(w.tick(), sub, "I"))
    assert [(r.request, r.code) for r in of(step, Refused)] == [("resume", "suspended_by_desk")]
    w.handle(EditSettings(w.tick(), sub, "I", protection_pct=D("50")))
    engine = Engine.from_bytes(w.engine.to_bytes())
    assert engine.subscriptions[sub].state.value == "suspended_by_desk"
    assert of(w.handle(SuspendCopying(w.tick(), sub, "dana")), Refused)[0].code == "already_suspended"
    step = w.handle(Resume(w.tick(), sub, None, actor="dana"))
    assert [r.state for r in of(step, SubscriptionEdited)] == ["active"]
    assert [(a.action, a.refused) for a in of(step, DealerAction)] == [("resume", None)]
    _, step = w.open("0.1")
    assert of(step, OpenCopy)


def test_close_one_copy_sends_a_dealer_close_and_the_subscription_keeps_copying():
    w, sub = _world()
    one, _ = w.open("0.1")
    two, _ = w.open("0.2")
    step = w.handle(CloseOneCopy(w.tick(), sub, one, "dana"))
    closes = [c for c in step.commands if isinstance(c, CloseCopy)]
    assert [(c.trader_ticket, c.reason) for c in closes] == [(one, DEALER_REASON)]
    assert [(r.trader_ticket, r.reason) for r in w.records(CopyClosed)] == [(one, "dealer")]  # filled
    assert [(a.action, a.actor, a.trader_ticket, a.refused) for a in of(step, DealerAction)] == [
        ("close_copy", "dana", one, None)]
    assert set(w.engine.subscriptions[sub].copies) == {two}
    _, step = w.open("0.1")
    assert of(step, OpenCopy)  # still copying
    # refusals: the copy is gone, a subscription that does not exist
    step = w.handle(CloseOneCopy(w.tick(), sub, one, "dana"))
    assert [(r.request, r.code) for r in of(step, Refused)] == [("close_copy", "unknown_copy")]
    assert [a.refused for a in of(step, DealerAction)] == ["unknown_copy"]
    step = w.handle(CloseOneCopy(w.tick(), 99, one, "dana"))
    assert [r.code for r in of(step, Refused)] == ["unknown_subscription"]


def test_a_copy_already_closing_is_refused():
    w, sub = _world()
    one, _ = w.open("0.1")
    w.handle(CloseOneCopy(w.tick(), sub, one, "dana"), fill=False)  # the close is in flight
    step = w.handle(CloseOneCopy(w.tick(), sub, one, "erik"), fill=False)
    assert [r.code for r in of(step, Refused)] == ["already_closing"]
    assert not [c for c in step.commands if isinstance(c, CloseCopy)]


def test_close_all_copies_of_a_subscription():
    w, sub = _world()
    tickets = [w.open("0.1")[0] for _ in range(3)]
    step = w.handle(CloseAllCopies(w.tick(), sub, "dana"))
    assert sorted(r.trader_ticket for r in w.records(CopyClosed)) == tickets
    assert {r.reason for r in w.records(CopyClosed)} == {"dealer"}
    assert [(a.action, a.trader_ticket) for a in of(step, DealerAction)] == [("close_copies", None)]
    assert w.engine.subscriptions[sub].state.value == "active"
    step = w.handle(CloseAllCopies(w.tick(), sub, "dana"))
    assert [r.code for r in of(step, Refused)] == ["no_open_copies"]


def test_stop_and_disable_with_an_actor_are_audited_and_without_one_are_not():
    w, sub = _world()
    w.open("0.1")
    step = w.handle(StopCopying(w.tick(), sub, None, actor="dana"))
    assert [(a.action, a.actor, a.subscription) for a in of(step, DealerAction)] == [("stop", "dana", sub)]
    assert w.engine.subscriptions[sub].state.value == "stopped"
    step = w.handle(TraderDisabled(w.tick(), "T", actor="dana"))
    assert [(a.action, a.trader, a.refused) for a in of(step, DealerAction)] == [("disable_trader", "T", None)]
    step = w.handle(TraderDisabled(w.tick(), "nobody", actor="dana"))
    assert [a.refused for a in of(step, DealerAction)] == ["unknown_trader"]
    assert not of(w.handle(TraderDisabled(w.tick(), "T", disabled=False)), DealerAction)
    # the same op enables: the audit says so (the desk's event line read "disable trader" before)
    step = w.handle(TraderDisabled(w.tick(), "T", disabled=False, actor="dana"))
    assert [(a.action, a.trader, a.refused) for a in of(step, DealerAction)] == [("enable_trader", "T", None)]


def test_actions_on_a_stopped_subscription_are_refused():
    w, sub = _world()
    w.handle(StopCopying(w.tick(), sub, "I"))
    for event, request in ((SuspendCopying(w.tick(), sub, "dana"), "suspend"),
                           (CloseAllCopies(w.tick(), sub, "dana"), "close_copies"),
                           (CloseOneCopy(w.tick(), sub, 1, "dana"), "close_copy")):
        step = w.handle(event)
        assert [(r.request, r.code) for r in of(step, Refused)] == [(request, "subscription_stopped")]
