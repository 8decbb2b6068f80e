"""Adversarial review (issue 16 §2): every shard has its own journal. The config and
`ClusterDb.add_shard` accept shard names with capitals (`NAME = [A-Za-z0-9_]{1,40}`), and
`add_shard` creates the *quoted* schema "shard_S1", but `shard_url` puts the name unquoted in
`search_path`, which PostgreSQL folds to lower case: shard S1's journal is opened in schema
shard_s1 -- shard s1's journal, when both exist ("a shard ... and its own journal",
bridge/cluster/lease.py), or no schema at all."""

from __future__ import annotations

import pytest

pytest.importorskip("psycopg")

from bridge.daemon.cluster import ClusterDb, journal_schema, shard_url  # noqa: E402
from bridge.daemon.store_pg import PgStore  # noqa: E402


def test_shard_S1_opens_its_own_journal_not_the_one_of_shard_s1(pg_url: str) -> None:
    db = ClusterDb(pg_url)
    try:
        db.add_shard("s1")
        db.add_shard("S1")  # accepted: letters, digits and _
    finally:
        db.close()
    lower = PgStore(shard_url(pg_url, "s1"), lock=False)
    try:
        assert lower.schema_name == journal_schema("s1")
    finally:
        lower.close()
    upper = PgStore(shard_url(pg_url, "S1"), lock=False)
    try:
        assert upper.schema_name == journal_schema("S1"), upper.schema_name  # today: shard_s1, s1's journal
    finally:
        upper.close()
