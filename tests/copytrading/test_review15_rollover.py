"""Review of issue 15 item 8: "reset at server-day rollover" in zones other than the default."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from bridge.copytrading import EngineConfig, OpenCopy, PriceTick, RiskLimitReset, SetCopySettings
from bridge.copytrading.subscription import SubState
from bridge.domain.servertime import ServerTimeZone
from tests.copytrading.helpers import DAY, World


@pytest.mark.parametrize("zone", ["UTC-5", "UTC+5:45", "UTC+14", "UTC-11", "UTC+2/us", "UTC"])
def test_a_daily_loss_trip_lifts_at_the_zones_midnight_and_not_before(zone):
    tz = ServerTimeZone.parse(zone)
    w = World(EngineConfig(server_timezone=tz))
    w.trader()
    sub = w.investor("I1", amount="10000")
    w.handle(SetCopySettings(w.tick(), sub, "I1", daily_loss_limit="300"))
    ticket, _ = w.open("1", price="1.10000")
    w.handle(PriceTick(w.tick(), "EURUSD", D("1.09600"), D("1.09602")))
    assert w.engine.subscriptions[sub].state is SubState.CLOSE_ONLY
    w.close(ticket, "1", price="1.09600")
    midnight = tz.server_midnight(w.now + DAY)
    assert tz.server_midnight(w.now) < w.now < midnight
    w.now = midnight - 10
    _, step = w.open("1", price="1.09600")
    assert not [c for c in step.commands if isinstance(c, OpenCopy)]  # still the same server day
    w.now = midnight + 5
    _, step = w.open("1", price="1.09600")
    (reset,) = [r for r in step.records if isinstance(r, RiskLimitReset)]
    assert reset.now == midnight and [c.subscription for c in step.commands if isinstance(c, OpenCopy)] == [sub]
