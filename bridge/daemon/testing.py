"""Helpers for daemon tests and benchmarks: key material, config files, subprocess daemons.

Not used by the daemon itself.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.daemon.client import Curve
from bridge.daemon.keys import KeyPair, allow_entry_toml, generate_keypair, write_keypair
from bridge.daemon.store import read_commands
from bridge.daemon.store_ahead import read_view


@dataclass
class Setup:
    """A directory with a config file, server key, allow-list and client key pairs."""

    dir: Path
    config_path: Path
    server: KeyPair
    keys: dict[str, KeyPair] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)
    journal_url: str = ""  # a PostgreSQL journal instead of journal.db

    def curve(self, name: str) -> Curve:
        k = self.keys[name]
        assert k.secret is not None
        return Curve(self.server.public, k.public, k.secret, self.roles.get(name, "trader"))

    @property
    def journal(self) -> Path | str:
        """The journal.db file, or the PostgreSQL URL (journal_records/journal_commands read both)."""
        return self.journal_url or self.dir / "journal.db"


def make_setup(directory: Path, keys: dict[str, tuple[list[int], str]], *, heartbeat_ms: int = 1000,
               extra: str = "", engine: str = "", journal_url: str = "") -> Setup:
    """keys: name -> (logins, role). Endpoints bind ephemeral loopback ports. `journal_url`: a
    PostgreSQL database for the journal (created at start) instead of journal.db."""
    directory.mkdir(parents=True, exist_ok=True)
    server = generate_keypair()
    write_keypair(directory / "server.key", server)
    setup = Setup(directory, directory / "daemon.toml", server, journal_url=journal_url)
    allow = []
    for name, (logins, role) in keys.items():
        pair = generate_keypair()
        setup.keys[name] = pair
        setup.roles[name] = role
        allow.append(allow_entry_toml(name, pair.public, logins, role))
    (directory / "allow.toml").write_text("\n".join(allow))
    setup.config_path.write_text(
        "[daemon]\nrouter = \"tcp://127.0.0.1:*\"\npub = \"tcp://127.0.0.1:*\"\nadmin = \"tcp://127.0.0.1:*\"\n"
        f"heartbeat_ms = {heartbeat_ms}\n{extra}\n"
        "[security]\nserver_key_file = \"server.key\"\nallow_list = \"allow.toml\"\n"
        + (f"[journal]\nurl = \"{journal_url}\"\ncreate = true\n" if journal_url else
           "[journal]\npath = \"journal.db\"\ncreate = true\n")  # a fresh directory: the daemon starts its journal
        + f"[engine]\n{engine}\n"
    )
    return setup


class DaemonProcess:
    """`mtbridge daemon` in a subprocess (python -m bridge.cli daemon)."""

    def __init__(self, config_path: Path, *, insecure: bool = False, log_path: Path | None = None,
                 args: list[str] | None = None) -> None:
        self.config_path = config_path
        self.args = list(args or [])
        self.endpoints_file = config_path.parent / "endpoints.json"
        self.insecure = insecure
        self.log_path = log_path or config_path.parent / "daemon.log"
        self.proc: subprocess.Popen | None = None
        self.endpoints: dict[str, Any] = {}

    def start(self, timeout: float = 30.0) -> DaemonProcess:
        if self.endpoints_file.exists():
            self.endpoints_file.unlink()
        cmd = [sys.executable, "-m", "bridge.cli", "daemon", "--config", str(self.config_path),
               "--endpoints-file", str(self.endpoints_file)]
        if self.insecure:
            cmd.append("--insecure")
        cmd += self.args
        log = open(self.log_path, "ab")  # noqa: SIM115
        root = Path(__file__).resolve().parents[2]
        env = {**os.environ, "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, cwd=str(root), env=env)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.endpoints_file.exists():
                self.endpoints = json.loads(self.endpoints_file.read_text())
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited with {self.proc.returncode}: {self.log_path.read_text()[-2000:]}")
            time.sleep(0.02)
        self.kill()
        raise RuntimeError("daemon did not start in time")

    def kill(self) -> None:
        """kill -9."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM, wait; kill -9 if it does not stop in time."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode


def _read_only(journal: Path | str):  # noqa: ANN202
    """A connection to read a journal beside its daemon: SQLite read-only, or PostgreSQL."""
    if isinstance(journal, str) and journal.startswith("postgres"):
        from bridge.daemon.store_pg import connect

        return connect(journal, "mtbridge test reader")
    return read_view(journal)  # with the steps only its write-ahead file holds yet


def journal_records(path: Path | str, topic: str | None = None) -> list[dict]:
    db = _read_only(path)
    try:
        mark = "?" if isinstance(db, sqlite3.Connection) else "%s"
        q = "SELECT topic, body FROM records" + (f" WHERE topic = {mark}" if topic else "") + " ORDER BY id"
        return [{"topic": t, **json.loads(b)} for t, b in db.execute(q, (topic,) if topic else ())]
    finally:
        db.close()


def journal_commands(path: Path | str) -> list[tuple[str, int, str, str]]:
    """(key, login, type, status) of every journaled command."""
    db = _read_only(path)
    try:
        if not isinstance(db, sqlite3.Connection):
            from bridge.daemon.store_pg import read_commands as read_pg

            return [(r.key, r.login, r.type, status) for r, status, _ in read_pg(db)]
        return [(r.key, r.login, r.type, status) for r, status, _ in read_commands(db)]
    finally:
        db.close()
