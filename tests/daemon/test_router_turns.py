"""The daemon shell queues at most one router turn at a time (bridge/daemon/server.py
`_drain_soon`). Before, every wake-up queued a turn of its own and every queued turn that left
frames behind queued its successor: under a steady flood the turns per loop iteration grew
with every wake-up (traced: 9 -> 31 per iteration within a second) and the timers waited for
all of them (0.9 s). No sockets: the turn itself is replaced by a counter that, like a turn
under a flood, always leaves frames behind."""

from __future__ import annotations

import asyncio
from pathlib import Path
from time import perf_counter_ns

from bridge.daemon.server import OVERDUE_GRACE_NS, Daemon
from shellkit import close_shell, shell_daemon


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




def test_wake_ups_from_every_source_never_add_up_to_more_than_one_turn_per_iteration(tmp_path: Path) -> None:
    d = shell_daemon(tmp_path)
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
        close_shell(d)
    turns = [flood.per_iteration.get(i, 0) for i in range(iterations)]
    assert min(turns) >= 1  # the flood was served every iteration
    assert max(turns) <= 2  # a queued turn + at most one readiness read, however many wake-ups


def test_readiness_reads_at_once_when_no_turn_is_queued_and_leaves_it_to_a_queued_one(tmp_path: Path) -> None:
    d = shell_daemon(tmp_path)
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
        close_shell(d)


def test_a_closed_daemon_queues_no_turn(tmp_path: Path) -> None:
    d = shell_daemon(tmp_path)

    async def run() -> None:
        d._closed = True
        d._drain_soon()
        assert not d._drain_scheduled

    try:
        asyncio.run(run())
    finally:
        close_shell(d)


class Timed:
    """A timer pass shaped like `_timer_passes`: the due time is published before its sleep and
    cleared when it wakes; each wake-up is recorded among the turns."""

    def __init__(self, d: Daemon, order: list[str]) -> None:
        self.d, self.order = d, order

    async def once(self, pause_s: float) -> None:
        self.d.timer_due_ns = perf_counter_ns() + int(pause_s * 1e9)
        try:
            await asyncio.sleep(pause_s)
        finally:
            self.d.timer_due_ns = 0
        self.order.append("timer")


def test_a_due_timer_pass_waits_for_the_turn_in_progress_only(tmp_path: Path) -> None:
    """Under a flood a turn is always queued. The timer's wake-up takes two loop iterations (its
    handle, then the task's step), each behind the turn queued before it: without the deferral
    two more turns started after it fell due (measured at the slow reader's wake: turns of
    25-37 ms, the timer 75-130 ms late). With it, no turn starts while it is due."""
    d = shell_daemon(tmp_path)
    order: list[str] = []
    timer = Timed(d, order)
    flooding = True

    def turn() -> None:  # a flood's turn: works until the timer is due, leaves frames behind
        due = d.timer_due_ns
        order.append("late turn" if due and perf_counter_ns() > due else "turn")
        while due and perf_counter_ns() <= due:
            pass
        if flooding:
            d._drain_soon()

    d._drain_router = turn  # type: ignore[method-assign]

    async def run() -> None:
        nonlocal flooding
        for _ in range(5):
            flooding = True
            t = asyncio.ensure_future(timer.once(0.002))
            await asyncio.sleep(0)  # the timer is asleep, its due time published
            d._on_readable()  # the flood's first turn: runs at once, until past the due time
            await t
            flooding = False
            while d._drain_scheduled:  # the flood's last queued turn
                await asyncio.sleep(0)
        d._closed = True

    try:
        asyncio.run(run())
    finally:
        close_shell(d)
    assert order.count("timer") == 5
    assert "late turn" not in order, order
    assert order.count("turn") >= 10  # the flood was served: the turn it fell due in + the last


def test_turns_stop_deferring_to_a_timer_that_never_wakes(tmp_path: Path) -> None:
    """A timer pass that is gone (the daemon stopping) must not hold the turns back for ever."""
    d = shell_daemon(tmp_path)
    calls: list[str] = []
    d._drain_router = lambda: calls.append("turn")  # type: ignore[method-assign]

    async def run() -> None:
        d.timer_due_ns = perf_counter_ns() - OVERDUE_GRACE_NS - 1  # due long ago, never woke
        d._on_readable()
        assert calls == ["turn"]
        d.timer_due_ns = perf_counter_ns() - 1  # just due: deferred behind it
        d._on_readable()
        assert calls == ["turn"] and d._drain_scheduled
        d.timer_due_ns = 0  # the timer pass ran: the queued turn goes
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert calls == ["turn", "turn"]

    try:
        asyncio.run(run())
    finally:
        close_shell(d)


def test_a_feed_turn_steps_aside_for_a_due_timer_pass_too(tmp_path: Path) -> None:
    """The feed's paced turns (feed_pacing.py) queue themselves like the router's: the same rule."""
    d = shell_daemon(tmp_path)
    pumped: list[int] = []
    d.pub_sync = object()  # type: ignore[assignment]  # a feed socket exists; _pump_feed is replaced
    d._pump_feed = lambda deadline_ns: pumped.append(deadline_ns)  # type: ignore[method-assign]

    async def run() -> None:
        d.timer_due_ns = perf_counter_ns() - 1  # due, not run yet
        d._feed_scheduled = True
        d._feed_turn()
        assert pumped == [] and d._feed_scheduled  # re-queued behind the timer pass
        d.timer_due_ns = 0  # the timer pass ran
        await asyncio.sleep(0)
        assert len(pumped) == 1 and not d._feed_scheduled

    try:
        asyncio.run(run())
    finally:
        d.pub_sync = None  # type: ignore[assignment]
        close_shell(d)
