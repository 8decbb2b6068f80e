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
    token = db.acquire("s1", 0, "d1", "tcp://10.0.0.1:5570", 60_000)
    capsys.readouterr()
    assert main(["cluster", "status", "--url", pg_url]) == 0
    (row,) = capsys.readouterr().out.splitlines()[1:]
    assert row.split()[:3] == ["s1", "d1", str(token)] and "tcp://10.0.0.1:5570  [2 logins]" in row
    assert main(["cluster", "hand-over", "--url", pg_url, "s1", "d2"]) == 0
    assert "d1 hands it over to d2" in capsys.readouterr().out
    assert db.view()[1]["s1"].handover_to == "d2"
    assert main(["cluster", "hand-over", "--url", pg_url, "s9", "d2"]) == 2
    assert capsys.readouterr().err.strip() == "mtbridge cluster: error: no shard 's9' (known: s1)"
    assert main(["cluster", "add-shard", "--url", pg_url, "s-1"]) == 2
    assert "letters, digits and _ only" in capsys.readouterr().err
    db.close()
