"""The journal: one small `Store` interface, an embedded SQLite (WAL) implementation.

Recovery = the latest engine snapshot + replay of the events journaled after it. Everything
the daemon learns or decides in one step (the engine events it fed, the commands they
produced, command results, records, logins seen, id reservations) is written in **one
transaction** (`Store.write(batch)`), and nothing is sent to a terminal before that commit:
a command is journaled before it is sent.

Tables (schema version 2):

    meta(key, value)                       id reservation, schema version
    events(seq, now, type, body)           engine input log, append-only (body: JSON)
    snapshots(seq, taken_at, state, parts) the engine state after event `seq`: inline in `state`
                                           (parts NULL: schema 1 JSON text, or packed bytes), or
                                           split in `parts` rows of snapshot_parts (state empty)
    snapshot_parts(seq, part, data)        the pieces of a large snapshot, written before its
                                           `snapshots` row; a piece without that row is garbage,
                                           swept once it is below the latest snapshot
    commands(key, seq, cid, login, type, subscription, trader_ticket, ticket, symbol, side,
             volume, price, sl, tp, reason, status, result, done_at)
                                           every command; status pending | done | refused
    records(id, seq, topic, body)          engine records (copy map changes, commissions,
                                           partner credits, wallet movements, refusals)
    logins(login, first_seen)              accounts that ever said hello (welcome.resume)

A later issue adds a PostgreSQL implementation of the same Protocol.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, Protocol

SCHEMA_VERSION = 2  # 2: commands.expires; snapshot_parts, snapshots.parts (1 is migrated on open)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, now INTEGER NOT NULL, type TEXT NOT NULL,
                                   body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS snapshots (seq INTEGER PRIMARY KEY, taken_at INTEGER NOT NULL, state TEXT NOT NULL,
                                      parts INTEGER);
CREATE TABLE IF NOT EXISTS snapshot_parts (seq INTEGER NOT NULL, part INTEGER NOT NULL, data BLOB NOT NULL,
                                           PRIMARY KEY (seq, part));
CREATE TABLE IF NOT EXISTS commands (
    key TEXT PRIMARY KEY, seq INTEGER NOT NULL, cid INTEGER NOT NULL, login INTEGER NOT NULL,
    type TEXT NOT NULL, subscription INTEGER NOT NULL, trader_ticket INTEGER NOT NULL,
    ticket INTEGER, symbol TEXT, side TEXT, volume TEXT, price TEXT, sl TEXT, tp TEXT, reason TEXT,
    status TEXT NOT NULL, result TEXT, done_at INTEGER, expires INTEGER);
CREATE TABLE IF NOT EXISTS records (id INTEGER PRIMARY KEY, seq INTEGER NOT NULL, topic TEXT NOT NULL,
                                    body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS logins (login INTEGER PRIMARY KEY, first_seen INTEGER NOT NULL);
"""

COMMAND_COLUMNS = ("key", "seq", "cid", "login", "type", "subscription", "trader_ticket", "ticket", "symbol",
                   "side", "volume", "price", "sl", "tp", "reason", "expires")


class CommandRow(NamedTuple):
    """One journaled command. Decimals are kept as their exact text. A NamedTuple: it is
    the SQLite row itself (field order = COMMAND_COLUMNS) and cheap to build, 10 000 per
    fan-out."""

    key: str
    seq: int  # the event that produced it
    cid: int  # engine command id (orders sends)
    login: int
    type: str  # open | close | modify | balance
    subscription: int
    trader_ticket: int
    ticket: int | None = None
    symbol: str | None = None
    side: str | None = None
    volume: str | None = None  # lots for open/close, amount for balance
    price: str | None = None  # open: reference price
    sl: str | None = None
    tp: str | None = None
    reason: str | None = None
    expires: int | None = None  # open: UTC ms after which it is never first sent (docs/protocol.md §7.1)


@dataclass(slots=True)
class Batch:
    """What one step of the daemon writes, atomically."""

    events: list[tuple[int, int, str, str]] = field(default_factory=list)  # seq, now, type, body
    commands: list[CommandRow] = field(default_factory=list)
    results: list[tuple[str, str, str, int]] = field(default_factory=list)  # status, result, done_at, key
    records: list[tuple[int, str, str]] = field(default_factory=list)  # seq, topic, body
    logins: list[tuple[int, int]] = field(default_factory=list)  # login, first_seen
    meta: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.events or self.commands or self.results or self.records or self.logins or self.meta)

    def extend(self, other: Batch) -> None:
        self.events += other.events
        self.commands += other.commands
        self.results += other.results
        self.records += other.records
        self.logins += other.logins
        self.meta.update(other.meta)


@dataclass(frozen=True, slots=True)
class Recovery:
    snapshot_seq: int  # 0 = no snapshot
    snapshot: str | bytes | None  # Engine.to_bytes() (or schema 1: JSON text of engine.to_state())
    events: list[tuple[int, int, str, str]]  # after the snapshot, in order
    pending: list[CommandRow]  # status = pending, in cid order
    logins: frozenset[int]
    meta: dict[str, str]
    last_seq: int


