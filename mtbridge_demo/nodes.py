"""The demo's daemons: one (the default, SQLite journal) or one per shard (`--shards N`,
PostgreSQL, mtbridge_demo.shards). A `Node` is one daemon with the terminals of its logins
and a reader of its journal; the run drives every node the same way."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.daemon.store import CommandRow, read_commands


class SqliteJournal:
    """The plain demo's journal file, read by the back office (balance operations, the report)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self.db is None:
            self.db = sqlite3.connect(self.path)
        return self.db

    def commands(self, after_cid: int = 0, type_: str | None = None) -> list[tuple[CommandRow, str, str | None]]:
        return read_commands(self._conn(), after_cid, type_)

    def records(self) -> list[tuple[str, dict]]:
        return [(t, json.loads(b)) for t, b in self._conn().execute("SELECT topic, body FROM records ORDER BY id")]

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None


class PgJournal:
    """A shard's journal on PostgreSQL (its schema first on the search path: `shard_url`)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn: Any = None

    def _conn(self) -> Any:
        if self.conn is None:
            from bridge.daemon.store_pg import connect

            self.conn = connect(self.url, "mtbridge demo back office")
        return self.conn

    def commands(self, after_cid: int = 0, type_: str | None = None) -> list[tuple[CommandRow, str, str | None]]:
        from bridge.daemon.store_pg import read_commands as pg_read_commands

        conn = self._conn()
        with conn.transaction():  # one snapshot of batches and outcomes
            return pg_read_commands(conn, after_cid, type_)

    def records(self) -> list[tuple[str, dict]]:
        conn = self._conn()
        with conn.transaction():
            return [(t, json.loads(b)) for t, b in conn.execute("SELECT topic, body FROM records ORDER BY id")]

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


@dataclass(eq=False)
class Node:
    """One daemon of the demo and what belongs to it."""

    name: str  # "daemon" (the plain demo) or the cluster node, "d1"
    shard: str  # "" (the plain demo) or the shard it owns, "s1"
    trader_ids: tuple[str, ...]
    investor_ids: tuple[str, ...]
    journal: SqliteJournal | PgJournal
    config: Any = None  # its DaemonConfig
    daemon: Any = None  # mtbridge_demo.daemons.InProcess or InChildProcess, once started
    trader_client: Any = None
    investor_client: Any = None
    booked_cid: int = 0  # the last balance operation booked on the trade server
    # subscription ids: this daemon's own -> the demo's (its order among all subscriptions started)
    subscriptions: dict[int, int] = field(default_factory=dict)

    @property
    def clients(self) -> list[Any]:
        return [c for c in (self.trader_client, self.investor_client) if c is not None]

    def quiet(self) -> bool:
        """Every frame its terminals sent was handled, every reply delivered, nothing outstanding."""
        frames_in, frames_out, busy = self.daemon.counters()
        return (frames_in == sum(c.sent for c in self.clients) and frames_out == sum(c.received for c in self.clients)
                and not busy)

    def state(self) -> str:
        """Why it is not quiet (a timeout's message)."""
        frames_in, frames_out, _ = self.daemon.counters()
        return (f"{self.name}: frames_in={frames_in} sent={sum(c.sent for c in self.clients)} "
                f"frames_out={frames_out} received={sum(c.received for c in self.clients)} {self.daemon.state()}")
