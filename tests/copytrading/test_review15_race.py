"""Review of issue 15 item 8 (adversarial): close_and_suspend racing an open in flight."""

from __future__ import annotations

from decimal import Decimal as D

from bridge.copytrading import CloseCopy, CommandFilled, OpenCopy, PriceTick, RiskLimitTriggered
from bridge.copytrading.subscription import SubState
from tests.copytrading.test_risk_limits import limited


def test_an_open_in_flight_when_close_and_suspend_trips_is_closed_at_its_fill():
    w, sub = limited(max_drawdown="300", max_drawdown_action="close_and_suspend")
    w.open("1", price="1.10000")  # copy 1 filled
    _, step = w.open("1", price="1.10000", fill=False)  # copy 2 in flight
    [pending_open] = [c for c in step.commands if isinstance(c, OpenCopy)]
    step = w.handle(PriceTick(w.tick(), "EURUSD", D("1.09600"), D("1.09602")), fill=False)  # -400 on copy 1
    assert [r for r in step.records if isinstance(r, RiskLimitTriggered)]
    assert w.engine.subscriptions[sub].state is SubState.LIMIT_SUSPENDED
    step = w.handle(CommandFilled(w.tick(), pending_open.key, 777001, D("1"), D("1.09602")), fill=False)
    assert [c.ticket for c in step.commands if isinstance(c, CloseCopy)] == [777001]
