"""The daemon's monitoring feed end to end (docs/protocol.md §13, docs/monitoring.md F1-F13).

A real daemon (thread, CURVE, journal) with a trader terminal and two investor accounts
(bridge.daemon.client), activity first, then a monitor (`FeedSubscriber` + `MonitorHub`, the
code `mtbridge monitor` / `mtbridge dashboard` run) joins **late** with a `monitor`-role key:
it must be synced from the snapshot at once, then follow live copies (with latency), margin
calls, exposure, terminals going offline, and resync after a daemon restart.
"""

from __future__ import annotations

import dataclasses
import time
from decimal import Decimal
from pathlib import Path

import pytest

from bridge.daemon.client import AdminClient, Executor, TerminalClient, wait_until
from bridge.daemon.config import load_config
from bridge.daemon.running import DaemonThread
from bridge.daemon.testing import make_setup
from bridge.monitor.feed import CurveClient, FeedSubscriber
from bridge.monitor.hub import MonitorHub
from bridge.monitor.state import FeedEvent
from bridge.protocol import AccountUpdate

pytestmark = pytest.mark.integration

TRADER, INV1, INV2 = 1001, 2001, 2002


def feed_curve(setup, name: str) -> CurveClient:  # noqa: ANN001
    k = setup.keys[name]
    return CurveClient(setup.server.public, k.public, k.secret)


class Env:
    def __init__(self, tmp: Path) -> None:
        self.setup = make_setup(tmp, {
            "trader": ([TRADER], "trader"),
            "investors": ([INV1, INV2], "investor"),
            "ops": ([], "admin"),
            "desk": ([], "monitor"),
        }, heartbeat_ms=200)
        self.config = load_config(self.setup.config_path)
        self.daemon = DaemonThread(self.config).start()
        ep = self.daemon.endpoints
        # a restart binds the same endpoints, so terminals and monitors reconnect by themselves
        self.config = dataclasses.replace(self.config, router=ep["router"], pub=ep["pub"], admin=ep["admin"])
        self.admin = AdminClient(ep["admin"], self.setup.curve("ops"))
        self.trader = TerminalClient(ep["router"], self.setup.curve("trader"))
        self.inv = TerminalClient(ep["router"], self.setup.curve("investors"))
        self.ex = Executor(self.inv)
        self.clients = [self.inv, self.trader]
        self.subs: list[FeedSubscriber] = []

    def wait(self, predicate, timeout: float = 20.0) -> bool:  # noqa: ANN001
        return wait_until(predicate, self.clients, timeout)

    def monitor(self, key: str = "desk") -> tuple[MonitorHub, list[FeedEvent]]:
        hub = MonitorHub()
        seen: list[FeedEvent] = []

        def on_event(e: FeedEvent) -> None:
            seen.append(e)
            hub.apply(e)

        sub = FeedSubscriber(self.daemon.endpoints["pub"], on_event, curve=feed_curve(self.setup, key)).start()
        self.subs.append(sub)
        return hub, seen

    def restart(self) -> None:
        self.daemon.stop()
        self.daemon = DaemonThread(self.config).start()

    def close(self) -> None:
        for s in self.subs:
            s.stop()
        for c in self.clients:
            c.close()
        self.admin.close()
        self.daemon.stop()


@pytest.fixture
def env(tmp_path: Path):
    e = Env(tmp_path)
    yield e
    e.close()


