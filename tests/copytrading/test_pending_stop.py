"""Review fix: a subscription that stops copying (stopped, suspended, a limit tripped,
copy_pending off) loses its copy orders, and a copy order that fills anyway is closed at once."""

from __future__ import annotations

from decimal import Decimal as D

from bridge.copytrading import CloseCopy, CopyOpened, SetCopySettings, StopCopying
from bridge.copytrading.events import SuspendCopying
from bridge.copytrading.pending_messages import CancelOrder, CopyOrderFilled, TraderOrderFilled
from bridge.domain.trading import Side
from tests.copytrading.test_pending_orders import accept, of, place, world


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
