"""Probes of the daemon's loop from outside: its thread's run-queue wait (`SchedSampler`, set
beside the daemon's own loop lag by `lag_beside_wait`) and admin ping round trips (`LoopProbe`)."""

from __future__ import annotations

import time

from benchmarks.chaos.common import BackgroundThread, wall_ms
from benchmarks.chaos.daemon_process import Daemon
from benchmarks.chaos.feed_collector import FeedCollector
from bridge.daemon.client import AdminClient, Curve


class SchedSampler(BackgroundThread):
    """Samples the daemon loop thread's run-queue wait (`Daemon.run_delay_ms`) every 100 ms in a
    thread, so each `daemon.stats` beat's loop lag can be set beside how long, in that same
    second, the loop was runnable but the machine gave it no CPU."""

    join_s = 2.0

    def __init__(self, daemon: Daemon, every_s: float = 0.1) -> None:
        self.daemon, self.every_s = daemon, every_s
        self.samples: list[tuple[int, float]] = []  # (wall ms, run delay ms so far)
        super().__init__("sched")

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            v = self.daemon.run_delay_ms()
            if v == v:
                self.samples.append((wall_ms(), v))

    def wait_ms(self, a_ms: int, b_ms: int) -> float | None:
        """Run-queue wait between the samples nearest a_ms and b_ms."""
        xs = list(self.samples)
        before = [v for t, v in xs if t <= a_ms]
        after = [v for t, v in xs if t >= b_ms]
        if not before or not after:
            return None
        return round(after[0] - before[-1], 1)


def lag_beside_wait(feed: FeedCollector, sched: SchedSampler, since_ms: int, until_ms: int, origin_ms: int,
                    n: int = 3) -> list[list[float | None]]:
    """The `n` worst `loop_lag_ms` beats: [ms after origin, loop_lag_ms, run-queue wait ms of the
    daemon's loop thread in the second the beat covers (sampled from here), and the daemon's own
    split of that late timer's sleep: loop thread CPU ms, loop thread run-queue wait ms]."""
    out = []
    beats = {b.get("ts", 0): b for b in feed._beats(since_ms, until_ms)}
    for off, lag in feed.stats_top("loop_lag_ms", since_ms, until_ms, n, origin_ms=origin_ms):
        ts = int(off + origin_ms)
        b = beats.get(ts, {})
        out.append([off, lag, sched.wait_ms(ts - 1000, ts), b.get("loop_lag_cpu_ms"), b.get("loop_lag_wait_ms")])
    return out


class LoopProbe(BackgroundThread):
    """Round trips of a cheap admin request (unknown op -> error reply) on the daemon's loop,
    one every `every_s`: the longest round trip bounds the loop's longest block."""

    def __init__(self, endpoint: str, curve: Curve, every_s: float = 0.02) -> None:
        self.endpoint, self.curve, self.every_s = endpoint, curve, every_s
        self.samples: list[tuple[float, float]] = []  # (monotonic send time, rtt ms)
        super().__init__("probe")

    def _run(self) -> None:
        admin = AdminClient(self.endpoint, self.curve)
        try:
            while not self._stop.is_set():
                t0 = time.monotonic()
                self.inflight = t0
                try:
                    admin("ping", timeout=600)
                except TimeoutError:
                    continue
                finally:
                    self.inflight = None
                self.samples.append((t0, (time.monotonic() - t0) * 1000))
                time.sleep(self.every_s)
        finally:
            admin.close()

    inflight: float | None = None

    def max_ms(self, since: float = 0.0, until: float | None = None) -> float | None:
        """Longest round trip overlapping [since, until] (one still in flight counts so far)."""
        end = time.monotonic() if until is None else until
        xs = [r for t, r in list(self.samples) if t <= end and t + r / 1000 >= since]
        if self.inflight is not None and self.inflight <= end:
            xs.append((time.monotonic() - self.inflight) * 1000)
        return max(xs) if xs else None

