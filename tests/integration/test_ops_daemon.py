"""Running the daemon in production (issue 13 §3), as a subprocess: exit codes, one-line
errors, the journal lock, SIGHUP reload, SIGTERM.

Each test quotes the issue's clause it checks."""

from __future__ import annotations

import signal
import socket
import sqlite3
from pathlib import Path

import pytest

from bridge.daemon.client import TerminalClient, wait_until
from bridge.daemon.keys import allow_entry_toml, generate_keypair
from bridge.daemon.testing import DaemonProcess, make_setup
from tests.integration.opskit import (  # noqa: F401 - no_leftover_processes is an autouse fixture
    PATIENCE_S, events, leftovers_stopped, mtbridge, no_leftover_processes, spawn, wait_for,
)

pytestmark = pytest.mark.integration

TRADER, INVESTOR = 1001, 2001


def _setup(tmp: Path, extra: str = "", **kw: object):  # noqa: ANN202
    return make_setup(tmp, {"trader": ([TRADER], "trader"), "investor": ([INVESTOR], "investor"),
                            "ops": ([], "admin")}, heartbeat_ms=200, extra=extra, **kw)


def test_a_crashed_task_logs_its_exception_and_exits_non_zero(tmp_path: Path) -> None:
    """Issue 13 §3: "A crashed daemon logs `{"task": "timer", "exc_info": true, "event":
    "daemon.task_crashed"}` without the exception, and **exits 0** ... Log the exception
    (type, message, traceback as fields) and exit non-zero."

    The crash is the reviewer's: rows taken in the journal under the daemon's next event seq
    make its next commit fail with `UNIQUE constraint failed: events.seq`."""
    setup = _setup(tmp_path, extra="engine_tick_ms = 50")
    daemon = DaemonProcess(setup.config_path).start()
    db = sqlite3.connect(setup.journal, timeout=PATIENCE_S, isolation_level=None)
    db.execute("BEGIN IMMEDIATE")  # the daemon's commits wait: no seq is taken between read and insert
    top = db.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
    db.executemany("INSERT INTO events VALUES (?, 0, 'Bogus', '{}')", [(top + i,) for i in range(1, 100_001)])
    db.execute("COMMIT")
    db.close()
    assert daemon.proc is not None
    rc = daemon.proc.wait(PATIENCE_S)
    assert rc == 1
    crash = events(daemon.log_path, "daemon.task_crashed")
    assert len(crash) == 1, daemon.log_path.read_text()[-3000:]
    c = crash[0]
    assert c["exc_type"] == "IntegrityError" and "UNIQUE constraint failed: events.seq" in c["exc_message"]
    assert "Traceback (most recent call last)" in c["traceback"] and "IntegrityError" in c["traceback"]
    assert events(daemon.log_path, "daemon.stopped")[-1]["crashed_task"] in ("timer", "router", "feed", "admin")


def test_a_second_daemon_on_the_same_journal_exits_2_naming_the_holder(tmp_path: Path) -> None:
    """Issue 13 §3: "Nothing stops two daemons on one journal ... Take an exclusive lock; a
    second daemon exits 2 with one line naming the holder." The lock dies with its holder,
    kill -9 included."""
    setup = _setup(tmp_path)
    first = DaemonProcess(setup.config_path).start()
    assert first.proc is not None
    seq_before = _snapshot_rows(setup.journal)
    second = mtbridge("daemon", "--config", str(setup.config_path))
    assert second.returncode == 2
    line = second.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert line.startswith(f"mtbridge daemon: error: journal {setup.journal} is in use by pid {first.proc.pid} on host "
                           f"{socket.gethostname()} since ")
    assert _snapshot_rows(setup.journal) == seq_before  # it wrote nothing
    first.kill()  # kill -9: the kernel releases the lock
    restarted = DaemonProcess(setup.config_path, log_path=tmp_path / "second.log").start()
    assert restarted.terminate() == 0


