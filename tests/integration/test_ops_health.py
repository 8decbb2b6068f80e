"""The daemon's health endpoint and metrics, and journal backup/restore (issue 13 §3), with
the daemon as a subprocess."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from bridge.daemon.client import AdminClient
from bridge.daemon.testing import DaemonProcess, make_setup
from tests.integration.opskit import (  # noqa: F401 - no_leftover_processes is an autouse fixture
    events, http_get, mtbridge, wait_for, no_leftover_processes,
)

pytestmark = pytest.mark.integration


def _setup(tmp: Path):  # noqa: ANN202
    return make_setup(tmp, {"trader": ([1001], "trader"), "ops": ([], "admin")}, heartbeat_ms=200,
                      extra='health = "127.0.0.1:0"')


def test_health_reflects_real_state_and_turns_red(tmp_path: Path) -> None:
    """Issue 13 §3: "Give the daemon a health endpoint that reflects real state (sockets
    bound, journal writable, loop lag, feed subscribers) and Prometheus metrics (copy latency
    histogram, pending commands, sessions by role, journal commit lag, refused frames by code,
    rate-limited keys)." Red here: the journal file is moved away under the running daemon."""
    setup = _setup(tmp_path)
    daemon = DaemonProcess(setup.config_path).start()
    url = daemon.endpoints["health"]
    status, headers, body = http_get(url + "/healthz")
    report = json.loads(body)
    assert status == 200 and report["ok"] is True and report["reasons"] == []
    assert report["sockets"] == {k: daemon.endpoints[k] for k in ("router", "pub", "admin")}
    assert report["journal"]["path"] == str(setup.journal) and report["feed_subscribers"] == 0
    assert "loop_lag_ms" in report and report["pid"] == daemon.endpoints["pid"]

    status, headers, body = http_get(url + "/metrics")
    text = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=")
    for name in ("mtbridge_daemon_up 1.0", "mtbridge_daemon_copy_latency_seconds_bucket",
                 "mtbridge_daemon_pending_commands 0.0", 'mtbridge_daemon_sessions{role="trader",state="online"} 0.0',
                 "mtbridge_daemon_journal_commit_lag_seconds", "mtbridge_daemon_refused_frames",
                 'mtbridge_daemon_rate_limited_keys{state="limited"} 0.0', "mtbridge_daemon_feed_subscribers 0.0"):
        assert name in text, name
    assert http_get(url + "/nope")[0] == 404

    moved = setup.journal.with_name("moved.db")
    os.rename(setup.journal, moved)
    status, _, body = http_get(url + "/healthz")
    report = json.loads(body)
    assert status == 503 and report["ok"] is False
    assert report["reasons"] == [f"journal: {setup.journal} is gone (deleted or moved)"]
    assert "mtbridge_daemon_up 0.0" in http_get(url + "/metrics")[2].decode()
    os.rename(moved, setup.journal)
    assert http_get(url + "/healthz")[0] == 200
    assert daemon.terminate() == 0


def test_refused_frames_are_counted_by_code(tmp_path: Path) -> None:
    setup = _setup(tmp_path)
    daemon = DaemonProcess(setup.config_path).start()
    from bridge.daemon.client import TerminalClient

    t = TerminalClient(daemon.endpoints["router"], setup.curve("trader"))
    try:
        t.send_raw(b"\xc1not msgpack")
        url = daemon.endpoints["health"] + "/metrics"
        wait_for(lambda: 'mtbridge_daemon_refused_frames_total{code="not_msgpack",event="protocol.refused"} 1.0'
                 in http_get(url)[2].decode(), "the refusal in /metrics")
    finally:
        t.close()
    assert daemon.terminate() == 0


def test_backup_while_running_then_restore(tmp_path: Path) -> None:
    """Issue 13 §3: "Deployment: ... backup and restore". The backup is taken while the
    daemon runs; a daemon started on the restored journal has the same state."""
    setup = _setup(tmp_path)
    daemon = DaemonProcess(setup.config_path).start()
    admin = AdminClient(daemon.endpoints["admin"], setup.curve("ops"))
    try:
        assert admin("register_trader", trader="T", account=1001, account_type="mt4_standard", leverage=100,
                     commission_pct="10")["ok"]
        assert admin("deposit", owner="inv-1", amount="2500")["ok"]
        out = tmp_path / "backup.db"
        r = mtbridge("daemon", "backup", "--config", str(setup.config_path), str(out))
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith(f"wrote {out}: ") and r.stdout.strip().endswith("integrity ok")
        assert (out.stat().st_mode & 0o777) == 0o600
        again = mtbridge("daemon", "backup", "--config", str(setup.config_path), str(out))
        assert again.returncode == 2 and "exists: choose a new file name" in again.stderr
        refused = mtbridge("daemon", "restore", "--config", str(setup.config_path), str(out), "--force")
        assert refused.returncode == 2 and "is in use by pid" in refused.stderr and "stop the daemon first" in \
            refused.stderr
    finally:
        admin.close()
    assert daemon.terminate() == 0
    setup.journal.unlink()
    restored = mtbridge("daemon", "restore", "--config", str(setup.config_path), str(out))
    assert restored.returncode == 0, restored.stderr
    daemon = DaemonProcess(setup.config_path, log_path=tmp_path / "after.log").start()
    admin = AdminClient(daemon.endpoints["admin"], setup.curve("ops"))
    try:
        again = admin("register_trader", trader="T", account=1001, account_type="mt4_standard", leverage=100,
                      commission_pct="10")  # the restored state knows T already
        assert again["refused"]["code"] == "duplicate_trader", again
        status = admin("status")
    finally:
        admin.close()
    assert daemon.terminate() == 0
    saved = _events(out)
    assert saved and _events(setup.journal)[:len(saved)] == saved  # the backup's history, then new events
    assert status["journal_seq"] >= saved[-1][0]


def _events(path: Path) -> list:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return db.execute("SELECT seq, type, body FROM events ORDER BY seq").fetchall()
    finally:
        db.close()


def test_a_blocked_or_silent_loop_is_red(tmp_path: Path) -> None:
    """The loop-lag and timer judgements, read in one call on the daemon's own loop (so the
    once-a-second beat cannot interleave): no timing is measured by the test."""
    import time

    from bridge.daemon.config import load_config
    from bridge.daemon.running import DaemonThread

    setup = _setup(tmp_path)
    thread = DaemonThread(load_config(setup.config_path)).start()
    try:
        health = thread.daemon.health  # type: ignore[union-attr]
        limit = thread.daemon.config.health_max_lag_ms  # type: ignore[union-attr]

        def judged(lag_ms: int, silent_s: float) -> list[str]:
            health.last_lag_ns, health.last_beat = lag_ms * 1_000_000, time.monotonic() - silent_s
            return health.report()["reasons"]

        assert thread.call(lambda: judged(limit, 0)) == []
        assert thread.call(lambda: judged(limit + 1, 0)) == [
            f"loop: blocked {limit + 1} ms in the last second (limit {limit})"]
        assert thread.call(lambda: judged(0, 10))[0].startswith("loop: timer silent for 10")
    finally:
        thread.stop()
