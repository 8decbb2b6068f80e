"""Leases and fencing on a real PostgreSQL (the session's throwaway cluster, tests/conftest.py).

"Each daemon holds **leases** on shards in PostgreSQL, with a fencing token checked by every
write, so a daemon that lost its lease (paused, partitioned) can no longer write." (issue 16,
section 2)"""

from __future__ import annotations

import time

import pytest

pytest.importorskip("psycopg")

from bridge.cluster.lease import LeaseConfig  # noqa: E402
from bridge.daemon.cluster import ClusterConfig, ClusterDb, LeaseKeeper, shard_url  # noqa: E402
from bridge.daemon.store import Batch  # noqa: E402
from bridge.daemon.store_pg import Fenced, PgStore  # noqa: E402

LEASE = LeaseConfig(duration_ms=400, renew_ms=100)


def keeper(url: str, node: str, lost: list | None = None, lease: LeaseConfig = LEASE) -> LeaseKeeper:
    cfg = ClusterConfig(node, ("s1",), f"tcp://127.0.0.1:{5570 + int(node[1:])}", lease)
    return LeaseKeeper(url, cfg, on_lost=(lambda shard, why: lost.append((shard, why))) if lost is not None else None)


def event(seq: int) -> Batch:
    return Batch(events=[(seq, seq, "TimePassed", "{}")])


def test_a_paused_owner_is_fenced_once_another_daemon_took_the_shard(pg_url: str) -> None:
    db = ClusterDb(pg_url)
    db.add_shard("s1")
    lost: list = []
    d1 = keeper(pg_url, "d1", lost)
    token1 = d1.acquire("s1", timeout_s=60)
    store1 = PgStore(shard_url(pg_url, "s1"), lock=False, fence=("s1", token1))
    store1.write(event(1))
    d1.start()

    d1.paused = True  # a GC pause, a partition: no renewal
    d2 = keeper(pg_url, "d2", lease=LeaseConfig(duration_ms=600_000, renew_ms=100))  # d1 cannot take it back
    token2 = d2.acquire("s1", timeout_s=60)  # waits for d1's lease to expire
    assert token2 == token1 + 1
    store2 = PgStore(shard_url(pg_url, "s1"), lock=False, fence=("s1", token2))
    assert store2.recover().last_seq == 1  # the new owner recovers the shard's journal
    store2.write(event(2))

    # d1 wakes up and writes: refused, and nothing of its step is in the journal
    with pytest.raises(Fenced, match=f"shard s1 is fenced: token {token1} is not the lease's \\({token2}\\)"):
        store1.write(event(3))
    assert [e[0] for e in store2.recover().events] == [1, 2]
    assert store1.problem() == f"shard s1: the lease moved to token {token2}"
    with pytest.raises(Fenced):
        store1.save_snapshot(1, 1, b"state")
    store2.write_snapshot(2, 2, b"new owner's state")
    with pytest.raises(Fenced):  # its pieces neither: the new owner's snapshot of seq 2 stays whole
        store1.write_snapshot(2, 2, b"stale state")
    assert store2.recover().snapshot == b"new owner's state"
    # its keeper notices on its next round and reports the shard lost (its own thread's round:
    # a tick from here too would share the keeper's connection between two threads)
    d1.paused = False
    assert wait_for(lambda: bool(lost))
    assert lost[0][0] == "s1" and "taken over by d2" in lost[0][1]
    assert d1.held == {}
    for s in (store1, store2):
        s.close()
    d1.close()
    d2.close()
    db.close()


