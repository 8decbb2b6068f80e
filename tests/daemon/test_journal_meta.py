"""The journal's `meta` rows are rewritten in place (store.py `write`)."""

from __future__ import annotations

from pathlib import Path

from bridge.daemon.store import Batch, SqliteStore


def test_a_logins_last_id_is_updated_in_place(tmp_path: Path) -> None:
    """Every frame's message id is journaled (`id:<login>`, replay protection) with the step it
    belongs to. An upsert rewrites the row where it is; INSERT OR REPLACE deleted it and
    inserted a new one (a new rowid), rewriting the key index's page on every commit too
    (docs/architecture.md, "What one copy costs")."""
    store = SqliteStore(tmp_path / "j.db")
    store.write(Batch(meta={"id:1001": "5"}))
    store.write(Batch(meta={"id:2001": "7"}))
    before = dict(store.db.execute("SELECT key, rowid FROM meta"))
    store.write(Batch(meta={"id:1001": "6"}))
    assert dict(store.db.execute("SELECT key, rowid FROM meta")) == before  # the same rows, in place
    assert store.recover().meta["id:1001"] == "6" and store.recover().meta["id:2001"] == "7"
    store.close()
