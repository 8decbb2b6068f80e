"""The daemon in a subprocess of its own process group, and what /proc tells of it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.chaos import placement
from benchmarks.chaos.common import ROOT, child_env, kill_group


class Daemon:
    """The daemon in a subprocess of its own process group (SIGSTOP / SIGCONT / kill -9)."""

    def __init__(self, config_path: Path) -> None:
        self.config_path = config_path
        self.endpoints_file = config_path.parent / "endpoints.json"
        self.log_path = config_path.parent / "daemon.log"
        self.proc: subprocess.Popen | None = None
        self.endpoints: dict[str, Any] = {}
        self.stopped = False

    def start(self, timeout: float = 60.0) -> float:
        """Start; returns seconds until the endpoints file was written (sockets bound)."""
        if self.endpoints_file.exists():
            self.endpoints_file.unlink()
        cmd = [sys.executable, "-m", "bridge.cli", "daemon", "--config", str(self.config_path),
               "--endpoints-file", str(self.endpoints_file), "--log-level", "info"]
        env = child_env()
        t0 = time.monotonic()
        with open(self.log_path, "ab") as logf:
            self.proc = subprocess.Popen(cmd, stdout=logf, stderr=logf, cwd=str(ROOT), env=env,
                                         start_new_session=True, preexec_fn=placement.daemon_side)
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            if self.endpoints_file.exists():
                try:
                    self.endpoints = json.loads(self.endpoints_file.read_text())
                    return time.monotonic() - t0
                except json.JSONDecodeError:
                    pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited {self.proc.returncode}: {self.log_path.read_text()[-2000:]}")
            time.sleep(0.005)
        self.kill()
        raise RuntimeError("daemon did not start in time")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop_signal(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)
        self.stopped = True

    def cont_signal(self) -> None:
        os.kill(self.pid, signal.SIGCONT)
        self.stopped = False

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def run_delay_ms(self) -> float:
        """How long the daemon's main thread (its event loop) waited runnable for a CPU so far
        (/proc/PID/schedstat): loop lag that is the machine's, not the daemon's own work."""
        try:
            return int(Path(f"/proc/{self.pid}/schedstat").read_text().split()[1]) / 1e6
        except (OSError, IndexError, ValueError):
            return float("nan")

    def cpu_s(self) -> float:
        """CPU seconds (user + system) the daemon process used so far."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return float("nan")

    def kill(self) -> None:
        if self.proc is not None:
            kill_group(self.proc, 30)

    def terminate(self, timeout: float = 30.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        if self.stopped:
            self.cont_signal()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_lines(self, event: str) -> list[dict]:
        out = []
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return out
        for line in text.splitlines():
            if event in line:
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    out.append({"event": event, "raw": line})
        return [x for x in out if x.get("event") == event or "raw" in x]

