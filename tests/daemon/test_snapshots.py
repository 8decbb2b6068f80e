"""Snapshots off the loop: the store's piecewise snapshot storage, the forked packer, and
recovery after a kill at any moment of a snapshot."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from bridge.daemon.core import DaemonCore
from bridge.daemon.snapshots import Snapshots, fork_pack, read_child
from bridge.daemon.store import SCHEMA_VERSION, Batch, CommandRow, SqliteStore
from bridge.protocol import Hello, PositionOpened
from journalkit import Journal
from tests.daemon.test_daemon_core import H, T0, Net, Term, make, opened

ROOT = Path(__file__).resolve().parents[2]


def busy_core(tmp_path: Path, tickets: range = range(60, 64), store=None):  # noqa: ANN001, ANN201
    """A journal with a trader, an investor and a few copies (open commands pending)."""
    cfg, store, core = make(tmp_path, store=store)
    net = Net()
    tr, inv = Term(core, store, net, b"t", 1001), Term(core, store, net, b"i", 2001)
    tr.send(Hello, **H), inv.send(Hello, **H)
    for t in tickets:
        tr.send(PositionOpened, **opened(t))
    return cfg, store, core, tr


def parts(journal: Journal) -> list[tuple[int, int]]:
    return [tuple(r) for r in journal.sql("SELECT seq, part FROM snapshot_parts ORDER BY seq, part")]


# ---------------------------------------------------------------------- the store's contract (both stores)
def test_a_snapshot_written_in_pieces_reads_back_exactly(journal: Journal) -> None:
    store = journal.open()
    store.PART_BYTES = 10
    data = bytes(range(256)) * 3
    store.write_snapshot(7, T0, data)
    rec = store.recover()
    assert (rec.snapshot_seq, rec.snapshot) == (7, data)
    assert len(parts(journal)) == 77  # ceil(768 / 10), kept with their row
    store.write_snapshot(8, T0, b"")  # empty state: one empty piece
    assert store.recover().snapshot == b""


def test_only_the_last_two_snapshots_and_their_pieces_are_kept(journal: Journal) -> None:
    store = journal.open()
    store.PART_BYTES = 4
    for seq in (3, 5, 9):
        store.write_snapshot(seq, T0 + seq, b"state-%d" % seq)
    store.save_snapshot(11, T0, b"inline")  # inline (shutdown): a row, no pieces
    assert [r[0] for r in journal.sql("SELECT seq FROM snapshots ORDER BY seq")] == [9, 11]
    assert {s for s, _ in parts(journal)} == {9}
    assert store.recover().snapshot == b"inline"


def test_pieces_without_their_row_are_never_used_then_swept(journal: Journal) -> None:
    store = journal.open()
    store.write_snapshot(4, T0, b"good")
    for i in range(20):
        journal.sql("INSERT INTO snapshot_parts VALUES (?, ?, ?)", 9, i, b"half")
    for i in range(3):
        journal.sql("INSERT INTO snapshot_parts VALUES (?, ?, ?)", 2, i, b"old")
    assert (store.recover().snapshot_seq, store.recover().snapshot) == (4, b"good")
    journal.open()  # the next start sweeps below the latest snapshot only:
    assert {s for s, _ in parts(journal)} == {4, 9}  # 9 may be another process's in flight
    store.PART_BYTES = 2
    store.write_snapshot(9, T0, b"new")  # the same seq again, fewer pieces: the leftovers go first
    assert store.recover().snapshot == b"new"
    store.write_snapshot(12, T0, b"next")
    assert {s for s, _ in parts(journal)} == {9, 12}


def test_a_row_is_never_committed_without_all_its_pieces(journal: Journal) -> None:
    store = journal.open()
    store.save_snapshot(3, T0, b"inline")
    with pytest.raises(RuntimeError, match="0 of 2 parts"):
        store._commit_snapshot(journal.connection(store), 8, T0, b"", 2)
    assert store.recover().snapshot_seq == 3


def test_a_step_is_one_transaction_all_or_nothing(journal: Journal) -> None:
    """"Everything the daemon learns or decides in one step ... is written in **one
    transaction**" (store.py): a step whose last row fails leaves none of its rows."""
    store = journal.open()
    store.write(Batch(events=[(1, T0, "x", "{}")], logins=[(2001, T0)]))
    bad = Batch(events=[(2, T0, "x", "{}")], commands=[CommandRow("k2", 2, 2, 2001, "open", 1, 55)],
                records=[(2, "copy", "{}")], meta={"m": "1"})
    bad.results = [(2, "k2", "done", None, T0)]  # type: ignore[list-item]  # NULL result: refused by NOT NULL
    with pytest.raises(Exception):  # noqa: B017 - each driver's own integrity error
        store.write(bad)
    rec = store.recover()
    assert (rec.last_seq, rec.pending, "m" in rec.meta) == (1, [], False)
    assert journal.sql("SELECT count(*) FROM records")[0][0] == 0
    store.write(Batch(events=[(2, T0, "y", "{}")]))  # the store is usable after the failed step
    assert [e[0] for e in store.recover().events] == [1, 2]


