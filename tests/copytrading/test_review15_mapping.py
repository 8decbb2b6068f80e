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
from tests.copytrading.helpers import World, in_copy_trading_doc


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


def _set_map(w: World, sub: int, **settings):
    step = w.handle(SetCopySettings(w.tick(), sub, "I1", **settings))
    return [r for r in step.records if getattr(r, "code", None) == "invalid_settings"]


def test_a_pair_onto_another_market_is_refused_with_a_clear_message_and_nothing_changes():
    w = World()
    w.trader()
    sub = w.investor("I1", amount="100000")
    for text, other in (("XAUUSD=XAGUSD", "XAGUSD"), ("US500=US30", "US30")):
        [refused] = _set_map(w, sub, symbol_map=text)
        assert f"onto another instrument ({other})" in refused.detail and "symbol_map" in refused.detail
        assert w.engine.subscriptions[sub].settings is None  # nothing changed
    # through the suffix: XAGUSDc is silver's cent name, still another market than gold
    [refused] = _set_map(w, sub, symbol_map="XAUUSD=XAGUSDc", symbol_suffix="c")
    assert "(XAGUSD)" in refused.detail


def test_names_of_the_same_instrument_are_accepted():
    """docs/copy-trading.md: "A pair names the same instrument on the investor's side (a suffix, an alias)." """
    assert in_copy_trading_doc("A pair names the same instrument on the investor's side (a suffix, an alias).")
    w = World()
    w.trader()
    sub = w.investor("I1", amount="100000")
    assert _set_map(w, sub, symbol_map="XAUUSD=GOLD,EURUSD=EURUSD.m", symbol_suffix="c") == []
    _, step = w.open("0.10", symbol="XAUUSD", price="2300.00", fill=False)
    [cmd] = [c for c in step.commands if isinstance(c, OpenCopy)]
    assert cmd.symbol == "GOLD" and w.engine.subscriptions[sub].copies[cmd.trader_ticket].symbol == "XAUUSD"


def test_a_twin_of_the_same_contract_under_another_name_is_the_same_instrument():
    """A broker quoting EURUSD and a cent account's EURUSDc (same base, quote and contract size)."""
    import dataclasses

    from bridge.domain import default_rules
    from bridge.domain.instruments import SymbolCatalog
    from bridge.domain.rules import Rules
    from bridge.copytrading.settings import CopySettings, catalog_problem
    rules = default_rules()
    twin = dataclasses.replace(rules.symbols.get("EURUSD"), name="EURUSDc")
    catalog = Rules(SymbolCatalog([*rules.symbols, twin]), rules.account_types, rules.tiers).symbols
    assert catalog_problem(CopySettings.from_dict({"symbol_suffix": "c"}), catalog) is None
    assert catalog_problem(CopySettings.from_dict({"symbol_map": "EURUSD=EURUSDc"}), catalog) is None
    silver = dataclasses.replace(rules.symbols.get("XAGUSD"), name="XAUUSDc")  # a suffix onto another market
    catalog = SymbolCatalog([*rules.symbols, silver])
    assert "XAUUSD becomes XAUUSDc" in catalog_problem(CopySettings.from_dict({"symbol_suffix": "c"}), catalog)
