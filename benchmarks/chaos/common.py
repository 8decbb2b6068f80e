"""What every module of the chaos harness shares: the repository root (on sys.path, for the
processes started from here), the trader's login, the wall clock, percentiles and the log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Self

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TRADER = 1001


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def pct(xs: list[float], p: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def rounded(x: float | None, n: int) -> float | None:
    """round(x, n), None kept."""
    return None if x is None else round(x, n)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def tmpdir(name: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"chaos-{name}-"))


def child_env() -> dict[str, str]:
    """This process's environment with the repository first on PYTHONPATH, for the processes
    started from here (the daemon, terminal groups, flooders)."""
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def kill_group(proc: subprocess.Popen, wait_s: float) -> None:
    """kill -9 the process group of a child started in a session of its own, if it still runs."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(wait_s)


class BackgroundThread:
    """A daemon thread running `_run` (which returns once `_stop` is set): `start()` returns the
    object, `close()` stops it and waits up to `join_s` for the thread."""

    join_s = 5.0

    def __init__(self, name: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        raise NotImplementedError

    def start(self) -> Self:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._thread.join(self.join_s)
