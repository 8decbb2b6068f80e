"""Review fix: a subscription that stops copying (stopped, suspended, a limit tripped,
copy_pending off) loses its copy orders, and a copy order that fills anyway is closed at once."""

from __future__ import annotations

from decimal import Decimal as D

from bridge.copytrading import CloseCopy, CopyOpened, SetCopySettings, StopCopying
from bridge.copytrading.events import SuspendCopying
from bridge.copytrading import CommandFilled
from bridge.copytrading.pending_messages import CancelOrder, CopyOrderFilled, TraderOrderCancelled, TraderOrderFilled
from bridge.domain.trading import Side
from tests.copytrading.test_pending_orders import accept, of, place, world  # noqa: F401


def _placed():
    w, subs = world()
    orders = accept(w, place(w))
    return w, subs, orders


def test_stopping_cancels_the_copy_orders_and_a_later_trader_fill_is_copied_without_error():
    w, subs, orders = _placed()
    i1 = subs["I1"]
    step = w.handle(StopCopying(w.tick(), i1, "I1"))
    assert [(c.subscription, c.order, c.reason) for c in of(step, CancelOrder)] == [(i1, orders[i1], "stop_copying")]
    step = w.handle(TraderOrderFilled(w.tick(), "T", 77, 77, "EURUSD", Side.BUY, D("0.10"), D("1.08000")))
    assert i1 not in w.engine.subscriptions[i1].copies and 77 not in w.engine.subscriptions[i1].copies


def test_a_stopped_subscription_s_copy_order_that_fills_is_closed_at_once():
    w, subs, orders = _placed()
    i1 = subs["I1"]
    w.handle(StopCopying(w.tick(), i1, "I1"))
    account = w.engine.subscriptions[i1].account
    step = w.handle(CopyOrderFilled(w.tick(), account, orders[i1], 555, D("0.10"), D("1.08000")), fill=False)
    assert [(c.subscription, c.ticket, c.volume, c.reason) for c in of(step, CloseCopy)] == [
        (i1, 555, D("0.10"), "stop_copying")]
    assert not of(step, CopyOpened)


def test_a_desk_suspended_subscription_s_copy_order_is_cancelled_and_its_fill_not_copied():
    w, subs, orders = _placed()
    i1 = subs["I1"]
    step = w.handle(SuspendCopying(w.tick(), i1, "desk"))
    assert [(c.order, c.reason) for c in of(step, CancelOrder)] == [(orders[i1], "desk_suspended")]
    account = w.engine.subscriptions[i1].account
    step = w.handle(CopyOrderFilled(w.tick(), account, orders[i1], 556, D("0.10"), D("1.08000")), fill=False)
    assert not of(step, CopyOpened)
    assert [(c.ticket, c.reason) for c in of(step, CloseCopy)] == [(556, "desk_suspended")]


def test_switching_copy_pending_off_cancels_the_copy_orders():
    w, subs, orders = _placed()
    i1 = subs["I1"]
    step = w.handle(SetCopySettings(w.tick(), i1, "I1", copy_pending=False))
    assert [(c.order, c.reason) for c in of(step, CancelOrder)] == [(orders[i1], "copy_pending_off")]


def test_a_stop_change_while_the_copy_is_placing_is_sent_at_its_placement():
    from bridge.copytrading import CommandFilled
    from bridge.copytrading.pending_messages import ModifyOrder, TraderOrderModified
    w, subs = world()
    placed = place(w)
    # same price, new SL/TP and expiration, before any placement is answered
    w.handle(TraderOrderModified(w.tick(), "T", 77, D("1.08000"), D("1.06500"), D("1.11000"), 99_999_999_999))
    step = w.handle(CommandFilled(w.tick(), placed[0].key, 901))
    assert [(c.order, c.price, c.sl, c.tp, c.expiration) for c in of(step, ModifyOrder)] == [
        (901, D("1.08000"), D("1.06500"), D("1.11000"), 99_999_999_999)]


