"""Pending orders (issue 15 item 6): the trader's limit and stop orders copied as orders."""

from __future__ import annotations

from decimal import Decimal as D

from bridge.copytrading import (CloseCopy, CommandFilled, CommandRefused, CopyOpened, CopyRefused, Engine,
                                OpenCopy, SetCopySettings, TimePassed, TraderPositionClosed,
                                TraderPositionOpened)
from bridge.copytrading.pending_messages import (CancelOrder, CopyOrderFilled, CopyOrderRemoved, ModifyOrder,
                                                 OrderCopied, PlaceOrder, TraderOrderCancelled, TraderOrderFilled,
                                                 TraderOrderModified, TraderOrderPlaced)
from bridge.copytrading.pending_state import OrderKind
from bridge.domain.trading import Side
from tests.copytrading.helpers import World, in_copy_trading_doc

ITEM_6 = ("**Pending orders**: copy the trader's limit and stop orders (placement, modification, cancellation, "
          "expiry, fill → the copy becomes a position linked to the trader's position), or not.")
VALIDITY = 5000  # EngineConfig().open_validity_ms


def world() -> tuple[World, dict[str, int]]:
    """One trader; I1 copies orders, I2 does not (the default), I3 copies them x2, I4 reversed.
    The three order copiers copy and mirror the trader's stops (item 5: `copy_stops`,
    `mirror_stop_changes`; the engine default carries none, test_review15_pending_stops.py)."""
    w = World()
    w.trader(equity="10000")
    subs = {name: w.investor(name, account=2000 + i, amount="10000") for i, name in enumerate(("I1", "I2", "I3", "I4"))}
    stops = {"copy_stops": True, "mirror_stop_changes": True}
    w.handle(SetCopySettings(w.tick(), subs["I1"], "I1", copy_pending=True, **stops))
    w.handle(SetCopySettings(w.tick(), subs["I3"], "I3", copy_pending=True, mode="multiplier", multiplier="2", **stops))
    w.handle(SetCopySettings(w.tick(), subs["I4"], "I4", copy_pending=True, reverse=True, **stops))
    return w, subs


def of(step, kind) -> list:
    return [c for c in (*step.commands, *step.records) if isinstance(c, kind)]


def place(w: World, ticket: int = 77, price: str = "1.08000", **kw) -> list[PlaceOrder]:
    step = w.handle(TraderOrderPlaced(w.tick(), "T", ticket, "EURUSD", OrderKind.BUY_LIMIT, D("0.10"), D(price),
                                      sl=D("1.07000"), tp=D("1.10000"), **kw))
    return of(step, PlaceOrder)


def accept(w: World, commands, first_ticket: int = 900) -> dict[int, int]:
    """The investors' servers accept the order commands; the investor order ticket per subscription."""
    tickets = {}
    for i, cmd in enumerate(commands):
        ticket = getattr(cmd, "order", first_ticket + i)
        w.handle(CommandFilled(w.tick(), cmd.key, ticket))
        tickets[cmd.subscription] = ticket
    return tickets


def test_item_6_is_quoted():
    # the item 6 as docs/copy-trading.md quotes it, word for word
    assert in_copy_trading_doc(ITEM_6)


def test_placed_modified_filled_linked_and_closed_with_the_trader():
    w, subs = world()
    placed = place(w)
    # only the subscriptions that copy orders get one; the volume by each one's mode at placement
    assert {c.subscription: (c.kind, c.volume, c.price, c.sl, c.tp) for c in placed} == {
        subs["I1"]: (OrderKind.BUY_LIMIT, D("0.10"), D("1.08000"), D("1.07000"), D("1.10000")),
        subs["I3"]: (OrderKind.BUY_LIMIT, D("0.20"), D("1.08000"), D("1.07000"), D("1.10000")),
        subs["I4"]: (OrderKind.SELL_STOP, D("0.10"), D("1.08000"), D("1.10000"), D("1.07000"))}
    orders = accept(w, placed)
    step = w.handle(TraderOrderModified(w.tick(), "T", 77, D("1.07900"), D("1.06900"), D("1.09900")))
    modified = of(step, ModifyOrder)
    assert {(c.subscription, c.order, c.price) for c in modified} == {
        (s, orders[s], D("1.07900")) for s in (subs["I1"], subs["I3"], subs["I4"])}
    accept(w, modified)
    # the trader's order fills: the follower without copy_pending copies the position at market
    filled_at = w.tick()
    step = w.handle(TraderOrderFilled(filled_at, "T", 77, 77, "EURUSD", Side.BUY, D("0.10"), D("1.07900")))
    assert [(c.subscription, c.volume) for c in of(step, OpenCopy)] == [(subs["I2"], D("0.10"))]
    # the copy orders fill on the investors' servers: each becomes the copy of trader position 77
    for n, s in enumerate((subs["I1"], subs["I3"], subs["I4"])):
        volume = D("0.20") if s == subs["I3"] else D("0.10")
        step = w.handle(CopyOrderFilled(w.tick(), w.engine.subscriptions[s].account, orders[s], 700 + n, volume,
                                        D("1.07900")))
        assert [(r.trader_ticket, r.ticket, r.volume) for r in of(step, CopyOpened)] == [(77, 700 + n, volume)]
    copies = {s: w.engine.subscriptions[s].copies[77] for s in subs.values()}
    assert {s: (c.state.value, c.side) for s, c in copies.items()} == {
        subs["I1"]: ("open", Side.BUY), subs["I2"]: ("open", Side.BUY), subs["I3"]: ("open", Side.BUY),
        subs["I4"]: ("open", Side.SELL)}
    assert w.engine.s.orders == {}  # nothing left to follow as an order
    # linked: the trader's close closes every copy
    step = w.handle(TraderPositionClosed(w.tick(), "T", 77, D("0.10"), D("1.08100")), fill=False)
    assert sorted(c.subscription for c in of(step, CloseCopy)) == sorted(subs.values())


