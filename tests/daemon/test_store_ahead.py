"""The SQLite journal's write-ahead file (bridge/daemon/store_ahead.py): a step is journaled
by one append, committed to SQLite after the sends (`settle`), and applied exactly once by
whatever opens the journal next, whatever was interrupted: before the commit, after it,
mid-append. Readers beside the daemon (tests, `mtbridge backup`) see the steps not yet
committed."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.daemon import store as store_module
from bridge.daemon.backup import backup_journal, restore_journal
from bridge.daemon.store import Batch, CommandRow, SqliteStore
from bridge.daemon.store_ahead import ENTRY, HEADER, read_ahead, read_view

ROOT = Path(__file__).resolve().parents[2]
TABLES = {  # what a journal holds, in a comparable order (meta without the write-ahead's own keys)
    "events": "SELECT * FROM events ORDER BY seq",
    "command_batches": "SELECT id, seq_hi, cid_hi, rows FROM command_batches ORDER BY id",
    "command_results": "SELECT * FROM command_results ORDER BY cid",
    "records": "SELECT * FROM records ORDER BY id",
    "logins": "SELECT * FROM logins ORDER BY login",
    "meta": "SELECT key, value FROM meta WHERE key NOT LIKE 'ahead_%' ORDER BY key",
}


def step(n: int, *, commands: int = 1) -> Batch:
    """The rows of a copy's step: its event, its commands, a result, a record, the sender's id."""
    rows = [CommandRow(f"c{n}-{i}", n, n * 100 + i, 2001 + i, "open", 7, 100 + n, None, "EURUSD", "buy", "0.1",
                       "1.1", None, None, None, 1_700_000_000_000 + n) for i in range(commands)]
    return Batch(events=[(n, 1_700_000_000_000 + n, "TraderPositionOpened", f'{{"n":{n}}}')], commands=rows,
                 results=[(n * 100 - 1, f"r{n}", "done", "{}", n)] if n > 1 else [],
                 records=[(n, "record.copy_opened", f'{{"n":{n}}}')], logins=[(1001, n)], meta={"id:1001": str(n)})


def content(db: sqlite3.Connection) -> dict[str, list]:
    return {name: db.execute(q).fetchall() for name, q in TABLES.items()}


def crash(store: SqliteStore) -> None:
    """What kill -9 leaves: no settle, no checkpoint; the descriptors just go."""
    store.db.close()
    if store.ahead is not None:
        store.ahead.close()


def on_disk(path: Path) -> dict[str, list]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return content(db)
    finally:
        db.close()


def test_a_step_is_in_the_file_before_sqlite_and_the_next_open_commits_it_once(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    store = SqliteStore(path, ahead=True)
    for n in range(1, 4):
        store.write(step(n))
    store.settle()  # 1-3 in SQLite
    for n in range(4, 7):
        store.write(step(n))  # 4-6 journaled, their commit not yet made
    assert [r[0] for r in on_disk(path)["events"]] == [1, 2, 3]
    view = read_view(path)
    assert [r[0] for r in content(view)["events"]] == [1, 2, 3, 4, 5, 6]  # a reader sees them all
    crash(store)

    again = SqliteStore(path)  # any open applies them: 1-3 are in the file too, and skipped
    assert content(again.db) == content(view)
    rec = again.recover()
    assert [e[0] for e in rec.events] == [1, 2, 3, 4, 5, 6]
    assert [c.key for c in rec.pending][-1] == "c6-0"
    again.close()


def test_a_crash_after_the_commit_applies_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    store = SqliteStore(path, ahead=True)
    for n in range(1, 6):
        store.write(step(n, commands=3))
        store.settle()
    assert len(read_ahead(Path(f"{path}-ahead")).entries) == 5  # committed, still in the file (below its bound)
    before = on_disk(path)
    crash(store)
    again = SqliteStore(path, ahead=True)
    assert content(again.db) == before  # no step twice (a command batch twice would re-send its commands)
    assert read_ahead(Path(f"{path}-ahead")).entries == []  # started over
    again.write(step(6))  # serials go on from the journal's
    again.settle()
    crash(again)
    assert [r[0] for r in on_disk(path)["events"]] == [1, 2, 3, 4, 5, 6]


def test_a_torn_or_damaged_tail_ends_the_file(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    ahead = Path(f"{path}-ahead")
    store = SqliteStore(path, ahead=True)
    for n in range(1, 4):
        store.write(step(n))
    crash(store)
    data = ahead.read_bytes()
    third = read_ahead(ahead).entries[2]
    assert third[0] == 3
    ahead.write_bytes(data[:-5])  # step 3 cut short (a power cut mid-append)
    again = SqliteStore(path)
    assert [r[0] for r in content(again.db)["events"]] == [1, 2]
    again.db.close()

    store = SqliteStore(tmp_path / "k.db", ahead=True)
    for n in range(1, 4):
        store.write(step(n))
    crash(store)
    k = Path(f"{tmp_path / 'k.db'}-ahead")
    raw = bytearray(k.read_bytes())
    second = HEADER + ENTRY.size + ENTRY.unpack_from(raw, HEADER)[0]  # where step 2 starts
    raw[second + ENTRY.size + 3] ^= 0xFF  # one flipped byte in step 2's payload: 2 and 3 are not applied
    k.write_bytes(bytes(raw))
    again = SqliteStore(tmp_path / "k.db")
    assert [r[0] for r in content(again.db)["events"]] == [1]
    again.db.close()


def test_a_write_ahead_file_of_another_journal_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    store = SqliteStore(path, ahead=True)
    store.write(step(1))
    crash(store)
    for suffix in ("", "-wal", "-shm"):  # the database deleted, its write-ahead file left behind
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with pytest.raises(RuntimeError, match="belongs to another journal .* holds 1 steps: move it away"):
        SqliteStore(path, ahead=True)


def test_the_file_is_cut_back_at_its_bound_and_serials_go_on(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(store_module, "ROTATE_BYTES", 2_000)
    path = tmp_path / "j.db"
    ahead = Path(f"{path}-ahead")
    store = SqliteStore(path, ahead=True)
    sizes = []
    for n in range(1, 60):
        store.write(step(n, commands=2))
        store.settle()
        sizes.append(ahead.stat().st_size)
    assert max(sizes) < 2_000 + 1_000 and min(sizes) == HEADER  # cut back, never beyond one step over the bound
    last = read_ahead(ahead).entries
    assert not last or last[-1][0] == 59
    store.write(step(60))
    crash(store)
    again = SqliteStore(path)
    assert [r[0] for r in content(again.db)["events"]] == list(range(1, 61))
    again.db.close()


def test_backup_holds_the_steps_not_yet_committed_and_restore_drops_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    store = SqliteStore(path, ahead=True)
    store.write(step(1))
    store.settle()
    store.write(step(2))  # sent, not committed
    backup_journal(path, tmp_path / "b.db")
    db = sqlite3.connect(tmp_path / "b.db")
    assert [r[0] for r in db.execute("SELECT seq FROM events")] == [1, 2]
    db.close()
    store.write(step(3))
    crash(store)
    restore_journal(tmp_path / "b.db", path, force=True)
    assert not Path(f"{path}-ahead").exists()  # its step 3 continues the replaced journal, not the backup
    again = SqliteStore(path, ahead=True)
    assert [r[0] for r in content(again.db)["events"]] == [1, 2]
    again.close()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.sampled_from(["settle", "crash", "none"])), min_size=1, max_size=12))
def test_any_schedule_of_settles_and_crashes_journals_what_direct_commits_would(tmp_path_factory, plan) -> None:  # noqa: ANN001
    """Model: the same steps committed one by one without the file. After any schedule of
    writes, settles and crashes (each followed by an open), the journal holds the same rows."""
    tmp = tmp_path_factory.mktemp("ahead")
    direct = SqliteStore(tmp / "direct.db")
    store = SqliteStore(tmp / "ahead.db", ahead=True)
    n = 0
    for writes, then in plan:
        for _ in range(writes):
            n += 1
            direct.write(step(n, commands=n % 3))
            store.write(step(n, commands=n % 3))
        if then == "settle":
            store.settle()
        elif then == "crash":
            crash(store)
            store = SqliteStore(tmp / "ahead.db", ahead=True)
        assert content(read_view(tmp / "ahead.db")) == content(direct.db)
    crash(store)
    final = SqliteStore(tmp / "ahead.db")
    assert content(final.db) == content(direct.db)
    final.db.close()
    direct.db.close()


KILLED = r"""
import os, sys
sys.path.insert(0, sys.argv[2])
from tests.daemon.test_store_ahead import step
from bridge.daemon.store import SqliteStore
store = SqliteStore(sys.argv[1], ahead=True)
for n in range(1, 21):
    store.write(step(n, commands=5))
    if n % 7 == 0:
        store.settle()
