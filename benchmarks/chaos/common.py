"""What every module of the chaos harness shares: the repository root (on sys.path, for the
processes started from here), the trader's login, the wall clock, percentiles and the log."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

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
