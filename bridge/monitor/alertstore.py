"""`AlertStore`: the dashboard's own journal of alerts and their acknowledgements (SQLite).

The dashboard is a separate process from the daemon, so it keeps what the desk must not lose
in a small file of its own (`--desk-db`, default `:memory:` = no journal). Bounded: only the
newest `keep` alerts are kept (older rows are deleted as new ones arrive). An alert's `key`
is unique among the kept rows, so a feed item seen twice raises one alert. Thread-safe (the feed thread writes,
the web handlers read and acknowledge).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

from bridge.monitor.alerts import Alert

DEFAULT_KEEP = 5000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    ts INTEGER NOT NULL,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    text TEXT NOT NULL,
    login INTEGER,
    subscription INTEGER,
    acked_by TEXT NOT NULL DEFAULT '',
    acked_at INTEGER NOT NULL DEFAULT 0
);
"""
_COLS = "id, key, ts, kind, severity, text, login, subscription, acked_by, acked_at"


def _row(r: tuple) -> Alert:
    return Alert(key=r[1], ts=r[2], kind=r[3], severity=r[4], text=r[5], login=r[6], subscription=r[7], id=r[0],
                 acked_by=r[8], acked_at=r[9])


class AlertStore:
    def __init__(self, path: str | Path = ":memory:", *, keep: int = DEFAULT_KEEP) -> None:
        if keep < 1:
            raise ValueError("alerts: keep must be at least 1")
        self.path = str(path)
        self.keep = keep
        if self.path != ":memory:":
            parent = Path(self.path).parent
            if not parent.is_dir():
                raise ValueError(f"--desk-db: directory {parent} does not exist")
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL: no fsync per alert
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add(self, alerts: Iterable[Alert]) -> int:
        """Journal new alerts (a key already stored is ignored); returns how many were new."""
        rows = [(a.key, a.ts, a.kind, a.severity, a.text, a.login, a.subscription) for a in alerts]
        if not rows:
            return 0
        with self._lock:
            before = self._db.total_changes
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR IGNORE INTO alerts (key, ts, kind, severity, text, login, subscription)"
                                 " VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            added = self._db.total_changes - before
            if added:
                self._db.execute("DELETE FROM alerts WHERE id <= (SELECT MAX(id) FROM alerts) - ?", (self.keep,))
            self._db.execute("COMMIT")
            return added

    def ack(self, alert_id: int, who: str, at: int) -> Alert | None:
        """Acknowledge one open alert as dealer `who` at wall time `at`; None if unknown or already acknowledged."""
        if not who:
            raise ValueError("an acknowledgement needs the dealer's name")
        with self._lock:
            cur = self._db.execute("UPDATE alerts SET acked_by = ?, acked_at = ? WHERE id = ? AND acked_by = ''",
                                   (who, at, alert_id))
            if cur.rowcount != 1:
                return None
            r = self._db.execute(f"SELECT {_COLS} FROM alerts WHERE id = ?", (alert_id,)).fetchone()
            return _row(r)

    def list(self, *, kind: str | None = None, status: str = "all", limit: int = 200) -> list[Alert]:
        """Newest first. status: open | acked | all."""
        where, args = [], []
        if kind:
            where.append("kind = ?")
            args.append(kind)
        if status == "open":
            where.append("acked_by = ''")
        elif status == "acked":
            where.append("acked_by != ''")
        sql = f"SELECT {_COLS} FROM alerts" + (" WHERE " + " AND ".join(where) if where else "")
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, max(1, min(limit, self.keep)))).fetchall()
        return [_row(r) for r in rows]

    def open_counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT kind, COUNT(*) FROM alerts WHERE acked_by = '' GROUP BY kind").fetchall()
        return {k: n for k, n in rows}

    def newest_open_id(self) -> int:
        with self._lock:
            r = self._db.execute("SELECT MAX(id) FROM alerts WHERE acked_by = ''").fetchone()
        return int(r[0] or 0)
