"""Rebalancing with real daemon processes: the drained owner redirects its terminals itself.

"**Rebalancing**: moving a shard to another daemon on purpose (drain, hand over the lease,
redirect terminals) without losing or doubling a copy." (issue 16, section 2)

d1 owns s1, d2 stands by. During a fan-out, `hand_over("s1", "d2")`: d1 commits its last
step and snapshot, releases the lease reserved to d2, waits until d2 holds it, and sends each
connected terminal an unsolicited `redirect` naming d2's endpoint. The test clients here never
reconnect on silence (no heartbeat timeout at all): the only way they reach d2 is the redirect."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("psycopg")

from bridge.daemon.client import AdminClient, TerminalClient, wait_until  # noqa: E402
from bridge.daemon.cluster import ClusterDb, shard_url  # noqa: E402
from bridge.daemon.cluster_testing import Standby, node_config  # noqa: E402
from bridge.daemon.crash_testing import TRADER, copy_terminals, subscribe_investors  # noqa: E402
from bridge.daemon.testing import DaemonProcess, journal_commands, make_setup  # noqa: E402
from bridge.protocol import Open, Redirect  # noqa: E402

pytestmark = pytest.mark.integration

INVESTORS = list(range(3001, 3021))
LEASE = {"lease_ms": 4000, "renew_ms": 500}


def test_a_handed_over_shard_redirects_its_terminals_to_the_new_owner_nothing_lost_or_doubled(
        tmp_path: Path, pg_url: str) -> None:
    setup = make_setup(tmp_path, {"trader": ([TRADER], "trader"), "investors": (INVESTORS, "investor"),
                                  "ops": ([], "admin")},
                       heartbeat_ms=250, engine="open_validity_ms = 600000", journal_url=pg_url)
    d1 = DaemonProcess(node_config(setup, "d1", tmp_path / "d1", **LEASE)).start()
    d2 = DaemonProcess(node_config(setup, "d2", tmp_path / "d2", **LEASE))
    standby = Standby(d2)
    clients: list[TerminalClient] = []
    admin = None
    try:
        admin = AdminClient(d1.endpoints["admin"], setup.curve("ops"))
        subscribe_investors(admin, INVESTORS)
        admin.close()
        admin = None
        db = ClusterDb(pg_url)  # the directory was written by the registrations themselves
        assert db.directory() == {login: "s1" for login in (TRADER, *INVESTORS)}
        db.close()

        trader, inv, ex = copy_terminals(d1.endpoints["router"], setup, INVESTORS, clients, follow_redirects=True)
        p1 = trader.opened(TRADER, 7001, volume="0.1")
        trader.set_positions(TRADER, (p1,))
        assert wait_until(lambda: len(ex.executions) == len(INVESTORS), clients, 30)
        # the second fan-out: hand s1 over as soon as its first open reaches a terminal
        p2 = trader.opened(TRADER, 7002, volume="0.1")
        trader.set_positions(TRADER, (p1, p2))
        assert wait_until(lambda: any(m.key.split("-")[1] == "t7002" for m in inv.commands() if isinstance(m, Open)),
                          clients, 30)
        db = ClusterDb(pg_url)
        assert db.hand_over("s1", "d2")
        db.close()

        # both connections are redirected to d2 by d1 itself, then d1 exits cleanly
        assert wait_until(lambda: all(c.redirects_followed for c in clients), clients, 60), \
            d1.log_path.read_text()[-2000:]
        assert d1.proc.wait(60) == 0, d1.log_path.read_text()[-2000:]
        assert standby.serving(60), standby.failed
        for c in clients:
            moves = {(shard, endpoint) for _, shard, endpoint in c.redirects_followed}
            assert moves == {("s1", d2.endpoints["router"])} and c.endpoint == d2.endpoints["router"]
            unsolicited = [m for m in c.inbox if isinstance(m, Redirect)]
            assert unsolicited and all(m.seq > 1 for m in unsolicited)  # mid-session, not a hello's answer
        url = shard_url(pg_url, "s1")

        def settled() -> bool:
            rows = journal_commands(url)
            held = {(login, int(p.comment.split("-")[1][1:])) for login, book in ex.positions.items()
                    for p in book.values()}
            return (not any(status == "pending" for _, _, t, status in rows if t != "balance")
                    and held == {(login, t) for login in INVESTORS for t in (7001, 7002)})

        assert wait_until(settled, clients, 60), (journal_commands(url)[-3:], d2.log_path.read_text()[-2000:])
        assert wait_until(lambda: all(s.welcomed for c in clients for s in c.sessions.values()), clients, 30), [
            (c.endpoint, [(s.login, s.welcomed) for s in c.sessions.values() if not s.welcomed], c.errors[-3:],
             [m for m in c.inbox if isinstance(m, Redirect)]) for c in clients]
        admin = AdminClient(d2.endpoints["admin"], setup.curve("ops"))
        copies = admin("copies")["copies"]
        assert d2.terminate() == 0
    finally:
        for c in clients:
            c.close()
        if admin is not None:
            admin.close()
        d1.kill()
        d2.kill()
        standby.thread.join(timeout=30)

    # 0 duplicated: each key executed once, each (investor, trader position) opened once
    assert ex.executions and all(n == 1 for n in ex.executions.values())
    per_copy: dict[tuple[int, str], int] = {}
    for login, key in {(m.login, m.key) for m in inv.inbox if isinstance(m, Open) and m.key in ex.executions}:
        per_copy[(login, key.split("-")[1])] = per_copy.get((login, key.split("-")[1]), 0) + 1
    assert set(per_copy.values()) == {1} and len(per_copy) == 2 * len(INVESTORS)
    # 0 lost: every journaled command done, the engine's copy map = the terminals' positions
    rows = journal_commands(url)
    assert {key for key, _, t, _ in rows if t != "balance"} == set(ex.executions)
    assert all(status == "done" for _, _, _, status in rows)
    assert sorted(int(sub) for sub in copies) == list(range(1, len(INVESTORS) + 1))
    for sub_id, book in copies.items():
        login = INVESTORS[int(sub_id) - 1]
        engine_view = {(int(t), c["ticket"]) for t, c in book.items()}
        terminal_view = {(int(p.comment.split("-")[1][1:]), p.ticket) for p in ex.positions[login].values()}
        assert engine_view == terminal_view and {t for t, _ in engine_view} == {7001, 7002}
