"""Review of issue 15 items 5 and 6 (adversarial): "Stops: copy the trader's SL/TP or not, mirror
their modifications or not". A copy order (copy_pending) carries the trader's SL/TP whatever
`copy_stops` says (pending.py `_on_trader_order_placed` puts `order.sl/tp` on PlaceOrder), and
`ModifyOrder` mirrors the trader's SL/TP changes whatever `mirror_stop_changes` says. With the
engine default (`mirror_stops` off: "copies carry no stops", §4.2 reading) a copy_pending
follower's copies carry stops that the server triggers on its own."""

from __future__ import annotations

from decimal import Decimal as D

from bridge.copytrading import SetCopySettings
from bridge.copytrading.pending_messages import ModifyOrder, PlaceOrder, TraderOrderModified
from tests.copytrading.helpers import World
from tests.copytrading.test_pending_orders import accept, of, place


def test_a_copy_order_of_a_follower_without_copy_stops_carries_no_stops():
    w = World()  # EngineConfig default: mirror_stops off
    assert w.engine.config.mirror_stops is False
    w.trader(equity="10000")
    sub = w.investor("I1", amount="10000")
    w.handle(SetCopySettings(w.tick(), sub, "I1", copy_pending=True, copy_stops=False, mirror_stop_changes=False))
    [cmd] = place(w)  # the trader's buy limit with SL 1.07000 / TP 1.10000
    assert (cmd.sl, cmd.tp) == (None, None), cmd
    accept(w, [cmd])
    step = w.handle(TraderOrderModified(w.tick(), "T", 77, D("1.08000"), D("1.06900"), D("1.09900")))
    assert not of(step, ModifyOrder)  # only the stops changed: nothing to mirror