def test_a_cancelled_order_cancels_its_copies():
    w, subs = world()
    orders = accept(w, place(w))
    step = w.handle(TraderOrderCancelled(w.tick(), "T", 77))
    cancels = of(step, CancelOrder)
    assert {(c.subscription, c.order, c.reason) for c in cancels} == {
        (s, orders[s], "trader_cancelled") for s in (subs["I1"], subs["I3"], subs["I4"])}
    for cmd in cancels:
        step = w.handle(CommandFilled(w.tick(), cmd.key, cmd.order))
        assert [r.action for r in of(step, OrderCopied)] == ["cancelled"]
    assert w.engine.s.orders == {}
    assert all(not w.engine.subscriptions[s].copies for s in subs.values())


def test_an_expired_order_cancels_its_copies_and_they_carry_its_expiration():
    w, subs = world()
    expiration = w.now + 3_600_000
    placed = place(w, expiration=expiration)
    assert {c.expiration for c in placed} == {expiration}
    accept(w, placed)
    step = w.handle(TraderOrderCancelled(w.tick(), "T", 77, "expired"))
    assert {c.reason for c in of(step, CancelOrder)} == {"trader_expired"}


def test_a_copy_order_expired_by_its_own_server_is_forgotten():
    w, subs = world()
    orders = accept(w, place(w))
    account = w.engine.subscriptions[subs["I1"]].account
    step = w.handle(CopyOrderRemoved(w.tick(), account, orders[subs["I1"]], "expired"))
    assert [(r.subscription, r.action) for r in of(step, OrderCopied)] == [(subs["I1"], "removed")]
    assert subs["I1"] not in w.engine.s.orders[77].copies


def test_cancel_while_placing_cancels_at_the_placement():
    w, subs = world()
    placed = place(w)
    assert not of(w.handle(TraderOrderCancelled(w.tick(), "T", 77)), CancelOrder)  # nothing placed yet
    step = w.handle(CommandFilled(w.tick(), placed[0].key, 901))
    assert [(c.order, c.reason) for c in of(step, CancelOrder)] == [(901, "trader_cancelled")]


def test_the_fill_is_held_to_the_open_validity_of_the_link():
    """The link contract's open validity applies to the fill: an investor fill more than
    open_validity_ms after the trader's is closed, and one that has not come by then is cancelled."""
    w, subs = world()
    orders = accept(w, place(w))
    w.handle(TraderOrderFilled(w.tick(), "T", 77, 77, "EURUSD", Side.BUY, D("0.10"), D("1.08000")))
    late = w.tick(VALIDITY + 1)
    i1 = w.engine.subscriptions[subs["I1"]]
    step = w.handle(CopyOrderFilled(late, i1.account, orders[subs["I1"]], 701, D("0.10"), D("1.08000")), fill=False)
    assert [(c.subscription, c.reason) for c in of(step, CloseCopy)] == [(subs["I1"], "expired")]
    # the others have not filled: the next time check cancels them and drops their copies
    step = w.handle(TimePassed(w.tick()))
    cancels = of(step, CancelOrder)
    assert {(c.subscription, c.reason) for c in cancels} == {(subs["I3"], "expired"), (subs["I4"], "expired")}
    step = w.handle(CommandFilled(w.tick(), cancels[0].key, cancels[0].order))
    assert [(r.subscription, r.code) for r in of(step, CopyRefused)] == [(cancels[0].subscription, "expired")]
    assert 77 not in w.engine.subscriptions[cancels[0].subscription].copies