def test_late_monitor_sees_the_desk_live_and_resyncs_after_a_restart(env: Env) -> None:
    adm = env.admin
    assert adm("register_trader", trader="T", account=TRADER, account_type="mt4_standard", leverage=100,
               commission_pct="20")["ok"]
    for investor, login, amount in (("I1", INV1, "1000"), ("I2", INV2, "10")):
        assert adm("deposit", owner=investor, amount=amount)["ok"]
        assert adm("subscribe", investor=investor, trader="T", account=login, amount=amount)["ok"]
    env.trader.hello(TRADER, balance=Decimal("5000"))
    env.inv.hello(INV1, balance=Decimal("1000"))
    env.inv.hello(INV2, balance=Decimal("10"))
    assert env.wait(lambda: all(s.welcomed for c in env.clients for s in c.sessions.values()))

    # activity before any monitor exists: one copy opens (sub 1), one is refused (sub 2: no money)
    env.trader.opened(TRADER, 555, volume="0.5")
    assert env.wait(lambda: adm("copies")["copies"]["1"].get("555", {}).get("state") == "open")
    env.inv.send(INV1, AccountUpdate, balance=Decimal("1000"), equity=Decimal("1000"), margin=Decimal("100"),
                 free_margin=Decimal("900"), leverage=100)
    env.trader.send(TRADER, AccountUpdate, balance=Decimal("5000"), equity=Decimal("5020"), margin=Decimal("500"),
                    free_margin=Decimal("4520"), leverage=100)
    env.wait(lambda: False, 0.3)

    # the monitor joins late: synced from the snapshot at once
    hub, seen = env.monitor()
    state = hub.state
    assert env.wait(lambda: state.health.synced and INV2 in state.accounts and state.terminals_online() == 3, 15), \
        [e.topic for e in seen]
    snap = next(e for e in seen if e.topic == "snapshot")
    assert isinstance(snap.body["instance"], str) and type(snap.body["fseq"]) is int
    first_instance = state.health.instance
    tr, a1, a2 = state.accounts[TRADER], state.accounts[INV1], state.accounts[INV2]
    assert (tr.role, tr.owner, tr.account_type, tr.currency, tr.leverage) == ("trader", "T", "mt4_standard", "USD", 100)
    assert (tr.equity, tr.margin, tr.margin_level) == (Decimal("5020"), Decimal("500"), Decimal("1004.00"))
    assert (a1.role, a1.owner, a1.margin_level) == ("investor", "I1", Decimal("1000.00"))  # the terminal's figures
    assert a2.role == "investor" and a2.margin_level is None
    assert (a1.margin_call_level, a1.stop_out_level) == (Decimal(40), Decimal(20))
    assert all(a.online for a in (tr, a1, a2))
    eur = state.exposure["EURUSD"]
    assert (eur.buy, eur.sell, eur.positions) == (Decimal("1.0"), Decimal(0), 2)  # trader 0.5 + copy 0.5
    assert {t.login: (t.online, t.role) for t in state.terminals.values()} == {
        TRADER: (True, "trader"), INV1: (True, "investor"), INV2: (True, "investor")}
    assert state.subscriptions[1].account == INV1 and state.subscriptions[1].open_copies == 1
    assert state.subscriptions[2].investor == "I2"
    assert state.traders["T"].followers == 2 and state.traders["T"].account == TRADER
    assert len(state.latencies) == 2  # seeded from the snapshot: the open and the refusal before we joined

    # live: a close fans out, the copy closes with its latency; exposure drops to nothing
    env.trader.closed(TRADER, 555, "0.5", profit="12")
    assert env.wait(lambda: state.counts.get("copies_closed") == 1 and "EURUSD" not in state.exposure)
    closed = next(e for e in seen if e.topic == "record.copy_closed")
    assert Decimal(closed.body["latency_ms"]) > 0
    fanouts = [e.body for e in seen if e.topic == "fanout"]
    assert fanouts and fanouts[-1]["trader_ticket"] == 555 and fanouts[-1]["subscriptions"] == 2
    assert Decimal(fanouts[-1]["duration_ms"]) >= 0
    assert env.wait(lambda: state.traders["T"].trades == 1)

    # a new deal: opened on sub 1, refused on sub 2, both with latency
    p556 = env.trader.opened(TRADER, 556, volume="0.2")
    # the counts are the daemon run's (snapshot `tallies`): the open and the refusal from before the join, + these
    assert env.wait(lambda: state.counts.get("copies_opened") == 2 and state.counts.get("copies_refused") == 2)
    for topic in ("record.copy_opened", "record.copy_refused"):
        body = next(e.body for e in seen if e.topic == topic)
        assert Decimal(body["latency_ms"]) >= 0, body
    refused = next(e.body for e in seen if e.topic == "record.copy_refused")
    assert refused["code"] == "no_money" and refused["subscription"] == 2
    assert any("copy opened" in ln.text and " ms]" in ln.text for ln in state.events)
    assert env.wait(lambda: state.subscriptions[1].open_copies == 1 and state.exposure["EURUSD"].positions == 2)

    # margin call on the investor account, from its terminal's figures
    env.inv.send(INV1, AccountUpdate, balance=Decimal("1000"), equity=Decimal("30"), margin=Decimal("100"),
                 free_margin=Decimal("-70"), leverage=100)
    assert env.wait(lambda: state.counts.get("margin_calls") == 1)
    assert state.accounts[INV1].status == "margin_call" and state.accounts[INV1].margin_level == Decimal("30.00")

    # daemon.stats: the liveness beat
    assert env.wait(lambda: any(e.topic == "daemon.stats" for e in seen), 5)
    stats = [e.body for e in seen if e.topic == "daemon.stats"][-1]
    assert stats["sessions"] == 3 and stats["journal_seq"] > 0 and "journal_lag_ms" in stats
    assert state.health.gaps == 0

    # a terminal goes silent: offline
    env.inv.close()
    env.clients = [env.trader]
    assert env.wait(lambda: not state.terminals[INV1].online and not state.accounts[INV1].online, 15)

    # the daemon restarts: the monitor resyncs from the new instance's snapshot
    env.trader.set_positions(TRADER, (p556,))  # what the trader's reconnect hello reports
    env.restart()
    env.inv = TerminalClient(env.daemon.endpoints["router"], env.setup.curve("investors"))
    env.ex = Executor(env.inv)
    env.inv.hello(INV1, balance=Decimal("1000"))
    env.clients = [env.inv, env.trader]
    assert env.wait(lambda: state.health.instance not in ("", first_instance) and state.health.synced
                    and state.terminals.get(INV1) is not None and state.terminals[INV1].online
                    and state.terminals.get(TRADER) is not None and state.terminals[TRADER].online, 30), \
        (state.health, [e.topic for e in seen[-20:]])
    assert {TRADER, INV1, INV2} <= set(state.accounts)
    assert state.subscriptions[1].account == INV1
    assert env.wait(lambda: "EURUSD" in state.exposure and state.exposure["EURUSD"].buy >= Decimal("0.2"))
    assert any(ln.kind == "daemon" and "instance changed" in ln.text for ln in state.events)


def test_feed_admits_monitor_and_admin_keys_only(env: Env) -> None:
    ok_hub, _ = env.monitor("ops")  # admin: allowed
    bad_hub, bad_seen = env.monitor("trader")  # a terminal key: refused by ZAP
    assert env.wait(lambda: ok_hub.state.health.synced, 10)
    assert env.wait(lambda: any(e.topic == "monitor.auth_failed" for e in bad_seen), 10)
    time.sleep(0.3)
    assert not bad_hub.state.health.synced and not any(e.topic == "snapshot" for e in bad_seen)
    # and a monitor key cannot speak for a login on the ROUTER
    k = env.setup.curve("desk")
    term = TerminalClient(env.daemon.endpoints["router"], k)
    try:
        term.hello(TRADER)
        assert not wait_until(lambda: term.sessions[TRADER].welcomed, [term], 1.5)
    finally:
        term.close()
