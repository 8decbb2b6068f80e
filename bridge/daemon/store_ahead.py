"""The SQLite journal's write-ahead file, `<journal>-ahead`: a step is journaled (durable to
a process crash) by one `write` to this file, so its commands can leave before the SQLite
commit, which follows the sends (`SqliteStore.settle`).

Why: an open's SQLite commit (three WAL pages: the event, the command batch, the sender's
message id) took ~55 us of the ~175 us of CPU the daemon spends on it, all before the first
byte left; appending the same step here takes ~7 us, packing included. Durability is
unchanged: with `synchronous=normal` a commit is a write into the page cache as well (kill -9 loses
neither), and both files are fsynced once a second (`SqliteStore.maintain_wal`). With
`synchronous=full` there is no write-ahead file: every commit is fsynced before the sends.

Format: a header (`MAGIC`, then the journal's 16-byte id, `meta.ahead_id`), then entries:

    length u32 | crc32 u32 (of serial + payload) | serial u64 | payload (msgpack)

The serials count the steps of this journal (1, 2, ...); `meta.ahead_applied` is the last one
in SQLite, written in the same transaction as the steps it applies. So a step is applied
exactly once whatever was interrupted: at open every entry after `ahead_applied` is applied
(in order, contiguous) and the file cut back to its header. An entry cut short or damaged
(a power loss mid-write) ends the file: nothing was sent for it, its `write` never returned.

Bound: the file is cut back to its header once it holds `ROTATE_BYTES` and everything in it
is applied, which `settle` ensures after every turn: it never holds more than the steps of
one turn beyond that.

Readers beside a live daemon (`read_view`, `mtbridge backup`) read this file first, then the
database, and apply the entries the database lacks: a command a terminal has received is in
what they read, whether or not its commit has happened yet.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import struct
import zlib
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

import msgpack

MAGIC = b"MTBAHEAD1\n"
ID_BYTES = 16
HEADER = len(MAGIC) + ID_BYTES
ENTRY = struct.Struct("<IIQ")  # payload length, crc32 of serial + payload, serial
SERIAL = struct.Struct("<Q")
ROTATE_BYTES = 4 * 1024 * 1024
MAX_ENTRY = 1 << 31  # a length beyond this is damage, not a step

seq_of, cid_of = itemgetter(1), itemgetter(2)  # CommandRow.seq, .cid
pack_rows = _pack = msgpack.Packer(use_bin_type=True, autoreset=True).pack  # CommandRows pack as arrays


class Step(NamedTuple):
    """One `Batch` as SQLite rows: the commands already packed into their batch row."""

    events: list
    rows: bytes | None  # command_batches.rows, None without commands
    seq_hi: int
    cid_hi: int
    results: list
    records: list
    logins: list
    meta: dict[str, str]


def step_of(batch: Any) -> Step:
    """A `store.Batch` (duck-typed: this module imports nothing of the store) as rows."""
    cmds = batch.commands
    if cmds:
        return Step(batch.events, pack_rows(cmds), max(map(seq_of, cmds)), max(map(cid_of, cmds)), batch.results,
                    batch.records, batch.logins, batch.meta)
    return Step(batch.events, None, 0, 0, batch.results, batch.records, batch.logins, batch.meta)


def new_id() -> str:
    return secrets.token_hex(ID_BYTES)


def entry(serial: int, step: Step) -> bytes:
    payload = _pack(step)
    head = SERIAL.pack(serial)
    return ENTRY.pack(len(payload), zlib.crc32(payload, zlib.crc32(head)), serial) + payload


class AheadRead(NamedTuple):
    journal_id: str | None  # None: no file, or no complete header
    entries: list[tuple[int, Step]]  # (serial, step), in file order
    end: int  # offset after the last whole entry (where a damaged tail starts)


def read_ahead(path: Path) -> AheadRead:
    """The whole entries of a write-ahead file; stops at the first short or damaged one."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return AheadRead(None, [], 0)
    if len(data) < HEADER or not data.startswith(MAGIC):
        return AheadRead(None, [], 0)
    journal_id = data[len(MAGIC):HEADER].hex()
    out: list[tuple[int, Step]] = []
    pos = HEADER
    while pos + ENTRY.size <= len(data):
        length, crc, serial = ENTRY.unpack_from(data, pos)
        start = pos + ENTRY.size
        payload = data[start:start + length]
        if length > MAX_ENTRY or len(payload) != length or zlib.crc32(payload, zlib.crc32(SERIAL.pack(serial))) != crc:
            break
        try:
            fields = msgpack.unpackb(payload, raw=False, use_list=True, strict_map_key=False)
            step = Step(*fields)
        except (ValueError, TypeError, msgpack.UnpackException):
            break
        out.append((serial, step))
        pos = start + length
    return AheadRead(journal_id, out, pos)


