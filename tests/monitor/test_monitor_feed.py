"""The SUB shell against a real XPUB publisher: late join, daemon restart, CURVE."""

from __future__ import annotations

import time
from pathlib import Path

import zmq

from bridge.monitor.feed import CurveClient, FeedSubscriber, load_recording
from bridge.monitor.hub import MonitorHub
from bridge.monitor.replay import FeedReplayServer
from bridge.monitor.state import FeedEvent

FEED = Path(__file__).parent / "data" / "feed.jsonl"


def wait_for(cond, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_late_join_gets_the_snapshot_and_resyncs_after_a_daemon_restart():
    server = FeedReplayServer(instance="run-1", initial=load_recording(FEED)).start()
    hub = MonitorHub()
    sub = FeedSubscriber(server.endpoint, hub.apply).start()  # joins after everything was published
    try:
        wait_for(lambda: hub.state.health.synced and 1002 in hub.state.accounts
                 and hub.state.traders["trader-2"].trades == 10, what="the late-join snapshot and catch-up")
        assert hub.state.health.instance == "run-1" and hub.state.health.gaps == 0
        server.publish(FeedEvent("record.copy_opened", {"ts": 1, "subscription": 1, "trader_ticket": 9, "ticket": 99,
                                                        "volume": "0.1", "price": "1.1", "latency_ms": 7}))
        wait_for(lambda: hub.state.counts.get("copies_opened") == 3, what="a live event")
        endpoint = server.endpoint
        server.stop()
        wait_for(lambda: not hub.state.health.connected, what="the disconnect")
        snap = FeedEvent("snapshot", {"ts": 2, "accounts": [{"login": 5, "balance": "1", "equity": "1", "margin": "0"}],
                                      "terminals": [{"login": 5, "online": True}]})
        server = FeedReplayServer(endpoint, instance="run-2",
                                  initial=[FeedEvent("daemon.started", {"ts": 2}), snap]).start()
        wait_for(lambda: hub.state.health.instance == "run-2" and hub.state.health.synced
                 and list(hub.state.accounts) == [5], what="the resync after the restart")
        assert hub.state.terminals_online() == 1
        assert hub.metrics.terminals_online._value.get() == 1
    finally:
        sub.stop()
        server.stop()


def test_curve_feed():
    spub, ssec = (k.decode() for k in zmq.curve_keypair())
    cpub, csec = (k.decode() for k in zmq.curve_keypair())
    server = FeedReplayServer(curve_public=spub, curve_secret=ssec, initial=load_recording(FEED)).start()
    hub = MonitorHub()
    sub = FeedSubscriber(server.endpoint, hub.apply, curve=CurveClient(spub, cpub, csec)).start()
    try:
        wait_for(lambda: hub.state.health.synced and len(hub.state.accounts) == 6, what="a CURVE snapshot")
        assert hub.state.health.connected
    finally:
        sub.stop()
        server.stop()
