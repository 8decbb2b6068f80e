"""One journal, on either store: the contract tests run on both (the `journal` fixture of
tests/daemon/conftest.py). `open()` opens a store on it (a PostgreSQL one without taking the
journal lock unless asked: tests reopen a journal the way a restart would, while the first
store is still referenced); `sql()` reads or tampers with its tables directly."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class Journal:
    def __init__(self, kind: str, tmp_path: Path, url: str = "") -> None:
        self.kind, self.path, self.url = kind, tmp_path / "j.db", url

    def open(self, lock: bool = False, **kw: Any) -> Any:
        if self.kind == "sqlite":
            from bridge.daemon.store import SqliteStore

            return SqliteStore(self.path, **kw)
        from bridge.daemon.store_pg import PgStore

        return PgStore(self.url, lock=lock, **kw)

    def sql(self, query: str, *params: Any) -> list[tuple]:
        """One statement in its own connection (autocommit); `?` placeholders on both."""
        if self.kind == "sqlite":
            import sqlite3

            db = sqlite3.connect(self.path, isolation_level=None)
            try:
                return db.execute(query, params).fetchall()
            finally:
                db.close()
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            cur = conn.execute(query.replace("?", "%s"), params)
            return cur.fetchall() if cur.description else []

    @staticmethod
    def connection(store: Any) -> Any:
        """The store's own connection (its `_commit_snapshot` takes one)."""
        return getattr(store, "db", None) or store.conn
