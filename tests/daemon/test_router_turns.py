"""The daemon shell queues at most one router turn at a time (bridge/daemon/server.py
`_drain_soon`). Before, every wake-up queued a turn of its own and every queued turn that left
frames behind queued its successor: under a steady flood the turns per loop iteration grew
with every wake-up (traced: 9 -> 31 per iteration within a second) and the timers waited for
all of them (0.9 s). No sockets: the turn itself is replaced by a counter that, like a turn
under a flood, always leaves frames behind."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bridge.daemon.config import parse_config
from bridge.daemon.core import DaemonCore
from bridge.daemon.server import Daemon
from bridge.daemon.store import SqliteStore

T0 = 1_700_000_000_000


class Flooded:
    """A router turn that always finds frames left (a flood), re-queueing itself as the real
    turn does; counts the turns run in each loop iteration."""

    def __init__(self, d: Daemon) -> None:
        self.d = d
        self.iteration = 0
        self.per_iteration: dict[int, int] = {}

    def turn(self) -> None:
        self.per_iteration[self.iteration] = self.per_iteration.get(self.iteration, 0) + 1
        self.d._drain_soon()  # frames left behind: the next turn, queued


def _daemon(tmp: Path) -> Daemon:
    cfg = parse_config({"daemon": {"ingest_budget_ms": 20}})
    store = SqliteStore(tmp / "j.db")
    d = Daemon(cfg, insecure=True, store=store)
    d.core = DaemonCore.recover(cfg, store.recover(), now=T0, insecure=True, instance="t")
    return d


def _done(d: Daemon) -> None:
    d._closed = True
    d.ctx.term()
    d.store.close()


def test_wake_ups_from_every_source_never_add_up_to_more_than_one_turn_per_iteration(tmp_path: Path) -> None:
    d = _daemon(tmp_path)
    flood = Flooded(d)
    d._drain_router = flood.turn  # type: ignore[method-assign]
    iterations = 50

    async def run() -> None:
        for i in range(iterations):
            flood.iteration = i
            # each iteration: the FD's readiness, the transport thread and a cut pump all wake it
            d._on_readable()
            d._drain_soon()
            asyncio.get_running_loop().call_soon(d._drain_soon)
            await asyncio.sleep(0)
        flood.iteration = iterations  # asyncio.run's own closing iterations: not counted
        d._closed = True

    try:
        asyncio.run(run())
    finally:
        _done(d)
    turns = [flood.per_iteration.get(i, 0) for i in range(iterations)]
    assert min(turns) >= 1  # the flood was served every iteration
    assert max(turns) <= 2  # a queued turn + at most one readiness read, however many wake-ups


def test_readiness_reads_at_once_when_no_turn_is_queued_and_leaves_it_to_a_queued_one(tmp_path: Path) -> None:
    d = _daemon(tmp_path)
    calls: list[str] = []
    d._drain_router = lambda: calls.append("turn")  # type: ignore[method-assign]

    async def run() -> None:
        d._on_readable()  # nothing queued: read now
        assert calls == ["turn"]
        d._drain_soon()
        d._on_readable()  # a queued turn will read: nothing now
        assert calls == ["turn"]
        await asyncio.sleep(0)
        assert calls == ["turn", "turn"]  # the queued turn ran
        assert not d._drain_scheduled

    try:
        asyncio.run(run())
    finally:
        _done(d)


def test_a_closed_daemon_queues_no_turn(tmp_path: Path) -> None:
    d = _daemon(tmp_path)

    async def run() -> None:
        d._closed = True
        d._drain_soon()
        assert not d._drain_scheduled

    try:
        asyncio.run(run())
    finally:
        _done(d)
