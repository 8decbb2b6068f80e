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
