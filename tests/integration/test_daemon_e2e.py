"""The daemon end to end over real loopback sockets with CURVE: every copy rule the engine has.

Each test runs its own daemon (in a thread) with its own journal; terminals are protocol
clients (bridge.daemon.client) on DEALER sockets. Poll-until-condition everywhere, no sleeps.
"""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest

from bridge.daemon.client import AdminClient, Executor, TerminalClient, wait_until
from bridge.daemon.config import load_config
from bridge.daemon.running import DaemonThread
from bridge.daemon.testing import journal_commands, journal_records, make_setup
from bridge.protocol import AccountUpdate, Close, Open, Position

pytestmark = pytest.mark.integration

TRADER, INV1, INV2, INV3 = 1001, 2001, 2002, 2003


class Env:
    def __init__(self, tmp: Path, engine: str = "") -> None:
        self.setup = make_setup(tmp, {
            "trader": ([TRADER], "trader"),
            "investors": ([INV1, INV2, INV3], "investor"),
            "ops": ([], "admin"),
        }, heartbeat_ms=200, engine=engine)
        self.daemon = DaemonThread(load_config(self.setup.config_path)).start()
        ep = self.daemon.endpoints
        self.admin = AdminClient(ep["admin"], self.setup.curve("ops"))
        self.trader = TerminalClient(ep["router"], self.setup.curve("trader"))
        self.inv = TerminalClient(ep["router"], self.setup.curve("investors"))
        self.ex = Executor(self.inv)
        self.clients = [self.inv, self.trader]
        r = self.admin("register_trader", trader="T", account=TRADER, account_type="mt4_standard", leverage=100,
                       commission_pct="20")
        assert r["ok"], r

    def subscribe(self, investor: str, account: int, amount: str = "1000", **kw: object) -> int:
        assert self.admin("deposit", owner=investor, amount=amount)["ok"]
        r = self.admin("subscribe", investor=investor, trader="T", account=account, amount=amount, **kw)
        assert r["ok"] and r["records"][-1]["topic"] == "record.subscription_started", r
        return r["records"][-1]["subscription"]

    def connect(self, *logins: int, positions: tuple[Position, ...] = ()) -> None:
        for login in logins:
            client = self.trader if login == TRADER else self.inv
            client.hello(login, positions=positions if login == TRADER else ())
        assert self.wait(lambda: all((self.trader if x == TRADER else self.inv).sessions[x].welcomed
                                     for x in logins))

    def wait(self, predicate, timeout: float = 20.0) -> bool:  # noqa: ANN001
        return wait_until(predicate, self.clients, timeout)

    def copies(self, sub: int) -> dict:
        return self.admin("copies")["copies"][str(sub)]

    def records(self, topic: str) -> list[dict]:
        return journal_records(self.setup.journal, topic)

    def close(self) -> None:
        for c in self.clients:
            c.close()
        self.admin.close()
        self.daemon.stop()


@pytest.fixture
def env(tmp_path: Path):
    e = Env(tmp_path)
    yield e
    e.close()


def test_open_partial_close_and_full_close_propagate(env: Env) -> None:
    sub = env.subscribe("I1", INV1)
    env.connect(TRADER, INV1)
    env.trader.opened(TRADER, 555, volume="0.5")
    assert env.wait(lambda: env.copies(sub).get("555", {}).get("state") == "open")
    opens = [m for m in env.inv.commands(INV1) if isinstance(m, Open)]
    assert len(opens) == 1 and opens[0].volume == Decimal("0.5") and opens[0].comment == opens[0].key
    env.trader.closed(TRADER, 555, "0.2", remaining="0.3")
    assert env.wait(lambda: Decimal(env.copies(sub).get("555", {}).get("volume", "0")) == Decimal("0.3"))
    env.trader.closed(TRADER, 555, "0.3")
    assert env.wait(lambda: env.copies(sub) == {})
    closed = env.records("record.copy_closed")
    assert [Decimal(r["volume"]) for r in closed] == [Decimal("0.2"), Decimal("0.3")]
    assert [Decimal(r["profit"]) for r in closed] == [Decimal("2.00"), Decimal("3.00")]  # the deals' profit
    assert all(n == 1 for n in env.ex.executions.values())


