"""A simulated terminal (simulator/terminals, the asyncio shell) redirected between two real
daemon processes that own different shards.

"**Terminal routing**: a directory in PostgreSQL maps login → shard → current owner's
endpoint. A terminal may connect to any daemon; one that does not own its login answers
`hello` with a `redirect` (documented in docs/protocol.md, implemented in the simulated
terminals and the EAs)." (issue 16, section 2)"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal as D
from pathlib import Path

import pytest

pytest.importorskip("psycopg")

from bridge.daemon.cluster import ClusterDb  # noqa: E402
from bridge.daemon.cluster_testing import node_config  # noqa: E402
from bridge.daemon.testing import DaemonProcess, make_setup  # noqa: E402
from simulator.server import TradeServer  # noqa: E402
from simulator.terminals import TerminalClient, TerminalCore, login_sessions  # noqa: E402

pytestmark = pytest.mark.integration

MONDAY = 1704067200000
MASTER, INVESTOR = "yS22Fr45", "Inv12345"


def test_a_terminal_at_the_wrong_daemon_is_redirected_and_welcomed_by_the_owner(tmp_path: Path,
                                                                                pg_url: str) -> None:
    server = TradeServer(seed=11, start_ms=MONDAY + 36_000_000, scrypt_n=2**4)
    server.register_client("t@example.com", "t")
    login = server.open_account("t@example.com", "mt4_standard", "USD", 100, master_password=MASTER,
                                investor_password=INVESTOR)
    server.deposit(login, D(10000), payer_email="t@example.com")
    setup = make_setup(tmp_path, {"trader": ([login], "trader")}, heartbeat_ms=200, journal_url=pg_url)
    db = ClusterDb(pg_url)
    for shard in ("s1", "s2"):
        db.add_shard(shard)
    db.assign([login], "s2")
    db.close()
    d1 = DaemonProcess(node_config(setup, "d1", tmp_path / "d1", shards=("s1",))).start()
    d2 = DaemonProcess(node_config(setup, "d2", tmp_path / "d2", shards=("s2",))).start()
    try:
        async def scenario() -> TerminalClient:
            core = TerminalCore(server, login_sessions(server, [(login, MASTER)]), next_id=time.time_ns() // 1000,
                                role="trader")
            client = TerminalClient(core, d1.endpoints["router"], server_key=setup.server.public,
                                    public_key=setup.keys["trader"].public, secret_key=setup.keys["trader"].secret,
                                    poll_interval=0.02, backoff=(0.05, 0.5), name="trader")
            await client.start()
            try:
                await client.wait_welcomed(timeout=30)
            finally:
                await client.stop()
            return client

        client = asyncio.run(scenario())
    finally:
        d1.terminate()
        d2.terminate()
    assert client.endpoint == d2.endpoints["router"] and client.home == d1.endpoints["router"]
    # d1 reads the lease table every renew interval: until it has seen d2 take s2 it answers
    # "no owner yet" (the terminal retries), then names d2; never any other endpoint
    served = f"login {login}: shard s2 is served at {d2.endpoints['router']}"
    waiting = f"login {login}: shard s2 is served at (no owner yet)"
    assert client.reconnects[-1] == served, client.reconnects
    assert set(client.reconnects[:-1]) <= {waiting}, client.reconnects
    assert client.connections == 1 + len(client.reconnects)  # one connection per redirect followed
