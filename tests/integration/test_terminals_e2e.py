"""Simulated terminals and the real daemon over loopback sockets (CURVE, and --insecure).

The daemon runs in its own thread (`DaemonThread`, real ROUTER + ZAP + SQLite journal);
the terminals (`simulator.terminals.TerminalClient`) run on the test's asyncio loop, backed
by a simulated trade server. Poll-until helpers with generous timeouts, no fixed sleeps.
"""

from __future__ import annotations

import asyncio
import socket
import time
from decimal import Decimal as D
from pathlib import Path

import pytest
import zmq.utils.z85  # noqa: F401 - the daemon's ZAP handler needs the submodule imported

from bridge.daemon.client import AdminClient
from bridge.daemon.config import load_config
from bridge.daemon.running import DaemonThread
from bridge.daemon.testing import make_setup
from simulator.prices import Tick
from simulator.server import TradeRequest, TradeServer
from simulator.server import retcodes as rc
from simulator.terminals import (
    LatencyRecorder,
    TerminalClient,
    TerminalCore,
    login_sessions,
)

pytestmark = pytest.mark.integration

MONDAY = 1704067200000
HOUR = 3_600_000
MASTER, INVESTOR = "yS22Fr45", "Inv12345"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def until(predicate, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


class World:
    """A trade server with one trader and two investor accounts, and a daemon for them.

    The daemon's clock and the server's run together (server time = a Monday morning plus
    the wall time elapsed), as a broker's daemon and trade server do."""

    def __init__(self, tmp: Path, *, port: int | None = None) -> None:
        self.t0, self.wall0 = MONDAY + 10 * HOUR, wall_ms()
        self.server = TradeServer(seed=11, start_ms=self.t0, scrypt_n=2**4)
        self.quote("1.10000", "1.10010")
        self.logins: dict[str, int] = {}
        for name in ("trader", "inv1", "inv2"):
            email = f"{name}@example.com"
            self.server.register_client(email, name)
            login = self.server.open_account(email, "mt4_standard", "USD", 100, master_password=MASTER,
                                             investor_password=INVESTOR)
            self.logins[name] = login
            if name == "trader":
                self.server.deposit(login, D(10000), payer_email=email)
        self.setup = make_setup(tmp, {
            "trader": ([self.logins["trader"]], "trader"),
            "investors": ([self.logins["inv1"], self.logins["inv2"]], "investor"),
            "ops": ([], "admin"),
        }, heartbeat_ms=200, engine="open_validity_ms = 600000")  # fmt: skip
        if port is not None:  # a fixed port, so a restarted daemon is found at the same address
            text = self.setup.config_path.read_text()
            self.setup.config_path.write_text(text.replace('router = "tcp://127.0.0.1:*"',
                                                           f'router = "tcp://127.0.0.1:{port}"', 1))
        self.daemon: DaemonThread | None = None
        self.clients: list[TerminalClient] = []

    def clock(self) -> int:
        return self.t0 + wall_ms() - self.wall0

    def quote(self, bid: str, ask: str) -> None:
        self.server.on_tick(Tick("EURUSD", max(self.clock(), self.server.now_ms), D(bid), D(ask)))

    def start_daemon(self, insecure: bool = False) -> None:
        self.insecure = insecure
        self.daemon = DaemonThread(load_config(self.setup.config_path), insecure=insecure, clock=self.clock).start()

    def stop_daemon(self) -> None:
        assert self.daemon is not None
        self.daemon.stop()
        self.daemon = None

    def back_office(self) -> None:
        ep = self.daemon.endpoints
        admin = AdminClient(ep["admin"], None if self.insecure else self.setup.curve("ops"))
        assert admin("register_trader", trader="T", account=self.logins["trader"], account_type="mt4_standard",
                     leverage=100, commission_pct="20")["ok"]
        for inv in ("inv1", "inv2"):
            assert admin("deposit", owner=inv, amount="2000")["ok"]
            r = admin("subscribe", investor=inv, trader="T", account=self.logins[inv], amount="2000",
                      mode="proportional" if inv == "inv2" else "equal")
            assert r["ok"] and r["records"][-1]["topic"] == "record.subscription_started", r
            # the broker books the confirmed investment on the server account
            self.server.deposit(self.logins[inv], D(2000), payer_email=f"{inv}@example.com")

    def terminal(self, name: str, logins: list[int], *, insecure: bool = False, recorder=None) -> TerminalClient:
        core = TerminalCore(self.server, login_sessions(self.server, [(x, MASTER) for x in logins]),
                            next_id=time.time_ns() // 1000, role=self.setup.roles.get(name))
        endpoint = self.daemon.endpoints["router"]
        keys = {} if insecure else {"server_key": self.setup.server.public,
                                    "public_key": self.setup.keys[name].public,
                                    "secret_key": self.setup.keys[name].secret}
        # the terminal's clock is its trade server's (UTC): it judges an open's `expires` by it
        client = TerminalClient(core, endpoint, insecure=insecure, poll_interval=0.02, backoff=(0.05, 0.5),
                                recorder=recorder, name=name, clock=self.clock, **keys)
        self.clients.append(client)
        return client

    async def close(self) -> None:
        for c in self.clients:
            await c.stop()
        if self.daemon is not None:
            self.stop_daemon()

    def trade(self, side: str, volume: str, **kw):
        self.quote("1.10000", "1.10010")  # server time catches up with the daemon's
        session = self.server.login(self.logins["trader"], MASTER)
        otype = rc.ORDER_TYPE_BUY if side == "buy" else rc.ORDER_TYPE_SELL
        res = self.server.order_send(session, TradeRequest(rc.TRADE_ACTION_DEAL, "EURUSD", D(volume), otype, **kw),
                                     reason=rc.DEAL_REASON_CLIENT)
        assert res.ok, res
        return res

    def copies(self, inv: str):
        return self.server.positions(self.logins[inv])


def test_trader_open_is_copied_and_closed_over_curve(tmp_path: Path) -> None:
    async def main() -> None:
        w = World(tmp_path)
        w.start_daemon()
        try:
            w.back_office()
            rec = LatencyRecorder()
            trader = w.terminal("trader", [w.logins["trader"]], recorder=rec)
            investors = w.terminal("investors", [w.logins["inv1"], w.logins["inv2"]], recorder=rec)
            for c in (trader, investors):
                await c.start()
                await c.wait_welcomed(timeout=20)
            res = w.trade("buy", "0.5")
            await until(lambda: w.copies("inv1") and w.copies("inv2"), what="copies on both investor accounts")
            (c1,), (c2,) = w.copies("inv1"), w.copies("inv2")
            assert c1.volume == D("0.5")  # equal mode
            assert c2.volume == D("0.1")  # proportional: 2000 / 10000 of 0.5
            assert c1.comment.startswith("s1-t") and c1.magic == 7_770_001  # the daemon's key tag, kept exactly
            assert investors.core.commands and all(c.ok and not c.repeated for c in investors.core.commands)
            assert rec.latencies_ns() and all(ns > 0 for ns in rec.latencies_ns())
            # the trader closes: the copies follow
            w.trade("sell", "0.5", position=res.position)
            await until(lambda: not w.copies("inv1") and not w.copies("inv2"), what="copies closed")
            assert trader.reconnects == [] and investors.reconnects == []
            assert trader.connections == 1 and investors.connections == 1
        finally:
            await w.close()

    asyncio.run(main())


def test_insecure_transport(tmp_path: Path) -> None:
    async def main() -> None:
        w = World(tmp_path)
        w.start_daemon(insecure=True)
        try:
            w.back_office()
            trader = w.terminal("trader", [w.logins["trader"]], insecure=True)
            investors = w.terminal("investors", [w.logins["inv1"], w.logins["inv2"]], insecure=True)
            for c in (trader, investors):
                await c.start()
                await c.wait_welcomed(timeout=20)
            w.trade("sell", "0.3")
            await until(lambda: w.copies("inv1") and w.copies("inv2"), what="copies over plain transport")
        finally:
            await w.close()

    asyncio.run(main())


def test_terminals_survive_a_daemon_restart(tmp_path: Path) -> None:
    async def main() -> None:
        w = World(tmp_path, port=free_port())
        w.start_daemon()
        try:
            w.back_office()
            trader = w.terminal("trader", [w.logins["trader"]])
            investors = w.terminal("investors", [w.logins["inv1"], w.logins["inv2"]])
            for c in (trader, investors):
                await c.start()
                await c.wait_welcomed(timeout=20)
            first = w.trade("buy", "0.5")
            await until(lambda: w.copies("inv1") and w.copies("inv2"), what="first copies")
            copy_tickets = {p.ticket for inv in ("inv1", "inv2") for p in w.copies(inv)}

            w.stop_daemon()
            # while the daemon is down the trader closes the first position and opens another
            w.trade("sell", "0.5", position=first.position)
            second = w.trade("sell", "0.2")
            await until(lambda: trader.reconnects and investors.reconnects, what="terminals noticing the outage")

            w.start_daemon()  # same journal, same port
            await until(lambda: trader.core.welcomed() and investors.core.welcomed(), timeout=30,
                        what="hello + snapshot after the restart")
            assert all(link.resumed for c in (trader, investors) for link in c.core.links.values())
            assert trader.connections >= 2 and investors.connections >= 2
            # the snapshot is the truth: the vanished position's copies close, the new one is copied
            await until(lambda: all(len(w.copies(i)) == 1 and w.copies(i)[0].ticket not in copy_tickets
                                    for i in ("inv1", "inv2")), timeout=30, what="copies reconciled")
            assert {p.type for i in ("inv1", "inv2") for p in w.copies(i)} == {rc.POSITION_TYPE_SELL}
            assert second.position not in copy_tickets
            # nothing was executed twice: one opening deal per copy key
            for inv in ("inv1", "inv2"):
                opens = [d.comment for d in w.server.history_deals(w.logins[inv])
                         if d.entry == rc.DEAL_ENTRY_IN and d.type in (rc.DEAL_TYPE_BUY, rc.DEAL_TYPE_SELL)]
                assert len(opens) == len(set(opens)) == 2, opens
        finally:
            await w.close()

    asyncio.run(main())


def test_investor_terminal_restart_keeps_copies_single(tmp_path: Path) -> None:
    """A restarted investor terminal (new core rebuilt from the server, new socket) says hello
    with its snapshot; copying goes on and nothing is executed twice."""

    async def main() -> None:
        w = World(tmp_path)
        w.start_daemon()
        try:
            w.back_office()
            trader = w.terminal("trader", [w.logins["trader"]])
            investors = w.terminal("investors", [w.logins["inv1"], w.logins["inv2"]])
            for c in (trader, investors):
                await c.start()
                await c.wait_welcomed(timeout=20)
            w.trade("buy", "0.3")
            await until(lambda: w.copies("inv1") and w.copies("inv2"), what="first copies")
            fresh = TerminalCore(w.server, login_sessions(w.server, [(w.logins["inv1"], MASTER),
                                                                     (w.logins["inv2"], MASTER)]),
                                 next_id=time.time_ns() // 1000, role="investor")
            await investors.restart_terminal(fresh)
            await investors.wait_welcomed(timeout=20)
            assert all(link.resumed for link in investors.core.links.values())
            w.trade("sell", "0.2")
            await until(lambda: len(w.copies("inv1")) == 2 and len(w.copies("inv2")) == 2, what="second copies")
            for inv in ("inv1", "inv2"):
                opens = [d.comment for d in w.server.history_deals(w.logins[inv])
                         if d.entry == rc.DEAL_ENTRY_IN and d.type in (rc.DEAL_TYPE_BUY, rc.DEAL_TYPE_SELL)]
                assert len(opens) == len(set(opens)) == 2, opens
        finally:
            await w.close()

    asyncio.run(main())
