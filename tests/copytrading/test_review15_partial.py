"""Review of issue 15 (adversarial): "correct repeated partial closes" on a symbol with its own
volume step. Issue item 1: "The seed's limits always apply after the mode: ... and the symbol's
own min/step/max." The fan-out checks the symbol's step on opens (`volume_problem`), but a
partial close (closing.py `_partial`) is normalised to the seed's 0.01 only: on US30 (step 0.1)
the copy is asked to close 0.25 lots, which no server accepts."""

from __future__ import annotations

from decimal import Decimal as D

from bridge.copytrading import CloseCopy
from bridge.domain import default_rules
from tests.copytrading.helpers import World

US30 = default_rules().symbols.get("US30")


def test_a_partial_close_on_a_stepped_symbol_asks_for_a_tradeable_volume():
    w = World()
    w.trader()
    sub = w.investor("I1", amount="100000")
    ticket, _ = w.open("1", symbol="US30", price="39000.0")
    assert w.engine.subscriptions[sub].copies[ticket].volume == D("1.0")
    step = w.close(ticket, "0.25", price="39000.0", symbol="US30", fill=False)  # the trader closes a quarter
    closes = [c for c in step.commands if isinstance(c, CloseCopy)]
    assert closes, step.records
    for c in closes:
        assert US30.volume_problem(c.volume) is None, US30.volume_problem(c.volume)
        remaining = w.engine.subscriptions[sub].copies[ticket].volume - c.volume
        assert remaining == 0 or US30.volume_problem(remaining) is None, remaining
