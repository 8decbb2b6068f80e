"""Engine snapshots that never block the event loop (docs/operations.md, "The journal and
snapshots").

How (chosen by measurement, figures in the doc): the loop commits the step's batch, so the
engine is exactly the journal up to `core.seq`, then `os.fork()`s, like Redis BGSAVE. The
child holds a copy-on-write image of that engine: it packs it (`Engine.to_bytes`) into a
pipe and leaves with `os._exit` (no atexit handlers, no finalisers: it never touches the zmq
context, the asyncio loop or the parent's SQLite connection). A worker thread of the parent
reads the pipe, reaps the child and writes the snapshot with its own SQLite connection in
short transactions (`Store.write_snapshot`); the snapshot exists once its row commits, and
until then recovery uses the previous one. The loop pays the fork only.

If the daemon dies meanwhile, the child gets EPIPE and exits; the pieces written so far have
no row and are never read. Off Linux (no `os.fork`, or macOS, where system libraries are not
fork-safe in a threaded process) the state is packed on the loop (0.3-0.6 s at 10 000
subscriptions) and written by the thread.

When: after `snapshot_every_events` journaled events or `snapshot_every_s`, and at the first
tick after a start that replayed events, so the replay tail of the next start is bounded by
what one run journals before its first snapshot, however often the daemon is killed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import os
import signal
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

from bridge.copytrading import Engine
from bridge.daemon.store import Store

RETRY_MS = 10_000  # after a failed snapshot
# Linux only: macOS system libraries are not safe to use in a child forked from a threaded process.
FORK = sys.platform.startswith("linux") and hasattr(os, "fork")


class Snapshots:
    """One snapshot in flight at most. `tick` on the loop; `close` at shutdown."""

    def __init__(self, store: Store, *, every_events: int, every_ms: int, log: Any = None,
                 use_fork: bool | None = None) -> None:
        self.store = store
        self.every_events = every_events
        self.every_ms = every_ms
        self.log = log
        self.use_fork = FORK if use_fork is None else use_fork
        self.inflight: concurrent.futures.Future | None = None  # done as soon as the writer is
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self.seq: int | None = None  # of the last snapshot started
        self.committed: int | None = None  # of the last snapshot committed
        self.at = 0
        self.failed = False
        self.retry_at = 0
        self.last: dict[str, Any] = {}  # figures of the last snapshot (seq, bytes, block_ms, ms)
        self._t0 = 0.0

    @classmethod
    def of(cls, store: Store, config: Any, log: Any = None) -> Snapshots:
        """With the journal settings of a DaemonConfig."""
        return cls(store, every_events=config.snapshot_every_events, every_ms=config.snapshot_every_s * 1000, log=log)

    def due(self, seq: int, snapshot_seq: int, now: int) -> bool:
        if self.seq is None:  # the first tick after a start: snapshot a replayed tail at once
            self.seq = self.committed = snapshot_seq
            self.at = now
            return seq > snapshot_seq
        if seq == self.seq:
            return False
        if self.failed:
            return now >= self.retry_at
        return seq - self.seq >= self.every_events or now - self.at >= self.every_ms

    def tick(self, core: Any, now: int, commit: Callable[[], None]) -> bool:
        """Start a background snapshot if one is due and none runs. True if started."""
        if self.inflight is not None:
            if not self.inflight.done():
                return False
            self._finished(self.inflight, now)
        if not self.due(core.seq, core.snapshot_seq, now):
            return False
        commit()  # the engine must be exactly the journal up to core.seq
        try:
            self.start(core.engine, core.seq, now)
        except OSError as exc:  # fork: no memory / too many processes. The daemon goes on.
            self._failed(exc, now)
            return False
        core.snapshot_taken(now)
        return True

    def start(self, engine: Engine, seq: int, now: int) -> concurrent.futures.Future:
        t0 = time.perf_counter()
        if self.use_fork:
            pid, fd = fork_pack(engine)
            job: Callable[[], int] = lambda: self._write(seq, now, read_child(pid, fd))  # noqa: E731
        else:
            data = engine.to_bytes()
            job = lambda: self._write(seq, now, data)  # noqa: E731
        block_ms = (time.perf_counter() - t0) * 1000
        self.seq, self.at, self.failed = seq, now, False
        self.last = {"seq": seq, "block_ms": round(block_ms, 2), "fork": self.use_fork}
        self._t0 = t0
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="snapshot")
        self.inflight = self._pool.submit(job)
        return self.inflight

    def _write(self, seq: int, now: int, data: bytes) -> int:
        self.store.write_snapshot(seq, now, data)
        return len(data)

    def _finished(self, fut: concurrent.futures.Future, now: int) -> None:
        self.inflight = None
        exc = fut.exception()
        if exc is not None:
            self._failed(exc, now)
            return
        self.committed = self.last["seq"]
        self.last.update(bytes=fut.result(), ms=round((time.perf_counter() - self._t0) * 1000, 1))
        if self.log is not None:
            self.log.info("journal.snapshot", **self.last)

    def _failed(self, exc: BaseException, now: int) -> None:
        self.failed, self.retry_at = True, now + RETRY_MS
        if self.log is not None:
            self.log.warning("journal.snapshot_failed", error=repr(exc))

    async def wait(self) -> None:
        """Until the snapshot in flight is committed (or failed)."""
        if self.inflight is not None:
            await asyncio.wait([asyncio.wrap_future(self.inflight)])
            self._finished(self.inflight, 0)

    async def close(self, core: Any, now: int, commit: Callable[[], None]) -> int:
        """At shutdown: let the one in flight finish, then a last one on the spot if events
        came after it (the loop serves nothing any more). Returns the journal seq."""
        await self.wait()
        commit()
        if core.seq != self.committed:
            seq, state = core.snapshot(now)
            self.store.save_snapshot(seq, now, state)
            self.seq = self.committed = seq
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None
        return int(core.seq)


def fork_pack(engine: Engine) -> tuple[int, int]:
    """Fork a child that writes `engine.to_bytes()` into a pipe: (pid, read end)."""
    r, w = os.pipe()
    with warnings.catch_warnings():  # 3.12+ warns on fork with threads: the child runs no thread's code
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: pack, write, _exit - never return into the parent's code
        code = 1
        try:
            os.close(r)
            _quiet_child()
            view = memoryview(engine.to_bytes())
            while view:
                view = view[os.write(w, view):]
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    return pid, r


def _quiet_child() -> None:
    """Signals go to the child's default handlers, not through the wakeup fd it shares with
    the parent's loop (a SIGTERM to the child must not stop the daemon)."""
    gc.disable()  # a collection would only copy pages; the child lives a second
    # Same priority as the daemon: nice 10 halved the loop's worst lag on an oversubscribed
    # machine but doubled the snapshot's time, and the restart bound needs snapshots to end.
    try:
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)
    except (ValueError, OSError):
        pass


def read_child(pid: int, fd: int) -> bytes:
    """In a worker thread: the child's bytes, then reap it; an error if it failed."""
    chunks = []
    try:
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
    finally:
        os.close(fd)
        _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"snapshot child {pid} exited with {code}")
    return b"".join(chunks)
