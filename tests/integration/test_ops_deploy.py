"""Deployment (issue 13 §3): "a systemd unit (hardened, restart on failure, readiness), a
Dockerfile (non-root, health check), a reverse-proxy example for TLS in front of the dashboard,
log rotation, backup and restore, upgrade notes, and a config key for a broker's own rule
tables"."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from bridge.daemon.config import load_config
from bridge.daemon.testing import DaemonProcess, make_setup
from tests.integration.opskit import (  # noqa: F401 - no_leftover_processes is an autouse fixture
    PATIENCE_S, events, wait_for, no_leftover_processes,
)

pytestmark = pytest.mark.integration

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_readiness_reload_and_stop_are_notified_to_systemd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Type=notify: READY=1 once listening, RELOADING=1 then READY=1 around SIGHUP,
    STOPPING=1 on SIGTERM (sd_notify over $NOTIFY_SOCKET, as systemd does it)."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = tmp_path / "notify.sock"
    listener.bind(str(path))
    listener.settimeout(PATIENCE_S)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    setup = make_setup(tmp_path / "d", {"t": ([1], "trader")})
    daemon = DaemonProcess(setup.config_path).start()
    assert daemon.proc is not None
    try:
        ready = listener.recv(4096).decode()
        assert ready.startswith("READY=1\n") and f"MAINPID={daemon.proc.pid}" in ready
        assert listener.recv(4096) == b"WATCHDOG=1"  # the timer loop's once-a-second ping
        daemon.proc.send_signal(signal.SIGHUP)
        got = _until(listener, b"RELOADING=1")
        assert got == [b"RELOADING=1"] and _next_not_watchdog(listener) == b"READY=1"
        wait_for(lambda: events(daemon.log_path, "daemon.reloaded"), "the reload")
    finally:
        rc = daemon.terminate()  # asserted below, so a failure above is the one reported
    assert rc == 0
    assert _next_not_watchdog(listener) == b"STOPPING=1"
    listener.close()


def _next_not_watchdog(listener: socket.socket) -> bytes:
    while True:
        got = listener.recv(4096)
        if got != b"WATCHDOG=1":
            return got


def _until(listener: socket.socket, wanted: bytes) -> list[bytes]:
    """The datagrams up to `wanted`, watchdog pings left out."""
    out = []
    while not out or out[-1] != wanted:
        got = _next_not_watchdog(listener)
        out.append(got)
    return out


def test_the_example_production_config_loads(tmp_path: Path) -> None:
    shutil.copy(DEPLOY / "daemon.toml", tmp_path / "daemon.toml")
    setup = make_setup(tmp_path / "k", {"t": ([1], "trader")})
    (tmp_path / "keys").mkdir()
    shutil.copy(setup.dir / "server.key", tmp_path / "keys" / "server.key")
    shutil.copy(setup.dir / "allow.toml", tmp_path / "allow.toml")
    cfg = load_config(tmp_path / "daemon.toml")
    assert cfg.health == "127.0.0.1:9464" and cfg.journal_create is False and len(cfg.allow) == 1


def test_the_deployment_files_say_what_they_must() -> None:
    unit = (DEPLOY / "systemd" / "mtbridge.service").read_text()
    for line in ("Type=notify", "Restart=on-failure", "WatchdogSec=30", "RestartPreventExitStatus=2", "ExecReload=/bin/kill -HUP $MAINPID",
                 "User=mtbridge", "NoNewPrivileges=yes", "ProtectSystem=strict", "UMask=0077"):
        assert line in unit.splitlines(), line
    docker = (DEPLOY / "docker" / "Dockerfile").read_text()
    assert "\nUSER mtbridge:mtbridge\n" in docker and "\nHEALTHCHECK " in docker and "/healthz" in docker
    nginx = (DEPLOY / "nginx" / "mtbridge-dashboard.conf").read_text()
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in nginx and "proxy_buffering off;" in nginx
    assert "copytruncate" in (DEPLOY / "logrotate" / "mtbridge").read_text()
    assert "mtbridge daemon backup" in (DEPLOY / "systemd" / "mtbridge-backup.service").read_text()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_the_units_pass_systemd_analyze() -> None:
    for name in ("mtbridge.service", "mtbridge-dashboard.service", "mtbridge-backup.service",
                 "mtbridge-backup.timer"):
        r = subprocess.run(["systemd-analyze", "verify", str(DEPLOY / "systemd" / name)], capture_output=True,
                           text=True, timeout=PATIENCE_S)
        problems = [x for x in (r.stdout + r.stderr).splitlines()
                    if x.strip() and "is not executable: No such file or directory" not in x]  # not installed here
        assert not problems, problems
