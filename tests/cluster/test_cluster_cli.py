"""`mtbridge cluster`: status, add-shard, assign, hand-over (docs/scaling.md).

"**Rebalancing**: moving a shard to another daemon on purpose (drain, hand over the lease,
redirect terminals) without losing or doubling a copy." (issue 16, section 2): the operator's
command for it."""

from __future__ import annotations

import pytest

pytest.importorskip("psycopg")

from bridge.cli import main  # noqa: E402
from bridge.daemon.cluster import ClusterDb  # noqa: E402


def test_status_add_assign_and_hand_over(pg_url: str, capsys) -> None:  # noqa: ANN001
    assert main(["cluster", "add-shard", "--url", pg_url, "s1"]) == 0
    assert main(["cluster", "assign", "--url", pg_url, "s1", "1001", "3001"]) == 0
    db = ClusterDb(pg_url)
    token = db.acquire("s1", 0, "d1", "tcp://10.0.0.1:5570", 60_000, admin="tcp://10.0.0.1:5572",
                       feed="tcp://10.0.0.1:5571")
    capsys.readouterr()
    assert main(["cluster", "status", "--url", pg_url]) == 0
    head, row = capsys.readouterr().out.splitlines()
    assert head.split()[-3:] == ["endpoint", "admin", "feed"]
    # each shard's terminal, admin and feed endpoints (the monitor's and the dealer's addresses)
    assert row.split()[:3] == ["s1", "d1", str(token)]
    assert "tcp://10.0.0.1:5570  tcp://10.0.0.1:5572  tcp://10.0.0.1:5571  [2 logins]" in row
    assert main(["cluster", "hand-over", "--url", pg_url, "s1", "d2"]) == 0
    assert "d1 hands it over to d2" in capsys.readouterr().out
    assert db.view()[1]["s1"].handover_to == "d2"
    assert main(["cluster", "hand-over", "--url", pg_url, "s9", "d2"]) == 2
    assert capsys.readouterr().err.strip() == "mtbridge cluster: error: no shard 's9' (known: s1)"
    assert main(["cluster", "add-shard", "--url", pg_url, "s-1"]) == 2
    assert "letters, digits and _ only" in capsys.readouterr().err
    db.close()


def test_a_cluster_schema_of_journal_step_4_gains_the_routing_columns_on_start(pg_url: str) -> None:
    """The admin and feed endpoints of the lease rows and the trader-name table came after
    journal step 4; a daemon's start adds them to an existing cluster (idempotent)."""
    import psycopg

    from bridge.daemon.cluster import ClusterDb
    from bridge.daemon.store_pg import CLUSTER_DDL

    with psycopg.connect(pg_url, autocommit=True) as conn, conn.transaction():
        for sql in CLUSTER_DDL:  # what step 4 created
            conn.execute(sql)
        conn.execute("INSERT INTO mtbridge_cluster.shards VALUES ('s1', 'shard_s1', 0)")
        conn.execute("INSERT INTO mtbridge_cluster.leases (shard, owner, endpoint, token, expires_at) "
                     "VALUES ('s1', 'd1', 'tcp://d1:5570', 4, 0)")
    for _ in range(2):  # twice: the second start changes nothing
        db = ClusterDb(pg_url)
        try:
            _, leases = db.view()
            assert (leases["s1"].owner, leases["s1"].token, leases["s1"].admin, leases["s1"].feed) == ("d1", 4, "", "")
            assert db.traders() == {}
        finally:
            db.close()
