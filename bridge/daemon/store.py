"""The journal: one small `Store` interface, an embedded SQLite (WAL) implementation.

Recovery = the latest engine snapshot + replay of the events journaled after it. Everything
the daemon learns or decides in one step (the engine events it fed, the commands they
produced, command results, records, logins seen, id reservations) is written in **one
transaction** (`Store.write(batch)`), and nothing is sent to a terminal before that commit:
a command is journaled before it is sent. With `synchronous=normal` the daemon's journal
journals a step by appending it to its write-ahead file (`<journal>-ahead`, store_ahead.py)
and commits it to SQLite after the sends (`settle`): the commit is then off the copy's path.

Tables (schema version 3):

    meta(key, value)                       id reservation, schema version, `pending_from`
    events(seq, now, type, body)           engine input log, append-only (body: JSON)
    snapshots(seq, taken_at, state, parts) the engine state after event `seq`: inline in `state`
                                           (parts NULL: schema 1 JSON text, or packed bytes), or
                                           split in `parts` rows of snapshot_parts (state empty)
    snapshot_parts(seq, part, data)        the pieces of a large snapshot, written before its
                                           `snapshots` row; a piece without that row is garbage,
                                           swept once it is below the latest snapshot
    command_batches(id, seq_hi, cid_hi, rows)
                                           the commands one write issued, append-only: `rows` is
                                           the msgpack array of their `CommandRow`s (COMMAND_COLUMNS)
    command_results(cid, key, status, result, done_at)
                                           append-only: how a command ended (done | refused |
                                           withdrawn); a command without a row here is pending
    records(id, seq, topic, body)          engine records (copy map changes, commissions,
                                           partner credits, wallet movements, refusals)
    logins(login, first_seen)              accounts that ever said hello (welcome.resume)

Why a batch of commands is one row: a 10 000-investor fan-out issues 10 000 opens in one
step. As 10 000 rows of 17 columns under a text primary key they took ~35 ms of the
step's commit; as one packed row ~3 ms. Their outcomes arrive one by one, so those stay a
row each (an integer key: appends). Recovery reads only the batches from `pending_from`
(meta, a lower bound of the oldest pending command's event seq, written with each engine
snapshot), so restart time does not grow with history. Example: commands of seq 1..90
answered, one of seq 95 still open at the snapshot -> `pending_from` 95; a restart unpacks
the batches with `seq_hi >= 95` and drops those whose key has a result.

Schema 1 and 2 journals (one `commands` row per command, status updated in place) are
migrated on open: their rows become one batch, their outcomes `command_results` rows.

The same Protocol on PostgreSQL: bridge/daemon/store_pg.py (`journal.url`, docs/operations.md).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, Protocol

import msgpack

from bridge.daemon.store_ahead import (ROTATE_BYTES, UPSERT_META, AheadFile, Step, apply_ahead, cid_of, entry,
                                      insert_step, new_id, pack_rows, read_ahead, seq_of, step_of)

# 2: commands.expires; snapshot_parts, snapshots.parts. 3: command_batches + command_results
# replace the per-command `commands` table (1 and 2 are migrated on open).
SCHEMA_VERSION = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, now INTEGER NOT NULL, type TEXT NOT NULL,
                                   body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS snapshots (seq INTEGER PRIMARY KEY, taken_at INTEGER NOT NULL, state TEXT NOT NULL,
                                      parts INTEGER);
CREATE TABLE IF NOT EXISTS snapshot_parts (seq INTEGER NOT NULL, part INTEGER NOT NULL, data BLOB NOT NULL,
                                           PRIMARY KEY (seq, part));
CREATE TABLE IF NOT EXISTS command_batches (id INTEGER PRIMARY KEY, seq_hi INTEGER NOT NULL,
                                            cid_hi INTEGER NOT NULL, rows BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS command_results (cid INTEGER PRIMARY KEY, key TEXT NOT NULL, status TEXT NOT NULL,
                                            result TEXT NOT NULL, done_at INTEGER NOT NULL);
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
    results: list[tuple[int, str, str, str, int]] = field(default_factory=list)  # cid, key, status, result, done_at
    records: list[tuple[int, str, str]] = field(default_factory=list)  # seq, topic, body
    logins: list[tuple[int, int]] = field(default_factory=list)  # login, first_seen
    meta: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.events or self.commands or self.results or self.records or self.logins or self.meta)

    def size(self) -> int:
        """Rows to write, in units of about one row's cost: commands go as one packed row, a
        tenth of a row each to pack."""
        return len(self.events) + len(self.results) + len(self.records) + len(self.logins) + len(self.commands) // 10

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
        """Atomic; journaled (durable to a process crash) when it returns."""

    def save_snapshot(self, seq: int, taken_at: int, state: str | bytes) -> None:
        """One transaction, on the caller's thread (shutdown, tests)."""

    def write_snapshot(self, seq: int, taken_at: int, state: bytes) -> None:
        """From a worker thread, while the daemon keeps writing: in pieces, one short
        transaction each, so the journal's writer never waits long for the lock. The snapshot
        exists once its row commits (the last transaction); until then the previous one is used."""

    def command(self, key: str) -> tuple[CommandRow, str, str | None] | None:
        """(row, status, result JSON) of a command, None if unknown."""

    def close(self) -> None:
        """Flush and release (SQLite: WAL checkpoint; PostgreSQL: ends the session, and its journal lock)."""


