"""The daemon's WAL upkeep (`SqliteStore.maintain_wal`, once a second from a worker thread):
the WAL is synced to disk at every call (what a power cut can take stays about a second), and
copied back into the database only when due (every `COPY_BACK_EVERY_S`, or once the file grew
`COPY_BACK_GROWTH`): a copy-back every second was behind the copy path's slowest commits."""

from __future__ import annotations

from pathlib import Path

from bridge.daemon import store as store_module
from bridge.daemon.store import Batch, SqliteStore


def _store(tmp: Path, monkeypatch) -> tuple[SqliteStore, list[str], list[int]]:  # noqa: ANN001
    store = SqliteStore(tmp / "j.db")
    copies: list[str] = []
    synced: list[int] = []
    real_checkpoint, real_fsync = store.checkpoint, store_module.os.fsync
    monkeypatch.setattr(store, "checkpoint", lambda: copies.append("copy") or real_checkpoint())
    monkeypatch.setattr(store_module.os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    return store, copies, synced


def _write(store: SqliteStore, first: int, n: int, size: int = 100) -> None:
    for i in range(first, first + n):
        store.write(Batch(events=[(i, i, "TimePassed", "x" * size)]))


def test_every_call_syncs_the_wal_and_the_copy_back_waits_for_its_time(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    store, copies, synced = _store(tmp_path, monkeypatch)
    _write(store, 1, 10)
    every = SqliteStore.COPY_BACK_EVERY_S
    for second in range(int(every)):  # a quiet half minute: synced each second, never copied back
        _write(store, 100 + second, 1)
        assert store.maintain_wal(float(second)) is False
    assert len(synced) == int(every) and copies == []
    store.maintain_wal(every + 0.5)  # due
    assert copies == ["copy"] and len(synced) == int(every) + 1
    store.maintain_wal(every + 1.5)  # the next is a whole interval away
    assert copies == ["copy"]
    store.close()


def test_a_growing_wal_is_copied_back_at_once(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(SqliteStore, "COPY_BACK_GROWTH", 256 << 10)
    store, copies, _synced = _store(tmp_path, monkeypatch)
    store.maintain_wal(0.0)
    assert copies == []
    _write(store, 1, 120, size=3000)  # a page a commit, ~490 KB: over the growth allowance
    store.maintain_wal(1.0)
    assert copies == ["copy"]
    store.maintain_wal(2.0)  # no growth since: waits for its time again
    assert copies == ["copy"]
    store.close()


def test_no_wal_no_work(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    store, copies, synced = _store(tmp_path, monkeypatch)
    (tmp_path / "j.db-wal").unlink(missing_ok=True)
    assert store.maintain_wal(100.0) is False
    assert copies == [] and synced == []
    store.close()