def _snapshot_rows(journal: Path) -> list:
    db = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
    try:
        return db.execute("SELECT seq, taken_at FROM snapshots ORDER BY seq").fetchall()
    finally:
        db.close()


def _one_line_error(proc_result: object) -> str:
    """The error line: exactly one line that is not a JSON log line, and no traceback."""
    rc, err = proc_result.returncode, proc_result.stderr  # type: ignore[attr-defined]
    assert rc == 2, err
    lines = [x for x in err.splitlines() if not x.startswith("{")]
    assert "Traceback" not in err and len(lines) == 1, err
    return lines[0]


def test_a_port_in_use_is_one_line_exit_2(tmp_path: Path) -> None:
    """Issue 13 §3: "A port in use ends in a traceback ... One-line errors, exit 2"."""
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        setup = _setup(tmp_path)
        text = setup.config_path.read_text().replace('router = "tcp://127.0.0.1:*"', f'router = "tcp://127.0.0.1:{port}"')
        setup.config_path.write_text(text)
        line = _one_line_error(mtbridge("daemon", "--config", str(setup.config_path)))
        assert line == f"mtbridge daemon: error: cannot bind daemon.router to tcp://127.0.0.1:{port}: " \
                       "Address already in use"
        again = DaemonProcess(setup.config_path.with_name("free.toml"))  # the journal lock was released
        setup.config_path.with_name("free.toml").write_text(text.replace(f"127.0.0.1:{port}", "127.0.0.1:*"))
        assert again.start().terminate() == 0
    finally:
        busy.close()


def test_an_address_the_host_does_not_have_is_one_line_exit_2(tmp_path: Path) -> None:
    """The review: "A non-local IP also produces a traceback" (192.0.2.1: TEST-NET-1, never a
    host's own address)."""
    setup = _setup(tmp_path)
    setup.config_path.write_text(setup.config_path.read_text().replace(
        'router = "tcp://127.0.0.1:*"', 'router = "tcp://192.0.2.1:5570"'))
    line = _one_line_error(mtbridge("daemon", "--config", str(setup.config_path)))
    assert line == "mtbridge daemon: error: cannot bind daemon.router to tcp://192.0.2.1:5570: Cannot assign " \
                   "requested address"


def test_an_invalid_port_is_refused_not_wrapped(tmp_path: Path) -> None:
    """Issue 13 §3: "`tcp://127.0.0.1:99999` silently binds another port"."""
    setup = _setup(tmp_path)
    setup.config_path.write_text(setup.config_path.read_text().replace(
        'router = "tcp://127.0.0.1:*"', 'router = "tcp://127.0.0.1:99999"'))
    line = _one_line_error(mtbridge("daemon", "--config", str(setup.config_path)))
    assert line == (f"mtbridge daemon: error: {setup.config_path}: daemon.router: 'tcp://127.0.0.1:99999': expected "
                    "tcp://HOST:PORT with PORT 1-65535 or * (any free port)")


def test_a_mistyped_journal_path_does_not_start_an_empty_state(tmp_path: Path) -> None:
    """Issue 13 §3: "a mistyped journal path starts an empty state ... a new journal only with
    an explicit flag"."""
    setup = _setup(tmp_path)
    text = setup.config_path.read_text().replace('path = "journal.db"\ncreate = true', 'path = "nonexistent/dir/j.db"')
    setup.config_path.write_text(text)
    line = _one_line_error(mtbridge("daemon", "--config", str(setup.config_path)))
    journal = tmp_path / "nonexistent/dir/j.db"
    assert line == (f"mtbridge daemon: error: journal {journal} does not exist: check journal.path in "
                    f"{setup.config_path}, or start a new, empty journal with --create-journal (config: "
                    "journal.create = true)")
    assert not (tmp_path / "nonexistent").exists()  # nothing created
    created = DaemonProcess(setup.config_path, args=["--create-journal"]).start()
    assert created.terminate() == 0
    assert journal.exists() and (journal.stat().st_mode & 0o777) == 0o600
    again = DaemonProcess(setup.config_path).start()  # it exists now: no flag needed
    assert again.terminate() == 0


