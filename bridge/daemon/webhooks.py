"""Outbound webhooks, the pure part: which feed items become webhook events, the payload, the
signature and the retry schedule. No sockets, no clock (`now` is an argument), no files.

The shell (`webhook_sender.py`) offers every published feed item to a `Selector`, keeps the
resulting deliveries in a SQLite outbox (`webhook_outbox.py`) and POSTs them.

Signature (docs/operations.md, "Webhooks"): for a body `B` (UTF-8 JSON) sent at Unix time
`T` (whole seconds), the headers are

    X-Mtbridge-Timestamp: T
    X-Mtbridge-Signature: v1=<hex HMAC-SHA256(secret, f"{T}.{B}")>

and a receiver accepts the request if the signature matches (constant-time compare) and
`|now - T| <= 300 s` (the replay window). Every retry is signed afresh; the payload's `id`
stays the same, so a receiver drops a delivery it has already accepted (at-least-once).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

SIGNATURE_HEADER = "X-Mtbridge-Signature"
TIMESTAMP_HEADER = "X-Mtbridge-Timestamp"
EVENT_HEADER = "X-Mtbridge-Event"
DELIVERY_HEADER = "X-Mtbridge-Delivery"
REPLAY_WINDOW_S = 300
PAYLOAD_VERSION = 1

#: webhook event -> what it reports. The feed topic each comes from is in `_FROM_FEED`.
EVENTS: dict[str, str] = {
    "margin_call": "an account's margin level fell to or below its margin-call level (account.margin_call)",
    "stop_out": "the server closed positions of an account at the stop-out level (account.stop_out)",
    "protection_triggered": "a subscription's equity protection closed its copies (record.protection_triggered)",
    "terminal_offline": "a terminal went offline (terminal.offline)",
    "copies_refused": "copies refused in the last window, counted by reason (record.copy_refused, aggregated)",
    "command_failed": "a command sent to an investor terminal failed (command.result with ok false)",
    "key_rate_limited": "a key went over its frame rate, or was cut and banned for it (abuse)",
}


def event_of(topic: str, body: Mapping[str, object]) -> str | None:
    """The webhook event a feed item is, or None. `record.copy_refused` is aggregated apart."""
    if topic == "command.result":
        return "command_failed" if body.get("ok") is False else None
    return _FROM_FEED.get(topic)


_FROM_FEED = {
    "account.margin_call": "margin_call",
    "account.stop_out": "stop_out",
    "record.protection_triggered": "protection_triggered",
    "terminal.offline": "terminal_offline",
    "abuse": "key_rate_limited",
}
_WATCHED = frozenset({*_FROM_FEED, "command.result", "record.copy_refused"})
_ENVELOPE = ("instance", "fseq")  # the feed's own bookkeeping: the webhook's `id` says it


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    id: str  # idempotency id: the same on every retry and every URL
    event: str
    ts: int  # daemon clock, ms
    data: dict

    def body(self) -> bytes:
        """The exact bytes POSTed: canonical JSON (sorted keys, no spaces), UTF-8."""
        payload = {"v": PAYLOAD_VERSION, "id": self.id, "event": self.event, "ts": self.ts, "data": self.data}
        return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


@dataclass
class Selector:
    """Feed items -> webhook events. `events`: the ones configured. Copy refusals are counted
    per window of `window_ms` and sent as one `copies_refused` when the window closes (`due`)."""

    events: frozenset[str]
    window_ms: int = 60_000
    _refused: dict[str, int] = field(default_factory=dict)  # reason -> count in the open window
    _traders: dict[str, int] = field(default_factory=dict)
    _window_start: int | None = None
    _instance: str = ""
    _windows: int = 0

    def offer(self, topic: str, body: Mapping[str, object]) -> WebhookEvent | None:
        if topic not in _WATCHED:
            return None  # most items (account updates, exposure, fan-outs): one set lookup
        instance = str(body.get("instance", ""))
        self._instance = instance or self._instance
        if topic == "record.copy_refused":
            if "copies_refused" in self.events:
                ts = int(body.get("ts", 0))  # type: ignore[call-overload]
                if self._window_start is None:
                    self._window_start = ts
                code = str(body.get("code", "?"))
                self._refused[code] = self._refused.get(code, 0) + 1
                trader = str(body.get("trader", "?"))
                self._traders[trader] = self._traders.get(trader, 0) + 1
            return None
        name = event_of(topic, body)
        if name is None or name not in self.events:
            return None
        data = {k: v for k, v in body.items() if k not in _ENVELOPE}
        return WebhookEvent(f"{instance}-{body.get('fseq')}", name, int(body.get("ts", 0)), data)  # type: ignore[call-overload]

    def due(self, now: int) -> WebhookEvent | None:
        """The aggregated `copies_refused` once its window has closed, else None."""
        if self._window_start is None or now < self._window_start + self.window_ms:
            return None
        self._windows += 1
        total = sum(self._refused.values())
        data = {"count": total, "by_reason": dict(sorted(self._refused.items())),
                "by_trader": dict(sorted(self._traders.items())), "from": self._window_start, "to": now}
        event = WebhookEvent(f"{self._instance}-refused-{self._windows}", "copies_refused", now, data)
        self._refused, self._traders, self._window_start = {}, {}, None
        return event


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """`[webhooks]` of the daemon config (bridge/daemon/config.py validates it)."""

    urls: tuple[str, ...]
    secret: bytes = field(repr=False)
    events: frozenset[str] = frozenset(EVENTS)
    timeout_ms: int = 5000
    max_attempts: int = 10
    backoff_ms: int = 1000
    backoff_max_ms: int = 300_000
    queue_limit: int = 10_000
    copy_refused_window_s: int = 60
    outbox: Path = Path("webhooks.db")


# --- signature ----------------------------------------------------------------------------------
def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def signed_headers(secret: bytes, now_s: int, event: str, delivery: str, body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json", TIMESTAMP_HEADER: str(now_s),
            SIGNATURE_HEADER: signature(secret, now_s, body), EVENT_HEADER: event, DELIVERY_HEADER: delivery,
            "User-Agent": "mtbridge-webhooks/1"}


def verify(secret: bytes, headers: Mapping[str, str], body: bytes, now_s: int,
           window_s: int = REPLAY_WINDOW_S) -> str | None:
    """What a receiver checks: None if the request is authentic and fresh, else why not."""
    lower = {k.lower(): v for k, v in headers.items()}
    stamp = lower.get(TIMESTAMP_HEADER.lower(), "")
    given = lower.get(SIGNATURE_HEADER.lower(), "")
    if not stamp.isdigit():
        return "missing or malformed timestamp"
    if abs(now_s - int(stamp)) > window_s:
        return f"timestamp {stamp} is outside the {window_s} s replay window"
    if not hmac.compare_digest(given, signature(secret, int(stamp), body)):
        return "signature mismatch"
    return None


# --- retry schedule ---------------------------------------------------------------------------
def backoff_ms(attempts: int, base_ms: int, max_ms: int) -> int:
    """The wait after the `attempts`-th failed attempt: base, 2 x base, 4 x base, ... capped at
    `max_ms`. No jitter: a daemon sends one delivery at a time, so retries never stampede."""
    if attempts < 1:
        return 0
    return min(max_ms, base_ms * 2 ** min(attempts - 1, 40))


def next_attempt(now: int, attempts: int, max_attempts: int, base_ms: int, max_ms: int) -> int | None:
    """When to try again after `attempts` failed ones (ms), or None: give up."""
    if attempts >= max_attempts:
        return None
    return now + backoff_ms(attempts, base_ms, max_ms)
