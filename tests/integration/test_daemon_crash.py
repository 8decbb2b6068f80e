"""kill -9 at random points during fan-outs, restart, and nothing is lost or duplicated.

The daemon runs as a subprocess (`python -m bridge.cli daemon`). A trader opens
and closes positions; 60 investor subscriptions copy them (one investor connection bound to
all 60 logins). A seeded RNG picks kill delays, so kills land before, during and after the
journal commit of a fan-out and while results come back. After the last restart:

* every command the journal holds was executed by its terminal exactly once per key;
* no copy was opened twice for one (subscription, trader position);
* every command is answered (status done) and the engine's copy map equals the positions the
  investor terminals hold, for every trader position still open, and nothing else.

On both journals: the SQLite file and PostgreSQL (`journal.url`, the session's test server;
there the journal lock is an advisory lock the server drops when the killed daemon's
connection closes).
"""

from __future__ import annotations

import random
import time
from decimal import Decimal
from pathlib import Path

import pytest

from bridge.daemon.client import AdminClient, Executor, TerminalClient, wait_until
from bridge.daemon.testing import DaemonProcess, journal_commands, make_setup
from bridge.protocol import Open, Position

pytestmark = pytest.mark.integration

TRADER = 1001
INVESTORS = list(range(3001, 3061))
SEED = 20240611


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_kill_minus_9_during_fanout_loses_and_duplicates_nothing(tmp_path: Path, store: str, request) -> None:
    rng = random.Random(SEED)
    url = request.getfixturevalue("pg_url") if store == "postgres" else ""
    setup = make_setup(tmp_path, {"trader": ([TRADER], "trader"), "investors": (INVESTORS, "investor"),
                                  "ops": ([], "admin")},
                       heartbeat_ms=250, engine="open_validity_ms = 600000", journal_url=url)
    daemon = DaemonProcess(setup.config_path).start()
    clients: list[TerminalClient] = []
    admin = None
    try:
        def connect_admin() -> AdminClient:
            return AdminClient(daemon.endpoints["admin"], setup.curve("ops"))

        admin = connect_admin()
        assert admin("register_trader", trader="T", account=TRADER, account_type="mt4_standard", leverage=100,
                     commission_pct="10")["ok"]
        for i, login in enumerate(INVESTORS):
            assert admin("deposit", owner=f"I{i}", amount="100000")["ok"]
            assert admin("subscribe", investor=f"I{i}", trader="T", account=login, amount="100000")["ok"]
        # Endpoints keep their ports across restarts: pin them in the config now that we know them.
        text = setup.config_path.read_text()
        for name in ("router", "pub", "admin"):
            text = text.replace(f'{name} = "tcp://127.0.0.1:*"', f'{name} = "{daemon.endpoints[name]}"', 1)
        setup.config_path.write_text(text)

        trader = TerminalClient(daemon.endpoints["router"], setup.curve("trader"))
        inv = TerminalClient(daemon.endpoints["router"], setup.curve("investors"))
        clients += [inv, trader]
        ex = Executor(inv)
        trader.hello(TRADER)
        for login in INVESTORS:
            inv.hello(login)
        assert wait_until(lambda: all(s.welcomed for s in inv.sessions.values()) and trader.sessions[TRADER].welcomed,
                          clients, 30)

        open_positions: dict[int, Position] = {}
        kills = 0

        def restart() -> None:
            nonlocal kills
            daemon.kill()
            kills += 1
            daemon.start()

        for step in range(14):
            ticket = 7000 + step
            p = trader.opened(TRADER, ticket, volume="0.1")
            open_positions[ticket] = p
            trader.set_positions(TRADER, tuple(open_positions.values()))
            if step % 3 == 2:  # close an older one
                old = sorted(open_positions)[0]
                del open_positions[old]
                trader.set_positions(TRADER, tuple(open_positions.values()))
                trader.closed(TRADER, old, "0.1")
            if rng.random() < 0.6:
                deadline = time.monotonic() + rng.uniform(0.0, 0.25)
                wait_until(lambda: time.monotonic() >= deadline, clients, 5)  # keep answering meanwhile
                restart()
            else:
                wait_until(lambda: False, clients, rng.uniform(0.05, 0.3))
        assert kills >= 3

        # Let everything settle: every position still open is copied once per subscription, closed ones not.
        def settled() -> bool:
            rows = journal_commands(setup.journal)
            if any(status == "pending" for _, _, t, status in rows if t != "balance"):
                return False
            held = {(login, int(p.comment.split("-")[1][1:])) for login, book in ex.positions.items()
                    for p in book.values()}
            want = {(login, t) for login in INVESTORS for t in open_positions}
            return held == want

        def diagnosis() -> str:
            rows = journal_commands(setup.journal)
            pending = [r for r in rows if r[3] == "pending"]
            held = {(login, int(p.comment.split("-")[1][1:])) for login, book in ex.positions.items()
                    for p in book.values()}
            want = {(login, t) for login in INVESTORS for t in open_positions}
            return (f"pending={pending[:5]} ({len(pending)}), extra={sorted(held - want)[:5]}, "
                    f"missing={sorted(want - held)[:5]} ({len(want - held)}), errors={trader.errors[-3:]} "
                    f"{inv.errors[-3:]}, log={daemon.log_path.read_text()[-3000:]}")

        assert wait_until(settled, clients, 40), diagnosis()
        admin.close()
        admin = connect_admin()
        copies = admin("copies")["copies"]
        assert daemon.terminate() == 0
    finally:
        for c in clients:
            c.close()
        if admin is not None:
            admin.close()
        daemon.kill()

    # exactly once per key, and no (subscription, trader position) opened twice
    assert ex.executions and all(n == 1 for n in ex.executions.values())
    opened = [m for m in inv.inbox if isinstance(m, Open)]
    executed_opens = {(m.login, m.key) for m in opened if m.key in ex.executions}
    per_copy: dict[tuple[int, str], int] = {}
    for login, key in executed_opens:
        trader_ticket = key.split("-")[1]
        per_copy[(login, trader_ticket)] = per_copy.get((login, trader_ticket), 0) + 1
    assert all(n == 1 for n in per_copy.values()), {k: n for k, n in per_copy.items() if n > 1}
    rows = journal_commands(setup.journal)
    journaled = {key for key, _, t, _ in rows if t != "balance"}
    assert journaled == set(ex.executions)
    assert all(status == "done" for _, _, _, status in rows)
    # the engine's copy map = the investor terminals' positions
    for sub_id, book in copies.items():
        login = INVESTORS[int(sub_id) - 1]
        engine_view = {(int(t), c["ticket"], Decimal(c["volume"])) for t, c in book.items()}
        terminal_view = {(int(p.comment.split("-")[1][1:]), p.ticket, p.volume) for p in ex.positions[login].values()}
        assert engine_view == terminal_view
        assert {t for t, _, _ in engine_view} == set(open_positions)
