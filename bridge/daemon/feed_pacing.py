"""The daemon shell's feed publication (`Daemon._send_feed`, a mixin of `Daemon`): the core's
stamped items are encoded and sent on the XPUB within the turn's time; what a turn has no time
for follows on the next loop turns, in order.

Why: a deal refused for 2 000 offline investors publishes 2 000 `record.copy_refused` items;
encoding and sending them in the turn that decided them made that turn twice as long as its
budget (`ingest_budget_ms`), while nobody waits for them more than for the next turn.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Generator
from time import perf_counter_ns, thread_time_ns
from typing import Any

import zmq

# Feed items published but not sent yet (a turn's time ran out): beyond this many the oldest
# are dropped, counted in `feed_dropped` (a monitor sees the fseq gap and resyncs from the
# next snapshot); ~2 s of a 10 000-investor fan-out's items.
FEED_BACKLOG_MAX = 100_000
FEED_MIN_PER_CALL = 64  # items sent by each publication however late the turn: the feed always moves


class FeedShell:
    """What `Daemon` publishes the feed with (its sockets, stats and turn figures are its own)."""

    core: Any
    config: Any
    stats: dict[str, int]
    webhooks: Any
    pub_sync: Any
    _closed: bool
    _send_deadline: int
    _feed_frames: Any
    _snapshot_frames: Any
    turn_max_ns: int
    turn_cpu_ns: int
    _timers_overdue: Any  # Daemon's: the timer pass is due and has not run

    def init_feed_pacing(self) -> None:
        self._feed_backlog: deque[tuple[str, dict]] = deque()  # stamped items waiting for a turn's time
        self._feed_scheduled = False
        self._snapshot_steps: Generator[None, None, tuple[bytes, bytes]] | None = None  # the head's encoding

    def _send_feed(self) -> None:
        """Publish what the core queued (stamped, in order) within the turn's time: what the
        deadline leaves (at least `FEED_MIN_PER_CALL` items go) waits, in order, for the next
        loop turn, so a fan-out's 2 000 refusals are not encoded and sent in the turn that
        decided them. Nothing waiting is dropped unless `FEED_BACKLOG_MAX` items wait; a
        subscriber at its high-water mark loses items (the `fseq` gap tells it to resync from
        the next snapshot). Example: a deal refused for 2 000 offline investors; the turn
        sends what its 20 ms leave, the next turns (one per loop pass, between the other
        sockets' callbacks) the rest. A `snapshot` is encoded a chunk of rows at a time, over as
        many turns as it needs (its rows never change once built: the same bytes)."""
        core = self.core
        assert core is not None
        items = core.take_feed(perf_counter_ns())
        if self.webhooks is not None:
            self.webhooks.offer(items)
        if getattr(self, "pub_sync", None) is None:
            return
        backlog = self._feed_backlog
        backlog.extend(items)
        over = len(backlog) - FEED_BACKLOG_MAX
        if over > 0:
            for _ in range(over):
                backlog.popleft()
            self.stats["feed_dropped"] += over
            self._snapshot_steps = None  # the head went first
        routed = hasattr(self, "router_sync")  # else no turn set a deadline: a budget from now
        self._pump_feed(self._send_deadline if routed else perf_counter_ns() + self.config.ingest_budget_ms * 1_000_000)

    def _pump_feed(self, deadline_ns: int) -> None:
        """Send waiting feed items until `deadline_ns` (all of them once the daemon closes)."""
        backlog = self._feed_backlog
        frames, snapshot_frames, send = self._feed_frames, self._snapshot_frames, self.pub_sync.send
        more, noblock = zmq.SNDMORE | zmq.NOBLOCK, zmq.NOBLOCK
        sent = dropped = 0
        closed = self._closed
        while backlog:
            if sent >= FEED_MIN_PER_CALL and not sent & 31 and not closed and perf_counter_ns() > deadline_ns:
                break
            topic, body = backlog[0]
            if topic == "snapshot":
                if self._snapshot_steps is None:
                    self._snapshot_steps = snapshot_frames.steps(topic, body)
                done = self._advance(self._snapshot_steps, None if closed else deadline_ns)
                if done is None:  # the turn's time is up: the next chunks on the next turn
                    break
                self._snapshot_steps = None
                head, tail = done
            else:
                head, tail = frames(topic, body)
            backlog.popleft()
            try:  # PUB takes a message whole or drops it whole (HWM): never half an item
                send(head, more)
                send(tail, noblock)
            except zmq.Again:  # a slow monitor loses feed items, never the daemon its pace
                dropped += 1
            sent += 1
        self.stats["feed_items"] += sent - dropped
        self.stats["feed_dropped"] += dropped
        if backlog and not self._feed_scheduled and not self._closed:
            self._feed_scheduled = True
            asyncio.get_running_loop().call_soon(self._feed_turn)

    @staticmethod
    def _advance(steps: Generator[None, None, tuple[bytes, bytes]],
                 deadline_ns: int | None) -> tuple[bytes, bytes] | None:
        """Encode chunks until done (the frames) or past `deadline_ns` (None: no deadline).
        At least one chunk each call."""
        while True:
            try:
                next(steps)
            except StopIteration as finished:
                return finished.value  # type: ignore[no-any-return]
            if deadline_ns is not None and perf_counter_ns() > deadline_ns:
                return None

    def _feed_turn(self) -> None:
        """A loop turn of its own for the feed items the last turns had no time to send. Like
        the router's turns, it steps aside for a timer pass that is due (`_timers_overdue`)."""
        if self._timers_overdue():
            asyncio.get_running_loop().call_soon(self._feed_turn)
            return
        self._feed_scheduled = False
        if self._closed or getattr(self, "pub_sync", None) is None:
            return
        start, cpu0 = perf_counter_ns(), thread_time_ns()
        self._pump_feed(start + self.config.ingest_budget_ms * 1_000_000)
        wall = perf_counter_ns() - start
        if wall > self.turn_max_ns:
            self.turn_max_ns, self.turn_cpu_ns = wall, thread_time_ns() - cpu0
