"""The daemon's periodic work: the timer loop (core ticks, `daemon.stats` with the loop's health,
periodic feed snapshots, engine snapshots), the WAL checkpoint loop and the gc pause watch. A mixin
of `bridge.daemon.server.Daemon`, whose state it uses (`core`, `config`, `store`, the loop figures)."""

from __future__ import annotations

import asyncio
import os
import time
from time import perf_counter_ns, thread_time_ns
from typing import TYPE_CHECKING

from bridge.daemon.snapshots import Snapshots

if TYPE_CHECKING:
    from bridge.daemon.server import Daemon


class TimerShell:
    def _gc_watch(self: Daemon, phase: str, _info: dict) -> None:
        """gc callback: the collections' pauses, reported as daemon.stats gc_max_ms."""
        if phase == "start":
            self._gc_start = perf_counter_ns()
        else:
            self.gc_max_ns = max(self.gc_max_ns, perf_counter_ns() - self._gc_start)

    async def _timer_loop(self: Daemon) -> None:
        run_wait = _RunWait()  # read on this (the loop's) thread
        try:
            await self._timer_passes(run_wait)
        finally:
            run_wait.close()

    async def _timer_passes(self: Daemon, run_wait: _RunWait) -> None:
        core = self.core
        assert core is not None
        cfg = self.config
        interval = min(cfg.heartbeat_ms / 4, 100) / 1000
        next_warn = time.monotonic() + cfg.insecure_warn_every_s
        next_stats = time.monotonic() + 1.0
        next_snapshot = time.monotonic() + cfg.feed_snapshot_every_s
        snapshots = self.snapshots = Snapshots.of(self.store, cfg, self.log)
        next_slow_log = 0.0
        while True:
            pause = 0.005 if core.has_backlog else interval
            asleep, cpu0, wait0 = perf_counter_ns(), thread_time_ns(), run_wait()
            self.timer_due_ns = asleep + int(pause * 1e9)  # the router turns step aside once it is due
            try:
                await asyncio.sleep(pause)
            finally:
                self.timer_due_ns = 0
            # how late the timer fired = how long something else held the loop; beside it, what the
            # loop thread did over that sleep: ran (our other callbacks), or waited for a core
            late = perf_counter_ns() - asleep - int(pause * 1e9)
            if late > self.loop_lag_ns:
                self.loop_lag_ns = late
                self.lag_cpu_ns = thread_time_ns() - cpu0
                self.lag_wait_ns = run_wait() - wait0
            self._drain_router()  # what arrived meanwhile first: silence is judged after reading
            now = self.clock()
            t0 = perf_counter_ns()
            core.tick(now, self._mark_input())
            t_tick = perf_counter_ns()
            mono = time.monotonic()
            if mono >= next_stats:  # F12: every second, also the feed's liveness beat
                next_stats = mono + 1.0
                if self.health is not None:
                    self.health.beat(self.loop_lag_ns)
                if self.watchdog is not None:  # systemd WatchdogSec: a stuck loop stops these and gets restarted
                    self.watchdog("WATCHDOG=1")
                core.publish_stats(now, {"loop_lag_ms": round(self.loop_lag_ns / 1e6, 1),
                                         "turn_max_ms": round(self.turn_max_ns / 1e6, 1),
                                         "turn_max_cpu_ms": round(self.turn_cpu_ns / 1e6, 1),
                                         "gc_max_ms": round(self.gc_max_ns / 1e6, 1),
                                         "loop_lag_cpu_ms": round(self.lag_cpu_ns / 1e6, 1),
                                         "loop_lag_wait_ms": round(self.lag_wait_ns / 1e6, 1)})
                if self.turn_max_ns > 2 * cfg.ingest_budget_ms * 1_000_000:  # once a second at most
                    self.log.warning("loop.slow_turn", wall_ms=round(self.turn_max_ns / 1e6, 1),
                                     cpu_ms=round(self.turn_cpu_ns / 1e6, 1), budget_ms=cfg.ingest_budget_ms)
                self.loop_lag_ns = self.turn_max_ns = self.turn_cpu_ns = self.gc_max_ns = 0
                self.lag_cpu_ns = self.lag_wait_ns = 0
            if mono >= next_snapshot:  # F4 (c); a 10 000-account snapshot costs ~0.1 s: only for listeners
                next_snapshot = mono + cfg.feed_snapshot_every_s
                if self.feed_subscriptions > 0:
                    core.publish_snapshot(now)
            t_feed = perf_counter_ns()
            self._commit(t0 + cfg.ingest_budget_ms * 1_000_000)  # the pass's sends share its budget
            t_commit = perf_counter_ns()
            self._cut()
            self._drain_soon()  # our sends may have consumed the FD edge of waiting frames: a turn of its own
            self._drain_feed()
            t_snap = perf_counter_ns()
            snapshots.tick(core, now, self._commit)  # forks; the engine is packed and written off the loop
            t_end = perf_counter_ns()
            work = (t_commit - t0) + (t_end - t_snap)  # this loop's own work, the drain turns aside
            if work > 2 * cfg.ingest_budget_ms * 1_000_000 and mono >= next_slow_log:
                next_slow_log = mono + 1.0
                self.log.warning("loop.slow_timer", tick_ms=round((t_tick - t0) / 1e6, 1),
                                 feed_ms=round((t_feed - t_tick) / 1e6, 1),
                                 commit_ms=round((t_commit - t_feed) / 1e6, 1),
                                 snapshot_ms=round((t_end - t_snap) / 1e6, 1))
            if self.insecure and time.monotonic() >= next_warn:
                next_warn = time.monotonic() + cfg.insecure_warn_every_s
                self._warn_insecure()

    async def _checkpoint_loop(self: Daemon) -> None:
        """The WAL's upkeep (`SqliteStore.maintain_wal`: synced every second, copied back when
        due) in a worker thread (own connection), so no fsync lands in a send path."""
        maintain = getattr(self.store, "maintain_wal", None)
        if maintain is None:
            return
        while True:
            await asyncio.sleep(1.0)
            await asyncio.to_thread(maintain, time.monotonic())


class _RunWait:
    """The calling thread's run-queue wait so far (ns, /proc/thread-self/schedstat: time it was
    runnable but had no CPU); 0 where the kernel has no schedstat. The file stays open (a
    re-read is ~1 us, opening it ~10 us) until `close`."""

    def __init__(self) -> None:
        try:
            self.fd: int | None = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
        except OSError:
            self.fd = None

    def __call__(self) -> int:
        if self.fd is None:
            return 0
        try:
            return int(os.pread(self.fd, 64, 0).split()[1])
        except (OSError, IndexError, ValueError):
            return 0

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