os._exit(9)  # no settle, no close: a kill -9 after the sends of step 20
"""


def test_a_killed_process_loses_no_step(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    subprocess.run([sys.executable, "-c", KILLED, str(path), str(ROOT)], check=False, env={**os.environ})
    assert [r[0] for r in on_disk(path)["events"]] == list(range(1, 15))  # committed by the settles at 7 and 14
    store = SqliteStore(path, ahead=True)
    rec = store.recover()
    assert [e[0] for e in rec.events] == list(range(1, 21))
    assert len(rec.pending) == 20 * 5
    store.close()


def test_the_daemon_refuses_to_start_on_a_foreign_write_ahead_file_in_one_line(tmp_path: Path) -> None:
    from bridge.daemon.config import StartupError, parse_config
    from bridge.daemon.store_open import open_store

    path = tmp_path / "j.db"
    store = SqliteStore(path, ahead=True)
    store.write(step(1))
    crash(store)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    cfg = parse_config({"journal": {"path": str(path), "create": True}})
    with pytest.raises(StartupError, match=r"j.db-ahead belongs to another journal"):
        open_store(cfg)
    Path(f"{path}-ahead").unlink()  # moved away: the start goes on, with a write-ahead file of its own
    opened, lock = open_store(cfg)
    assert isinstance(opened, SqliteStore) and opened.ahead is not None
    opened.close()
    lock.release()
    cfg = parse_config({"journal": {"path": str(path), "synchronous": "full"}})
    opened, lock = open_store(cfg)  # full: every commit synced before the sends, no write-ahead file
    assert opened.ahead is None
    opened.close()
    lock.release()


def test_a_failed_commit_stops_settling_and_keeps_the_steps_for_the_next_open(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    store = SqliteStore(path, ahead=True)
    store.write(step(1))
    store.settle()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("INSERT INTO events VALUES (2, 0, 'Bogus', '{}')")  # takes the next step's seq
    store.write(step(2))
    with pytest.raises(sqlite3.IntegrityError):
        store.settle()
    store.write(step(3))  # journaled in the file only, from here on
    store.settle()  # no second raise: the daemon is already stopping on the first
    store.close()
    other.execute("DELETE FROM events WHERE seq = 2")  # the operator removes the cause
    other.close()
    again = SqliteStore(path)
    assert [r[0] for r in content(again.db)["events"]] == [1, 2, 3]
    again.close()


def test_the_shell_sends_a_command_after_its_append_and_before_its_commit(tmp_path: Path) -> None:
    """The point of the file: the SQLite commit is off the copy's path, the journal is not."""
    from corekit import H, T0, make, opened

    from bridge.daemon.core import SendResult
    from bridge.daemon.server import Daemon
    from bridge.protocol import Direction, Hello, PositionOpened, decode, encode

    path = tmp_path / "j.db"
    cfg, store, core = make(tmp_path, store=SqliteStore(path, ahead=True))
    store.settle()
    d = Daemon(cfg, insecure=True, store=store)
    d.core, d._settle = core, store.settle
    d.router_sync = None  # the shell sends (the socket itself is replaced by `send` below)
    seen: list[tuple[str, bool, bool]] = []

    def send(conn: bytes, frame: bytes) -> SendResult:
        msg = decode(frame, direction=Direction.TO_TERMINAL)
        if msg.TYPE == "open":
            committed = any(r[2] == "TraderPositionOpened" for r in on_disk(path)["events"])
            appended = any(e[2] == "TraderPositionOpened" for _, s in read_ahead(Path(f"{path}-ahead")).entries
                           for e in s.events)
            seen.append((msg.key, appended, committed))
        return SendResult.OK

    d._send = send  # type: ignore[method-assign]
    d.clock = lambda: T0 + 1  # type: ignore[method-assign]  # the core's time (an open expires 5 s after its trader's)
    ids = iter(range(1, 100))
    for conn, login in ((b"t", 1001), (b"i", 2001)):
        core.on_frame(conn, None, encode(Hello(id=next(ids), seq=1, ts=T0, login=login, **H)), T0)
        d._commit()
    core.on_frame(b"t", None, encode(PositionOpened(id=next(ids), seq=2, ts=T0 + 1, login=1001, **opened(7))), T0 + 1)
    d._commit()
    try:
        assert len(seen) == 1 and seen[0][1:] == (True, False)  # journaled in the file, not yet in SQLite
        assert any(r[2] == "TraderPositionOpened" for r in on_disk(path)["events"])  # committed after the send
    finally:
        d.ctx.term()
        store.close()
