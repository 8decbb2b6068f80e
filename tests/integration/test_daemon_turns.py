"""The real daemon with a tiny turn budget: a fan-out that cannot leave in one turn is sent
over several, first thing in each, every open once; its commands are one journal row."""

from __future__ import annotations

import sqlite3
import time
from decimal import Decimal
from pathlib import Path

import pytest
import zmq

from bridge.daemon.client import AdminClient, TerminalClient, wait_until
from bridge.daemon.testing import DaemonProcess, journal_commands, make_setup
from bridge.daemon.sessions import ID_REPLAY
from bridge.protocol import Direction, Heartbeat, Open, PositionOpened, decode, encode

pytestmark = pytest.mark.integration

TRADER = 1001
N = 400


def test_a_fan_out_larger_than_a_turn_arrives_whole_and_once(tmp_path: Path) -> None:
    logins = list(range(100_000, 100_000 + N))
    setup = make_setup(tmp_path, {"trader": ([TRADER], "trader"), "investors": (logins, "investor"),
                                  "ops": ([], "admin")}, heartbeat_ms=5000, extra="ingest_budget_ms = 1")
    daemon = DaemonProcess(setup.config_path).start()
    try:
        admin = AdminClient(daemon.endpoints["admin"], setup.curve("ops"))
        assert admin("register_trader", trader="T", account=TRADER, account_type="mt4_standard", leverage=100,
                     commission_pct="0")["ok"]
        for i, login in enumerate(logins):
            assert admin("deposit", owner=f"I{i}", amount="100000")["ok"]
            assert admin("subscribe", investor=f"I{i}", trader="T", account=login, amount="100000")["ok"]
        trader = TerminalClient(daemon.endpoints["router"], setup.curve("trader"))
        inv = TerminalClient(daemon.endpoints["router"], setup.curve("investors"))
        inv.sock.setsockopt(zmq.RCVHWM, 0)
        trader.hello(TRADER)
        for login in logins:
            inv.hello(login)
        assert wait_until(lambda: trader.sessions[TRADER].welcomed and all(s.welcomed for s in inv.sessions.values()),
                          [inv, trader], 120), "sessions did not open"
        inv.inbox.clear()
        now = int(time.time() * 1000)
        trader.send(TRADER, PositionOpened, ticket=77, symbol="EURUSD", side="buy", volume=Decimal("0.1"),
                    price=Decimal("1.1"), sl=Decimal(0), tp=Decimal(0), time=now, magic=0, comment="")

        def opens() -> list[str]:
            return [m.key for m in inv.inbox if isinstance(m, Open)]

        expected = sorted(f"s{i + 1}-t77-open-1" for i in range(N))
        assert wait_until(lambda: sorted(set(opens())) == expected, [inv, trader], 60), \
            f"{len(set(opens()))}/{N} opens arrived"
        # A barrier instead of a wait: a replayed id for the last login (the pump goes by login)
        # is refused with an error queued behind whatever the daemon still had to send on this
        # connection; once it is here, an open sent twice would be here too.
        last = inv.sessions[logins[-1]]
        inv.send_raw(encode(Heartbeat(id=1, seq=last.seq + 1, ts=now, login=last.login)))
        assert wait_until(lambda: any(e.code == ID_REPLAY for e in inv.errors), [inv, trader], 60), "no id_replay"
        assert sorted(opens()) == expected  # every open once
        admin.close()
    finally:
        daemon.terminate(30)
    assert sum(1 for _, _, t, _ in journal_commands(setup.journal) if t == "open") == N
    db = sqlite3.connect(setup.journal)
    try:  # the fan-out's 400 opens: one packed row (plus the subscriptions' balance operations)
        assert db.execute("SELECT count(*) FROM command_batches WHERE length(rows) > 10000").fetchone()[0] == 1
    finally:
        db.close()
