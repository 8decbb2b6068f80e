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
from bridge.daemon import store as store_mod
from bridge.daemon.feed import MAX_CURVE, MAX_LATENCIES
from bridge.daemon.soak import Soak, containers
from bridge.daemon.store import Batch, SqliteStore

RING_BUFFERS = {"feed.latencies": MAX_LATENCIES, "feed.curves": MAX_CURVE}  # full at their bound, then flat
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
    """Checkpoints race a writer that never pauses (the daemon's commit loop): the WAL stays
    near its bound instead of growing with every commit."""
    monkeypatch.setattr(store_mod, "WAL_RESTART_BYTES", 256 << 10)
    store = SqliteStore(tmp_path / "j.db")
    stop = threading.Event()
    written = [0]

    def writer() -> None:
        seq = 0
        while not stop.is_set():
            seq += 1
            store.write(Batch(events=[(seq, seq, "TimePassed", "{}" + "x" * 2000)]))
            written[0] += 1

    t = threading.Thread(target=writer)
    t.start()
    restarts = 0
    wal = tmp_path / "j.db-wal"
    sizes = []
    try:
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            restarts += store.checkpoint()
            sizes.append(wal.stat().st_size)
            time.sleep(0.02)
    finally:
        stop.set()
        t.join()
        store.close()
    assert restarts > 0
    # every commit appends at least one 4 kB page: without restarts the WAL holds them all
    # (the writer's pace between two checkpoints sets the size in between)
    assert sorted(sizes)[len(sizes) // 2] < written[0] * 4096 / 4, (sizes, written[0])