class SqliteStore:
    """SQLite in WAL mode. `synchronous` normal survives a process crash (kill -9); full also
    survives a power loss, at the cost of an fsync per commit."""

    PART_BYTES = 256 * 1024  # one snapshot piece per transaction: ~1 ms of the write lock
    WAL_LIMIT = 64 * 1024 * 1024  # the WAL file is cut back to this when it restarts
    CHECKPOINT_PASSES = 4  # passive passes before a RESTART (`checkpoint`)
    COPY_BACK_EVERY_S = 30.0  # `maintain_wal`: a checkpoint at least this often ...
    COPY_BACK_GROWTH = 16 * 1024 * 1024  # ... or as soon as the WAL file grew this much since the last

    def __init__(self, path: str | Path, synchronous: str = "normal", keep_snapshots: int = 2, *,
                 ahead: bool = False) -> None:
        """ahead: journal each step in `<path>-ahead` first (store_ahead.py; the daemon's
        journal with `synchronous=normal`). Whatever opens a journal applies the steps its
        write-ahead file holds beyond it, with or without `ahead`."""
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
        elif int(row[0]) in (1, 2):
            _migrate_commands(self.db)
        elif int(row[0]) != SCHEMA_VERSION:
            raise RuntimeError(f"{path}: journal schema {row[0]} != {SCHEMA_VERSION}")
        self._sweep_parts(self.db)  # pieces of a snapshot a crash interrupted
        self.ahead: AheadFile | None = None
        self._unsettled: list[Step] = []
        self._serial = 0
        self.settle_error: BaseException | None = None
        if str(path) != ":memory:":
            self._open_ahead(ahead)
        self._copied_back_at: float | None = None  # `maintain_wal`'s last checkpoint (monotonic s)
        self._copied_back_size = 0  # ... and the WAL file's size then

    def _open_ahead(self, enable: bool) -> None:
        """Apply what a crash left in the write-ahead file; then, if `enable`, start it over."""
        name = Path(f"{self.path}-ahead")
        read = read_ahead(name)
        db = self.db
        journal_id = db.execute("SELECT value FROM meta WHERE key='ahead_id'").fetchone()
        if read.entries and (journal_id is None or read.journal_id != journal_id[0]):
            raise RuntimeError(f"{name} belongs to another journal (id {read.journal_id}) and holds "
                               f"{len(read.entries)} steps: move it away if {self.path} is the journal to keep")
        try:
            apply_ahead(db, read)
        except ValueError as exc:
            raise RuntimeError(f"{name} does not continue {self.path}: {exc}") from None
        if not enable:
            return
        if journal_id is None:
            journal_id = (new_id(),)
            db.execute(UPSERT_META, ("ahead_id", journal_id[0]))
        row = db.execute("SELECT value FROM meta WHERE key='ahead_applied'").fetchone()
        self._serial = int(row[0]) if row else 0
        self.ahead = AheadFile(name, journal_id[0])  # starts over: everything in it is applied

    def recover(self) -> Recovery:
        self.settle()
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
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        pending = _pending_commands(db, int(meta.get("pending_from", "0")))
        logins = frozenset(r[0] for r in db.execute("SELECT login FROM logins"))
        last = db.execute("SELECT max(seq) FROM events").fetchone()[0] or 0
        return Recovery(snap_seq, state, events, pending, logins, meta, max(last, snap_seq))

    def write(self, batch: Batch) -> None:
        """Journaled when it returns: in the write-ahead file (`settle` commits it to SQLite
        after the sends), or, without one, committed."""
        step = step_of(batch)
        ahead = self.ahead
        if ahead is not None:
            self._serial += 1
            ahead.append(entry(self._serial, step))
            self._unsettled.append(step)
            return
        self._commit_steps([step], None)

    def settle(self) -> None:
        """Commit the steps only the write-ahead file holds, in one transaction (the daemon:
        after each turn's sends); cut the file back once it is large. After a failed commit,
        nothing more: what follows is journaled in the file alone until the next open."""
        if not self._unsettled or self.settle_error is not None:
            return
        try:
            self._commit_steps(self._unsettled, self._serial)
        except BaseException as exc:
            # the steps stay in the file (journaled; the next open commits them): the caller
            # stops on this error, and no later settle or `close` raises it again
            self.settle_error = exc
            raise
        self._unsettled = []
        ahead = self.ahead
        if ahead is not None and ahead.size >= ROTATE_BYTES:
            ahead.reset()

    def _commit_steps(self, steps: list[Step], applied: int | None) -> None:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            for step in steps:
                insert_step(db, step)
            if applied is not None:
                db.execute(UPSERT_META, ("ahead_applied", str(applied)))
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
        """(row, status, result JSON) of a command, None if unknown (a scan: tools and tests)."""
        self.settle()
        return next((c for c in read_commands(self.db) if c[0].key == key), None)

    def commands(self) -> list[tuple[CommandRow, str, str | None]]:
        """Every command, in engine order (for tests and tools)."""
        self.settle()
        return read_commands(self.db)

    def maintain_wal(self, mono: float) -> bool:
        """The daemon's WAL upkeep, once a second from a worker thread (own fd, own connection).

        Every call syncs the WAL file and the write-ahead file: with `synchronous=normal` a
        commit (and an append) is only in the page cache, so this bounds what a power cut can
        take to about a second. The copy back into the database (`checkpoint`) runs only every
        `COPY_BACK_EVERY_S`, or once the file grew `COPY_BACK_GROWTH`: a copy-back works beside
        the loop's commits, and run every second it was behind the slowest opens
        (docs/operations.md, "What makes the loop late").
        Returns what `checkpoint` returns, False when none ran."""
        if str(self.path) == ":memory:":
            return False
        if self.ahead is not None:
            _fsync_path(self.ahead.path)
        wal = Path(f"{self.path}-wal")
        try:
            size = wal.stat().st_size
        except OSError:  # no WAL yet (or it was just removed by a clean close)
            return False
        _fsync_path(wal)
        if self._copied_back_at is None:
            self._copied_back_at = mono
        if (size < self._copied_back_size + self.COPY_BACK_GROWTH
                and mono - self._copied_back_at < self.COPY_BACK_EVERY_S):
            return False
        self._copied_back_at, self._copied_back_size = mono, size
        return self.checkpoint()

    def checkpoint(self) -> bool:
        """Copy committed WAL pages into the database file without blocking writers (PASSIVE).
        Safe to call from another thread: it uses its own connection.

        Bound: under constant writes a passive pass never catches up with the WAL's end (the
        writer appends while it copies), and SQLite starts a WAL over only once it was copied
        to its end: it grew without end (260 MB per 40 000 executions, and the daemon's RSS
        with it). So once the WAL holds more than `WAL_LIMIT`, a RESTART follows the
        passive pass: writers wait while it copies what came in during that pass, then the
        next commit starts the WAL over.

        The RESTART holds the writer lock while it copies, so up to `CHECKPOINT_PASSES`
        passive passes go first, each copying what came in during the last:
        one that reaches the WAL's end needs no RESTART (the next commit starts the WAL over,
        nobody waited), and a RESTART after them has little left to copy. Returns True if the
        WAL was started over or will be at the next commit."""
        if str(self.path) == ":memory:":
            return False
        db = sqlite3.connect(str(self.path), isolation_level=None)
        try:
            page = db.execute("PRAGMA page_size").fetchone()[0]
            for _ in range(self.CHECKPOINT_PASSES):
                _busy, frames, done = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if frames * page <= self.WAL_LIMIT:
                    return False
                if done >= frames:
                    return True
            busy, _frames, _done = db.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            return not busy
        finally:
            db.close()

    def close(self) -> None:
        try:
            self.settle()
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self.db.close()
            if self.ahead is not None:
                self.ahead.close()


