"""Investor stop-out (tiered margin), statistics §12/§13, reconciliation and restarts."""

import json
from decimal import Decimal as D

from bridge.copytrading import (CloseCopy, CopyRefused, Engine, EngineConfig, OpenCopy, PriceTick,
                                SnapshotPosition, StopOutTriggered, TraderSnapshot)
from bridge.domain.trading import Side
from tests.copytrading.helpers import World, of


def test_investor_stop_out_closes_the_largest_loser_first_and_re_evaluates():
    w = World()
    w.trader()
    sub = w.investor("I", amount="1000", leverage=100)
    eur, _ = w.open("0.5", symbol="EURUSD", price="1.10000")  # notional 55 000 -> 550 margin
    gbp, _ = w.open("0.3", symbol="GBPUSD", price="1.27000")  # 38 100 -> 381; group margin 931
    step = w.handle(PriceTick(w.tick(), "EURUSD", D("1.08500"), D("1.08510")))  # -750
    step = w.handle(PriceTick(w.tick(), "GBPUSD", D("1.26800"), D("1.26810")))  # -60: equity 190, 20.4 %
    assert of(step, StopOutTriggered) == []
    w.prices["EURUSD"] = D("1.08490")
    step = w.handle(PriceTick(w.tick(), "EURUSD", D("1.08490"), D("1.08500")))  # equity 185: 19.87 %
    (trig,) = of(step, StopOutTriggered)
    assert trig.closes == 1 and trig.margin_level < 20
    # the largest loser (EURUSD, -755) goes; after it the level is 185 / 381 = 48.6 %: GBPUSD stays
    assert [(c.trader_ticket, c.reason) for c in of(step, CloseCopy)] == [(eur, "stop_out")]
    assert list(w.engine.subscriptions[sub].copies) == [gbp]


def test_trader_statistics_are_public():
    w = World()
    w.trader(equity="10000")
    w.investor("A", account=2001)
    w.investor("B", account=2002)
    t1, _ = w.open("1")
    w.close(t1, "1", profit_="1000")  # +10 %
    t2, _ = w.open("1")
    w.close(t2, "0.5", profit_="-1100")  # -10 % of 11 000 (a partial close: a deal, not a trade)
    w.close(t2, "0.5", profit_="-1100")  # -11.11 % of 9 900
    stats = w.engine.trader_statistics("T")
    assert stats.trades == 2 and stats.followers == 2 and stats.volume == D("2")
    assert stats.return_pct == D("-12.00")  # 1.1 x 0.9 x (8800/9900) = 0.88
    assert stats.max_drawdown_pct == D("20.00")
    assert w.engine.trader_statistics("nobody").code == "unknown_trader"


def test_investor_statistics_are_private():
    w = World()
    w.trader()
    a = w.investor("A", account=2001, amount="1000", deposit="1500")
    w.investor("B", account=2002)
    mine = w.engine.investor_statistics("A", "A")
    assert mine.wallet == D("500.00") and mine.invested == D("1000")
    assert [v.subscription for v in mine.subscriptions] == [a]
    assert w.engine.investor_statistics("B", "A").code == "forbidden"
    assert w.engine.investor_statistics(None, "A").code == "forbidden"
    assert w.engine.subscription_view("B", a).code == "forbidden"


def test_reconcile_after_reconnect_and_restart_never_copies_older_trades():
    w = World()
    w.trader()
    w.open("0.1", ticket=1)  # before the subscription
    sub = w.investor("I", amount="5000")
    started = w.engine.subscriptions[sub].started_at
    w.open("0.1", ticket=2)  # copied
    # the daemon restarts from its journal
    engine = Engine.from_state(json.loads(json.dumps(w.engine.to_state())))
    snap = TraderSnapshot(w.tick(60_000), "T", (
        SnapshotPosition(1, "EURUSD", Side.BUY, D("0.1"), D("1.1"), started - 10),  # known, pre-subscription
        SnapshotPosition(3, "EURUSD", Side.BUY, D("0.1"), D("1.1"), started - 5),  # unseen, pre-subscription
        SnapshotPosition(4, "EURUSD", Side.BUY, D("0.1"), D("1.1"), started + 5),  # unseen, while disconnected
    ))  # position 2 closed in the meantime
    step = engine.handle(snap)
    assert of(step, OpenCopy) == []
    assert [(c.trader_ticket, c.reason) for c in of(step, CloseCopy)] == [(2, "reconcile")]
    assert sorted((r.trader_ticket, r.code) for r in of(step, CopyRefused)) == [
        (3, "opened_before_subscription"), (4, "expired")]
    (expired,) = [r for r in of(step, CopyRefused) if r.code == "expired"]
    assert expired.detail == f"first seen in a snapshot {snap.now - started - 5} ms after its open"
    # the older trades stay uncopied through later events and another restart
    engine = Engine.from_state(engine.to_state())
    step = engine.handle(snap)
    assert of(step, OpenCopy) == []


def test_reconcile_copies_a_position_first_seen_in_a_snapshot_within_its_validity():
    w = World(EngineConfig(open_validity_ms=5_000))
    w.trader()
    sub = w.investor("I", amount="5000")
    started = w.engine.subscriptions[sub].started_at
    now = w.tick(2_000)
    step = w.engine.handle(TraderSnapshot(now, "T", (
        SnapshotPosition(7, "EURUSD", Side.BUY, D("0.1"), D("1.1"), started + 1),)))
    assert [(c.trader_ticket, c.volume, c.expires_at) for c in of(step, OpenCopy)] == [
        (7, D("0.10"), started + 1 + 5_000)]


def test_reconcile_partial_close_during_disconnection():
    w = World()
    w.trader()
    sub = w.investor("I", amount="5000")
    w.open("1", ticket=9)
    step = w.engine.handle(TraderSnapshot(w.tick(), "T", (
        SnapshotPosition(9, "EURUSD", Side.BUY, D("0.4"), D("1.1"), w.now - 100),)))
    assert [(c.volume, c.reason) for c in of(step, CloseCopy)] == [(D("0.60"), "reconcile")]
    assert w.engine.subscriptions[sub].copies[9].closing == D("0.60")