@pytest.mark.parametrize("reason", ["sl", "tp", "so"])
def test_close_by_sl_tp_so_propagates(env: Env, reason: str) -> None:
    sub = env.subscribe("I1", INV1)
    env.connect(TRADER, INV1)
    env.trader.opened(TRADER, 600, volume="0.1")
    assert env.wait(lambda: env.copies(sub).get("600", {}).get("state") == "open")
    env.trader.closed(TRADER, 600, "0.1", reason=reason, profit="-5")
    assert env.wait(lambda: env.copies(sub) == {})
    expected = {"sl": "trader_sl", "tp": "trader_tp", "so": "trader_stop_out"}[reason]
    assert [r["reason"] for r in env.records("record.copy_closed")] == [expected]


def test_refusals_carry_their_reasons(env: Env) -> None:
    rich = env.subscribe("I1", INV1)
    poor = env.subscribe("I2", INV2, amount="10")
    refusing = env.subscribe("I3", INV3)
    env.ex.refuse = lambda cmd: 10019 if isinstance(cmd, Open) and cmd.login == INV3 else None
    env.connect(TRADER, INV1, INV2, INV3)
    env.trader.opened(TRADER, 700, volume="0.5")
    assert env.wait(lambda: env.copies(rich).get("700", {}).get("state") == "open"
                    and not env.copies(refusing))
    refused = {r["subscription"]: r["code"] for r in env.records("record.copy_refused")}
    assert refused == {poor: "no_money", refusing: "server_refused"}


def test_offline_investor_is_refused_terminal_offline(env: Env) -> None:
    sub = env.subscribe("I2", INV2)
    env.connect(TRADER, INV2)
    env.inv.close()  # silent from now on
    env.clients = [env.trader]
    assert env.wait(lambda: INV2 not in env.admin("status")["sessions"], 15)
    env.trader.opened(TRADER, 800, volume="0.1")
    assert env.wait(lambda: any(r["code"] == "terminal_offline" for r in env.records("record.copy_refused")))
    assert env.copies(sub) == {}


def test_protection_closes_the_copies(env: Env) -> None:
    sub = env.subscribe("I1", INV1, protection_pct="10")
    env.connect(TRADER, INV1)
    env.trader.opened(TRADER, 900, volume="0.1")
    assert env.wait(lambda: env.copies(sub).get("900", {}).get("state") == "open")
    env.inv.send(INV1, AccountUpdate, balance=Decimal("1000"), equity=Decimal("850"), margin=Decimal("110"),
                 free_margin=Decimal("740"), leverage=100)
    assert env.wait(lambda: env.copies(sub) == {})
    assert env.records("record.protection_triggered")
    closes = [m for m in env.inv.commands(INV1) if isinstance(m, Close)]
    assert len(closes) == 1
    assert env.admin("status")["subscriptions"][str(sub)]["state"] == "suspended_by_protection"


def test_trader_disconnect_then_reconcile(env: Env) -> None:
    sub = env.subscribe("I1", INV1)
    # the trader's first hello reports position 400, opened long before the subscription
    env.trader.hello(TRADER, positions=(Position(400, "EURUSD", "buy", Decimal("1"), Decimal("1.1"), Decimal(0),
                                                 Decimal(0), 1_000, 0, ""),))
    assert env.wait(lambda: env.trader.sessions[TRADER].welcomed)
    env.inv.hello(INV1)
    assert env.wait(lambda: env.inv.sessions[INV1].welcomed)
    p555 = env.trader.opened(TRADER, 555, volume="0.3")
    p556 = env.trader.opened(TRADER, 556, volume="0.2")
    assert env.wait(lambda: {k: v["state"] for k, v in env.copies(sub).items()} == {"555": "open", "556": "open"})
    # the trader terminal drops; meanwhile 555 closes and 556 is partly closed on the server
    env.trader.close()
    env.clients = [env.inv]
    assert env.wait(lambda: TRADER not in env.admin("status")["sessions"], 15)
    env.trader._connect()
    env.clients = [env.inv, env.trader]
    old = Position(400, "EURUSD", "buy", Decimal("1"), Decimal("1.1"), Decimal(0), Decimal(0), 1_000, 0, "")
    part = Position(556, "EURUSD", "buy", Decimal("0.1"), p556.price, Decimal(0), Decimal(0), p556.time, 0, "")
    env.trader.hello(TRADER, positions=(old, part))
    assert env.wait(lambda: set(env.copies(sub)) == {"556"}
                    and Decimal(env.copies(sub)["556"]["volume"]) == Decimal("0.1"))
    assert "400" not in env.copies(sub)  # opened before the subscription: never copied
    assert any(r["code"] == "opened_before_subscription" and r["trader_ticket"] == 400
               for r in env.records("record.copy_refused"))
    assert {r["trader_ticket"]: r["reason"] for r in env.records("record.copy_closed")} == {555: "reconcile",
                                                                                          556: "reconcile"}
    assert p555.ticket == 555
    assert all(n == 1 for n in env.ex.executions.values())


