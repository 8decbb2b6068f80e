"""Webhooks from a real daemon, across a restart (issue 13 §2).

Issue 13 §2: "**Outbound webhooks** for alerts and key events: HMAC-signed JSON, retried with
backoff, journaled so none is lost across a restart, with a test receiver."
Delivery is at-least-once with an idempotency `id` in the payload; the test receiver drops a
repeated id, so it accepts each event exactly once.
"""

from __future__ import annotations

from pathlib import Path

from bridge.daemon.client import TerminalClient
from bridge.daemon.testing import DaemonProcess, make_setup
from bridge.daemon.webhook_outbox import Outbox
from bridge.daemon.webhook_testing import WebhookReceiver

SECRET = "0123456789abcdef0123456789abcdef"
TRADER = 1001


def test_a_restart_mid_retry_delivers_the_event_exactly_once(tmp_path: Path) -> None:
    with WebhookReceiver(SECRET.encode()) as rx:
        rx.fail_with = 503
        (tmp_path / "webhook.secret").write_text(SECRET + "\n")
        setup = make_setup(tmp_path, {"trader": ([TRADER], "trader")}, heartbeat_ms=100, extra=(
            "offline_after = 2\n"
            "[webhooks]\n"
            f'urls = ["{rx.url}"]\n'
            'secret_file = "webhook.secret"\n'
            'events = ["terminal_offline"]\n'
            "backoff_ms = 20\nbackoff_max_ms = 100\nmax_attempts = 1000\n"))
        daemon = DaemonProcess(setup.config_path).start()
        try:
            client = TerminalClient(daemon.endpoints["router"], setup.curve("trader"))
            client.hello(TRADER)
            assert client.wait(lambda: client.sessions[TRADER].welcomed)
            client.close()  # silence: the daemon declares the terminal offline
            assert rx.wait(lambda: len(rx.attempts) >= 2, 60)  # refused twice: the daemon is retrying
            (event_id,) = {a.id for a in rx.attempts}
        finally:
            daemon.terminate()
        rows = [r for r in Outbox(setup.dir / "journal-webhooks.db").rows() if r["id"] == event_id]
        assert [r["status"] for r in rows] == ["pending"]  # kept for the next run

        rx.fail_with = None
        daemon = DaemonProcess(setup.config_path).start()
        try:
            assert rx.wait(lambda: event_id in rx.accepted, 60)
        finally:
            daemon.terminate()
    payload = rx.accepted[event_id]
    assert payload["event"] == "terminal_offline" and payload["data"]["login"] == TRADER
    assert [a.status for a in rx.attempts if a.id == event_id].count(200) == 1
    assert all(a.problem is None for a in rx.attempts)  # every attempt signed and fresh
    rows = [r for r in Outbox(setup.dir / "journal-webhooks.db").rows() if r["id"] == event_id]
    assert [r["status"] for r in rows] == ["done"]
