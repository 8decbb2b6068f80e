"""The webhook sender: a task on the daemon's event loop (docs/operations.md, "Webhooks").

`offer(items)` takes the feed items the daemon has just published (already journaled); the
ones configured become rows of the outbox at once (SQLite, a few rows, no fsync in WAL
mode). `run()` sends the due rows one at a time; the HTTP POST runs in a worker thread
(stdlib `http.client`), so the loop never waits on a receiver.
"""

from __future__ import annotations

import asyncio
import http.client
import time
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

from bridge.daemon import webhooks as wh
from bridge.daemon.webhook_outbox import Delivery, Outbox
from bridge.daemon.webhooks import WebhookConfig

IDLE_MS = 1000  # the longest sleep: the copy-refusal window is checked at least this often


def post(url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> int:
    """One POST -> the HTTP status (an OSError for no answer at all)."""
    parts = urllib.parse.urlsplit(url)
    conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = conn_cls(parts.hostname or "", parts.port, timeout=timeout_s)
    try:
        path = parts.path or "/"
        conn.request("POST", path + (f"?{parts.query}" if parts.query else ""), body=body, headers=headers)
        response = conn.getresponse()
        response.read(65536)
        return response.status
    finally:
        conn.close()


class WebhookSender:
    def __init__(self, config: WebhookConfig, log: Any, clock: Callable[[], int] | None = None,
                 poster: Callable[[str, bytes, dict[str, str], float], int] = post) -> None:
        self.config = config
        self.log = log
        self.clock = clock or (lambda: time.time_ns() // 1_000_000)
        self.poster = poster
        self.selector = wh.Selector(config.events, config.copy_refused_window_s * 1000)
        self.outbox = Outbox(config.outbox, config.queue_limit)
        self._wake: asyncio.Event | None = None
        self.closed = False
        self.sent = self.failed = 0

    def offer(self, items: Iterable[tuple[str, dict]]) -> None:
        """Feed items just published -> outbox rows (no I/O but the outbox insert)."""
        if self.closed:
            return  # the daemon's last items, after the sender stopped: nothing to send them with
        woke = False
        for topic, body in items:
            event = self.selector.offer(topic, body)
            if event is not None:
                self._queue(event)
                woke = True
        if woke and self._wake is not None:
            self._wake.set()

    def _queue(self, event: wh.WebhookEvent) -> None:
        dropped = self.outbox.add(event.id, event.event, event.body(), self.config.urls, self.clock())
        for event_id in dropped:
            self.log.warning("webhook.dropped", id=event_id, why="queue full", queue_limit=self.config.queue_limit)

    async def run(self) -> None:
        self._wake = asyncio.Event()
        try:
            while True:
                now = self.clock()
                aggregated = self.selector.due(now)
                if aggregated is not None:
                    self._queue(aggregated)
                delivery = self.outbox.next_due(now)
                if delivery is None:
                    due = self.outbox.next_time()
                    wait_ms = IDLE_MS if due is None else max(1, min(IDLE_MS, due - now))
                    self._wake.clear()
                    try:
                        await asyncio.wait_for(self._wake.wait(), wait_ms / 1000)
                    except asyncio.TimeoutError:
                        pass
                    continue
                await self._attempt(delivery)
        finally:
            self.closed = True
            self.outbox.close()

    async def _attempt(self, d: Delivery) -> None:
        attempt = asyncio.ensure_future(asyncio.to_thread(self._post, d))
        try:
            error = await asyncio.shield(attempt)
        except asyncio.CancelledError:
            # The daemon is stopping with a POST in flight: wait for its answer (bounded by the
            # timeout) and record it, so the next run does not send an acknowledged event again.
            error = await asyncio.wait_for(attempt, self.config.timeout_ms / 1000 + 1)
            self._record(d, error)
            raise
        self._record(d, error)

    def _post(self, d: Delivery) -> str:
        """One attempt, in a worker thread -> "" (a 2xx) or what went wrong."""
        cfg = self.config
        headers = wh.signed_headers(cfg.secret, self.clock() // 1000, d.event, d.id, d.body)
        try:
            status = self.poster(d.url, d.body, headers, cfg.timeout_ms / 1000)
        except Exception as exc:  # noqa: BLE001 - any failure of the receiver is a failed attempt
            return f"{type(exc).__name__}: {exc}"
        return "" if 200 <= status < 300 else f"HTTP {status}"

    def _record(self, d: Delivery, error: str) -> None:
        cfg = self.config
        now = self.clock()
        if not error:
            self.outbox.done(d.n)
            self.sent += 1
            self.log.info("webhook.delivered", id=d.id, webhook=d.event, url=d.url, attempts=d.attempts + 1)
            return
        retry_at = wh.next_attempt(now, d.attempts + 1, cfg.max_attempts, cfg.backoff_ms, cfg.backoff_max_ms)
        self.outbox.failed(d.n, error, retry_at)
        if retry_at is None:
            self.failed += 1
            self.log.error("webhook.gave_up", id=d.id, webhook=d.event, url=d.url, attempts=d.attempts + 1, error=error)
        else:
            self.log.warning("webhook.retry", id=d.id, webhook=d.event, url=d.url, attempts=d.attempts + 1,
                             error=error, retry_in_ms=retry_at - now)


def start_sender(config: WebhookConfig, log: Any) -> WebhookSender:
    """The daemon's sender; a StartupError (one line, exit 2) if the outbox cannot be opened."""
    import sqlite3

    from bridge.daemon.config import StartupError

    try:
        return WebhookSender(config, log)
    except (OSError, sqlite3.Error) as exc:
        raise StartupError(f"cannot open the webhook outbox {config.outbox}: {exc}") from None
