"""Helpers of the operations tests: run `mtbridge` as a subprocess, read its JSON log lines,
wait on conditions (never on fixed sleeps)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bridge.daemon.testing import DaemonProcess

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
PATIENCE_S = 60.0  # an upper bound for a loaded machine; every wait ends as soon as its condition holds


def mtbridge(*args: str, stdin: str | None = None, timeout: float = PATIENCE_S) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bridge.cli", *args], cwd=ROOT, env=ENV, input=stdin,
                          capture_output=True, text=True, timeout=timeout)


_SPAWNED: list[subprocess.Popen] = []  # every `spawn`, for `leftovers_stopped`


def spawn(*args: str, log: Path) -> subprocess.Popen:
    with open(log, "ab") as f:
        proc = subprocess.Popen([sys.executable, "-m", "bridge.cli", *args], cwd=ROOT, env=ENV, stdout=f, stderr=f)
    _SPAWNED.append(proc)
    return proc


@contextlib.contextmanager
def leftovers_stopped() -> Iterator[None]:
    """Every daemon (`DaemonProcess`) and `spawn`ed command started inside is killed on the way
    out if still running: a test that fails half-way leaks no process (and no journal lock)."""
    daemons: list[DaemonProcess] = []
    original = DaemonProcess.start

    def start(self: DaemonProcess, timeout: float = 30.0) -> DaemonProcess:
        daemons.append(self)  # before starting: a start that fails may still have a process
        return original(self, timeout)

    DaemonProcess.start = start  # type: ignore[method-assign]
    mark = len(_SPAWNED)
    try:
        yield
    finally:
        DaemonProcess.start = original  # type: ignore[method-assign]
        for daemon in daemons:
            daemon.kill()  # kill -9 if still running, then reaped
        for proc in _SPAWNED[mark:]:
            if proc.poll() is None:
                proc.kill()
                proc.wait(PATIENCE_S)
        del _SPAWNED[mark:]


@pytest.fixture(autouse=True)
def no_leftover_processes() -> Iterator[None]:
    """Autouse in the operations tests (imported by each module): `leftovers_stopped` per test."""
    with leftovers_stopped():
        yield


def log_lines(path: Path) -> list[dict]:
    out = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def events(path: Path, name: str) -> list[dict]:
    return [r for r in log_lines(path) if r.get("event") == name]


def wait_for(predicate: Callable[[], object], what: str, timeout: float = PATIENCE_S) -> object:
    deadline = time.monotonic() + timeout
    while True:
        got = predicate()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def http_get(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=PATIENCE_S) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()
