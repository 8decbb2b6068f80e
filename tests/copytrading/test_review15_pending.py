"""Review of issue 15 item 6 (adversarial): races of copy orders."""

from __future__ import annotations

from decimal import Decimal as D

from bridge.copytrading import CloseCopy, CommandFilled, CopyOpened, TraderPositionClosed
from bridge.copytrading.pending_messages import CopyOrderFilled, TraderOrderFilled
from bridge.domain.trading import Side
from tests.copytrading.test_pending_orders import of, place, world


def test_a_copy_order_fill_reported_before_its_placement_result_is_not_lost():
    """The investor's `order_filled` names the copy order's ticket; the engine learns that ticket
    from the placement's CommandFilled. A fill that arrives first (a stop at its trigger, results
    and reports re-sent after a reconnect) is dropped as unknown: the investor keeps a position
    the engine never books, so it outlives the trader's."""
    w, subs = world()
    placed = place(w)
    i1 = [c for c in placed if c.subscription == subs["I1"]][0]
    account = w.engine.subscriptions[subs["I1"]].account
    w.handle(CopyOrderFilled(w.tick(), account, 901, 701, D("0.10"), D("1.08000")))  # fill first ...
    w.handle(CommandFilled(w.tick(), i1.key, 901))  # ... then the placement's result (ticket 901)
    w.handle(TraderOrderFilled(w.tick(), "T", 77, 77, "EURUSD", Side.BUY, D("0.10"), D("1.08000")))
    copy = w.engine.subscriptions[subs["I1"]].copies.get(77)
    assert copy is not None and copy.ticket == 701, copy  # the investor's position is the copy of 77
    step = w.handle(TraderPositionClosed(w.tick(), "T", 77, D("0.10"), D("1.08100")), fill=False)
    assert subs["I1"] in [c.subscription for c in of(step, CloseCopy)]


def test_a_filter_set_while_a_copy_order_waits_keeps_the_trader_deal_after_it_from_being_copied():
    """docs/copy-trading.md: "A change applies to the trader's deals opened after it". I1 blocks
    EURUSD while its copy of the trader's buy limit is placed; the trader's order then fills (a
    deal opened after the change) and so does the copy order: the blocked symbol is copied."""
    from bridge.copytrading import SetCopySettings
    from bridge.copytrading.pending_messages import CancelOrder
    w, subs = world()
    placed = place(w)
    orders = accept_all(w, placed)
    step = w.handle(SetCopySettings(w.tick(), subs["I1"], "I1", symbols_blocked="EURUSD"))
    cancelled = [c for c in of(step, CancelOrder) if c.subscription == subs["I1"]]
    w.handle(TraderOrderFilled(w.tick(), "T", 77, 77, "EURUSD", Side.BUY, D("0.10"), D("1.08000")))
    account = w.engine.subscriptions[subs["I1"]].account
    step = w.handle(CopyOrderFilled(w.tick(), account, orders[subs["I1"]], 701, D("0.10"), D("1.08000")), fill=False)
    opened = [r for r in of(step, CopyOpened) if r.subscription == subs["I1"]]
    closed = [c for c in of(step, CloseCopy) if c.subscription == subs["I1"]]
    assert cancelled or (opened and closed) or not opened, "a blocked symbol's copy opened and stays open"


def accept_all(w, commands):
    from tests.copytrading.test_pending_orders import accept
    return accept(w, commands)


def test_an_order_that_filled_and_was_partly_closed_while_the_link_was_down_sizes_its_copies():
    """pending_sync.py: a hello position whose ticket is a placed order is that order's fill.
    The order (0.10) filled and the trader closed half of it while the link was down: the hello
    shows 0.05. The copy orders (0.10 each) fill in full and are linked to a 0.05 position: the
    copies keep twice the trader's exposure (the missed partial close is never applied)."""
    from bridge.copytrading.events import SnapshotPosition, TraderSnapshot
    w, subs = world()
    placed = place(w)
    orders = accept_all(w, placed)
    w.handle(TraderSnapshot(w.tick(), "T", (SnapshotPosition(77, "EURUSD", Side.BUY, D("0.05"), D("1.08000"),
                                                             w.now - 1000),)))
    account = w.engine.subscriptions[subs["I1"]].account
    step = w.handle(CopyOrderFilled(w.tick(), account, orders[subs["I1"]], 701, D("0.10"), D("1.08000")),
                    fill=False)  # the close it asks for is answered below
    copy = w.engine.subscriptions[subs["I1"]].copies[77]
    closing = sum((c.volume for s in w.steps for c in s.commands
                   if isinstance(c, CloseCopy) and c.subscription == subs["I1"]), D(0))
    assert copy.volume - closing == D("0.05"), (copy.volume, closing)
    for cmd in step.commands:
        w.answer(cmd)
    assert w.engine.subscriptions[subs["I1"]].copies[77].volume == D("0.05")  # the trader's 0.05, once booked
    # I3 (multiplier 2: a 0.20 copy order) keeps twice the trader's 0.05
    account3 = w.engine.subscriptions[subs["I3"]].account
    w.handle(CopyOrderFilled(w.tick(), account3, orders[subs["I3"]], 703, D("0.20"), D("1.08000")))
    assert w.engine.subscriptions[subs["I3"]].copies[77].volume == D("0.10")