def test_a_refused_modification_leaves_the_copy_s_price_as_the_server_has_it():
    from bridge.copytrading import CommandFilled, CommandRefused
    from bridge.copytrading.pending_messages import ModifyOrder, TraderOrderModified
    w, subs, orders = _placed()
    i1 = subs["I1"]
    step = w.handle(TraderOrderModified(w.tick(), "T", 77, D("1.07500"), D("1.07000"), D("1.10000")))
    key = next(c.key for c in of(step, ModifyOrder) if c.subscription == i1)
    w.handle(CommandRefused(w.tick(), key, 10016, "invalid price"))
    assert w.engine.s.orders[77].copies[i1].price == D("1.08000")
    step = w.handle(TraderOrderModified(w.tick(), "T", 77, D("1.07600"), D("1.07000"), D("1.10000")))
    key = next(c.key for c in of(step, ModifyOrder) if c.subscription == i1)
    w.handle(CommandFilled(w.tick(), key, orders[i1]))
    assert w.engine.s.orders[77].copies[i1].price == D("1.07600")


def test_a_copy_order_is_refused_with_the_fan_out_s_code_for_the_subscription_s_state():
    from bridge.copytrading import CopyRefused
    w, subs = world()
    w.handle(SuspendCopying(w.tick(), subs["I1"], "desk"))
    place(w)
    refused = {r.subscription: r.code for r in w.records(CopyRefused)}
    assert refused[subs["I1"]] == "desk_suspended"  # as a market copy is refused (copying.py)


def test_orders_are_kept_only_when_someone_copies_orders():
    from tests.copytrading.helpers import World
    w = World()
    w.trader(equity="10000")
    w.investor("I1", account=2001, amount="10000")  # seed terms: copies at market at the fill
    place(w)
    assert w.engine.s.orders == {}


def test_orders_per_trader_are_bounded_with_a_clear_refusal(monkeypatch):
    from bridge.copytrading import pending
    from bridge.copytrading.records import Refused
    monkeypatch.setattr(pending, "MAX_ORDERS_PER_TRADER", 2)
    w, subs = world()
    accept(w, place(w, ticket=71))
    place(w, ticket=72)
    assert place(w, ticket=73) == []
    assert sorted(w.engine.s.orders) == [71, 72]
    refused = [r for r in w.records(Refused) if r.code == "too_many_orders"]
    assert len(refused) == 1 and "order 73" in refused[0].detail
    # one settles (cancelled, its copies gone): room for one more
    w.handle(TraderOrderCancelled(w.tick(), "T", 71))
    for cmd in w.commands(CancelOrder):
        if cmd.trader_order == 71:
            w.handle(CommandFilled(w.tick(), cmd.key, cmd.order))
    assert place(w, ticket=74) != []


def test_a_linked_copy_order_filling_after_a_desk_suspension_is_booked_then_closed():
    w, subs, orders = _placed()
    i1 = subs["I1"]
    w.handle(TraderOrderFilled(w.tick(), "T", 77, 77, "EURUSD", Side.BUY, D("0.10"), D("1.08000")))
    w.handle(SuspendCopying(w.tick(), i1, "desk"))
    account = w.engine.subscriptions[i1].account
    step = w.handle(CopyOrderFilled(w.tick(), account, orders[i1], 557, D("0.10"), D("1.08000")))
    assert [(c.ticket, c.reason) for c in w.commands(CloseCopy) if c.subscription == i1] == [(557, "desk_suspended")]
    assert of(step, CopyOpened)  # the copy it was linked to is booked, then closed: the books stay whole
    assert 77 not in w.engine.subscriptions[i1].copies


def test_a_risk_limit_trip_cancels_the_copy_orders():
    from bridge.copytrading import PriceTick
    from tests.copytrading.helpers import World
    w = World()
    w.trader()
    sub = w.investor("I1", amount="10000")
    w.handle(SetCopySettings(w.tick(), sub, "I1", copy_pending=True, daily_loss_limit="300"))
    w.open("1", price="1.10000")
    orders = accept(w, place(w))
    step = w.handle(PriceTick(w.tick(), "EURUSD", D("1.09600"), D("1.09602")))  # 1 lot, 400 points: -400
    assert [(c.order, c.reason) for c in of(step, CancelOrder)] == [(orders[sub], "daily_loss_limit")]
