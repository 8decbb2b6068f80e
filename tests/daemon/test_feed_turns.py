"""The daemon shell publishes the feed within the turn's time (bridge/daemon/feed_pacing.py
`_send_feed`): items the deadline leaves wait, in order, for the next loop turns; none is lost
or reordered, and each publication sends at least `FEED_MIN_PER_CALL`. No sockets: the feed's
PUB socket is a recorder, the turn's deadline is set by hand (a deadline already past is
"the turn's time is up", with no clock race)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgpack
import zmq

from bridge.daemon import feed_pacing
from bridge.daemon.feed_snapshot import SnapshotEncoder
from bridge.daemon.server import Daemon
from shellkit import T0, close_shell, shell_daemon



class Pub:
    """The XPUB as the shell uses it: two frames per item, never half an item."""

    def __init__(self) -> None:
        self.items: list[tuple[str, dict]] = []
        self._head: bytes | None = None

    def send(self, frame: bytes, flags: int = 0) -> None:
        if flags & zmq.SNDMORE:
            self._head = frame
            return
        assert self._head is not None
        self.items.append((self._head.decode(), msgpack.unpackb(frame)))
        self._head = None


def _daemon(tmp: Path) -> tuple[Daemon, Pub]:
    d = shell_daemon(tmp)
    pub = Pub()
    d.pub_sync = pub  # type: ignore[assignment]
    return d, pub



def test_items_past_the_turns_deadline_follow_in_order_on_the_next_turns(tmp_path: Path) -> None:
    n = 5 * feed_pacing.FEED_MIN_PER_CALL + 7

    async def run() -> tuple[int, list[int]]:
        d, pub = _daemon(tmp_path)
        for i in range(n):
            d.core.publish("engine.error", event="x", error=str(i))  # type: ignore[union-attr]
        d._send_deadline = 0  # the turn's time is up
        d.router_sync = object()  # a daemon with its router: the turn's deadline applies
        d._send_feed()
        in_turn = len(pub.items)
        while d._feed_backlog:  # the next loop turns, as scheduled
            await asyncio.sleep(0)
        close_shell(d)
        return in_turn, [b["fseq"] for _, b in pub.items]

    in_turn, fseqs = asyncio.run(run())
    assert in_turn == feed_pacing.FEED_MIN_PER_CALL  # the late turn still moved the feed
    assert fseqs == list(range(1, n + 1))  # all of them, once, in publication order


def test_a_turn_with_time_left_sends_everything_at_once(tmp_path: Path) -> None:
    async def run() -> int:
        d, pub = _daemon(tmp_path)
        for i in range(300):
            d.core.publish("engine.error", event="x", error=str(i))  # type: ignore[union-attr]
        d._send_deadline = 2**62  # a turn that has its whole budget
        d.router_sync = object()
        d._send_feed()
        close_shell(d)
        return len(pub.items)

    assert asyncio.run(run()) == 300


def test_a_closing_daemon_sends_all_it_has_left(tmp_path: Path) -> None:
    async def run() -> list[int]:
        d, pub = _daemon(tmp_path)
        for i in range(3 * feed_pacing.FEED_MIN_PER_CALL):
            d.core.publish("engine.error", event="x", error=str(i))  # type: ignore[union-attr]
        d._send_deadline = 0
        d.router_sync = object()
        d._closed = True  # `close()`: its last items (daemon.stopped) go whatever the deadline
        d._send_feed()
        close_shell(d)
        return [b["fseq"] for _, b in pub.items]

    assert asyncio.run(run()) == list(range(1, 3 * feed_pacing.FEED_MIN_PER_CALL + 1))


def test_a_backlog_over_its_bound_drops_the_oldest_and_counts_them(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(feed_pacing, "FEED_BACKLOG_MAX", 100)

    async def run() -> tuple[int, list[int]]:
        d, pub = _daemon(tmp_path)
        for i in range(250):
            d.core.publish("engine.error", event="x", error=str(i))  # type: ignore[union-attr]
        d._send_deadline = 0
        d.router_sync = object()
        d._send_feed()
        while d._feed_backlog:
            await asyncio.sleep(0)
        close_shell(d)
        return d.stats["feed_dropped"], [b["fseq"] for _, b in pub.items]

    dropped, fseqs = asyncio.run(run())
    assert dropped == 150
    assert fseqs == list(range(151, 251))  # the newest; a monitor sees the gap and resyncs


def test_a_snapshot_is_encoded_over_turns_and_keeps_its_place(tmp_path: Path) -> None:
    """A late turn encodes one chunk of the snapshot's rows and stops; the next turns finish
    it, then send what followed it. Same bytes as one encoding (its rows never change)."""
    from bridge.daemon.wire import FeedEncoder

    async def run() -> tuple[int, list[tuple[str, int]], bytes, bytes]:
        d, pub = _daemon(tmp_path)
        core = d.core
        assert core is not None
        for i in range(3 * SnapshotEncoder.CHUNK):  # more terminal rows than a chunk
            core.feed.offline(500_000 + i, "silent", T0)
        core.take_feed(0)  # their account.update items: not this test's
        core.publish("engine.error", event="x", error="before")
        core.publish_snapshot(T0)
        core.publish("engine.error", event="x", error="after")
        d._send_deadline = 0
        d.router_sync = object()
        raw: list[bytes] = []
        pub.send = _recording(pub, raw)  # type: ignore[method-assign]
        d._send_feed()
        in_turn = len(pub.items)
        while d._feed_backlog:
            await asyncio.sleep(0)
        close_shell(d)
        (snap,) = [b for t, b in pub.items if t == "snapshot"]
        return in_turn, [(t, b["fseq"]) for t, b in pub.items], raw[1], FeedEncoder()("snapshot", snap)[1]

    in_turn, order, sent, whole = asyncio.run(run())
    assert in_turn == 1  # the item before it; the snapshot's first chunk was encoded, not sent
    assert [t for t, _ in order] == ["engine.error", "snapshot", "engine.error"]
    assert [f for _, f in order] == [385, 386, 387]  # after the 384 account.update items taken aside
    assert sent == whole


def _recording(pub: Pub, raw: list[bytes]):  # noqa: ANN202
    send = pub.send

    def record(frame: bytes, flags: int = 0) -> None:
        if not flags & zmq.SNDMORE:
            raw.append(frame)
        send(frame, flags)

    return record
