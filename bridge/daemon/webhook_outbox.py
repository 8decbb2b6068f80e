"""The webhook outbox: one SQLite file beside the journal, one row per (event, URL).

A row is written (status `pending`) before its first attempt and marked `done` after a 2xx,
so a restart resumes every delivery not yet acknowledged. `failed`: gave up after
`max_attempts`; `dropped`: pushed out by the queue bound (the oldest pending row goes when a
new one would exceed `queue_limit`). Finished rows are pruned to the newest `keep_done`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    n        INTEGER PRIMARY KEY AUTOINCREMENT,
    id       TEXT NOT NULL,             -- the event's idempotency id (payload `id`)
    url      TEXT NOT NULL,
    event    TEXT NOT NULL,
    body     BLOB NOT NULL,             -- the exact bytes POSTed
    created  INTEGER NOT NULL,          -- ms
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at  INTEGER NOT NULL,          -- ms: not before
    status   TEXT NOT NULL DEFAULT 'pending',  -- pending | done | failed | dropped
    error    TEXT NOT NULL DEFAULT '',
    UNIQUE (id, url)
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, next_at);
"""


@dataclass(frozen=True, slots=True)
class Delivery:
    n: int
    id: str
    url: str
    event: str
    body: bytes
    attempts: int
    next_at: int


class Outbox:
    def __init__(self, path: Path, queue_limit: int = 10_000, keep_done: int = 10_000) -> None:
        self.path = Path(path)
        self.queue_limit, self.keep_done = queue_limit, keep_done
        self.db = sqlite3.connect(str(self.path), isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def add(self, event_id: str, event: str, body: bytes, urls: tuple[str, ...], now: int) -> list[str]:
        """Queue one event for every URL (again: ignored). Returns the ids of rows dropped to
        stay within `queue_limit`."""
        dropped: list[str] = []
        with self.db:
            self.db.execute("BEGIN")
            for url in urls:
                self.db.execute("INSERT OR IGNORE INTO deliveries (id, url, event, body, created, next_at) "
                                "VALUES (?, ?, ?, ?, ?, ?)", (event_id, url, event, body, now, now))
            excess = self.pending() - self.queue_limit
            if excess > 0:
                rows = self.db.execute("SELECT n, id FROM deliveries WHERE status = 'pending' ORDER BY n LIMIT ?",
                                       (excess,)).fetchall()
                self.db.executemany("UPDATE deliveries SET status = 'dropped', error = 'queue full' WHERE n = ?",
                                    [(n,) for n, _ in rows])
                dropped = [i for _, i in rows]
        return dropped

    def pending(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM deliveries WHERE status = 'pending'").fetchone()[0])

    def next_due(self, now: int) -> Delivery | None:
        """The oldest pending delivery whose time has come."""
        row = self.db.execute("SELECT n, id, url, event, body, attempts, next_at FROM deliveries "
                              "WHERE status = 'pending' AND next_at <= ? ORDER BY next_at, n LIMIT 1",
                              (now,)).fetchone()
        return None if row is None else Delivery(row[0], row[1], row[2], row[3], bytes(row[4]), row[5], row[6])

    def next_time(self) -> int | None:
        """When the next pending delivery is due (ms), or None."""
        row = self.db.execute("SELECT MIN(next_at) FROM deliveries WHERE status = 'pending'").fetchone()
        return row[0]

    def done(self, n: int) -> None:
        with self.db:
            self.db.execute("UPDATE deliveries SET status = 'done', attempts = attempts + 1, error = '' WHERE n = ?",
                            (n,))
            self.db.execute("DELETE FROM deliveries WHERE status != 'pending' AND n <= "
                            "(SELECT n FROM deliveries WHERE status != 'pending' ORDER BY n DESC LIMIT 1 OFFSET ?)",
                            (self.keep_done,))

    def failed(self, n: int, error: str, retry_at: int | None) -> None:
        """A failed attempt: retry at `retry_at`, or give up (None)."""
        with self.db:
            if retry_at is None:
                self.db.execute("UPDATE deliveries SET status = 'failed', attempts = attempts + 1, error = ? "
                                "WHERE n = ?", (error[:500], n))
            else:
                self.db.execute("UPDATE deliveries SET attempts = attempts + 1, next_at = ?, error = ? WHERE n = ?",
                                (retry_at, error[:500], n))

    def rows(self) -> list[dict]:
        """Every row, for tests and `sqlite3` inspection."""
        cur = self.db.execute("SELECT n, id, url, event, attempts, status, error FROM deliveries ORDER BY n")
        return [dict(zip(("n", "id", "url", "event", "attempts", "status", "error"), r)) for r in cur]
