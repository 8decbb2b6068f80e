"""Review of issue 15 "Why not copied" (adversarial): the figures of one subscription's refusal
must be its own. copying.py caches one VolumeDecision per (fixed?, parameter) in a deal; Decimal
keys 0.004 and 0.0040 are equal, so the second subscription's refusal prints the first one's
`raw_volume` (settings.py's own rule for shared settings: "what a record prints must not
depend on which came first")."""

from __future__ import annotations

from bridge.copytrading import CopyRefused, SetCopySettings
from tests.copytrading.helpers import World


def _refusals(first: str, second: str) -> dict[str, str]:
    w = World()
    w.trader()
    a = w.investor("I1", account=2001, amount="10000")
    b = w.investor("I2", account=2002, amount="10000")
    w.handle(SetCopySettings(w.tick(), a, "I1", mode="fixed", fixed_volume=first))
    w.handle(SetCopySettings(w.tick(), b, "I2", mode="fixed", fixed_volume=second))
    _, step = w.open("1")
    return {r.subscription: r.details["raw_volume"] for r in step.records if isinstance(r, CopyRefused)}


def test_a_refusals_raw_volume_is_the_subscriptions_own_parameter():
    got = _refusals("0.004", "0.0040")
    assert got[2] == "0.0040", got
    assert _refusals("0.0040", "0.004")[2] == "0.004"