class Store(Protocol):
    """The daemon's only view of durable storage."""

    def recover(self) -> Recovery: ...

    def write(self, batch: Batch) -> None:
        """One atomic transaction; durable when it returns."""

    def save_snapshot(self, seq: int, taken_at: int, state: str | bytes) -> None:
        """One transaction, on the caller's thread (shutdown, tests)."""

    def write_snapshot(self, seq: int, taken_at: int, state: bytes) -> None:
        """From a worker thread, while the daemon keeps writing: in pieces, one short
        transaction each, so the journal's writer never waits long for the lock. The snapshot
        exists once its row commits (the last transaction); until then the previous one is used."""

    def command(self, key: str) -> tuple[CommandRow, str, str | None] | None:
        """(row, status, result JSON) of a command, None if unknown."""

    def close(self) -> None:
        """Flush and release (SQLite: WAL checkpoint)."""


class SqliteStore:
    """SQLite in WAL mode. `synchronous` normal survives a process crash (kill -9); full also
    survives a power loss, at the cost of an fsync per commit."""

    PART_BYTES = 256 * 1024  # one snapshot piece per transaction: ~1 ms of the write lock
    WAL_LIMIT = 64 * 1024 * 1024  # the WAL file is cut back to this when it restarts

    def __init__(self, path: str | Path, synchronous: str = "normal", keep_snapshots: int = 2) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.keep_snapshots = max(keep_snapshots, 1)
        self.synchronous = "FULL" if synchronous == "full" else "NORMAL"
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(f"PRAGMA synchronous={self.synchronous}")
        # Without a limit the WAL file keeps the size of its largest burst (a snapshot).
        self.db.execute(f"PRAGMA journal_size_limit={self.WAL_LIMIT}")
        self.db.execute("PRAGMA foreign_keys=OFF")
        # Checkpoints (which fsync) run off the hot path: `checkpoint()` from a helper thread.
        self.db.execute("PRAGMA wal_autocheckpoint=0")
        self.db.executescript(_SCHEMA)
        row = self.db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if row is None:
            self.db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) == 1:  # additive: inline JSON snapshots stay readable; old opens have no expiry
            self.db.execute("BEGIN IMMEDIATE")
            for table, column in (("snapshots", "parts"), ("commands", "expires")):
                if column not in {r[1] for r in self.db.execute(f"PRAGMA table_info({table})")}:
                    self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} INTEGER")
            self.db.execute("UPDATE meta SET value=? WHERE key='schema'", (str(SCHEMA_VERSION),))
            self.db.execute("COMMIT")
        elif int(row[0]) != SCHEMA_VERSION:
            raise RuntimeError(f"{path}: journal schema {row[0]} != {SCHEMA_VERSION}")
        self._sweep_parts(self.db)  # pieces of a snapshot a crash interrupted
        self._insert_cmd = (f"INSERT OR IGNORE INTO commands ({', '.join(COMMAND_COLUMNS)}, status) "
                            f"VALUES ({', '.join('?' * len(COMMAND_COLUMNS))}, 'pending')")

    def recover(self) -> Recovery:
        db = self.db
        snap = db.execute("SELECT seq, state, parts FROM snapshots ORDER BY seq DESC LIMIT 1").fetchone()
        snap_seq, state = (snap[0], snap[1]) if snap else (0, None)
        if snap is not None and snap[2] is not None:
            pieces = [r[0] for r in db.execute("SELECT data FROM snapshot_parts WHERE seq=? AND part < ? "
                                               "ORDER BY part", (snap_seq, snap[2]))]
            if len(pieces) != snap[2]:  # committed after its pieces: only a damaged file gets here
                raise RuntimeError(f"{self.path}: snapshot {snap_seq} has {len(pieces)} of {snap[2]} parts")
            state = b"".join(pieces)
        events = db.execute("SELECT seq, now, type, body FROM events WHERE seq > ? ORDER BY seq",
                            (snap_seq,)).fetchall()
        pending = [CommandRow(*r) for r in db.execute(
            f"SELECT {', '.join(COMMAND_COLUMNS)} FROM commands WHERE status='pending' ORDER BY cid")]
        logins = frozenset(r[0] for r in db.execute("SELECT login FROM logins"))
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        last = db.execute("SELECT max(seq) FROM events").fetchone()[0] or 0
        return Recovery(snap_seq, state, events, pending, logins, meta, max(last, snap_seq))

    def write(self, batch: Batch) -> None:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            if batch.events:
                db.executemany("INSERT INTO events VALUES (?, ?, ?, ?)", batch.events)
            if batch.commands:
                db.executemany(self._insert_cmd, map(tuple, batch.commands))  # exact tuples bind fastest
            if batch.results:
                db.executemany("UPDATE commands SET status=?, result=?, done_at=? WHERE key=?", batch.results)
            if batch.records:
                db.executemany("INSERT INTO records (seq, topic, body) VALUES (?, ?, ?)", batch.records)
            if batch.logins:
                db.executemany("INSERT OR IGNORE INTO logins VALUES (?, ?)", batch.logins)
            if batch.meta:
                db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(batch.meta.items()))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def save_snapshot(self, seq: int, taken_at: int, state: str | bytes) -> None:
        self._commit_snapshot(self.db, seq, taken_at, state, None)
        self._sweep_parts(self.db)

    def write_snapshot(self, seq: int, taken_at: int, state: bytes) -> None:
        if str(self.path) == ":memory:":  # one connection only (tests)
            self.save_snapshot(seq, taken_at, state)
            return
        db = sqlite3.connect(str(self.path), isolation_level=None, timeout=30)
        try:
            db.execute(f"PRAGMA synchronous={self.synchronous}")
            step = self.PART_BYTES
            parts = [state[i:i + step] for i in range(0, len(state), step)] or [b""]
            db.execute("DELETE FROM snapshot_parts WHERE seq=?", (seq,))  # a killed writer's, same seq
            for i, piece in enumerate(parts):
                db.execute("BEGIN IMMEDIATE")
                try:
                    db.execute("INSERT OR REPLACE INTO snapshot_parts VALUES (?, ?, ?)", (seq, i, piece))
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
            self._commit_snapshot(db, seq, taken_at, b"", len(parts))
            self._sweep_parts(db)
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")  # the snapshot's pages out of the WAL, off the loop
        finally:
            db.close()

    def _commit_snapshot(self, db: sqlite3.Connection, seq: int, taken_at: int, state: str | bytes,
                         parts: int | None) -> None:
        """The row that makes a snapshot exist; older ones beyond `keep_snapshots` go with it."""
        db.execute("BEGIN IMMEDIATE")
        try:
            if parts is not None:  # all its pieces, or no snapshot (never a row that cannot load)
                have = db.execute("SELECT count(*) FROM snapshot_parts WHERE seq=? AND part < ?",
                                  (seq, parts)).fetchone()[0]
                if have != parts:
                    raise RuntimeError(f"snapshot {seq}: {have} of {parts} parts written")
            db.execute("INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?, ?)", (seq, taken_at, state, parts))
            db.execute("DELETE FROM snapshots WHERE seq NOT IN (SELECT seq FROM snapshots ORDER BY seq DESC "
                       "LIMIT ?)", (self.keep_snapshots,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    @staticmethod
    def _sweep_parts(db: sqlite3.Connection) -> None:
        """Delete pieces no snapshot row refers to, a few per transaction (short lock holds).
        Only below the latest snapshot: a snapshot being written (by this daemon, while another
        process opens the journal) always has a higher seq, and is never touched."""
        while True:
            db.execute("BEGIN IMMEDIATE")
            try:
                gone = db.execute("DELETE FROM snapshot_parts WHERE rowid IN (SELECT rowid FROM snapshot_parts "
                                  "WHERE seq < (SELECT max(seq) FROM snapshots) AND seq NOT IN "
                                  "(SELECT seq FROM snapshots WHERE parts IS NOT NULL) LIMIT 8)").rowcount
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            if gone < 8:
                return

    def command(self, key: str) -> tuple[CommandRow, str, str | None] | None:
        row = self.db.execute(f"SELECT {', '.join(COMMAND_COLUMNS)}, status, result FROM commands WHERE key=?",
                              (key,)).fetchone()
        if row is None:
            return None
        return CommandRow(*row[:-2]), row[-2], row[-1]

    def commands(self) -> list[tuple[CommandRow, str, str | None]]:
        """Every command, in engine order (for tests and tools)."""
        return [(CommandRow(*r[:-2]), r[-2], r[-1]) for r in self.db.execute(
            f"SELECT {', '.join(COMMAND_COLUMNS)}, status, result FROM commands ORDER BY cid")]

    def checkpoint(self) -> bool:
        """Copy committed WAL pages into the database file without blocking writers (PASSIVE).
        Safe to call from another thread: it uses its own connection.

        Bound: under constant writes a passive pass never catches up with the WAL's end (the
        writer appends while it copies), and SQLite starts a WAL over only once it was copied
        to its end: it grew without end (260 MB per 40 000 executions, and the daemon's RSS
        with it). So once the WAL holds more than `WAL_LIMIT`, a RESTART follows the
        passive pass: writers wait while it copies what came in during that pass, then the
        next commit starts the WAL over. Returns True if it restarted."""
        if str(self.path) == ":memory:":
            return False
        db = sqlite3.connect(str(self.path), isolation_level=None)
        try:
            _busy, frames, _done = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            page = db.execute("PRAGMA page_size").fetchone()[0]
            if frames * page <= self.WAL_LIMIT:
                return False
            busy, _frames, _done = db.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            return not busy
        finally:
            db.close()

    def close(self) -> None:
        try:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self.db.close()
