"""Adversarial review (issue 16 §2): "a daemon that lost its lease (paused, partitioned) can no
longer write" -- and the shard must still fail over, and the other shards keep running.

The fence locks the lease row FOR SHARE for the whole step transaction
(`mtbridge_cluster.fence`, store_pg.py), and a takeover is an UPDATE of that row.

1. An owner paused or partitioned *inside* a step (a cluster-ledger step keeps its transaction
   open across several round trips and the engine's work; a partitioned client's backend lives
   until TCP keepalive notices, hours by default) keeps that row lock: the standby's acquire
   waits on it without any timeout (the keeper's statement_timeout is set only at `start()`,
   after `acquire_any`) and the journal connection has no idle_in_transaction_session_timeout.
   Failover never happens while the stuck transaction lives.
   Fixed: a shard's journal connections bound each step (`step_timeout_ms`, below the lease:
   the server ends a transaction idle or running that long), and a takeover waits at most a
   `lock_timeout` on the row, then polls again (other shards meanwhile).
2. Every `ClusterDb(url)` (each daemon start, each `mtbridge cluster` command, each lease
   keeper reconnect is ddl=False, but the start is not) runs `ALTER TABLE leases ADD COLUMN IF
   NOT EXISTS`, which takes an ACCESS EXCLUSIVE lock on the whole lease table even when the
   column exists. Queued behind one shard's step in flight, it blocks every other shard's
   fence check (and renewals, views) until that step ends: one slow or stuck step on s1 plus a
   daemon starting anywhere stalls s2 as well.
   Fixed: a start reads the catalog and runs no DDL on a current schema; an upgrade's DDL
   waits at most DDL_LOCK_TIMEOUT_MS for the lease table, steps back and tries again."""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("psycopg")

from bridge.cluster.lease import LeaseConfig  # noqa: E402
from bridge.daemon.cluster import ClusterConfig, ClusterDb, LeaseKeeper, ddl_applied, shard_url  # noqa: E402
from bridge.daemon.config import StartupError  # noqa: E402
from bridge.daemon.store import Batch  # noqa: E402
from bridge.daemon.store_pg import Fenced, PgStore  # noqa: E402
from ledgerkit import wait_for_a_blocked_session  # noqa: E402

LEASE = LeaseConfig(duration_ms=400, renew_ms=100)
# generous bound on a wait (not a timing claim): the standby should have the shard about one
# lease after the owner stopped renewing; the test only must not hang
WAIT_S = 20 * LEASE.duration_ms / 1000


def _in_thread(fn) -> tuple[threading.Thread, list]:  # noqa: ANN001
    out: list = []

    def run() -> None:
        try:
            out.append(fn())
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            out.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


def _open_step(store: PgStore):  # noqa: ANN202
    step = store.step()
    step.__enter__()  # the fence is checked: the lease row is locked FOR SHARE until the step ends
    return step


def _end_step(step) -> None:  # noqa: ANN001
    try:
        step.__exit__(RuntimeError, RuntimeError("end of test"), None)  # rolled back
    except Exception:  # noqa: BLE001 - the server may have ended the session
        pass


def test_an_owner_paused_inside_a_step_does_not_block_the_failover(pg_url: str) -> None:
    """The owner's journal is opened as `open_shard` opens it (the lease's step bound). The test
    never ends the paused owner's step; the standby takes the shard all the same, and the
    deposed owner's step commits nothing when it wakes. (The standby need not even block: the
    server ends the idle step within `step_ms`, before the lease has expired.)"""
    import psycopg

    db = ClusterDb(pg_url)
    db.add_shard("s1")
    d1 = LeaseKeeper(pg_url, ClusterConfig("d1", ("s1",), "tcp://127.0.0.1:5571", LEASE))
    d2 = LeaseKeeper(pg_url, ClusterConfig("d2", ("s1",), "tcp://127.0.0.1:5572", LEASE))
    token = d1.acquire("s1", timeout_s=60)
    store1 = PgStore(shard_url(pg_url, "s1"), lock=False, fence=("s1", token), step_timeout_ms=LEASE.step_ms)
    step = _open_step(store1)  # d1 is inside a step ... and paused there: it never renews
    standby, got = _in_thread(lambda: d2.acquire_any(("s1",), timeout_s=WAIT_S))
    try:
        standby.join(2 * WAIT_S)
        assert got and not isinstance(got[0], BaseException) and got[0][0] == "s1", \
            f"the standby never took the expired shard (blocked behind the deposed owner's open step): {got}"
        assert db.view()[1]["s1"].owner == "d2"
        with pytest.raises((psycopg.Error, Fenced)):  # d1 wakes up: its step is not committed
            step.__exit__(None, None, None)
        step = None
    finally:
        if step is not None:
            _end_step(step)
        standby.join()
        store1.close()
        d2.close(release=True)
        d1.close(release=False)
        db.close()


