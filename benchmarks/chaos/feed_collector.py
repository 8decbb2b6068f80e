"""The daemon's feed, collected in a thread, and the queries on its `daemon.stats` beats."""

from __future__ import annotations

import threading
import time

import msgpack
import zmq

from benchmarks.chaos.common import BackgroundThread, wall_ms
from bridge.daemon.client import Curve, sync_context


class FeedCollector(BackgroundThread):
    """SUB on the daemon's feed in a thread: (recv wall ms, topic, body) for chosen topics."""

    TOPICS = (b"terminal.offline", b"terminal.online", b"record.copy_refused", b"record.copy_opened",
              b"daemon.stats", b"record.subscription_started", b"abuse")

    def __init__(self, endpoint: str, curve: Curve) -> None:
        self.endpoint, self.curve = endpoint, curve
        self.items: list[tuple[int, str, dict]] = []
        super().__init__("feed")
        self._lock = threading.Lock()

    def start(self, timeout: float = 20.0) -> FeedCollector:
        """Start; returns once the first `daemon.stats` beat came (or after `timeout`)."""
        super().start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.topic("daemon.stats"):
            time.sleep(0.02)
        return self

    def _run(self) -> None:
        s = sync_context().socket(zmq.SUB)
        s.linger = 0
        s.setsockopt(zmq.RCVHWM, 0)
        s.curve_serverkey = self.curve.server_public.encode()
        s.curve_publickey, s.curve_secretkey = self.curve.public.encode(), self.curve.secret.encode()
        for t in self.TOPICS:
            s.setsockopt(zmq.SUBSCRIBE, t)
        s.connect(self.endpoint)
        try:
            while not self._stop.is_set():
                if not s.poll(50):
                    continue
                while True:
                    try:
                        topic, body = s.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    except ValueError:
                        continue
                    t = topic.decode()
                    if t == "snapshot":
                        continue
                    try:
                        b = msgpack.unpackb(body, raw=False, strict_map_key=False)
                    except Exception:  # noqa: BLE001
                        b = {}
                    with self._lock:
                        self.items.append((wall_ms(), t, b))
        finally:
            s.close(0)

    def topic(self, name: str, since_ms: int = 0) -> list[dict]:
        with self._lock:
            return [b for ts, t, b in self.items if t == name and ts >= since_ms]

    def stats_gap_ms(self, since_ms: int = 0, until_ms: int | None = None) -> float:
        """Longest gap between consecutive `daemon.stats` beats (their own `ts`), in a window."""
        with self._lock:
            ts = [b.get("ts", r) for r, t, b in self.items if t == "daemon.stats" and r >= since_ms
                  and (until_ms is None or r <= until_ms)]
        gaps = [b - a for a, b in zip(ts, ts[1:])]
        return float(max(gaps)) if gaps else None

    def _beats(self, since_ms: int, until_ms: int | None) -> list[dict]:
        """`daemon.stats` bodies covering [since_ms, until_ms] (by the daemon's `ts`; a beat
        covers the second before it)."""
        with self._lock:
            return [b for _, t, b in self.items if t == "daemon.stats" and b.get("ts", 0) >= since_ms
                    and (until_ms is None or b.get("ts", 0) <= until_ms + 1000)]

    def stats_max(self, field: str, since_ms: int, until_ms: int | None = None) -> float | None:
        """Max of a `daemon.stats` figure (e.g. `loop_lag_ms`, `turn_max_ms`: the daemon's own
        measure of its loop over the second before each beat) over a window."""
        vals = [float(b[field]) for b in self._beats(since_ms, until_ms) if b.get(field) is not None]
        return max(vals) if vals else None

    #: the daemon's own figures of its loop, each the max over a window (`loop_figures`)
    LOOP_FIGURES = ("loop_lag_ms", "turn_max_ms", "gc_max_ms", "turn_max_cpu_ms")

    def loop_figures(self, since_ms: int, until_ms: int | None = None) -> dict[str, float | None]:
        """Max of each `LOOP_FIGURES` figure over a window: loop lag, longest turn, longest gc
        pause, the longest turn's CPU."""
        return {name: self.stats_max(name, since_ms, until_ms) for name in self.LOOP_FIGURES}

    def stats_top(self, field: str, since_ms: int, until_ms: int | None = None, n: int = 3,
                  origin_ms: int | None = None) -> list[list[float]]:
        """The `n` highest beats of a `daemon.stats` figure: [ms after origin_ms (default since_ms), value]."""
        origin = since_ms if origin_ms is None else origin_ms
        xs = [(float(b[field]), b.get("ts", 0)) for b in self._beats(since_ms, until_ms) if b.get(field) is not None]
        return [[ts - origin, v] for v, ts in sorted(xs, reverse=True)[:n]]

    def stats_count(self, since_ms: int, until_ms: int | None = None) -> int:
        return len(self._beats(since_ms, until_ms))

