"""The short version of benchmarks/bench_snapshot.py: correctness, not timing. A journal
lives through daemon lives killed with SIGKILL at different moments (a kill in the middle
of a snapshot's writes is pinned down in test_snapshots.py); every snapshot it keeps must be
exactly the engine after its seq, and the last recovery must equal a replay of the whole
journal from the first event."""

from __future__ import annotations

import importlib.util
import sqlite3
from pathlib import Path

from bridge.copytrading import Engine
from bridge.daemon import wire
from bridge.daemon.core import DaemonCore
from bridge.daemon.store import Recovery, SqliteStore

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_snapshot.py"


def bench():  # noqa: ANN201
    spec = importlib.util.spec_from_file_location("bench_snapshot", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def replay(path: Path, upto: int) -> Engine:
    db = sqlite3.connect(path)
    engine = Engine(bench().config().engine)
    for _, _, type_name, body in db.execute("SELECT * FROM events WHERE seq <= ? ORDER BY seq", (upto,)):
        engine.handle(wire.event_from(type_name, body))  # type: ignore[arg-type]
    db.close()
    return engine


def test_snapshots_match_their_seq_after_lives_killed_mid_snapshot(tmp_path: Path) -> None:
    b = bench()
    path = tmp_path / "j.db"
    b.build(path, 40)
    lives = b.restart_cycles(path, "daemon", 3, "busy")
    assert len(lives) == 4 and lives[-1]["replayed"] <= 3 * 40 * 3  # bounded tail
    db = sqlite3.connect(path)
    kept = [r[0] for r in db.execute("SELECT seq FROM snapshots ORDER BY seq")]
    db.close()
    assert 1 <= len(kept) <= 2
    store = SqliteStore(path)
    last = store.recover()
    assert last.snapshot_seq == kept[-1]
    for seq in kept:
        data = store.db.execute("SELECT state, parts FROM snapshots WHERE seq=?", (seq,)).fetchone()
        if data[1] is not None:
            data = (b"".join(r[0] for r in store.db.execute(
                "SELECT data FROM snapshot_parts WHERE seq=? ORDER BY part", (seq,))),)
        assert Engine.from_bytes(data[0]).to_state() == replay(path, seq).to_state(), seq
    recovered = DaemonCore.recover(b.config(), last, now=b.T0, insecure=True)
    full = Recovery(0, None, store.db.execute("SELECT seq, now, type, body FROM events ORDER BY seq").fetchall(),
                    last.pending, last.logins, last.meta, last.last_seq)
    assert recovered.engine.to_state() == DaemonCore.recover(b.config(), full, now=b.T0,
                                                             insecure=True).engine.to_state()