def test_a_reopened_journal_recovers_the_engine_and_the_pending_commands(journal: Journal, tmp_path: Path) -> None:
    """"Recovery = the latest engine snapshot + replay of the events journaled after it"
    (store.py), on either store: "Same semantics: a command is committed before it is sent,
    idempotency keys, snapshot plus replay on recovery, the `kill -9` guarantee." (issue 16,
    section 1)"""
    cfg, store, core, tr = busy_core(tmp_path, tickets=range(70, 72), store=journal.open(lock=True))
    seq, state = core.snapshot(T0)
    store.save_snapshot(seq, T0, state)
    tr.send(PositionOpened, **opened(72))  # after the snapshot: replayed
    before = core.engine.to_state()
    store.close()
    store2 = journal.open(lock=True)  # the first one's lock went with its close
    core2 = DaemonCore.recover(cfg, store2.recover(), now=T0 + 1, insecure=True)
    assert core2.engine.to_state() == before
    assert sorted(core2.pending) == sorted(core.pending) and len(core.pending) == 3
    assert store2.command("s1-t72-open-1")[1] == "pending"


_OLD_COMMANDS = """CREATE TABLE commands (
    key TEXT PRIMARY KEY, seq INTEGER NOT NULL, cid INTEGER NOT NULL, login INTEGER NOT NULL,
    type TEXT NOT NULL, subscription INTEGER NOT NULL, trader_ticket INTEGER NOT NULL,
    ticket INTEGER, symbol TEXT, side TEXT, volume TEXT, price TEXT, sl TEXT, tp TEXT, reason TEXT,
    status TEXT NOT NULL, result TEXT, done_at INTEGER, expires INTEGER)"""


def make_legacy(path: Path, schema: int, done: set[str]) -> list:
    """Turn a schema 3 journal back into a schema 1 or 2 one: one `commands` row per command,
    status in place (`done` keys answered, too). Returns the rows as they were."""
    old = SqliteStore(path).commands()
    rows = [r for r, _, _ in old]
    done |= {r.key for r, status, _ in old if status == "done"}
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(f"DROP TABLE command_batches; DROP TABLE command_results; {_OLD_COMMANDS};"
                     f"UPDATE meta SET value='{schema}' WHERE key='schema';")
    cols = "key, seq, cid, login, type, subscription, trader_ticket, ticket, symbol, side, volume, price, sl, tp, " \
           "reason, expires, status, result, done_at"
    db.executemany(f"INSERT INTO commands ({cols}) VALUES ({', '.join('?' * 19)})",
                   [(*r, "done", '{"ok":true}', T0) if r.key in done else (*r, "pending", None, None) for r in rows])
    if schema == 1:
        db.executescript("DROP TABLE snapshots; DROP TABLE snapshot_parts; "
                         "CREATE TABLE snapshots (seq INTEGER PRIMARY KEY, taken_at INTEGER NOT NULL, "
                         "state TEXT NOT NULL); ALTER TABLE commands DROP COLUMN expires;")
    db.close()
    return rows


def test_a_schema_1_journal_is_migrated_and_its_json_snapshot_still_loads(tmp_path: Path) -> None:
    cfg, store, core, _ = busy_core(tmp_path)
    before = core.engine.to_state()
    pending = sorted(core.pending)
    store.close()
    make_legacy(tmp_path / "j.db", 1, set())
    db = sqlite3.connect(tmp_path / "j.db", isolation_level=None)
    db.execute("INSERT INTO snapshots VALUES (?, ?, ?)", (core.seq, T0, json.dumps(before)))
    db.close()
    store2 = SqliteStore(tmp_path / "j.db")
    rec = store2.recover()
    assert isinstance(rec.snapshot, str) and rec.snapshot_seq == core.seq
    assert DaemonCore.recover(cfg, rec, now=T0, insecure=True).engine.to_state() == before
    assert store2.db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()[0] == str(SCHEMA_VERSION)
    assert sorted(r.key for r in rec.pending) == pending and all(r.expires is None for r in rec.pending)


