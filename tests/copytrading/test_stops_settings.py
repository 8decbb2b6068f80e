"""Stops per subscription (issue 15 item 5).

"Stops: copy the trader's SL/TP or not, mirror their modifications or not (today one global
`mirror_stops`); with copying on, a trader's SL/TP change reaches every copy."
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from bridge.copytrading import EngineConfig, ModifyCopy, SetCopySettings, TraderPositionModified, TraderPositionOpened
from bridge.copytrading.settings import CopySettings
from bridge.domain.errors import DomainError
from bridge.domain.trading import Side
from tests.copytrading.helpers import World

ITEM_5 = ("Stops: copy the trader's SL/TP or not, mirror their modifications or not (today one global "
          "`mirror_stops`); with copying on, a trader's SL/TP change reaches every copy.")


def three(config: EngineConfig) -> tuple[World, int, int, int]:
    w = World(config)
    w.trader()
    a = w.investor("I1", amount="10000")
    b = w.investor("I2", account=2001, amount="10000")
    c = w.investor("I3", account=2002, amount="10000")
    return w, a, b, c


def open_with_stops(w: World, side: Side = Side.BUY) -> tuple[int, list[ModifyCopy]]:
    w.prices.setdefault("EURUSD", D("1.10000"))
    step = w.handle(TraderPositionOpened(w.tick(), "T", 7, "EURUSD", side, D("1"), D("1.10000"),
                                         sl=D("1.09000"), tp=D("1.12000")))
    return 7, [c for s in w.steps[w.steps.index(step):] for c in s.commands if isinstance(c, ModifyCopy)]


def test_copy_stops_puts_the_traders_levels_on_the_copy_at_its_fill():
    w, a, b, c = three(EngineConfig())  # the global default: off
    w.handle(SetCopySettings(w.tick(), a, "I1", copy_stops=True))
    w.handle(SetCopySettings(w.tick(), b, "I2", copy_stops=True, reverse=True))
    _, modifies = open_with_stops(w)
    stops = {m.subscription: (m.sl, m.tp) for m in modifies}
    assert stops == {a: (D("1.09000"), D("1.12000")), b: (D("1.12000"), D("1.09000"))}  # b sells: swapped
    assert c not in stops  # the default follows mirror_stops (off)


def test_mirror_stop_changes_per_subscription_over_the_global_default():
    w, a, b, c = three(EngineConfig(mirror_stops=True))
    w.handle(SetCopySettings(w.tick(), a, "I1", mirror_stop_changes=False))
    w.handle(SetCopySettings(w.tick(), b, "I2", copy_stops=False))
    ticket, at_fill = open_with_stops(w)
    assert {m.subscription for m in at_fill} == {a, c}  # b does not copy the stops at its fill
    step = w.handle(TraderPositionModified(w.tick(), "T", ticket, D("1.09500"), None))
    changed = {m.subscription: (m.sl, m.tp) for m in step.commands if isinstance(m, ModifyCopy)}
    # "with copying on, a trader's SL/TP change reaches every copy": b (mirror on by default) and c
    assert changed == {b: (D("1.09500"), None), c: (D("1.09500"), None)}


def test_nil_returns_to_the_engines_default_and_bad_values_name_the_field():
    s = CopySettings.from_dict({"copy_stops": True})
    assert CopySettings.from_dict({"copy_stops": None}, s).copy_stops is None
    assert CopySettings.from_dict({"copy_stops": None}, s).is_seed
    with pytest.raises(DomainError) as err:
        CopySettings.from_dict({"mirror_stop_changes": "yes"})
    assert err.value.detail.startswith("mirror_stop_changes: must be true or false")
