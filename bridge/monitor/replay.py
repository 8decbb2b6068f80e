"""`FeedReplayServer`: publishes a recorded feed the way the daemon must (the reference for
"Feed requirements" in docs/monitoring.md), for tests, demos and `--replay` setups.

An XPUB socket (XPUB_VERBOSE, so every (re)subscription is seen): when a subscriber joins,
it republishes the latest `snapshot` and every item after it (each with its original
`fseq`, so subscribers already in sync drop them as duplicates); `publish(event)` sends
more items, stamped with the next `fseq` and this run's `instance`. It runs in its own
thread (the socket never leaves it); other threads hand it items through a queue. Every
`heartbeat_s` it publishes a `daemon.stats`, the liveness beat the monitor's staleness check
relies on.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterable
from typing import Any

import zmq

from bridge.monitor.feed import encode_frames
from bridge.monitor.state import FeedEvent


class FeedReplayServer:
    def __init__(self, address: str = "tcp://127.0.0.1:*", *, instance: str = "replay-1",
                 initial: Iterable[FeedEvent] = (), curve_secret: str | None = None,
                 curve_public: str | None = None, heartbeat_s: float | None = 1.0,
                 context: zmq.Context | None = None) -> None:
        self.heartbeat_s = heartbeat_s
        self.address = address
        self.instance = instance
        self.ctx = context or zmq.Context.instance()
        self.curve = (curve_public, curve_secret) if curve_secret else None
        self._q: queue.Queue[FeedEvent | None] = queue.Queue()
        self._since_snapshot: list[FeedEvent] = []
        self._fseq = 0
        self._ready = threading.Event()
        self.endpoint = ""
        self.subscriptions = 0
        self.error: BaseException | None = None
        for e in initial:
            self._q.put(e)
        self._thread = threading.Thread(target=self._run, name="mtbridge-feed-replay", daemon=True)

    def start(self, timeout: float = 10.0) -> FeedReplayServer:
        self._thread.start()
        if not self._ready.wait(timeout) or self.error is not None:
            raise RuntimeError(f"feed replay server did not start: {self.error!r}")
        return self

    def publish(self, event: FeedEvent) -> None:
        self._q.put(event)

    def stop(self, timeout: float = 5.0) -> None:
        self._q.put(None)
        self._thread.join(timeout)

    def _stamp(self, e: FeedEvent) -> FeedEvent:
        self._fseq += 1
        body: dict[str, Any] = {**e.body, "instance": self.instance, "fseq": self._fseq}
        return FeedEvent(e.topic, body)

    def _send(self, sock: zmq.Socket, e: FeedEvent) -> None:
        try:
            sock.send_multipart(encode_frames(e), zmq.NOBLOCK)
        except zmq.Again:
            pass

    def _run(self) -> None:
        try:
            sock = self.ctx.socket(zmq.XPUB)
            sock.linger = 0
            sock.setsockopt(zmq.XPUB_VERBOSE, 1)
            sock.setsockopt(zmq.SNDHWM, 100_000)
            if self.curve is not None:
                sock.curve_server = True
                sock.curve_publickey = (self.curve[0] or "").encode()
                sock.curve_secretkey = self.curve[1].encode()  # type: ignore[union-attr]
            sock.bind(self.address)
            self.endpoint = sock.getsockopt(zmq.LAST_ENDPOINT).decode()
        except BaseException as exc:  # noqa: BLE001
            self.error = exc
            self._ready.set()
            return
        self._ready.set()
        next_beat = time.monotonic() + (self.heartbeat_s or 0)
        try:
            while True:
                if self.heartbeat_s and time.monotonic() >= next_beat:  # daemon.stats doubles as a heartbeat
                    next_beat = time.monotonic() + self.heartbeat_s
                    self._q.put(FeedEvent("daemon.stats", {"ts": time.time_ns() // 1_000_000,
                                                           "journal_lag_ms": 0, "pending_commands": 0}))
                if sock.poll(20, zmq.POLLIN):
                    msg = sock.recv()
                    if msg[:1] == b"\x01":  # a (re)subscription: catch the subscriber up
                        self.subscriptions += 1
                        for e in self._since_snapshot:
                            self._send(sock, e)
                stop = False
                while True:
                    try:
                        item = self._q.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        stop = True
                        break
                    e = self._stamp(item)
                    if e.topic == "snapshot":
                        self._since_snapshot = []
                    if self._since_snapshot or e.topic == "snapshot":
                        self._since_snapshot.append(e)
                    self._send(sock, e)
                if stop:
                    break
        finally:
            sock.close(0)
