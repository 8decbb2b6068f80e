"""Review of issue 15 item 2 (adversarial): "Standard Cent accounts (balance in US cents) get the
conversions a broker expects, in sizing and in margin."

copying.py `_fan_out` caches the notional per copy volume for the whole deal ("one conversion
per distinct volume in a deal") under the comment "Investor accounts are USD (Subscribe refuses
others)" - no longer true since cent accounts: a USD and a USC follower with the same copy
volume share one notional, so the second one's margin is off by 100."""

from __future__ import annotations

from decimal import Decimal as D

from bridge.copytrading import CopyRefused, OpenCopy
from bridge.domain.sizing import VolumeMode
from tests.copytrading.helpers import World
from tests.copytrading.test_cent_accounts import cent


def test_a_cent_follower_after_a_usd_follower_gets_its_margin_in_cents():
    w = World()
    w.trader(equity="10000")
    usd = w.investor("I1", amount="100000")  # opens 0.10 lots first (lower id)
    c1 = cent(w, "10", mode=VolumeMode.EQUAL)  # 1 000 USC
    _, step = w.open("0.10", fill=False)  # 0.10 lots: 11 000 USD notional, margin 110 USD = 11 000 USC
    opened = [c.subscription for c in step.commands if isinstance(c, OpenCopy)]
    assert usd in opened
    refused = {r.subscription: r for r in step.records if isinstance(r, CopyRefused)}
    assert c1 not in opened, "a 10 USD cent account opened 0.10 lots (110 USD of margin)"
    assert refused[c1].code == "no_money" and refused[c1].details["margin"] == "11000.00"


def test_a_usd_follower_after_a_cent_follower_is_not_refused_for_the_cents():
    w = World()
    w.trader(equity="10000")
    c1 = cent(w, "1000", mode=VolumeMode.EQUAL, account=2999)  # 100 000 USC, subscribes first (lower id)
    usd = w.investor("I1", amount="1000")  # 1 000 USD: 0.10 lots need 110 USD
    _, step = w.open("0.10", fill=False)
    opened = [c.subscription for c in step.commands if isinstance(c, OpenCopy)]
    refused = {r.subscription: (r.code, r.details) for r in step.records if isinstance(r, CopyRefused)}
    assert c1 in opened
    assert usd in opened, refused.get(usd)
