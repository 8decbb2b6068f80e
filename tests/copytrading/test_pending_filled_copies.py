"""Copy orders that have filled are positions (issue 15 items 3, 5, 6; review 15 fixes).

docs/copy-trading.md, "Pending orders": only unfilled copy ORDERS are cancelled when a
subscription stops copying orders (`copy_pending` off, a `stop_opening` limit trip); a copy
order that already filled is a copy like any other and keeps following the trader."""

from __future__ import annotations

from decimal import Decimal as D

from bridge.copytrading import (CloseCopy, CommandFilled, CommandRefused, CopyOpened, CopyRefused, PriceTick,
                                SetCopySettings, TraderPositionClosed)
from bridge.copytrading.events import SnapshotPosition, TraderSnapshot
from bridge.copytrading.pending import MAX_EARLY_FILLS
from bridge.copytrading.pending_messages import (CancelOrder, CopyOrderFilled, ModifyOrder, TraderOrderFilled,
                                                 TraderOrderModified)
from bridge.domain.trading import Side
from tests.copytrading.helpers import World, in_copy_trading_doc
from tests.copytrading.test_pending_orders import accept, of, place, world

FILTERS = "**Filters**: symbol allow/block lists, magic numbers, side (buy only / sell only), trader volume range."
STOPS = "**Stops**: copy the trader's SL/TP or not, mirror their modifications or not"


def _filled_first(w, subs, name="I1"):
    """The copy orders are placed; `name`'s fills on its server before the trader's does."""
    orders = accept(w, place(w))
    sub = w.engine.subscriptions[subs[name]]
    w.handle(CopyOrderFilled(w.tick(), sub.account, orders[sub.id], 601, D("0.10"), D("1.08000")))
    assert sub.copies[77].ticket == 601 and sub.copies[77].close_reason is None
    return orders


def _mine(w, sub_id, kind):
    return [c for c in w.commands(kind) if c.subscription == sub_id]


def test_switching_copy_pending_off_keeps_a_filled_copy_order_which_follows_the_trader():
    w, subs = world()
    _filled_first(w, subs)
    i1 = subs["I1"]
    w.handle(SetCopySettings(w.tick(), i1, "I1", copy_pending=False))
    assert _mine(w, i1, CloseCopy) == [] and _mine(w, i1, CancelOrder) == []  # a position, not an order
    w.handle(TraderOrderFilled(w.tick(), "T", 77, 77, "EURUSD", Side.BUY, D("0.10"), D("1.08000")))
    assert w.engine.subscriptions[i1].copies[77].ticket == 601  # linked: no second copy at market
    assert _mine(w, i1, CloseCopy) == []
    w.handle(TraderPositionClosed(w.tick(), "T", 77, D("0.10"), D("1.08100")))
    assert [(c.ticket, c.reason) for c in _mine(w, i1, CloseCopy)] == [(601, "trader_client")]
    assert 77 not in w.engine.subscriptions[i1].copies


def test_a_stop_opening_trip_keeps_a_filled_copy_order_and_cancels_the_unfilled_one():
    w = World()
    w.trader()
    sub = w.investor("I1", amount="10000")
    w.handle(SetCopySettings(w.tick(), sub, "I1", copy_pending=True, daily_loss_limit="200"))
    w.open("1", price="1.10000")
    orders = accept(w, place(w, ticket=77) + place(w, ticket=78, price="1.07000"))
    account = w.engine.subscriptions[sub].account
    w.handle(CopyOrderFilled(w.tick(), account, orders[sub] - 1, 601, D("0.10"), D("1.08000")))  # 77's copy
    step = w.handle(PriceTick(w.tick(), "EURUSD", D("1.09600"), D("1.09602")))  # -400: the limit trips
    assert w.engine.subscriptions[sub].state.value == "close_only"
    assert [(c.trader_order, c.reason) for c in of(step, CancelOrder)] == [(78, "daily_loss_limit")]
    assert not of(step, CloseCopy) or all(c.trader_ticket != 77 for c in of(step, CloseCopy))
    w.handle(TraderOrderFilled(w.tick(), "T", 77, 77, "EURUSD", Side.BUY, D("0.10"), D("1.08000")))
    assert w.engine.subscriptions[sub].copies[77].close_reason is None  # close_only: open copies follow
    w.handle(TraderPositionClosed(w.tick(), "T", 77, D("0.10"), D("1.09600")))
    assert [c.ticket for c in _mine(w, sub, CloseCopy) if c.trader_ticket == 77] == [601]


def test_a_fill_reported_before_its_placement_result_waits_bounded_and_goes_with_the_placements():
    w, subs = world()
    placed = place(w)
    i1 = next(c for c in placed if c.subscription == subs["I1"])
    account = w.engine.subscriptions[subs["I1"]].account
    for n in range(MAX_EARLY_FILLS + 5):  # more than the bound: the first MAX_EARLY_FILLS are kept
        w.handle(CopyOrderFilled(w.tick(), account, 5000 + n, 800 + n, D("0.10"), D("1.08000")))
    assert len(w.engine.s.early_fills[account]) == MAX_EARLY_FILLS
    w.handle(CommandRefused(w.tick(), i1.key, 10016, "no money"))  # its placement refused: nothing claims them
    assert account not in w.engine.s.early_fills
    # with no copy order placing, a fill of an unknown order is not kept at all
    w.handle(CopyOrderFilled(w.tick(), account, 6000, 900, D("0.10"), D("1.08000")))
    assert account not in w.engine.s.early_fills


