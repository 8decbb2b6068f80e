"""A webhook receiver for tests and local trials: stdlib HTTP server in a thread.

It verifies every request as a real receiver should (`webhooks.verify`: signature and
replay window), deduplicates by the payload's `id` (deliveries are at-least-once), and can
be told to fail: `fail_with = 503` answers every request with that status until reset.

    with WebhookReceiver(secret) as rx:
        ... url = rx.url ...
        rx.wait(lambda: rx.accepted, timeout=20)

Run standalone: `python -m bridge.daemon.webhook_testing --secret-file webhook.secret --port 8099`
prints each accepted event as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bridge.daemon import webhooks as wh

MAX_BODY = 1 << 20


@dataclass(frozen=True, slots=True)
class Attempt:
    id: str
    event: str
    status: int  # what the receiver answered
    problem: str | None  # why verification failed, or None


class WebhookReceiver:
    def __init__(self, secret: bytes, host: str = "127.0.0.1", port: int = 0, path: str = "/hook",
                 on_event: Callable[[dict], None] | None = None) -> None:
        self.secret, self.path = secret, path
        self.fail_with: int | None = None
        self.attempts: list[Attempt] = []
        self.accepted: dict[str, dict] = {}  # payload id -> payload, first acceptance only
        self.duplicates = 0
        self.on_event = on_event
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(length, MAX_BODY))
                status = receiver._handle(dict(self.headers.items()), body, self.path)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="webhook-receiver", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{self.path}"

    def _handle(self, headers: dict[str, str], body: bytes, path: str) -> int:
        problem = wh.verify(self.secret, headers, body, int(time.time()))
        try:
            payload = json.loads(body)
        except ValueError:
            payload = {}
        pid, event = str(payload.get("id", "")), str(payload.get("event", ""))
        if path.split("?")[0] != self.path:
            status = 404
        elif problem is not None:
            status = 401
        elif self.fail_with is not None:
            status = self.fail_with
        else:
            status = 200
        with self._cond:
            self.attempts.append(Attempt(pid, event, status, problem))
            if status == 200:
                if pid in self.accepted:
                    self.duplicates += 1  # at-least-once: a receiver drops a repeated id
                else:
                    self.accepted[pid] = payload
                    if self.on_event is not None:
                        self.on_event(payload)
            self._cond.notify_all()
        return status

    def wait(self, predicate: Callable[[], object], timeout: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def start(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="print verified mtbridge webhooks as JSON lines")
    p.add_argument("--secret-file", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8099)
    p.add_argument("--path", default="/hook")
    args = p.parse_args(argv)
    secret = Path(args.secret_file).read_text(encoding="utf-8").strip().encode()
    rx = WebhookReceiver(secret, args.host, args.port, args.path,
                         on_event=lambda e: print(json.dumps(e), flush=True))
    print(f"listening on {rx.url}", file=sys.stderr)
    try:
        rx.server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
