"""Review of issue 15 item 5 (adversarial): "mirror their modifications or not ... with copying
on, a trader's SL/TP change reaches every copy". With `copy_stops` off and
`mirror_stop_changes` on, a change the trader makes while the copy is still opening is skipped
(copying.py mirrors OPEN copies only) and never sent at the fill (`_copy_stops_at_fill` follows
`copy_stops`): that copy never gets the trader's modification."""

from __future__ import annotations

from decimal import Decimal as D

from bridge.copytrading import CommandFilled, ModifyCopy, OpenCopy, SetCopySettings, TraderPositionModified
from tests.copytrading.helpers import World


def test_a_change_made_while_the_copy_opens_reaches_it_at_its_fill():
    w = World()
    w.trader()
    sub = w.investor("I1", amount="10000")
    w.handle(SetCopySettings(w.tick(), sub, "I1", copy_stops=False, mirror_stop_changes=True))
    ticket, step = w.open("1", price="1.10000", fill=False)
    [cmd] = [c for c in step.commands if isinstance(c, OpenCopy)]
    w.handle(TraderPositionModified(w.tick(), "T", ticket, D("1.09500"), D("1.11000")))  # while opening
    step = w.handle(CommandFilled(w.tick(), cmd.key, 600001, cmd.volume, D("1.10000")), fill=False)
    later = [c for s in w.steps for c in s.commands if isinstance(c, ModifyCopy)]
    assert [(c.sl, c.tp) for c in later] == [(D("1.09500"), D("1.11000"))], later
