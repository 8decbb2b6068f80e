"""Scenario against the simulated trade server (in memory)."""

from decimal import Decimal as D

from bridge.copytrading import (CopyClosed, Engine, StopCopying, Subscribe, SubscriptionStopped, TraderRegistered,
                                WalletDeposited)
from bridge.domain.trading import Side
from tests.copytrading.helpers import T0
from tests.copytrading.simharness import SimHarness


def test_copying_on_the_simulated_server():
    engine = Engine()
    h = SimHarness(engine, T0 + 3_600_000)  # Monday 01:00: markets open
    h.tick("EURUSD", "1.10000", "1.10010", ms=0)
    trader = h.account("trader@example.com", "mt4_standard", 200, D("10000"))
    investor = h.account("investor@example.com", "mt4_standard", 100)
    h.feed(TraderRegistered(h.now, "T", trader, "mt4_standard", 200, D("20")))
    h.update(trader)
    h.feed(WalletDeposited(h.now, "I", D("2000")))
    h.feed(Subscribe(h.now, "I", "T", investor, D("1500")))
    assert h.server.account_info(investor).balance == D("1500")

    ticket = h.trade("T", trader, "EURUSD", Side.BUY, "1")
    (copy,) = h.server.positions(investor)
    assert copy.volume == D("1.00")
    h.tick("EURUSD", "1.10300", "1.10310")
    h.close("T", trader, ticket, "0.4")  # partial: 40 % of the copy
    assert [p.volume for p in h.server.positions(investor)] == [D("0.60")]
    h.tick("EURUSD", "1.10500", "1.10510")
    h.close("T", trader, ticket, "0.6")
    assert h.server.positions(investor) == []

    sub = engine.subscriptions[1]
    realised = sum((r.profit for s in h.steps for r in s.records if isinstance(r, CopyClosed)), D(0))
    assert sub.realised == realised > 0
    assert h.server.account_info(investor).balance == sub.balance

    h.feed(StopCopying(h.now, 1, "I"))
    (stopped,) = [r for s in h.steps for r in s.records if isinstance(r, SubscriptionStopped)]
    assert h.server.account_info(investor).balance == 0
    assert engine.wallet("I", "I") == D("500") + stopped.returned
    assert engine.wallets.balance("T") == stopped.commission == (realised * D("0.2")).quantize(D("0.01"))
    sources, holdings = engine.ledger()
    assert sources == holdings
