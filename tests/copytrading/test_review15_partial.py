"""Review of issue 15 (adversarial): "correct repeated partial closes" on a symbol with its own
volume step. Issue item 1: "The seed's limits always apply after the mode: ... and the symbol's
own min/step/max." The fan-out checks the symbol's step on opens (`volume_problem`), but a
partial close (closing.py `_partial`) is normalised to the seed's 0.01 only: on US30 (step 0.1)
the copy is asked to close 0.25 lots, which no server accepts."""

from __future__ import annotations

from decimal import Decimal as D

from bridge.copytrading import CloseCopy, CloseSkipped
from bridge.domain import default_rules
from tests.copytrading.helpers import World, in_copy_trading_doc

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


def _us30_copy(volume: str):
    w = World()
    w.trader()
    sub = w.investor("I1", amount="100000")
    ticket, _ = w.open(volume, symbol="US30", price="39000.0")
    return w, sub, ticket


def test_the_docs_us30_examples_floor_to_the_step_keep_the_minimum_or_skip():
    """docs/copy-trading.md, Partial closes: "the close is floored to the symbol's step ... Example,
    US30 (min 0.1, step 0.1) ... on a 0.3-lot copy half → 0.15 → 0.1, 0.2 left; on a 0.1-lot copy
    half → 0.05 < 0.1: nothing, recorded." """
    assert in_copy_trading_doc("on a 0.3-lot copy half → 0.15 → 0.1, 0.2 left")
    w, sub, ticket = _us30_copy("0.3")
    step = w.close(ticket, "0.15", price="39000.0", symbol="US30", fill=False)
    [close] = [c for c in step.commands if isinstance(c, CloseCopy)]
    assert close.volume == D("0.1")
    w, sub, ticket = _us30_copy("0.1")
    step = w.close(ticket, "0.05", price="39000.0", symbol="US30", fill=False)
    assert not [c for c in step.commands if isinstance(c, CloseCopy)]
    [skipped] = [r for r in step.records if isinstance(r, CloseSkipped)]
    assert skipped.code == "below_symbol_min" and w.engine.subscriptions[sub].copies[ticket].volume == D("0.1")


def test_repeated_partial_closes_on_us30_each_ask_for_a_tradeable_volume_and_the_last_closes_all():
    """Issue 15: "correct repeated partial closes" - the trader closes 0.25 lots four times."""
    w, sub, ticket = _us30_copy("1")
    for n in range(4):
        step = w.close(ticket, "0.25", price="39000.0", symbol="US30")
        for c in (c for c in step.commands if isinstance(c, CloseCopy)):
            assert US30.volume_problem(c.volume) is None, (n, c.volume)
        copy = w.engine.subscriptions[sub].copies.get(ticket)
        assert copy is None or US30.volume_problem(copy.volume) is None, (n, copy.volume)
    assert ticket not in w.engine.subscriptions[sub].copies
