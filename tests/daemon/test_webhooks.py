"""Outbound webhooks (issue 13 §2): signature, selection, retry schedule, outbox, sender.

Issue 13 §2: "**Outbound webhooks** for alerts and key events: HMAC-signed JSON, retried with
backoff, journaled so none is lost across a restart, with a test receiver."
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bridge.daemon import webhooks as wh
from bridge.daemon.webhook_outbox import Outbox
from bridge.daemon.webhook_sender import WebhookSender
from bridge.daemon.webhook_testing import WebhookReceiver

SECRET = b"s" * 32
NOW_S = 1_700_000_000


class Log:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict]] = []

    def __getattr__(self, level: str):
        return lambda event, **kw: self.lines.append((level, event, kw))


# --- signature --------------------------------------------------------------------------------------
def test_a_receiver_verifies_the_signature_and_the_replay_window() -> None:
    body = wh.WebhookEvent("i-1", "margin_call", 1, {"login": 5}).body()
    headers = wh.signed_headers(SECRET, NOW_S, "margin_call", "i-1", body)
    assert wh.verify(SECRET, headers, body, NOW_S) is None
    assert wh.verify(SECRET, headers, body, NOW_S + wh.REPLAY_WINDOW_S) is None
    assert "replay window" in (wh.verify(SECRET, headers, body, NOW_S + wh.REPLAY_WINDOW_S + 1) or "")
    assert wh.verify(SECRET, headers, body.replace(b"5", b"6"), NOW_S) == "signature mismatch"
    assert wh.verify(b"t" * 32, headers, body, NOW_S) == "signature mismatch"
    assert wh.verify(SECRET, {**headers, wh.TIMESTAMP_HEADER: str(NOW_S + 1)}, body, NOW_S) == "signature mismatch"
    assert wh.verify(SECRET, {}, body, NOW_S) == "missing or malformed timestamp"
    # the documented recipe, written out as a receiver in another language would
    import hashlib
    import hmac

    expected = hmac.new(SECRET, f"{NOW_S}.".encode() + body, hashlib.sha256).hexdigest()
    assert headers[wh.SIGNATURE_HEADER] == "v1=" + expected


def test_the_body_is_canonical_json_with_an_idempotency_id() -> None:
    body = wh.WebhookEvent("123-7", "stop_out", 99, {"login": 5, "closes": 2}).body()
    assert json.loads(body) == {"v": 1, "id": "123-7", "event": "stop_out", "ts": 99,
                                "data": {"login": 5, "closes": 2}}
    assert b" " not in body


# --- selection ---------------------------------------------------------------------------------------
def _item(topic: str, fseq: int, ts: int = 1000, **body: object) -> tuple[str, dict]:
    return topic, {**body, "ts": ts, "instance": "111-9", "fseq": fseq}


def test_feed_items_become_the_configured_events() -> None:
    sel = wh.Selector(frozenset(wh.EVENTS))
    event = sel.offer(*_item("account.margin_call", 4, login=7, margin_level="38.5"))
    assert event == wh.WebhookEvent("111-9-4", "margin_call", 1000, {"login": 7, "margin_level": "38.5", "ts": 1000})
    assert sel.offer(*_item("command.result", 5, ok=True)) is None
    failed = sel.offer(*_item("command.result", 6, ok=False, retcode=10019))
    assert failed is not None and failed.event == "command_failed"
    assert sel.offer(*_item("abuse", 7, key="k", action="rate_limited")).event == "key_rate_limited"  # type: ignore[union-attr]
    assert sel.offer(*_item("account.update", 8)) is None
    only = wh.Selector(frozenset({"stop_out"}))
    assert only.offer(*_item("account.margin_call", 9)) is None


def test_copy_refusals_are_counted_per_window() -> None:
    sel = wh.Selector(frozenset(wh.EVENTS), window_ms=60_000)
    for i, code in enumerate(["expired", "terminal_offline", "expired"]):
        assert sel.offer(*_item("record.copy_refused", 10 + i, ts=5000 + i, code=code, trader="T")) is None
    assert sel.due(5000 + 59_999) is None
    event = sel.due(65_000)
    assert event is not None and event.event == "copies_refused"
    assert event.data == {"count": 3, "by_reason": {"expired": 2, "terminal_offline": 1}, "by_trader": {"T": 3},
                          "from": 5000, "to": 65_000}
    assert sel.due(200_000) is None  # nothing refused since


def test_backoff_doubles_up_to_the_cap_and_attempts_are_bounded() -> None:
    assert [wh.backoff_ms(n, 1000, 10_000) for n in range(1, 7)] == [1000, 2000, 4000, 8000, 10_000, 10_000]
    assert wh.next_attempt(50, 1, 3, 1000, 10_000) == 1050
    assert wh.next_attempt(50, 3, 3, 1000, 10_000) is None


# --- outbox ---------------------------------------------------------------------------------------------
def test_the_outbox_survives_a_reopen_and_keeps_its_bound(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "w.db", queue_limit=3)
    box.add("a", "stop_out", b"{}", ("http://x/1", "http://x/2"), now=10)
    box.add("a", "stop_out", b"{}", ("http://x/1",), now=11)  # the same event again: ignored
    assert box.pending() == 2
    d = box.next_due(10)
    assert d is not None and (d.id, d.url) == ("a", "http://x/1")
    box.failed(d.n, "HTTP 503", retry_at=500)
    assert box.next_due(499) is not None and box.next_due(499).url == "http://x/2"  # type: ignore[union-attr]
    box.close()
    box = Outbox(tmp_path / "w.db", queue_limit=3)
    assert box.pending() == 2 and box.next_time() == 10
    dropped = box.add("b", "margin_call", b"{}", ("http://x/1", "http://x/2"), now=20)
    assert dropped == ["a"] and box.pending() == 3  # the oldest pending row made room
    statuses = [(r["id"], r["url"], r["status"]) for r in box.rows()]
    assert statuses[0] == ("a", "http://x/1", "dropped")
    box.close()


# --- the sender against the test receiver -----------------------------------------------------------------
def _config(tmp_path: Path, url: str, **kw: object) -> wh.WebhookConfig:
    return wh.WebhookConfig(urls=(url,), secret=SECRET, events=frozenset(wh.EVENTS), outbox=tmp_path / "w.db",
                            **{"backoff_ms": 10, "backoff_max_ms": 40, "timeout_ms": 5000, **kw})  # type: ignore[arg-type]


async def _run_until(sender: WebhookSender, rx: WebhookReceiver, predicate, timeout: float = 30.0,
                     settled=lambda s: True) -> bool:
    """Run the sender until the receiver saw `predicate` and the sender `settled` (its outbox
    bookkeeping of the last answer done)."""
    task = asyncio.create_task(sender.run())
    try:
        if not await asyncio.to_thread(rx.wait, predicate, timeout):
            return False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not settled(sender) and loop.time() < deadline:
            await asyncio.sleep(0.005)  # the sender's own turn: it marks the row after the answer
        return settled(sender)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_a_failing_receiver_gets_the_event_once_it_recovers(tmp_path: Path) -> None:
    with WebhookReceiver(SECRET) as rx:
        rx.fail_with = 503
        log = Log()
        sender = WebhookSender(_config(tmp_path, rx.url), log)
        sender.offer([_item("account.stop_out", 3, login=9, closes=2)])

        def failed_twice_then_recover() -> bool:
            if len(rx.attempts) >= 2 and rx.fail_with is not None:
                rx.fail_with = None
            return bool(rx.accepted)

        assert asyncio.run(_run_until(sender, rx, failed_twice_then_recover, settled=lambda s: s.sent == 1))
    assert list(rx.accepted) == ["111-9-3"] and rx.accepted["111-9-3"]["data"]["login"] == 9
    assert [a.status for a in rx.attempts][:2] == [503, 503] and rx.attempts[-1].status == 200
    assert all(a.problem is None for a in rx.attempts)  # every retry signed afresh, every one verified
    assert [e for _, e, _ in log.lines].count("webhook.retry") == len(rx.attempts) - 1
    (row,) = Outbox(tmp_path / "w.db").rows()
    assert (row["status"], row["attempts"]) == ("done", len(rx.attempts))


def test_the_sender_gives_up_after_max_attempts(tmp_path: Path) -> None:
    with WebhookReceiver(SECRET) as rx:
        rx.fail_with = 500
        log = Log()
        sender = WebhookSender(_config(tmp_path, rx.url, max_attempts=3), log)
        sender.offer([_item("terminal.offline", 4, login=1, why="silent")])
        assert asyncio.run(_run_until(sender, rx, lambda: len(rx.attempts) >= 3, settled=lambda s: s.failed == 1))
    assert not rx.accepted
    (row,) = Outbox(tmp_path / "w.db").rows()
    assert (row["status"], row["attempts"], row["error"]) == ("failed", 3, "HTTP 500")
    assert [e for _, e, _ in log.lines if e == "webhook.gave_up"] == ["webhook.gave_up"]


def test_a_request_with_a_wrong_secret_is_refused_by_the_receiver(tmp_path: Path) -> None:
    with WebhookReceiver(b"another secret, 32 characters..") as rx:
        sender = WebhookSender(_config(tmp_path, rx.url, max_attempts=1), Log())
        sender.offer([_item("account.margin_call", 5, login=1)])
        assert asyncio.run(_run_until(sender, rx, lambda: rx.attempts))
    assert rx.attempts[0].status == 401 and rx.attempts[0].problem == "signature mismatch" and not rx.accepted


@pytest.mark.parametrize("bad, message", [
    ({"urls": ["ftp://x/"]}, "webhooks.urls[0]"),
    ({"secret": "short"}, "at least 32 characters"),
    ({"events": ["margin_cal"]}, "unknown event 'margin_cal'"),
    ({"max_attempts": 0}, "webhooks.max_attempts"),
])
def test_the_config_is_validated_on_load(bad: dict, message: str) -> None:
    from bridge.daemon.config import ConfigError, parse_config

    table = {"urls": ["http://127.0.0.1:9/hook"], "secret": "x" * 32, **bad}
    with pytest.raises(ConfigError) as exc:
        parse_config({"webhooks": table})
    assert message in str(exc.value)
