"""Adversarial review of the warm standby (bridge/daemon/warm_standby.py, issue 16).

"Failover: when a daemon dies, another takes its shards when the lease expires, recovers from
the shared journal and resumes sending; terminals are redirected. Kill -9 of a shard owner at
random points during fan-outs (repeat ≥ 20 times): 0 copies lost, 0 duplicated" (issue 16,
section 2). The warm path promises the state a cold recovery builds, byte for byte
(warm_standby.py: "Whatever it cannot vouch for ... makes it give up: the daemon then
recovers cold"). Each test here is a journal history under which it vouches for a state the
journal no longer holds."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

pytest.importorskip("psycopg")

from bridge.daemon.cluster import ClusterDb, shard_url  # noqa: E402
from bridge.daemon.config import parse_config  # noqa: E402
from bridge.daemon.core import DaemonCore  # noqa: E402
from bridge.daemon.store_pg import PgStore  # noqa: E402
from bridge.daemon.warm_standby import WarmShard, WarmShards  # noqa: E402
from tests.cluster.test_warm_standby import T0, Owner, cold, far, shard  # noqa: E402, F401

pytestmark = pytest.mark.integration

TABLES = ("meta", "events", "snapshots", "snapshot_parts", "command_batches", "command_results", "records",
          "logins")


def dump(url: str) -> None:
    """The operator's backup of the shard's journal (pg_dump of its schema), as of now."""
    store = PgStore(url, lock=False)
    try:
        with store.conn.transaction():
            for t in TABLES:
                store.conn.execute(f"CREATE TABLE backup_{t} AS SELECT * FROM {t}")
    finally:
        store.close()


def restore(url: str) -> None:
    """The backup restored in one transaction (pg_restore --clean --single-transaction)."""
    store = PgStore(url, lock=False)
    try:
        with store.conn.transaction():
            for t in TABLES:
                store.conn.execute(f"DELETE FROM {t}")
                store.conn.execute(f"INSERT INTO {t} SELECT * FROM backup_{t}")
    finally:
        store.close()


def reopened(url: str, now: int) -> Owner:
    """A shard owner started on the journal as it is (a cold recovery, as any restart)."""
    owner = Owner.__new__(Owner)
    owner.config = parse_config({"engine": {"server_timezone": "UTC", "open_validity_ms": 600_000}})
    owner.store = PgStore(url, lock=False)
    owner.now = now
    owner.core = DaemonCore.recover(owner.config, owner.store.recover(), now=now, insecure=True)
    owner.step()
    return owner


def test_a_journal_restored_to_an_earlier_point_under_a_waiting_standby_is_not_vouched_for(shard: str) -> None:
    """Three daemons: d1 owns s1, d2 and d3 wait warm. The shard's journal is restored in place
    in one transaction (a data-only restore: TRUNCATE + COPY, or pg_restore
    --single-transaction, into the running database: the standbys' sessions stay up and no
    read of theirs need fail; emulated here by DELETE + INSERT) from a backup taken before steps the standbys had already
    applied (a bad release rolled back, a point-in-time recovery): here a trader's
    registration. d1 restarts as a standby; d2 takes s1, recovers cold (the journal is shorter
    than its warm engine: `take` gives up) and journals other events from the restored seq on.
    d3 (`warm` here) keeps waiting. Its rounds only ask for `seq > applied` and its takeover
    only checks `max(seq) == applied` (warm_standby.py `_apply`, `take`): once the journal is
    as long again, it applies d2's events on top of the registration the journal no longer
    has, and when d2 dies it takes over with it, in a state no replay of the journal gives (whatever the rolled-back steps
    did: a subscription, a stop, an open, lives on in the new owner's engine). Only its
    command-batch count check can notice, when the rolled-back steps journaled commands."""
    first = Owner(shard)
    dump(shard)  # the backup: the trader and 8 subscriptions
    first.admin("register_trader", trader="T2", account=1002, account_type="mt4_standard", leverage=100,
                commission_pct="10")
    warm = WarmShard(shard, first.config, "t")
    warm.round(far())
    applied = warm.applied
    assert applied == first.core.seq
    first.store.close()  # d1 stops; the journal is restored; d2 takes the shard over, cold
    restore(shard)
    warm.round(far())  # the journal is shorter than the warm engine now: nothing to read
    owner = reopened(shard, first.now + 10)  # d2
    while owner.core.seq <= applied + 2:  # other business journaled from the restored seq on
        owner.admin("deposit", owner="I0", amount="1")
        warm.round(far())
    result = warm.take(owner.store.conn)  # d2 dies: d3 takes over warm
    expected = cold(owner)
    owner.store.close()
    assert result is None or result[1].to_bytes() == expected.engine.to_bytes(), (
        f"the warm engine took over with traders {sorted(result[1].s.traders)}, "
        f"the journal's (cold) {sorted(expected.engine.s.traders)}")


def test_a_standby_of_two_shards_serves_the_second_while_the_first_uses_up_its_rounds(
        pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`WarmShards.idle`: "Rounds until `deadline`, the shards taking turns (the least recently
    served first)". The turn (`_next`) only moves when every shard got its round before the
    deadline: when the first shard's round uses the time up (a round runs until the deadline
    while there are events to apply: a standby started late, a busy owner), `idle` returns
    before the second and the next poll starts with the first again. The second shard then
    gets no round at all, however many polls pass, and its takeover is a cold recovery (no
    copy is lost: liveness, "copying resumes within lease expiry + recovery", not
    exactly-once). Modelled with the module's clock: s1's round ends at the deadline."""
    from bridge.daemon import warm_standby

    db = ClusterDb(pg_url)
    for s in ("s1", "s2"):
        db.add_shard(s)
    db.close()
    owners = {s: Owner(shard_url(pg_url, s)) for s in ("s1", "s2")}
    clock = SimpleNamespace(t=1000.0)
    monkeypatch.setattr(warm_standby, "time", SimpleNamespace(monotonic=lambda: clock.t))
    shards = WarmShards({s: shard_url(pg_url, s) for s in owners}, owners["s1"].config, "d2")
    try:
        busy = shards.shards["s1"]
        real_round = busy.round

        def round_until_the_deadline(deadline: float) -> None:  # s1 has more to apply than a poll holds
            real_round(deadline)
            clock.t = deadline

        monkeypatch.setattr(busy, "round", round_until_the_deadline)
        for _poll in range(4):
            shards.idle(clock.t + 0.3)
            clock.t += 0.01  # the poll itself
        served = shards.shards["s2"].stats["rounds"]
    finally:
        shards.close()
        for owner in owners.values():
            owner.store.close()
    assert served > 0, "s2 got no round in 4 polls: s1 took every turn"
