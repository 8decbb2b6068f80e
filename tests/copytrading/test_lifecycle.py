"""One subscription through opens, a partial close, SL/TP closes, protection and a stop."""

from decimal import Decimal as D

from bridge.copytrading import (AccountUpdated, CloseCopy, CopyClosed, CopyRefused, EditSettings, OpenCopy,
                                ProtectionTriggered, StopCopying, SubscriptionStopped, SubState, TimePassed)
from tests.copytrading.helpers import DAY, T0, World, of


def test_subscription_lifecycle():
    w = World()
    w.trader(commission="25")
    sub = w.investor("I", account=2000, amount="2000", protection="10", deposit="2500")
    s = w.engine.subscriptions[sub]

    a, step = w.open("1", price="1.10000")
    b, _ = w.open("0.4", price="1.10000")
    assert len(w.commands(OpenCopy)) == 2
    # partial close: half of a, at +50 pips -> +250
    w.close(a, "0.5", price="1.10500")
    assert s.copies[a].volume == D("0.50")
    # take profit on a at +100 pips on the remaining 0.5 -> +500
    step = w.close(a, "0.5", price="1.11000", reason="tp")
    assert [c.reason for c in of(step, CloseCopy)] == ["trader_tp"]
    # stop loss on b at -30 pips on 0.4 -> -120
    step = w.close(b, "0.4", price="1.09700", reason="sl")
    assert [c.reason for c in of(step, CloseCopy)] == ["trader_sl"]
    assert [r.profit for r in w.records(CopyClosed)] == [D("250.00"), D("500.00"), D("-120.00")]
    assert s.balance == D("2630.00") and s.realised == D("630.00")
    # commission (§9): settled on Sunday on the week's gain, 630 (the mark moves only then)
    assert s.high_water_mark == 0 and w.engine.subscription_view("I", sub).commission_accrued == D("157.50")
    # Sunday settlement: 25 % of 630
    w.now = T0 + 6 * DAY  # the world's clock moves with the engine's: later opens are fresh
    w.handle(TimePassed(w.now))
    assert s.commission_paid == D("157.50") and s.balance == D("2472.50") and s.high_water_mark == D("630.00")
    # protection: a new trade goes badly; equity 1799 is below 90 % of the invested funds and of the balance
    c, _ = w.open("1", price="1.10000")
    step = w.handle(AccountUpdated(w.tick(), 2000, D("2472.50"), D("1799.00")))
    assert of(step, ProtectionTriggered) and s.state is SubState.SUSPENDED
    assert [cmd.reason for cmd in of(step, CloseCopy)] == ["protection"]
    _, step = w.open("0.1")
    assert [r.code for r in of(step, CopyRefused)] == ["protection_suspended"]
    w.handle(EditSettings(w.tick(), sub, "I", protection_pct=D("20")))
    assert s.state is SubState.ACTIVE
    # stop: the copy of a new trade is open, so stop needs close_open
    d, _ = w.open("0.1", price="1.10000")
    w.prices["EURUSD"] = D("1.10000")
    w.handle(StopCopying(w.tick(), sub, "I", close_open=True))
    (stopped,) = w.records(SubscriptionStopped)
    assert stopped.returned == s.invested + s.realised - s.commission_paid  # paid includes the stop settlement
    assert w.engine.wallet("I", "I") == D("500.00") + stopped.returned
    sources, holdings = w.engine.ledger()
    assert sources == holdings
