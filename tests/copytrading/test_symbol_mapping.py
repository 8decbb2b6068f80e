"""Symbol mapping (issue 15 item 2): the investor's name of the trader's symbol.

"Symbol mapping: explicit pairs, suffix/prefix rules (e.g. a cent account's suffixed symbols),
and refusal with `unknown_symbol` when nothing maps."
"""

from __future__ import annotations

import pytest

from bridge.copytrading import CopyRefused, OpenCopy, SetCopySettings
from bridge.copytrading.settings import CopySettings, map_symbol, unmapped
from bridge.domain.errors import DomainError
from tests.copytrading.helpers import World

ISSUE = ("Symbol mapping: explicit pairs, suffix/prefix rules (e.g. a cent account's suffixed symbols), and refusal "
         "with `unknown_symbol` when nothing maps.")


def test_an_explicit_pair_wins_over_the_suffix_rule():
    assert "explicit pairs, suffix/prefix rules" in ISSUE
    s = CopySettings.from_dict({"symbol_map": "XAUUSD=GOLD", "symbol_suffix": "c"})
    assert map_symbol(s, "XAUUSD") == "GOLD"
    assert map_symbol(s, "EURUSD") == "EURUSDc"
    assert unmapped(s, "EURUSDc") == "EURUSD" and unmapped(s, "GOLD") == "GOLD"
    assert s.to_dict()["symbol_map"] == {"XAUUSD": "GOLD"}
    assert CopySettings.from_dict({"symbol_map": {"XAUUSD": "GOLD"}}) == CopySettings.from_dict(
        {"symbol_map": [["XAUUSD", "GOLD"]]})


@pytest.mark.parametrize(("value", "field"), [
    ({"symbol_map": "EURUSD"}, "symbol_map"),
    ({"symbol_map": "EURUSD=A,EURUSD=B"}, "symbol_map"),
    ({"symbol_map": 5}, "symbol_map"),
    ({"symbol_suffix": "toolongsuffix"}, "symbol_suffix"),
    ({"symbol_prefix": 3}, "symbol_prefix"),
])
def test_a_bad_map_names_the_field(value, field):
    with pytest.raises(DomainError) as err:
        CopySettings.from_dict(value)
    assert err.value.code == "invalid_settings" and err.value.detail.startswith(field + ":")


def test_the_copy_command_carries_the_investors_name():
    w = World()
    w.trader()
    cent = w.investor("I1", amount="10000")
    plain = w.investor("I2", account=2001, amount="10000")
    w.handle(SetCopySettings(w.tick(), cent, "I1", symbol_suffix="c"))
    _, step = w.open("0.5")
    by_sub = {c.subscription: c.symbol for c in step.commands if isinstance(c, OpenCopy)}
    assert by_sub == {cent: "EURUSDc", plain: "EURUSD"}
    # the copy trades the catalog's instrument: prices of EURUSD move it, the trader's close closes it
    assert w.engine.subscriptions[cent].copies[1].symbol == "EURUSD"
    w.close(1, "0.5")
    assert not w.engine.subscriptions[cent].copies


def test_an_unknown_trader_symbol_is_copied_where_a_pair_maps_it_and_refused_where_nothing_maps():
    assert "refusal with `unknown_symbol` when nothing maps" in ISSUE
    w = World()
    w.trader()
    mapped = w.investor("I1", amount="10000")
    suffixed = w.investor("I2", account=2001, amount="10000")
    nothing = w.investor("I3", account=2002, amount="10000")
    w.handle(SetCopySettings(w.tick(), mapped, "I1", symbol_map="GOLD=XAUUSD"))
    w.handle(SetCopySettings(w.tick(), suffixed, "I2", symbol_suffix=".m"))
    _, step = w.open("0.1", symbol="GOLD", price="2000.00")
    (cmd,) = [c for c in step.commands if isinstance(c, OpenCopy)]
    assert (cmd.subscription, cmd.symbol) == (mapped, "XAUUSD")
    refused = {r.subscription: r for r in step.records if isinstance(r, CopyRefused)}
    assert set(refused) == {suffixed, nothing}
    assert refused[suffixed].code == refused[nothing].code == "unknown_symbol"
    assert refused[suffixed].details == {"symbol": "GOLD", "mapped": "GOLD.m"}
    assert refused[nothing].details == {"symbol": "GOLD"}


def test_the_documented_order_reverse_then_mapping_then_mode_then_guard():
    # docs/copy-trading.md, "Order of the checks per subscription", its example
    from decimal import Decimal as D

    from bridge.copytrading import PriceTick
    from bridge.domain.trading import Side
    w = World()
    w.trader()
    sub = w.investor("I1", amount="10000")
    w.handle(SetCopySettings(w.tick(), sub, "I1", reverse=True, mode="multiplier", multiplier="1.5",
                             symbol_suffix="c", max_slippage_points=10))
    w.handle(PriceTick(w.tick(), "EURUSD", D("1.10000"), D("1.10002")))
    _, step = w.open("0.33", price="1.10000")
    (cmd,) = [c for c in step.commands if isinstance(c, OpenCopy)]
    assert (cmd.side, cmd.symbol, cmd.volume) == (Side.SELL, "EURUSDc", D("0.50"))