def _fsync_path(path: Path) -> None:
    """fsync through a descriptor of our own (another thread may close the store's)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- commands: batches of rows in, outcomes appended -------------------------------------

_pack_rows = pack_rows
_SEQ, _CID = seq_of, cid_of


def _unpack_rows(blob: bytes) -> list[tuple]:
    return msgpack.unpackb(blob, use_list=False, raw=False)


def _pending_commands(db: sqlite3.Connection, pending_from: int) -> list[CommandRow]:
    """Commands without an outcome, in cid order, from the batches that can still hold one."""
    rows: list[tuple] = []
    for (blob,) in db.execute("SELECT rows FROM command_batches WHERE seq_hi >= ? ORDER BY id", (pending_from,)):
        rows.extend(_unpack_rows(blob))
    if not rows:
        return []
    low = min(r[2] for r in rows)
    return pending_of(rows, {k for (k,) in db.execute("SELECT key FROM command_results WHERE cid >= ?", (low,))})


def pending_of(rows: list[tuple], done: set[str]) -> list[CommandRow]:
    """The rows (unpacked batches) whose key has no outcome in `done`, in cid order. A key
    issued twice counts once (its first row), as the old unique `commands.key` did."""
    out, seen = [], set()
    for r in sorted(rows, key=lambda r: r[2]):
        if r[0] not in done and r[0] not in seen:
            seen.add(r[0])
            out.append(CommandRow(*r))
    return out


def read_commands(db: sqlite3.Connection, after_cid: int = 0, type_: str | None = None
                  ) -> list[tuple[CommandRow, str, str | None]]:
    """(row, status, result JSON) of the commands with cid > `after_cid` (of one type, if
    given), in cid order; status `pending` when no outcome was journaled."""
    blobs = [b for (b,) in db.execute("SELECT rows FROM command_batches WHERE cid_hi > ? ORDER BY id", (after_cid,))]
    results = db.execute("SELECT key, status, result FROM command_results WHERE cid > ? ORDER BY cid DESC",
                         (after_cid,)).fetchall()
    return commands_of(blobs, results, after_cid, type_)


def commands_of(blobs: list[bytes], results: list[tuple[str, str, str]], after_cid: int = 0,
                type_: str | None = None) -> list[tuple[CommandRow, str, str | None]]:
    """`read_commands` on what any store read: the batches' blobs (in id order) and the
    (key, status, result) outcomes, latest cid first."""
    rows: list[CommandRow] = []
    seen: set[str] = set()
    for blob in blobs:
        rows.extend(CommandRow(*r) for r in _unpack_rows(blob))
    rows.sort(key=lambda r: r.cid)
    outcome = {k: (st, res) for k, st, res in results}
    out = []
    for r in rows:
        if r.cid <= after_cid or r.key in seen or (type_ is not None and r.type != type_):
            continue
        seen.add(r.key)
        status, result = outcome.get(r.key, ("pending", None))
        out.append((r, status, result))
    return out


def _migrate_commands(db: sqlite3.Connection) -> None:
    """Schema 1 or 2 -> 3, in one transaction: snapshots get `parts` (1), the per-command
    `commands` rows become one batch and their outcomes `command_results` rows."""
    db.execute("BEGIN IMMEDIATE")
    try:
        if "parts" not in _columns(db, "snapshots"):
            db.execute("ALTER TABLE snapshots ADD COLUMN parts INTEGER")
        old = _columns(db, "commands")
        if old:
            select = ", ".join(c if c in old else "NULL" for c in COMMAND_COLUMNS)
            got = db.execute(f"SELECT {select}, status, result, done_at FROM commands ORDER BY cid").fetchall()
            n = len(COMMAND_COLUMNS)
            if got:
                rows = [CommandRow(*r[:n]) for r in got]
                db.execute("INSERT INTO command_batches (seq_hi, cid_hi, rows) VALUES (?, ?, ?)",
                           (max(r.seq for r in rows), max(r.cid for r in rows), _pack_rows(rows)))
                db.executemany("INSERT OR REPLACE INTO command_results VALUES (?, ?, ?, ?, ?)",
                               [(r[2], r[0], r[n], r[n + 1] or "{}", r[n + 2] or 0) for r in got
                                if r[n] != "pending"])
            db.execute("DROP TABLE commands")
        db.execute("UPDATE meta SET value=? WHERE key='schema'", (str(SCHEMA_VERSION),))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in db.execute(f"PRAGMA table_info({table})")}


# --- one daemon per journal ----------------------------------------------------------------

class JournalLocked(Exception):
    """Another live process holds the journal's lock; the message names it."""


