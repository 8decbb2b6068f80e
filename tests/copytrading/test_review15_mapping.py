"""Review of issue 15 item 2 (adversarial): symbol mapping onto another catalog instrument.

docs/copy-trading.md: "the OpenCopy carries [the mapped name] ... The copy itself (`Copy.symbol`)
stays the catalog's instrument: prices, margin, volume limits and closes are that instrument's."
A pair whose investor name is itself a *different* catalog instrument (`XAUUSD=XAGUSD`, a typo,
or `US500=US30`) is accepted, the investor opens silver while the engine sizes, margins and
values a gold position: margin, floating P/L, stop-out and the risk limits all read the wrong
instrument."""

from __future__ import annotations

from decimal import Decimal as D

from bridge.copytrading import OpenCopy, SetCopySettings
from bridge.domain.errors import DomainError
from tests.copytrading.helpers import World


def test_a_pair_onto_another_catalog_instrument_is_refused_or_booked_as_that_instrument():
    w = World()
    w.trader()
    sub = w.investor("I1", amount="100000")
    step = w.handle(SetCopySettings(w.tick(), sub, "I1", symbol_map="XAUUSD=XAGUSD"))
    refused = [r for r in step.records if getattr(r, "code", None) == "invalid_settings"]
    if refused:
        return  # refused at settings time: fine
    _, step = w.open("0.10", symbol="XAUUSD", price="2300.00", fill=False)
    [cmd] = [c for c in step.commands if isinstance(c, OpenCopy)]
    copy = w.engine.subscriptions[sub].copies[cmd.trader_ticket]
    assert cmd.symbol == "XAGUSD"
    assert copy.symbol == cmd.symbol, (copy.symbol, cmd.symbol)  # the engine books what the investor trades
