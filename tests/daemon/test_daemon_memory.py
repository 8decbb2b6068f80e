"""Long clean traffic must not grow the daemon (issue 10, item 8): every container of the
core, its feed model and its engine is the same size after N round trips and after 2 N, and
the Python heap's net growth stays under a small bound per round trip."""

from __future__ import annotations

import gc
from collections import deque
import threading
import time
import tracemalloc
from pathlib import Path

from bridge.daemon import feed as feed_mod
from bridge.daemon import feed_positions
from bridge.daemon.feed import MAX_CURVE, MAX_LATENCIES
from bridge.daemon.feed_positions import MAX_RECENT_CLOSED
from bridge.daemon.soak import Soak, containers
from bridge.daemon.store import Batch, SqliteStore

RING_BUFFERS = {"feed.latencies": MAX_LATENCIES, "feed.curves": MAX_CURVE,  # full at their bound, then flat
                "feed.recent_closed": MAX_RECENT_CLOSED}
# (sent_at, key) of the commands sent within the last resend_after_ms: a window, not a history
WINDOWS = {"core.sent_order": 64}


def test_containers_do_not_grow_with_executions(tmp_path: Path) -> None:
    soak = Soak(tmp_path, investors=3, snapshot_every=500, mixed=True)
    for _ in range(200):
        soak.cycle()
    first = containers(soak.core)
    for _ in range(200):
        soak.cycle()
    second = containers(soak.core)
    skip = RING_BUFFERS.keys() | WINDOWS.keys()
    grown = {k: (first.get(k), v) for k, v in second.items() if k not in skip and v > first.get(k, 0)}
    assert grown == {}
    for k, bound in {**RING_BUFFERS, **WINDOWS}.items():
        assert second[k] <= bound, k
    core = soak.core
    assert core.pending == {} and core.engine.pending == {}
    assert set(core.feed.origin) <= set(core.pending) and set(core.feed.result_at) <= set(core.feed.origin)
    assert soak.ticket == 400 and all(not sub.copies for sub in core.engine.subscriptions.values())


def test_heap_growth_per_round_trip_is_bounded(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(feed_mod, "MAX_CURVE", 40)  # small ring buffers: full within the warm-up
    monkeypatch.setattr(feed_positions, "MAX_RECENT_CLOSED", 16)
    soak = Soak(tmp_path, investors=3, snapshot_every=200, mixed=True)
    soak.core.feed.latencies = deque(maxlen=60)
    for _ in range(100):
        soak.cycle()
    n = 200
    tracemalloc.start(1)
    try:
        for _ in range(40):  # traced: what the buffers drop from now on counts as freed
            soak.cycle()
        gc.collect()
        before = tracemalloc.take_snapshot()
        for _ in range(n):
            soak.cycle()
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    growth = sum(s.size_diff for s in after.compare_to(before, "filename"))
    # one leaked small object per execution is >= 6 x 50 B per round trip; what is left is
    # noise (the terminals' last figures, the statement cache)
    assert growth < n * 64, growth


def test_the_wal_is_started_over_under_constant_writes(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """Checkpoints race a writer that keeps committing (the daemon's steps): past the bound a
    checkpoint restarts the WAL while the writer goes on, and the file is cut back to the
    bound when it starts over (a passive pass alone never restarts it: it grew with every
    commit)."""
    limit = 256 << 10
    monkeypatch.setattr(SqliteStore, "WAL_LIMIT", limit)
    store = SqliteStore(tmp_path / "j.db")
    stop = threading.Event()
    seq = [0]

    def write() -> None:
        seq[0] += 1
        store.write(Batch(events=[(seq[0], seq[0], "TimePassed", "x" * 2000)]))

    def writer() -> None:
        while not stop.is_set():
            write()
            time.sleep(0.0002)  # a step, then its sends

    t = threading.Thread(target=writer)
    t.start()
    restarts = 0
    try:
        for _ in range(200):
            time.sleep(0.01)
            restarts += store.checkpoint()
            if restarts >= 2:
                break
    finally:
        stop.set()
        t.join()
    assert restarts >= 2
    store.checkpoint()  # quiet now: the pass reaches the end, the next commit starts over
    write()
    assert (tmp_path / "j.db-wal").stat().st_size <= limit
    store.close()


def test_a_checkpoint_that_copies_the_whole_wal_makes_no_writer_wait(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """Over the bound, a passive pass that reaches the WAL's end is enough: no RESTART (which
    holds the writer lock while it copies), and
    the next commit starts the WAL over all the same."""
    import sqlite3

    from bridge.daemon import store as store_module

    limit = 64 << 10
    monkeypatch.setattr(SqliteStore, "WAL_LIMIT", limit)
    store = SqliteStore(tmp_path / "j.db")
    for i in range(1, 101):  # ~100 pages: over the bound
        store.write(Batch(events=[(i, i, "TimePassed", "x" * 2000)]))
    assert (tmp_path / "j.db-wal").stat().st_size > limit
    statements: list[str] = []
    real = sqlite3.connect

    def connect(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        db = real(*args, **kwargs)
        db.set_trace_callback(statements.append)
        return db

    monkeypatch.setattr(store_module.sqlite3, "connect", connect)
    assert store.checkpoint()
    assert any("PASSIVE" in s for s in statements) and not any("RESTART" in s for s in statements)
    store.write(Batch(events=[(101, 101, "TimePassed", "x")]))
    assert (tmp_path / "j.db-wal").stat().st_size <= limit
    store.close()