class JournalLock:
    """An exclusive `flock` on `<journal>.lock`, held while the daemon runs.

    The kernel drops it when the process dies, however it dies (kill -9 included), so a stale
    lock file never blocks a restart; its text (pid, host, start time) only names the holder
    in the refusal. A child forked to write a snapshot closes its copy of the descriptor at
    once: the lock is the daemon's, not its children's (a child outliving a killed daemon must
    not block the restart).

    Example: a second `mtbridge daemon` on the same journal exits 2 with
    `journal /var/lib/mtbridge/journal.db is in use by pid 4711 on host desk-1 since
    2026-12-01T20:41:07Z (lock file /var/lib/mtbridge/journal.db.lock)`."""

    _held: set[int] = set()  # descriptors of this process's locks (closed in forked children)
    fd: int | None = None  # set once locked (a refused lock never had one)

    def __init__(self, journal: Path) -> None:
        import fcntl
        import socket
        import time

        self.path = Path(str(journal) + ".lock")
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 512, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise JournalLocked(f"journal {journal} is in use by {holder} (lock file {self.path})") from None
        started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on host {socket.gethostname()} since {started}\n".encode(), 0)
        self.fd: int | None = fd
        JournalLock._held.add(fd)

    def release(self) -> None:
        if self.fd is not None:
            JournalLock._held.discard(self.fd)
            os.close(self.fd)  # closing the last descriptor releases the flock
            self.fd = None

    def __del__(self) -> None:  # a daemon built but never started or closed (tests) frees its journal
        self.release()


def _close_locks_in_child() -> None:
    for fd in JournalLock._held:
        try:
            os.close(fd)
        except OSError:
            pass
    JournalLock._held.clear()


os.register_at_fork(after_in_child=_close_locks_in_child)