def unapplied(read: AheadRead, applied: int) -> list[Step]:
    """The steps after serial `applied`, checked contiguous. A gap means the file is not
    this journal's continuation (raises ValueError with the serials)."""
    steps = []
    want = applied + 1
    for serial, step in read.entries:
        if serial <= applied:
            continue
        if serial != want:
            raise ValueError(f"step {serial} follows step {want - 1}")
        steps.append(step)
        want += 1
    return steps


# an upsert rewrites the row in place; INSERT OR REPLACE deletes and re-inserts it, dirtying
# the key index's page too: one more WAL page on every commit (a frame's `id:<login>` is in
# each one), ~20% of an open's commit
UPSERT_META = "INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value"


def insert_step(db: sqlite3.Connection, step: Step) -> None:
    """One step's rows (inside the caller's transaction)."""
    if step.events:
        db.executemany("INSERT INTO events VALUES (?, ?, ?, ?)", step.events)
    if step.rows is not None:
        db.execute("INSERT INTO command_batches (seq_hi, cid_hi, rows) VALUES (?, ?, ?)",
                   (step.seq_hi, step.cid_hi, step.rows))
    if step.results:
        db.executemany("INSERT OR REPLACE INTO command_results VALUES (?, ?, ?, ?, ?)", step.results)
    if step.records:
        db.executemany("INSERT INTO records (seq, topic, body) VALUES (?, ?, ?)", step.records)
    if step.logins:
        db.executemany("INSERT OR IGNORE INTO logins VALUES (?, ?)", step.logins)
    if step.meta:
        db.executemany(UPSERT_META, step.meta.items())


def apply_ahead(db: sqlite3.Connection, read: AheadRead) -> int:
    """Commit the steps of a write-ahead file (read before `db` was) that `db` lacks; the
    number applied. A file of another journal (`meta.ahead_id`) is left alone (0); one that
    does not continue this journal raises ValueError."""
    meta = dict(db.execute("SELECT key, value FROM meta WHERE key IN ('ahead_id', 'ahead_applied')"))
    if read.journal_id is None or read.journal_id != meta.get("ahead_id"):
        return 0
    applied = int(meta.get("ahead_applied", "0"))
    steps = unapplied(read, applied)
    if steps:
        db.execute("BEGIN IMMEDIATE")
        try:
            for step in steps:
                insert_step(db, step)
            db.execute(UPSERT_META, ("ahead_applied", str(applied + len(steps))))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return len(steps)


def read_view(journal: Path | str) -> sqlite3.Connection:
    """An in-memory copy of a journal beside its daemon (tests, tools): the database plus the
    steps its write-ahead file holds beyond it (the file is read first: see store_ahead)."""
    read = read_ahead(Path(f"{journal}-ahead"))
    src = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
    try:
        view = sqlite3.connect(":memory:", isolation_level=None)
        src.backup(view)
    finally:
        src.close()
    apply_ahead(view, read)
    return view


class AheadFile:
    """The open file: one `os.write` per step (O_APPEND), cut back by `reset`."""

    def __init__(self, path: Path, journal_id: str) -> None:
        self.path = Path(path)
        self.header = MAGIC + bytes.fromhex(journal_id)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        self.size = 0
        self.reset()

    def append(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]
        self.size += len(data)

    def reset(self) -> None:
        """Back to the header alone (everything in it applied)."""
        os.ftruncate(self.fd, 0)
        self.size = 0
        self.append(self.header)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
