"""The daemon's own health check and Prometheus metrics, on a small local HTTP listener.

`daemon.health = "127.0.0.1:9464"` in the config starts it (off by default; port 0 = any free
port, written to `--endpoints-file` as `health`). Two routes, GET only, one request per
connection, served on the daemon's own event loop (so a blocked loop shows as a health check
that times out, which is what a blocked daemon is):

* `/healthz`: JSON `{"ok": ..., "reasons": [...], ...}`, status 200 when ok, 503 when red.
  Red when a socket is not bound (router, feed, admin), the journal is not writable (its file
  gone or replaced since start, not writable, or under 64 MiB free on its disk), the event loop
  was blocked longer than `daemon.health_max_lag_ms` in the last second, the timer loop has
  not beaten for 3 s, or the daemon is stopping. Feed subscribers, sessions and pending
  commands are reported, never red by themselves.
* `/metrics`: Prometheus text format (names in docs/operations.md, "Health and metrics").

Example: `rm journal.db` under a running daemon -> `GET /healthz` answers 503
`{"ok": false, "reasons": ["journal: /var/lib/mtbridge/journal.db is gone (deleted or moved)"], ...}`.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from collections import Counter, deque
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bridge.daemon.store_open import journal_name

if TYPE_CHECKING:
    from bridge.daemon.server import Daemon

MIN_FREE_BYTES = 64 * 1024 * 1024  # the WAL may grow this much (SqliteStore.WAL_LIMIT)
BEAT_STALE_S = 3.0  # the timer loop beats every second
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)  # as the dashboard
MAX_REQUEST = 8192
REQUEST_TIMEOUT_S = 5.0


class LatencyTap(deque):
    """The feed model's bounded list of recent copy latencies (ms, text), also keeping what was
    appended since the last `take()`, so every copy lands in the histogram once (the deque
    alone drops the oldest). Bounded: `take()` runs every second."""

    def __init__(self, items: Any = (), maxlen: int | None = None) -> None:
        super().__init__(items, maxlen)
        self.fresh: list[str] = []

    def append(self, x: str) -> None:
        deque.append(self, x)
        self.fresh.append(x)

    def take(self) -> list[str]:
        out, self.fresh = self.fresh, []
        return out


class Health:
    """What /healthz and /metrics read: the daemon's state, judged at request time."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.last_beat = time.monotonic()
        self.last_lag_ns = 0  # the loop's longest lag over the last full second
        self.stopping = False
        self.journal_id: tuple[int, int] | None = None  # (device, inode) of the journal opened
        path = daemon.config.journal_path
        if not daemon.config.journal_url and path.exists():
            st = path.stat()
            self.journal_id = (st.st_dev, st.st_ino)
        self.registry = CollectorRegistry()
        self.copy_latency = Histogram("mtbridge_daemon_copy_latency_seconds",
                                      "Trader deal to investor fill or refusal, measured by the daemon",
                                      buckets=LATENCY_BUCKETS, registry=self.registry)
        self.registry.register(_Collector(self))
        self.tap: LatencyTap | None = None

    def attach(self) -> None:
        """Start counting copy latencies (called once the core exists)."""
        feed = self.daemon.core.feed  # type: ignore[union-attr]
        self.tap = feed.latencies = LatencyTap(feed.latencies, feed.latencies.maxlen)

    def beat(self, loop_lag_ns: int) -> None:
        """The timer loop's once-a-second call, before it resets its measures."""
        self.last_beat = time.monotonic()
        self.last_lag_ns = loop_lag_ns
        self._observe()

    def _observe(self) -> None:
        if self.tap is None:
            return
        for ms in self.tap.take():
            self.copy_latency.observe(float(ms) / 1000.0)

    # ------------------------------------------------------------------ judgement
    def report(self) -> dict:
        d = self.daemon
        reasons: list[str] = []
        if self.stopping:
            reasons.append("daemon: stopping")
        sockets = {}
        for name in ("router", "pub", "admin"):
            if name == "admin" and not d.config.admin:
                continue
            sock = getattr(d, name, None)
            bound = sock is not None and not sock.closed and name in d.endpoints
            sockets[name] = d.endpoints.get(name) if bound else None
            if not bound:
                reasons.append(f"socket {name}: not bound")
        journal = self._journal_problem()
        if journal:
            reasons.append(f"journal: {journal}")
        lag_ms = self.last_lag_ns / 1e6
        if lag_ms > d.config.health_max_lag_ms:
            reasons.append(f"loop: blocked {lag_ms:.0f} ms in the last second (limit {d.config.health_max_lag_ms})")
        silent = time.monotonic() - self.last_beat
        if silent > BEAT_STALE_S:
            reasons.append(f"loop: timer silent for {silent:.1f} s")
        core = d.core
        return {
            "ok": not reasons, "reasons": reasons, "instance": d.instance, "pid": os.getpid(), "sockets": sockets,
            "journal": {"path": journal_name(d.config), "seq": core.seq if core else None},
            "loop_lag_ms": round(lag_ms, 1), "feed_subscribers": d.feed_subscriptions,
            "sessions": len(core.session_of) if core else 0,
            "pending_commands": len(core.pending) if core else 0,
        }

    def _journal_problem(self) -> str | None:
        if self.daemon.config.journal_url:  # PostgreSQL: the session that writes, and its lock
            return self.daemon.store.problem()
        path = self.daemon.config.journal_path
        try:
            st = path.stat()
        except FileNotFoundError:
            return f"{path} is gone (deleted or moved)"
        except OSError as exc:
            return f"{path}: {exc.strerror}"
        if self.journal_id is not None and (st.st_dev, st.st_ino) != self.journal_id:
            return f"{path} was replaced by another file since the daemon opened it"
        if not os.access(path, os.W_OK):
            return f"{path} is not writable"
        free = shutil.disk_usage(path.parent).free
        if free < MIN_FREE_BYTES:
            return f"{free // (1024 * 1024)} MiB free on its disk (needs {MIN_FREE_BYTES // (1024 * 1024)})"
        return None

    def metrics(self) -> bytes:
        self._observe()
        return generate_latest(self.registry)


