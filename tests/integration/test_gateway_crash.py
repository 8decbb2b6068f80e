"""kill -9 of the daemon during fan-outs to investors served by the gateway plugin (issue 14,
item 4): nothing lost, nothing duplicated.

The kit of tests/integration/test_daemon_crash.py (the daemon as a subprocess, `make_setup`,
seeded kill delays, the journal read back), with the investors' side replaced: 60 investor
accounts on a simulated trade server, none logged in, served by `GatewayPlugin` over one
CURVE connection whose allow-list key is marked `gateway = true`; the trader is an EA
terminal (`TerminalCore`) on the same server. Kills land before, during and after the
journal commit of a fan-out and while the gateway's results come back. After the last
restart:

* every command the journal holds was executed by the gateway exactly once per key, and is
  done;
* no copy was opened twice for one (investor account, trader position) on the server;
* the engine's copy map equals the positions the investor accounts hold: one per trader
  position still open, and nothing else.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from decimal import Decimal as D
from pathlib import Path

import pytest
import zmq.utils.z85  # noqa: F401 - the ZAP handler needs the submodule imported

from bridge.daemon.client import AdminClient
from bridge.daemon.keys import allow_entry_toml
from bridge.daemon.testing import DaemonProcess, journal_commands, make_setup
from simulator.gateway import GatewayPlugin
from simulator.calendar import TradingCalendar
from simulator.prices import Tick
from simulator.server import TradeRequest, TradeServer
from simulator.server import retcodes as rc
from simulator.server.plugins.rules import default_plugins
from simulator.terminals import TerminalClient, TerminalCore, login_sessions

pytestmark = pytest.mark.integration

MASTER, INVESTOR_PW = "yS22Fr45", "Inv12345"
N_INVESTORS = 60
SEED = 20240611


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def trader_ticket(comment: str) -> int:
    """The trader position a copy copies, from its tag (`s<sub>-t<ticket>-...`)."""
    return int(comment.split("-")[1][1:])


async def until(predicate, timeout: float, what) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting: {what() if callable(what) else what}")
        await asyncio.sleep(0.02)


def test_kill_minus_9_during_fanout_to_the_gateway_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    clock = wall_ms  # the daemon subprocess runs on the wall clock: so does the trade server (UTC)
    # markets open every day, so the test runs on a weekend too
    gateway = GatewayPlugin(next_id=time.time_ns() // 1000)
    server = TradeServer(seed=SEED, start_ms=clock(), scrypt_n=2**4, plugins=[*default_plugins(), gateway],
                         calendar=TradingCalendar(closed_weekdays=frozenset()))

    def quote() -> None:
        server.on_tick(Tick("EURUSD", max(clock(), server.now_ms), D("1.10000"), D("1.10010")))

    quote()
    logins = []
    for i in range(1 + N_INVESTORS):
        email = f"acct{i}@example.com"
        server.register_client(email, f"acct{i}")
        login = server.open_account(email, "mt4_standard", "USD", 100, master_password=MASTER,
                                    investor_password=INVESTOR_PW)
        server.deposit(login, D(100000), payer_email=email)
        logins.append(login)
    trader, investors = logins[0], logins[1:]

    setup = make_setup(tmp_path, {"trader": ([trader], "trader"), "gateway": (investors, "investor"),
                                  "ops": ([], "admin")}, heartbeat_ms=250, engine="open_validity_ms = 600000")
    allow = (setup.dir / "allow.toml").read_text()
    plain = allow_entry_toml("gateway", setup.keys["gateway"].public, investors, "investor")
    assert plain in allow
    (setup.dir / "allow.toml").write_text(allow.replace(plain, allow_entry_toml(
        "gateway", setup.keys["gateway"].public, investors, "investor", gateway=True)))
    daemon = DaemonProcess(setup.config_path).start()
    admin = AdminClient(daemon.endpoints["admin"], setup.curve("ops"))
    try:
        assert admin("register_trader", trader="T", account=trader, account_type="mt4_standard", leverage=100,
                     commission_pct="10")["ok"]
        for i, login in enumerate(investors):
            assert admin("deposit", owner=f"I{i}", amount="100000")["ok"]
            assert admin("subscribe", investor=f"I{i}", trader="T", account=login, amount="100000")["ok"]
        admin.close()
        # endpoints keep their ports across restarts: pin them in the config now that we know them
        text = setup.config_path.read_text()
        for name in ("router", "pub", "admin"):
            text = text.replace(f'{name} = "tcp://127.0.0.1:*"', f'{name} = "{daemon.endpoints[name]}"', 1)
        setup.config_path.write_text(text)

        gateway.serve({"investor": investors})
        link = gateway.links["investor"]
        trader_core = TerminalCore(server, login_sessions(server, [(trader, MASTER)]), next_id=time.time_ns() // 1000)
        endpoint = daemon.endpoints["router"]

        def curve(name: str) -> dict:
            return {"server_key": setup.server.public, "public_key": setup.keys[name].public,
                    "secret_key": setup.keys[name].secret}

        clients = [TerminalClient(trader_core, endpoint, poll_interval=0.02, backoff=(0.05, 0.5), clock=clock,
                                  name="trader", **curve("trader")),
                   TerminalClient(link, endpoint, poll_interval=0.02, backoff=(0.05, 0.5), clock=clock,
                                  name="gateway", **curve("gateway"))]
        session = server.login(trader, MASTER)

        def trade(request: TradeRequest) -> int:
            quote()  # the server's time catches up with the wall clock
            res = server.order_send(session, request, reason=rc.DEAL_REASON_CLIENT)
            assert res.ok, res
            return res.position

        async def scenario() -> int:
            for c in clients:
                await c.start()
                await c.wait_welcomed(timeout=30)
            kills = 0
            for step in range(14):
                trade(TradeRequest(rc.TRADE_ACTION_DEAL, "EURUSD", D("0.1"), rc.ORDER_TYPE_BUY))
                if step % 3 == 2:  # close an older one
                    old = min(p.ticket for p in server.positions(trader))
                    trade(TradeRequest(rc.TRADE_ACTION_DEAL, "EURUSD", D("0.1"), rc.ORDER_TYPE_SELL, position=old))
                # seeded delays, so kills land before, during and after the fan-out's commit
                await asyncio.sleep(rng.uniform(0.0, 0.25))
                if rng.random() < 0.6:
                    await asyncio.to_thread(daemon.kill)
                    kills += 1
                    await asyncio.to_thread(daemon.start)
                else:
                    await asyncio.sleep(rng.uniform(0.05, 0.3))
            return kills

        def held() -> set[tuple[int, int]]:
            return {(login, trader_ticket(p.comment)) for login in investors for p in server.positions(login)}

        def want() -> set[tuple[int, int]]:
            return {(login, p.ticket) for login in investors for p in server.positions(trader)}

        def settled() -> bool:
            rows = journal_commands(setup.journal)
            return not any(status == "pending" for _, _, t, status in rows if t != "balance") and held() == want()

        def diagnosis() -> str:
            rows = journal_commands(setup.journal)
            pending = [r for r in rows if r[3] == "pending" and r[2] != "balance"]
            return (f"pending={pending[:5]} ({len(pending)}), extra={sorted(held() - want())[:5]}, "
                    f"missing={sorted(want() - held())[:5]} ({len(want() - held())}), "
                    f"reconnects={[c.reconnects[-2:] for c in clients]}, log={daemon.log_path.read_text()[-2000:]}")

        async def main() -> int:
            try:
                kills = await scenario()
                await until(settled, 120, diagnosis)
                return kills
            finally:
                for c in clients:
                    await c.stop()

        kills = asyncio.run(main())
        assert kills >= 3
        admin = AdminClient(daemon.endpoints["admin"], setup.curve("ops"))
        copies = admin("copies")["copies"]
        assert daemon.terminate() == 0
    finally:
        admin.close()
        daemon.kill()

    # exactly once per key: the gateway executed each (login, key) once; repeats were answered from its table
    executed = Counter((c.login, c.key) for c in link.commands if not c.repeated)
    assert executed and all(n == 1 for n in executed.values())
    rows = journal_commands(setup.journal)
    assert {(login, key) for key, login, t, _ in rows if t != "balance"} == set(executed)
    assert all(status == "done" for _, _, t, status in rows if t != "balance")
    # no copy opened twice for one (investor account, trader position), on the server itself
    opened = Counter((login, trader_ticket(d.comment)) for login in investors for d in server.history_deals(login)
                     if d.entry == rc.DEAL_ENTRY_IN and d.type in (rc.DEAL_TYPE_BUY, rc.DEAL_TYPE_SELL))
    assert opened and all(n == 1 for n in opened.values()), {k: n for k, n in opened.items() if n > 1}
    # the engine's copy map = the investor accounts' positions = one per open trader position
    open_trader = {p.ticket for p in server.positions(trader)}
    for sub_id, book in copies.items():
        login = investors[int(sub_id) - 1]
        engine_view = {(int(t), c["ticket"], D(c["volume"])) for t, c in book.items() if c.get("state", "open") == "open"}
        server_view = {(trader_ticket(p.comment), p.ticket, p.volume) for p in server.positions(login)}
        assert engine_view == server_view
        assert {t for t, _, _ in engine_view} == open_trader