def test_investor_reconnect_gets_pending_commands_once(env: Env) -> None:
    sub = env.subscribe("I1", INV1)
    env.connect(TRADER, INV1)
    env.ex.refuse = lambda cmd: None
    # the investor drops the connection without answering: its command stays pending
    env.inv.handlers.clear()
    env.trader.opened(TRADER, 1200, volume="0.1")
    assert env.wait(lambda: len(env.inv.commands(INV1)) == 1)
    env.inv.handlers.append(env.ex._on_message)
    env.inv.reconnect()  # new socket, hello again: the daemon re-sends the same key
    assert env.wait(lambda: env.copies(sub).get("1200", {}).get("state") == "open")
    assert env.ex.executions == {"s1-t1200-open-1": 1}
    assert [(k, s) for k, _, t, s in journal_commands(env.setup.journal) if t == "open"] == [
        ("s1-t1200-open-1", "done")]


def test_a_daemon_pause_beyond_the_offline_limit_drops_no_session(env: Env) -> None:
    """The daemon's loop blocks for twice the offline limit (a GC or disk stall) while the
    terminals keep heartbeating: afterwards every session is online, no frame was refused,
    and the next trader deal is copied."""
    sub = env.subscribe("I1", INV1)
    env.connect(TRADER, INV1)
    cfg = env.daemon.daemon.config
    pause = 2 * cfg.heartbeat_ms * cfg.offline_after / 1000
    assert env.daemon.loop is not None
    env.daemon.loop.call_soon_threadsafe(time.sleep, pause)  # blocks the daemon's loop, not libzmq
    end = time.monotonic() + pause
    env.wait(lambda: time.monotonic() >= end, timeout=pause + 5)  # heartbeats go on meanwhile
    env.trader.opened(TRADER, 701, volume="0.1")
    assert env.wait(lambda: env.copies(sub).get("701", {}).get("state") == "open")
    assert env.inv.errors == [] and env.trader.errors == []
    core = env.daemon.daemon.core
    assert env.daemon.call(lambda: sorted(s.login for s in core.session_of.values() if s.online)) == [TRADER, INV1]
    assert env.records("record.copy_refused") == []


def test_a_terminal_whose_thread_blocks_loses_nothing_it_queued(env: Env) -> None:
    """The trader terminal's own thread stops (no heartbeat, no reading) for twice the offline
    limit while its libzmq keeps the connection alive; what it queued meanwhile is accepted
    when it comes, on the same connection, and the deal is copied within its validity (the
    block is well inside it, so a slow machine cannot turn this into an expiry)."""
    sub = env.subscribe("I1", INV1)
    env.connect(TRADER, INV1)
    cfg = env.daemon.daemon.config
    block = 2 * cfg.heartbeat_ms * cfg.offline_after / 1000
    assert block * 1000 <= cfg.engine.open_validity_ms / 2
    opened_at = int(time.time() * 1000)
    end = time.monotonic() + block
    wait_until(lambda: time.monotonic() >= end, [env.inv], block + 5)  # only the investor keeps talking
    env.trader.opened(TRADER, 702, volume="0.1", time_ms=opened_at)  # the event it queued while blocked
    assert env.wait(lambda: env.copies(sub).get("702", {}).get("state") == "open")
    assert env.trader.errors == []  # nothing refused: not_started would mean the session was dropped