class _Collector:
    """Gauges and counters read from the daemon at scrape time (nothing on the hot path)."""

    def __init__(self, health: Health) -> None:
        self.health = health

    def describe(self) -> list:
        return []

    def collect(self) -> Any:
        h = self.health
        d = h.daemon
        core = d.core
        up = GaugeMetricFamily("mtbridge_daemon_up", "1 while /healthz is ok, else 0")
        up.add_metric([], 1 if h.report()["ok"] else 0)
        yield up
        if core is None:
            return
        yield GaugeMetricFamily("mtbridge_daemon_pending_commands", "Commands journaled, not yet answered",
                                value=len(core.pending))
        roles = GaugeMetricFamily("mtbridge_daemon_sessions", "Terminal sessions by role and state",
                                  labels=("role", "state"))
        tally = Counter((s.role, "online" if s.online else "silent") for s in core.session_of.values())
        for role in ("trader", "investor"):
            for state in ("online", "silent"):
                roles.add_metric([role, state], tally.get((role, state), 0))
        yield roles
        yield GaugeMetricFamily("mtbridge_daemon_feed_subscribers", "Live subscriptions on the monitoring feed",
                                value=d.feed_subscriptions)
        lag = core.journal_lag_ms
        yield GaugeMetricFamily("mtbridge_daemon_journal_commit_lag_seconds",
                                "Receipt of a step's oldest input to its journal commit (last step)",
                                value=float(lag) / 1000.0 if lag else 0.0)
        yield GaugeMetricFamily("mtbridge_daemon_journal_seq", "Last journaled engine event", value=core.seq)
        yield GaugeMetricFamily("mtbridge_daemon_loop_lag_seconds", "Longest event-loop block, last full second",
                                value=h.last_lag_ns / 1e9)
        refused = CounterMetricFamily("mtbridge_daemon_refused_frames", "Refused frames by event and code",
                                      labels=("event", "code"))
        for (event, code), n in sorted(core.refused_counts.items()):
            refused.add_metric([event, code], n)
        yield refused
        yield CounterMetricFamily("mtbridge_daemon_discarded_frames",
                                  "Frames discarded undecoded (over a key's rate, or from a banned key)",
                                  value=core.frames_discarded)
        now = d.clock()
        limited = sum(1 for b in core.buckets.values() if b.over_since is not None or b.banned_until > now)
        banned = sum(1 for b in core.buckets.values() if b.banned_until > now)
        keys = GaugeMetricFamily("mtbridge_daemon_rate_limited_keys", "Keys over their frame rate, or banned",
                                 labels=("state",))
        keys.add_metric(["limited"], limited)
        keys.add_metric(["banned"], banned)
        yield keys
        for name, help_ in (("frames_in", "Frames read from terminals"), ("frames_out", "Frames sent to terminals"),
                            ("commits", "Journal commits"), ("feed_items", "Feed items published"),
                            ("feed_dropped", "Feed items dropped at a subscriber's high-water mark"),
                            ("cuts_skipped", "Cuts of banned connections skipped: the connection's socket was gone")):
            yield CounterMetricFamily(f"mtbridge_daemon_{name}", help_, value=d.stats[name])


# ------------------------------------------------------------------ the HTTP listener
class HealthServer:
    """A minimal HTTP/1.1 server (asyncio streams): GET /healthz and GET /metrics."""

    def __init__(self, health: Health, listen: str) -> None:
        self.health = health
        host, _, port = listen.rpartition(":")
        self.host, self.port = host.strip("[]"), int(port)
        self.server: asyncio.base_events.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, self.host, self.port, limit=MAX_REQUEST)
        port = self.server.sockets[0].getsockname()[1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port}"

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        method = ""
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REQUEST_TIMEOUT_S)
            method, path, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
            path = path.split("?", 1)[0]
            if method not in ("GET", "HEAD"):
                status, ctype, body = 405, "text/plain", b"GET only\n"
            elif path == "/healthz":
                report = self.health.report()
                status, ctype = (200 if report["ok"] else 503), "application/json"
                body = json.dumps(report).encode() + b"\n"
            elif path == "/metrics":
                status, ctype, body = 200, CONTENT_TYPE_LATEST, self.health.metrics()
            else:
                status, ctype, body = 404, "text/plain", b"not found (try /healthz or /metrics)\n"
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ValueError):
            status, ctype, body = 400, "text/plain", b"bad request\n"
        except ConnectionError:
            writer.close()
            return
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
                  503: "Service Unavailable"}[status]
        head_out = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                    "Cache-Control: no-store\r\nConnection: close\r\n\r\n").encode()
        try:
            writer.write(head_out + (b"" if method == "HEAD" else body))
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


# ------------------------------------------------------------------ systemd readiness
def sd_notify(state: str) -> bool:
    """Tell systemd (Type=notify) our state: "READY=1", "RELOADING=1", "STOPPING=1",
    "WATCHDOG=1", "STATUS=...". A datagram to $NOTIFY_SOCKET; nothing without it."""
    import socket

    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
            s.connect(address)
            s.sendall(state.encode())
        return True
    except OSError:
        return False


__all__ = ["Health", "HealthServer", "LatencyTap", "sd_notify"]