def test_an_early_fill_of_a_copy_order_whose_trader_order_was_cancelled_is_closed_at_the_placement_result():
    from bridge.copytrading.pending_messages import TraderOrderCancelled
    w, subs = world()
    i1 = next(c for c in place(w) if c.subscription == subs["I1"])
    account = w.engine.subscriptions[subs["I1"]].account
    w.handle(TraderOrderCancelled(w.tick(), "T", 77, "cancelled"))
    w.handle(CopyOrderFilled(w.tick(), account, 901, 701, D("0.10"), D("1.08000")))
    w.handle(CommandFilled(w.tick(), i1.key, 901))
    assert [(c.ticket, c.reason) for c in _mine(w, subs["I1"], CloseCopy)] == [(701, "trader_cancelled")]
    assert 77 not in w.engine.subscriptions[subs["I1"]].copies and subs["I1"] not in w.engine.s.orders[77].copies


def test_a_filter_set_while_the_copy_order_waits_cancels_it_with_the_reason():
    assert in_copy_trading_doc(FILTERS)
    w, subs = world()
    orders = accept(w, place(w))
    i1 = subs["I1"]
    step = w.handle(SetCopySettings(w.tick(), i1, "I1", symbols_blocked="EURUSD"))
    assert [(c.order, c.reason) for c in of(step, CancelOrder)] == [(orders[i1], "symbol_blocked")]
    assert [(r.trader_ticket, r.code) for r in of(step, CopyRefused)] == [(77, "symbol_blocked")]
    # the cancel loses the race: the copy order fills after the trader's. It is closed, never booked
    w.handle(TraderOrderFilled(w.tick(), "T", 77, 77, "EURUSD", Side.BUY, D("0.10"), D("1.08000")))
    account = w.engine.subscriptions[i1].account
    step = w.handle(CopyOrderFilled(w.tick(), account, orders[i1], 701, D("0.10"), D("1.08000")), fill=False)
    assert [(c.ticket, c.reason) for c in of(step, CloseCopy)] == [(701, "symbol_blocked")]
    assert not of(step, CopyOpened) and 77 not in w.engine.subscriptions[i1].copies
    # a setting the waiting orders pass cancels nothing (I3: a side filter that keeps buys)
    step = w.handle(SetCopySettings(w.tick(), subs["I3"], "I3", side="buy"))
    assert not of(step, CancelOrder)


def test_an_investor_fill_first_then_a_smaller_trader_position_closes_the_difference():
    """The investor's copy order filled (0.10) while the link was down; the trader's order filled
    and was half closed: the hello shows 0.05. The copy is linked and half of it closed."""
    w, subs = world()
    _filled_first(w, subs)
    w.handle(TraderSnapshot(w.tick(), "T", (SnapshotPosition(77, "EURUSD", Side.BUY, D("0.05"), D("1.08000"),
                                                             w.now - 1000),)))
    i1 = subs["I1"]
    assert [(c.ticket, c.volume) for c in _mine(w, i1, CloseCopy)] == [(601, D("0.05"))]
    assert w.engine.subscriptions[i1].copies[77].volume == D("0.05")


def test_copy_stops_on_and_mirroring_off_keeps_the_placement_s_stops():
    assert in_copy_trading_doc(STOPS)
    w = World()
    w.trader(equity="10000")
    a = w.investor("A", account=2001, amount="10000")
    b = w.investor("B", account=2002, amount="10000")
    w.handle(SetCopySettings(w.tick(), a, "A", copy_pending=True, copy_stops=True, mirror_stop_changes=False))
    w.handle(SetCopySettings(w.tick(), b, "B", copy_pending=True, copy_stops=False, mirror_stop_changes=True))
    placed = {c.subscription: (c.sl, c.tp) for c in place(w)}
    assert placed == {a: (D("1.07000"), D("1.10000")), b: (None, None)}
    accept(w, [c for s in w.steps for c in s.commands if hasattr(c, "kind")])
    step = w.handle(TraderOrderModified(w.tick(), "T", 77, D("1.08000"), D("1.06900"), D("1.09900")))
    assert [(c.subscription, c.sl, c.tp) for c in of(step, ModifyOrder)] == [(b, D("1.06900"), D("1.09900"))]
    step = w.handle(TraderOrderModified(w.tick(), "T", 77, D("1.07950"), D("1.06900"), D("1.09900")))
    # a price change reaches both; A keeps the stops it was placed with
    assert {c.subscription: (c.price, c.sl, c.tp) for c in of(step, ModifyOrder)} == {
        a: (D("1.07950"), D("1.07000"), D("1.10000")), b: (D("1.07950"), D("1.06900"), D("1.09900"))}


def test_an_early_fill_survives_a_restart_of_the_engine():
    from bridge.copytrading import Engine
    w, subs = world()
    i1 = next(c for c in place(w) if c.subscription == subs["I1"])
    account = w.engine.subscriptions[subs["I1"]].account
    w.handle(CopyOrderFilled(w.tick(), account, 901, 701, D("0.10"), D("1.08000")))
    for restored in (Engine.from_state(w.engine.to_state(), w.engine.config, w.engine.rules),
                     Engine.from_bytes(w.engine.to_bytes(), w.engine.config, w.engine.rules)):
        assert restored.s.early_fills == w.engine.s.early_fills
        restored.handle(CommandFilled(w.tick(), i1.key, 901))
        assert restored.subscriptions[subs["I1"]].copies[77].ticket == 701
