"""A monitor pointed at a wrong port (review desk-and-ops user 2 #8: "Wrong port: `[CONNECTING]`
forever, with no event explaining why"): after NO_ANSWER_BEATS heartbeats without one feed item
the badge says NO ANSWER and an event names the endpoint."""

from __future__ import annotations

import socket
import threading

from rich.console import Console

from bridge.monitor.console import feed_status, render
from bridge.monitor.feed import HEARTBEAT_MS, NO_ANSWER_BEATS, FeedSubscriber
from bridge.monitor.hub import MonitorHub
from bridge.monitor.state import FeedEvent, MonitorState
from tests.integration.browserkit import wait_for


def _text(state: MonitorState, now: int) -> str:
    import io

    c = Console(record=True, width=200, file=io.StringIO())
    c.print(render(state, now))
    return c.export_text()


def test_no_answer_badge_and_event_then_cleared_by_the_daemon():
    s = MonitorState()
    assert feed_status(s, 0)[0] == "CONNECTING"
    s.apply(FeedEvent("monitor.no_answer", {"ts": 5000, "address": "tcp://127.0.0.1:5599",
                                            "waited_ms": NO_ANSWER_BEATS * HEARTBEAT_MS, "connected": False}))
    text = _text(s, 5000)
    assert "[NO ANSWER]" in text
    assert "no answer from tcp://127.0.0.1:5599 after 5 s: is the daemon running, and is this its feed address" in text
    s.apply(FeedEvent("monitor.connected", {"ts": 6000, "address": "tcp://127.0.0.1:5599"}))
    assert feed_status(s, 6000)[0] == "NO ANSWER"  # a TCP connection alone is no answer
    s.apply(FeedEvent("snapshot", {"ts": 7000, "instance": "i-1", "fseq": 1, "accounts": []}))
    assert feed_status(s, 7000)[0] == "LIVE"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_subscriber_on_a_port_where_nothing_listens_says_no_answer_once():
    address = f"tcp://127.0.0.1:{_free_port()}"
    hub = MonitorHub()
    seen = threading.Event()

    def apply(e: FeedEvent) -> None:
        hub.apply(e)
        if e.topic == "monitor.no_answer":
            seen.set()

    sub = FeedSubscriber(address, apply, no_answer_ms=2 * HEARTBEAT_MS).start()
    try:
        wait_for(seen.is_set, what="monitor.no_answer")
        assert sub.error is None
        text = hub.read(lambda s: _text(s, s.health.last_ts))
        assert "[NO ANSWER]" in text and f"no answer from {address} after 2 s" in text
    finally:
        sub.stop()
    assert sum(1 for e in hub.state.events if "no answer" in e.text) == 1