def test_sighup_reloads_the_allow_list_and_never_kills(tmp_path: Path) -> None:
    """Issue 13 §3: "SIGHUP kills the daemon silently and leaves the `-wal` file. Make SIGHUP
    reload the allow-list (no restart for a new terminal key) and never kill." A removed
    key's live session is cut; SIGTERM still stops cleanly."""
    setup = _setup(tmp_path)
    daemon = DaemonProcess(setup.config_path).start()
    assert daemon.proc is not None
    router = daemon.endpoints["router"]
    newcomer = generate_keypair()
    from bridge.daemon.client import Curve

    curve_new = Curve(setup.server.public, newcomer.public, newcomer.secret or "", "trader")
    investor = TerminalClient(router, setup.curve("investor"))
    try:
        investor.hello(INVESTOR)
        assert wait_until(lambda: investor.sessions[INVESTOR].welcomed, [investor], PATIENCE_S)
        early = TerminalClient(router, curve_new)  # not yet allowed: its handshake is refused
        wait_for(lambda: any(e.get("reason") == "unknown key" for e in events(daemon.log_path, "auth.denied")),
                 "the unknown key's refusal")
        early.close()
        # the allow-list file gains trader-1002 and loses the investor key; SIGHUP
        allow = setup.dir / "allow.toml"
        text = allow.read_text()
        start = text.index('[[allow]]\nname = "investor"')
        end = text.index("[[allow]]", start + 1)
        allow.write_text(text[:start] + text[end:] + "\n" + allow_entry_toml("trader-1002", newcomer.public,
                                                                           [1002], "trader"))
        daemon.proc.send_signal(signal.SIGHUP)
        reloaded = wait_for(lambda: events(daemon.log_path, "daemon.reloaded"), "daemon.reloaded")[0]
        assert reloaded["added"] == ["trader-1002"] and reloaded["removed"] == ["investor"]
        assert reloaded["connections_cut"] == 1
        assert any(e["login"] == INVESTOR and e["why"] == "key_removed"
                   for e in events(daemon.log_path, "terminal.offline"))
        newcomer_client = TerminalClient(router, curve_new)
        newcomer_client.hello(1002)
        assert wait_until(lambda: newcomer_client.sessions[1002].welcomed, [newcomer_client], PATIENCE_S)
        newcomer_client.close()
        daemon.proc.send_signal(signal.SIGHUP)  # a second one, nothing changed: still alive
        wait_for(lambda: len(events(daemon.log_path, "daemon.reloaded")) == 2, "the second reload")
        assert daemon.proc.poll() is None
    finally:
        investor.close()
    assert daemon.terminate() == 0
    assert events(daemon.log_path, "daemon.stopped")
    wal = Path(str(setup.journal) + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # checkpointed


def test_a_reload_with_a_bad_config_keeps_the_allow_list(tmp_path: Path) -> None:
    setup = _setup(tmp_path)
    daemon = DaemonProcess(setup.config_path).start()
    assert daemon.proc is not None
    (setup.dir / "allow.toml").write_text((setup.dir / "allow.toml").read_text() + "\n[[allow]]\nname = 3\n")
    daemon.proc.send_signal(signal.SIGHUP)
    failed = wait_for(lambda: events(daemon.log_path, "daemon.reload_failed"), "daemon.reload_failed")[0]
    assert "allow[3].name" in failed["error"]
    assert daemon.proc.poll() is None
    assert daemon.terminate() == 0


def test_version_and_log_level() -> None:
    """Issue 13 §3: "`mtbridge --version`, `--log-level`"."""
    from importlib.metadata import version

    r = mtbridge("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"mtbridge {version('mtbridge')}"
    r = mtbridge("--log-level", "loud", "margin", "--leverage", "100", "--currency", "USD", "buy", "1", "EURUSD@1.1")
    assert r.returncode == 2 and "--log-level: invalid choice: 'loud'" in r.stderr
    r = mtbridge("--log-level", "warning", "margin", "--leverage", "100", "--currency", "USD", "buy", "1",
                 "EURUSD@1.1")
    assert r.returncode == 0, r.stderr


def test_log_level_filters_the_daemon_log(tmp_path: Path) -> None:
    setup = _setup(tmp_path)
    log = tmp_path / "quiet.log"
    ready = tmp_path / "endpoints.json"
    proc = spawn("--log-level", "warning", "daemon", "--config", str(setup.config_path), "--endpoints-file",
                 str(ready), log=log)
    try:
        wait_for(lambda: ready.exists() or proc.poll() is not None, "the daemon to listen")
        started = ready.exists()  # it did listen: the absences below are the filter's doing
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(PATIENCE_S)
    assert started and rc == 0
    assert not events(log, "daemon.started") and not events(log, "daemon.stopped")  # info lines filtered
    daemon_level = tmp_path / "info.log"
    proc = spawn("--log-level", "warning", "daemon", "--log-level", "info", "--config", str(setup.config_path),
                 "--endpoints-file", str(ready), log=daemon_level)
    ready.unlink()
    try:
        wait_for(lambda: ready.exists() or proc.poll() is not None, "the daemon to listen")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(PATIENCE_S) == 0
    assert events(daemon_level, "daemon.started")  # the command's own --log-level wins


def test_check_config_validates_without_starting(tmp_path: Path) -> None:
    """The review's feature table: "no `--check-config` dry run"."""
    setup = _setup(tmp_path)
    r = mtbridge("daemon", "--config", str(setup.config_path), "--check-config")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        f"{setup.config_path}: ok: router tcp://127.0.0.1:*, pub tcp://127.0.0.1:*, admin tcp://127.0.0.1:*, "
        "health off, 3 allow-list keys, rule tables packaged",
        f"journal {setup.journal}: will be created"]
    assert not setup.journal.exists()
    daemon = DaemonProcess(setup.config_path).start()
    assert daemon.proc is not None
    r = mtbridge("daemon", "--config", str(setup.config_path), "--check-config")
    assert r.returncode == 0 and f"is in use by pid {daemon.proc.pid}" in r.stdout
    assert daemon.terminate() == 0
    setup.config_path.write_text(setup.config_path.read_text().replace("heartbeat_ms = 200", "heartbeat_ms = 0"))
    line = _one_line_error(mtbridge("daemon", "--config", str(setup.config_path), "--check-config"))
    assert line == f"mtbridge daemon: error: {setup.config_path}: daemon.heartbeat_ms: must be a whole number >= 50, got 0"


def test_a_test_that_fails_half_way_leaves_no_daemon_running(tmp_path: Path) -> None:
    """Review of issue 10: "the ops integration tests (tests/integration/test_ops_*.py) leak a
    daemon process when they fail mid-test — make teardown always stop it". Every test of these
    modules runs inside `leftovers_stopped` (an autouse fixture); here a failure half-way
    through one: both daemons it started, by `DaemonProcess` and by `spawn`, are gone after."""
    first, second = _setup(tmp_path / "a"), _setup(tmp_path / "b")
    started: list = []
    with pytest.raises(AssertionError, match="half-way"), leftovers_stopped():
        started.append(DaemonProcess(first.config_path).start().proc)
        ready = tmp_path / "b" / "ready.json"
        started.append(spawn("daemon", "--config", str(second.config_path), "--endpoints-file", str(ready),
                             log=tmp_path / "b.log"))
        wait_for(lambda: ready.exists(), "the spawned daemon to listen")
        assert all(p.poll() is None for p in started)  # both running when the test fails
        raise AssertionError("a failure half-way")
    assert [p.poll() is not None for p in started] == [True, True]