def test_a_schema_2_journal_keeps_its_commands_and_their_outcomes(tmp_path: Path) -> None:
    _, store, core, _ = busy_core(tmp_path)
    store.close()
    keys = sorted(core.pending)
    rows = make_legacy(tmp_path / "j.db", 2, {keys[0]})
    store2 = SqliteStore(tmp_path / "j.db")
    answered = {keys[0]} | {r.key for r in rows if r.key not in core.pending}
    assert store2.commands() == [(r, "done", '{"ok":true}') if r.key in answered else (r, "pending", None)
                                 for r in sorted(rows, key=lambda r: r.cid)]
    assert [r.key for r in store2.recover().pending] == [r.key for r in sorted(rows, key=lambda r: r.cid)
                                                         if r.key not in answered]
    assert store2.recover().pending[0].expires is not None  # schema 2 rows keep their expiry
    tables = {r[0] for r in store2.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "commands" not in tables and {"command_batches", "command_results"} <= tables


def test_a_fan_out_is_one_journal_row_and_recovery_reads_from_the_oldest_pending(journal: Journal,
                                                                                  tmp_path: Path) -> None:
    _, store, core, tr = busy_core(tmp_path, tickets=range(60, 61), store=journal.open())
    batches = lambda: journal.sql("SELECT count(*) FROM command_batches")[0][0]  # noqa: E731
    n = batches()
    tr.send(PositionOpened, **opened(61))
    assert batches() == n + 1  # the step's commands: one row
    seq, _ = core.snapshot(T0)
    store.write(core.take_batch())
    oldest = min(p.row.seq for p in core.pending.values())
    assert store.recover().meta["pending_from"] == str(oldest) and oldest < seq
    # a batch below `pending_from` is never read again (its commands all had outcomes then)
    from bridge.daemon.store import CommandRow, _pack_rows

    stale = CommandRow("s9-t9-open-1", oldest - 1, 10**9, 2001, "open", 9, 9)
    journal.sql("INSERT INTO command_batches (seq_hi, cid_hi, rows) VALUES (?, ?, ?)",
                oldest - 1, stale.cid, _pack_rows([stale]))
    assert sorted(r.key for r in store.recover().pending) == sorted(core.pending)


def test_the_wal_file_is_bounded(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "j.db")
    assert store.db.execute("PRAGMA journal_size_limit").fetchone()[0] == SqliteStore.WAL_LIMIT


# ---------------------------------------------------------------------- the forked packer
def test_the_child_packs_the_engine_as_it_was_at_the_fork(tmp_path: Path) -> None:
    _, _, core, tr = busy_core(tmp_path)
    expected = core.engine.to_bytes()
    pid, fd = fork_pack(core.engine)
    tr.send(PositionOpened, **opened(70))  # the parent moves on at once
    assert read_child(pid, fd) == expected != core.engine.to_bytes()


def test_a_killed_child_is_an_error_not_a_snapshot(tmp_path: Path) -> None:
    _, _, core, _ = busy_core(tmp_path)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os._exit(3)
    os.close(w)
    with pytest.raises(RuntimeError, match="exited with 3"):
        read_child(pid, r)


@pytest.mark.parametrize("use_fork", [True, False])
def test_snapshots_are_consistent_with_their_seq(tmp_path: Path, use_fork: bool) -> None:
    cfg, store, core, tr = busy_core(tmp_path)

    async def scenario() -> tuple[int, bytes]:
        snaps = Snapshots(store, every_events=3, every_ms=10**9, use_fork=use_fork)
        assert snaps.tick(core, T0, lambda: store.write(core.take_batch()))  # a tail after the start
        seq, state = core.seq, core.engine.to_bytes()
        tr.send(PositionOpened, **opened(71))  # journaled while the snapshot is written
        assert not snaps.tick(core, T0, lambda: None)  # one in flight at most
        await snaps.wait()
        assert snaps.committed == seq and snaps.last["bytes"] == len(state)
        assert not snaps.tick(core, T0 + 1, lambda: None)  # 1 event since: not due yet
        return seq, state

    seq, state = asyncio.run(scenario())
    rec = store.recover()
    assert (rec.snapshot_seq, rec.snapshot) == (seq, state)
    assert [e[0] for e in rec.events] == list(range(seq + 1, core.seq + 1))
    # the background snapshot also journaled where recovery's command batches start
    assert rec.meta["pending_from"] == str(min(p.row.seq for p in core.pending.values()))
    assert sorted(r.key for r in rec.pending) == sorted(core.pending)
    assert DaemonCore.recover(cfg, rec, now=T0, insecure=True).engine.to_state() == core.engine.to_state()


def test_close_waits_for_the_one_in_flight_then_saves_the_last_state(tmp_path: Path) -> None:
    cfg, store, core, tr = busy_core(tmp_path)

    async def scenario() -> int:
        snaps = Snapshots(store, every_events=1, every_ms=10**9)
        snaps.tick(core, T0, lambda: None)
        tr.send(PositionOpened, **opened(72))
        return await snaps.close(core, T0 + 5, lambda: store.write(core.take_batch()))

    assert asyncio.run(scenario()) == core.seq
    assert store.recover().snapshot_seq == core.seq and store.recover().events == []


# ---------------------------------------------------------------------- kill -9 mid-snapshot
_WRITER = """
import os, signal, sqlite3, sys
from bridge.daemon.store import SqliteStore

class Killing:  # the writer's connection: SIGKILL right after the n-th commit
    def __init__(self, db):
        self.db = db
    def execute(self, sql, *args):
        out = self.db.execute(sql, *args)
        if sql == "COMMIT":
            Killing.commits += 1
            if Killing.commits == int(sys.argv[3]):
                os.kill(os.getpid(), signal.SIGKILL)
        return out
    def close(self):
        self.db.close()

Killing.commits = 0
store = SqliteStore(sys.argv[1])
store.PART_BYTES = 64
connect = sqlite3.connect
sqlite3.connect = lambda *a, **k: Killing(connect(*a, **k))
store.write_snapshot(int(sys.argv[2]), 0, open(sys.argv[4], "rb").read())
"""


@pytest.mark.parametrize("killed_after", [1, 3])
def test_kill_during_a_snapshot_recovers_from_the_previous_one_plus_replay(tmp_path: Path, killed_after: int) -> None:
    cfg, store, core, tr = busy_core(tmp_path)
    first = core.seq
    store.save_snapshot(first, T0, core.engine.to_bytes())
    for t in range(80, 84):
        tr.send(PositionOpened, **opened(t))
    state = tmp_path / "state.bin"
    state.write_bytes(core.engine.to_bytes())
    assert len(state.read_bytes()) > 64 * 4  # several pieces
    expected = core.engine.to_state()
    proc = subprocess.run([sys.executable, "-c", _WRITER, str(tmp_path / "j.db"), str(core.seq),
                           str(killed_after), str(state)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9, proc.stderr
    assert len(parts(Journal("sqlite", tmp_path))) == killed_after  # half written
    store2 = SqliteStore(tmp_path / "j.db")  # the next start
    rec = store2.recover()
    assert rec.snapshot_seq == first and len(rec.events) == core.seq - first
    assert DaemonCore.recover(cfg, rec, now=T0, insecure=True).engine.to_state() == expected
    store2.write_snapshot(core.seq, T0, state.read_bytes())  # the next life's snapshot, same seq
    assert store2.recover().snapshot == state.read_bytes()


def test_kill_of_the_whole_daemon_mid_snapshot_leaves_the_child_harmless(tmp_path: Path) -> None:
    """The parent dies while its child packs: the child's pipe breaks, it exits, and nothing
    of that snapshot reaches the journal (the parent writes, not the child)."""
    _, store, core, _ = busy_core(tmp_path)
    pid, fd = fork_pack(core.engine)
    os.close(fd)  # the reader is gone, as after kill -9 of the daemon
    assert os.waitpid(pid, 0)[0] == pid  # it ended (EPIPE, or its bytes fit the pipe buffer)
    assert store.recover().snapshot_seq == 0


def test_decimal_state_survives_the_pipe(tmp_path: Path) -> None:
    _, _, core, _ = busy_core(tmp_path)
    core.engine.wallets.balances["odd"] = Decimal("0.000000001")
    pid, fd = fork_pack(core.engine)
    assert read_child(pid, fd) == core.engine.to_bytes()


def test_a_failed_fork_or_write_is_retried_later_and_the_daemon_goes_on(tmp_path: Path, monkeypatch) -> None:
    _, store, core, tr = busy_core(tmp_path)
    logged = []

    class Log:
        def warning(self, event: str, **kw: object) -> None:
            logged.append(event)

        info = warning

    def no_fork(engine):  # noqa: ANN001, ANN202
        raise OSError(12, "Cannot allocate memory")

    async def scenario() -> None:
        snaps = Snapshots(store, every_events=1, every_ms=10**9, log=Log())
        monkeypatch.setattr("bridge.daemon.snapshots.fork_pack", no_fork)
        assert not snaps.tick(core, T0, lambda: None)
        tr.send(PositionOpened, **opened(90))
        assert not snaps.tick(core, T0 + 1, lambda: None)  # not before the retry delay
        monkeypatch.undo()
        assert snaps.tick(core, T0 + 10_000, lambda: None)
        await snaps.wait()

    asyncio.run(scenario())
    assert logged == ["journal.snapshot_failed", "journal.snapshot"]
    assert store.recover().snapshot_seq == core.seq