def test_an_investor_fill_before_the_trader_s_is_linked_or_closed_with_the_order():
    w, subs = world()
    orders = accept(w, place(w))
    i1 = w.engine.subscriptions[subs["I1"]]
    step = w.handle(CopyOrderFilled(w.tick(), i1.account, orders[subs["I1"]], 701, D("0.10"), D("1.08000")))
    assert [(r.trader_ticket, r.ticket) for r in of(step, CopyOpened)] == [(77, 701)]
    w.handle(TraderOrderFilled(w.tick(), "T", 77, 77, "EURUSD", Side.BUY, D("0.10"), D("1.08000")))
    assert i1.copies[77].state.value == "open" and i1.copies[77].close_reason is None
    # another order: the investor fills, then the trader cancels -> the copy is closed
    orders = accept(w, place(w, ticket=78), first_ticket=950)
    w.handle(CopyOrderFilled(w.tick(), i1.account, orders[subs["I1"]], 702, D("0.10"), D("1.08000")))
    step = w.handle(TraderOrderCancelled(w.tick(), "T", 78), fill=False)
    assert [(c.subscription, c.ticket, c.reason) for c in of(step, CloseCopy)] == [(subs["I1"], 702, "trader_cancelled")]


def test_a_refused_placement_falls_back_to_the_market_copy_at_the_fill():
    w, subs = world()
    placed = place(w)
    for cmd in placed:
        w.handle(CommandRefused(w.tick(), cmd.key, 10015, "invalid price"))
    step = w.handle(TraderOrderFilled(w.tick(), "T", 77, 77, "EURUSD", Side.BUY, D("0.10"), D("1.08000")))
    assert sorted(c.subscription for c in of(step, OpenCopy)) == sorted(subs.values())


def test_off_by_default_nothing_happens_until_the_fill():
    w = World()
    w.trader(equity="10000")
    sub = w.investor("I1", amount="10000")
    step = w.handle(TraderOrderPlaced(w.tick(), "T", 5, "EURUSD", OrderKind.SELL_STOP, D("0.30"), D("1.07000")))
    assert step.commands == () and step.records == ()
    step = w.handle(TraderOrderFilled(w.tick(), "T", 5, 5, "EURUSD", Side.SELL, D("0.30"), D("1.07000")))
    assert [(c.subscription, c.side, c.volume) for c in of(step, OpenCopy)] == [(sub, Side.SELL, D("0.30"))]


def test_filters_apply_to_orders():
    w, subs = world()
    w.handle(SetCopySettings(w.tick(), subs["I1"], "I1", side="sell"))
    step = w.handle(TraderOrderPlaced(w.tick(), "T", 80, "EURUSD", OrderKind.BUY_STOP, D("0.10"), D("1.09000")))
    assert [(r.subscription, r.code) for r in of(step, CopyRefused)] == [(subs["I1"], "side_filtered")]


def test_orders_in_flight_survive_a_restart():
    w, subs = world()
    orders = accept(w, place(w))
    for restored in (Engine.from_bytes(w.engine.to_bytes()), Engine.from_state(w.engine.to_state())):
        assert restored.to_state() == w.engine.to_state()
    w.engine = Engine.from_bytes(w.engine.to_bytes())
    w.handle(TraderOrderFilled(w.tick(), "T", 77, 77, "EURUSD", Side.BUY, D("0.10"), D("1.08000")))
    i3 = w.engine.subscriptions[subs["I3"]]
    step = w.handle(CopyOrderFilled(w.tick(), i3.account, orders[subs["I3"]], 703, D("0.20"), D("1.08000")))
    assert [(r.trader_ticket, r.volume) for r in of(step, CopyOpened)] == [(77, D("0.20"))]


def test_a_fill_reported_as_a_position_opened_links_the_copies_too():
    """An EA's position watch reports the order's position as position_opened (same ticket)."""
    w, subs = world()
    orders = accept(w, place(w))
    step = w.handle(TraderPositionOpened(w.tick(), "T", 77, "EURUSD", Side.BUY, D("0.10"), D("1.08000")))
    assert [c.subscription for c in of(step, OpenCopy)] == [subs["I2"]]  # only the one without copy_pending
    i1 = w.engine.subscriptions[subs["I1"]]
    assert i1.copies[77].state.value == "opening"
    step = w.handle(CopyOrderFilled(w.tick(), i1.account, orders[subs["I1"]], 701, D("0.10"), D("1.08000")))
    assert [(r.trader_ticket, r.ticket) for r in of(step, CopyOpened)] == [(77, 701)]
    # the terminal's order_filled arriving afterwards is a duplicate
    step = w.handle(TraderOrderFilled(w.tick(), "T", 77, 77, "EURUSD", Side.BUY, D("0.10"), D("1.08000")))
    assert step.commands == () and step.records == ()


def test_a_copy_order_carries_the_investor_s_symbol_name():
    w, subs = world()
    w.handle(SetCopySettings(w.tick(), subs["I1"], "I1", symbol_suffix="c"))
    placed = {c.subscription: c.symbol for c in place(w)}
    assert placed == {subs["I1"]: "EURUSDc", subs["I3"]: "EURUSD", subs["I4"]: "EURUSD"}