def test_a_renewing_owner_keeps_its_shard_and_a_clean_stop_hands_it_over_at_once(pg_url: str) -> None:
    db = ClusterDb(pg_url)
    db.add_shard("s1")
    long = LeaseConfig(duration_ms=60_000, renew_ms=100)  # no expiry while the test runs, however loaded
    d1 = LeaseKeeper(pg_url, ClusterConfig("d1", ("s1",), "tcp://127.0.0.1:5571", long))
    d2 = LeaseKeeper(pg_url, ClusterConfig("d2", ("s1",), "tcp://127.0.0.1:5572", long))
    token1 = d1.acquire("s1", timeout_s=60)
    first = db.view()[1]["s1"].expires_at
    # once renew_ms passed (the database's clock), a round renews: the expiry moves on
    assert wait_for(lambda: db.view()[0] >= first - long.duration_ms + long.renew_ms)
    d1.tick()
    assert db.view()[1]["s1"].expires_at > first
    assert d2.db.acquire("s1", token1, "d2", "x", long.duration_ms) is None  # held: the CAS changes nothing
    # a clean stop releases: d2 takes it without waiting for the expiry
    d1.close(release=True)
    assert d2.acquire("s1", timeout_s=60) == token1 + 1
    d2.close()
    db.close()


def wait_for(predicate, timeout_s: float = 30) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_the_cluster_tables_come_with_journal_schemas_4_and_5(pg_url: str) -> None:
    store = PgStore(pg_url)
    assert store.recover().meta["schema"] == "6"  # 5: the cluster ledger, 6: its request digests (docs/scaling.md)
    tables = {r[0] for r in store.conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'mtbridge_cluster'")}
    assert tables == {"shards", "leases", "directory", "ledger_accounts", "ledger_transfers"}
    store.close()


def test_a_hand_over_on_postgresql_goes_to_its_target_first(pg_url: str) -> None:
    """"**Rebalancing**: moving a shard to another daemon on purpose (drain, hand over the lease,
    redirect terminals)" (issue 16, section 2): the SQL side."""
    db = ClusterDb(pg_url)
    db.add_shard("s1")
    drained: list = []
    long = LeaseConfig(duration_ms=60_000, renew_ms=100)  # the reservation outlives a loaded machine's pause
    d1, d2, d3 = (LeaseKeeper(pg_url, ClusterConfig(node, ("s1",), f"tcp://127.0.0.1:557{i}", long))
                  for i, node in enumerate(("d1", "d2", "d3")))
    d1.on_drain = lambda shard, to: drained.append((shard, to))
    token1 = d1.acquire("s1", timeout_s=60)
    assert db.hand_over("s1", "d2")
    d1.tick()
    d1.tick()
    assert drained == [("s1", "d2")]  # asked once, however many rounds pass before it stops
    d1.close(release=True)  # the daemon's clean stop
    assert d3.db.acquire("s1", token1, "d3", "x", long.duration_ms) is None  # reserved to d2
    assert d2.acquire("s1", timeout_s=60) == token1 + 1
    now, leases = db.view()
    assert (leases["s1"].owner, leases["s1"].handover_to) == ("d2", "")
    for k in (d2, d3):
        k.close()
    db.close()


def test_a_journal_in_a_schema_its_role_owns_migrates_without_the_cluster_tables(pg_url: str) -> None:
    """docs/operations.md: "One journal per database (or per schema ...)". A role that may not
    create schemas in the database still gets schemas 4 and 5: the cluster's tables are skipped."""
    from bridge.daemon.store_pg import connect

    admin = connect(pg_url)
    role = "own_" + pg_url.rsplit("/", 1)[1]
    admin.execute(f'CREATE ROLE "{role}" LOGIN')
    admin.execute(f'REVOKE CREATE ON DATABASE "{pg_url.rsplit("/", 1)[1]}" FROM PUBLIC')
    admin.execute(f'CREATE SCHEMA jr AUTHORIZATION "{role}"')
    url = pg_url.replace("//mtbridge@", f"//{role}@") + "?options=-csearch_path%3Djr"
    store = PgStore(url)
    assert store.recover().meta["schema"] == "6"
    assert admin.execute("SELECT to_regnamespace('mtbridge_cluster')").fetchone()[0] is None
    store.write(event(1))
    store.close()
    admin.close()


def test_a_keeper_whose_connection_broke_reconnects_and_renews_again(pg_url: str) -> None:
    """A restarted database kills every session: the keeper must renew on a new connection,
    not retry the dead one until its lease lapses (every daemon would exit 3)."""
    db = ClusterDb(pg_url)
    db.add_shard("s1")
    long = LeaseConfig(duration_ms=60_000, renew_ms=100)  # no expiry while the test runs, however loaded
    lost: list = []
    d1 = LeaseKeeper(pg_url, ClusterConfig("d1", ("s1",), "tcp://127.0.0.1:5571", long),
                     on_lost=lambda shard, why: lost.append((shard, why)))
    d1.acquire("s1", timeout_s=60)
    d1.start()
    app = "mtbridge lease keeper d1"
    [(old_pid,)] = db.conn.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", (app,)).fetchall()
    assert db.conn.execute("SELECT pg_terminate_backend(%s)", (old_pid,)).fetchone()[0] is True
    killed_at = db.view()[0]
    # renewed again after the kill (the database's clock): the expiry moved past kill + duration
    assert wait_for(lambda: db.view()[1]["s1"].expires_at > killed_at + long.duration_ms)
    pids = [r[0] for r in db.conn.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", (app,))]
    assert pids and old_pid not in pids
    assert lost == []
    # its statements cannot hang past a renew interval (the new connection's setting)
    assert 0 < int(d1.db.conn.execute("SHOW statement_timeout").fetchone()[0].rstrip("ms")) < long.renew_ms
    d1.close()
    db.close()


@pytest.mark.parametrize("bad", ["", "s-1", "s 1", "é", "x" * 41, "s1;drop"])
def test_a_shard_name_breaking_the_config_rule_is_refused_before_any_sql(pg_url: str, bad: str) -> None:
    """A shard name becomes a schema name (`shard_<name>`): the one rule of `[cluster]` names
    (letters, digits and _, at most 40) guards `add_shard` too."""
    db = ClusterDb(pg_url)
    with pytest.raises(ValueError, match="letters, digits and _ only, at most 40"):
        db.add_shard(bad)


OLD_FENCE = (  # the fence of journal step 4: the token only
    "CREATE OR REPLACE FUNCTION mtbridge_cluster.fence(p_shard text, p_token bigint) RETURNS void "
    "LANGUAGE plpgsql AS $$ DECLARE cur bigint; BEGIN "
    "SELECT token INTO cur FROM mtbridge_cluster.leases WHERE shard = p_shard FOR SHARE; "
    "IF cur IS DISTINCT FROM p_token THEN RAISE EXCEPTION 'shard % is fenced: token % is not the lease''s (%)', "
    "p_shard, p_token, cur USING ERRCODE = 'MTB01'; END IF; END $$")


def test_a_released_lease_fences_its_former_owner_until_the_next_acquire(pg_url: str) -> None:
    """A release keeps the token (the next acquire bumps it) and empties `owner`: the fence
    checks both, so the releasing daemon's late writes are refused at once, not only after
    someone takes the shard. A cluster whose fence predates this gets it on a daemon's start."""
    import psycopg

    db = ClusterDb(pg_url)
    db.add_shard("s1")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(OLD_FENCE)
    db.close()
    db = ClusterDb(pg_url)  # a daemon's start: the fence is brought up to date
    token = db.acquire("s1", db.view()[1]["s1"].token, "d1", "", 60_000)
    store = PgStore(shard_url(pg_url, "s1"), lock=False, fence=("s1", token))
    try:
        store.write(event(1))
        assert db.release("s1", token, "d1")
        assert db.view()[1]["s1"].token == token  # the token is kept ...
        with pytest.raises(Fenced, match=f"shard s1 is fenced: its lease \\(token {token}\\) was released"):
            store.write(event(2))  # ... but its former owner no longer writes
        assert store.problem() == "shard s1: the lease was released"
        assert [e[0] for e in store.recover().events] == [1]
    finally:
        store.close()
        db.close()