def test_a_takeover_blocked_on_the_lease_row_is_retried_and_does_not_hold_up_other_shards(pg_url: str) -> None:
    """A session holding s1's lease row with no bound (a tool, an older daemon, a backend the
    server has not ended yet): the standby's takeover of s1 gives up after its lock_timeout and
    polls again, so it takes the free s2 meanwhile, honours its own deadline, and takes s1 once
    the row is free."""
    import psycopg

    db = ClusterDb(pg_url)
    tokens = {}
    for shard in ("s1", "s2"):
        db.add_shard(shard)
        tokens[shard] = db.acquire(shard, db.view()[1][shard].token, "d-old", "", 1)  # expires at once
    blocker = psycopg.connect(pg_url, autocommit=True)
    blocker.execute("BEGIN")
    blocker.execute("SELECT mtbridge_cluster.fence('s1', %s)", (tokens["s1"],))  # the row, FOR SHARE
    d2 = LeaseKeeper(pg_url, ClusterConfig("d2", ("s1", "s2"), "tcp://127.0.0.1:5572", LEASE))
    try:
        now, leases = db.view()
        while any(lease.expires_at > now for lease in leases.values()):  # a 1 ms lease: expired at once
            now, leases = db.view()
        first, got = _in_thread(lambda: d2.acquire_any(("s1", "s2"), timeout_s=WAIT_S))
        first.join(2 * WAIT_S)
        assert got and not isinstance(got[0], BaseException) and got[0][0] == "s2", got  # s1 is tried first
        assert db.view()[1]["s1"].owner == "d-old"
        short, refused = _in_thread(lambda: d2.acquire_any(("s1",), timeout_s=2 * LEASE.duration_ms / 1000))
        short.join(2 * WAIT_S)
        assert refused and isinstance(refused[0], StartupError), refused  # its deadline, not a hang
        standby, taken = _in_thread(lambda: d2.acquire_any(("s1",), timeout_s=WAIT_S))
        wait_for_a_blocked_session(pg_url)  # its takeover waits on the row lock (and again after each timeout)
        blocker.execute("ROLLBACK")
        standby.join(2 * WAIT_S)
        assert taken and not isinstance(taken[0], BaseException) and taken[0][0] == "s1", taken
    finally:
        blocker.close()
        d2.close(release=True)
        db.close()


@pytest.mark.parametrize("schema", ["current", "behind"])
def test_a_daemon_starting_while_s1_is_mid_step_does_not_stall_shard_s2(pg_url: str, schema: str) -> None:
    """`current`: the start runs no DDL at all (it completes while s1's step is open).
    `behind` (the lease table lacks a column of this version): the start's ALTER TABLE waits
    for s1's step, stepping back every DDL_LOCK_TIMEOUT_MS, so s2 writes meanwhile; once s1's
    step ends the schema is brought up to date."""
    import psycopg

    db = ClusterDb(pg_url)
    tokens = {}
    for shard in ("s1", "s2"):
        db.add_shard(shard)
        tokens[shard] = db.acquire(shard, db.view()[1][shard].token, f"d-{shard}", "", 3_600_000)
    if schema == "behind":
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("ALTER TABLE mtbridge_cluster.leases DROP COLUMN feed")
    store1 = PgStore(shard_url(pg_url, "s1"), lock=False, fence=("s1", tokens["s1"]))
    store2 = PgStore(shard_url(pg_url, "s2"), lock=False, fence=("s2", tokens["s2"]))
    step = _open_step(store1)  # s1's owner is in a step (a ledger step waiting for a wallet lock, say)
    starting, started = _in_thread(lambda: ClusterDb(pg_url))  # a third daemon starts: its DDL
    written: list = []
    s2_thread = None
    try:
        if schema == "current":
            starting.join(WAIT_S)
            assert started and isinstance(started[0], ClusterDb), f"the start waited for s1's step: {started}"
        else:
            wait_for_a_blocked_session(pg_url)  # the DDL waits for s1's step
        s2_thread, written = _in_thread(lambda: store2.write(Batch(events=[(1, 1, "TimePassed", "{}")])))
        s2_thread.join(WAIT_S)
        assert written == [None], "shard s2's step is stalled behind a starting daemon's ALTER TABLE on the " \
                                  f"lease table, itself waiting for shard s1's step: {written}"
    finally:
        _end_step(step)
        starting.join()
        if s2_thread is not None:
            s2_thread.join()
        for s in (store1, store2):
            s.close()
        for c in started:
            if isinstance(c, ClusterDb):
                c.close()
        db.close()
    assert started and isinstance(started[0], ClusterDb), started
    check = ClusterDb(pg_url, ddl=False)
    try:
        assert ddl_applied(check.conn)  # brought up to date (behind), or already (current)
    finally:
        check.close()
