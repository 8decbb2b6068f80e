"""The feed's edges: frames <-> `FeedEvent`, recorded feeds, and the SUB socket shell.

Frames (docs/monitoring.md, "Feed requirements"): two ZeroMQ frames per item, the topic
(UTF-8) and one msgpack map. A recording is JSON lines, one `{"topic": ..., "body": {...}}`
per item, in publication order.

`FeedSubscriber` is the only code here that touches a socket or a clock: a thread with a SUB
socket (CURVE client unless insecure) that decodes frames and hands `FeedEvent`s to a
callback, plus synthetic `monitor.connected` / `monitor.disconnected` events from a ZeroMQ
socket monitor, so the reducer knows to wait for a fresh snapshot after every reconnect.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgpack
import zmq
from zmq.utils.monitor import recv_monitor_message

from bridge.monitor.state import FeedEvent

MAX_FRAME = 16 << 20  # a snapshot of 10 000 accounts is ~2 MB
HEARTBEAT_MS = 1000  # the daemon's `daemon.stats` beat (F12) and the ZMTP heartbeat below
NO_ANSWER_BEATS = 5  # this many beats without a single feed item: `monitor.no_answer`


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def decode_frames(parts: list[bytes]) -> FeedEvent | None:
    """[topic, msgpack map] -> FeedEvent; None for anything malformed (counted, never fatal)."""
    if len(parts) != 2:
        return None
    try:
        topic = parts[0].decode("utf-8")
        body = msgpack.unpackb(parts[1], raw=False, strict_map_key=False)
    except (UnicodeDecodeError, ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError):
        return None
    if not isinstance(body, dict):
        return None
    return FeedEvent(topic, body)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def encode_frames(event: FeedEvent) -> list[bytes]:
    return [event.topic.encode("utf-8"), msgpack.packb(dict(event.body), use_bin_type=True, default=_plain)]


def load_recording(path: str | Path) -> list[FeedEvent]:
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        item = json.loads(line)
        if not isinstance(item, dict) or not isinstance(item.get("topic"), str) or not isinstance(item.get("body"),
                                                                                                  dict):
            raise ValueError(f"{path}:{n}: expected {{\"topic\": str, \"body\": {{...}}}}")  # noqa: TRY004
        out.append(FeedEvent(item["topic"], item["body"]))
    return out


def recording_line(event: FeedEvent) -> str:
    return json.dumps({"topic": event.topic, "body": event.body}, separators=(",", ":"), default=_plain)


@dataclass(frozen=True, slots=True)
class CurveClient:
    """CURVE client settings: the daemon's public key and this monitor's key pair (Z85)."""

    server_public: str
    public: str
    secret: str


def read_key_argument(value: str) -> str:
    """A Z85 public key given inline (40 chars) or as a key file (TOML `public = ...`)."""
    from bridge.daemon.keys import read_keypair, valid_z85_key

    if valid_z85_key(value):
        return value
    return read_keypair(Path(value)).public


def curve_from_args(server_key: str | None, client_key: str | None) -> CurveClient:
    """--server-key (Z85 or file) + --client-key (key file with secret; generated if absent)."""
    from bridge.daemon.keys import generate_keypair, read_keypair

    if not server_key:
        raise ValueError("CURVE needs --server-key (the daemon's public key, Z85 or key file); "
                         "or pass --insecure for a plain-text local feed")
    server = read_key_argument(server_key)
    pair = read_keypair(Path(client_key)) if client_key else generate_keypair()
    if pair.secret is None:
        raise ValueError(f"{client_key}: the client key file must hold `secret` as well as `public`")
    return CurveClient(server, pair.public, pair.secret)


class FeedSubscriber:
    """A SUB socket in a background thread; calls `on_event(FeedEvent)` for every item.

    ZeroMQ reconnects on its own (`reconnect_ivl` .. `reconnect_ivl_max`); ZMTP heartbeats
    detect a dead peer. Every (re)connection yields `monitor.connected`; the state then waits
    for the daemon's next snapshot (sent at once on subscription by an XPUB daemon, and
    periodically in any case).
    """

    def __init__(self, address: str, on_event: Callable[[FeedEvent], None], *, curve: CurveClient | None = None,
                 topics: tuple[str, ...] = ("",), clock: Callable[[], int] = wall_ms,
                 on_bad_frame: Callable[[], None] | None = None, context: zmq.Context | None = None,
                 no_answer_ms: int = NO_ANSWER_BEATS * HEARTBEAT_MS) -> None:
        self.address = address
        self.on_event = on_event
        self.curve = curve
        self.topics = topics
        self.clock = clock
        self.on_bad_frame = on_bad_frame
        self.no_answer_ms = no_answer_ms
        self.ctx = context or zmq.Context.instance()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def start(self) -> FeedSubscriber:
        self._thread = threading.Thread(target=self._run, name="mtbridge-monitor-feed", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _socket(self) -> zmq.Socket:
        s = self.ctx.socket(zmq.SUB)
        s.linger = 0
        s.setsockopt(zmq.RCVHWM, 100_000)
        s.setsockopt(zmq.MAXMSGSIZE, MAX_FRAME)
        s.setsockopt(zmq.RECONNECT_IVL, 100)
        s.setsockopt(zmq.RECONNECT_IVL_MAX, 2000)
        s.setsockopt(zmq.HEARTBEAT_IVL, HEARTBEAT_MS)
        s.setsockopt(zmq.HEARTBEAT_TIMEOUT, 5000)
        if self.curve is not None:
            s.curve_serverkey = self.curve.server_public.encode()
            s.curve_publickey = self.curve.public.encode()
            s.curve_secretkey = self.curve.secret.encode()
        for t in self.topics:
            s.setsockopt(zmq.SUBSCRIBE, t.encode())
        return s

    def _emit(self, topic: str, **body: Any) -> None:
        self.on_event(FeedEvent(topic, {"ts": self.clock(), **body}))

    def _run(self) -> None:
        sock = self._socket()
        mon = sock.get_monitor_socket(zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED | zmq.EVENT_HANDSHAKE_SUCCEEDED
                                      | zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)
        try:
            sock.connect(self.address)
            poller = zmq.Poller()
            poller.register(sock, zmq.POLLIN)
            poller.register(mon, zmq.POLLIN)
            connected = False
            # a wrong port (nothing listens, or not a feed) would look like CONNECTING forever: after
            # `no_answer_ms` without one item, say so once, naming the endpoint
            waiting_since: float | None = time.monotonic()
            while not self._stop.is_set():
                ready = dict(poller.poll(200))
                if waiting_since is not None and (time.monotonic() - waiting_since) * 1000 >= self.no_answer_ms:
                    waiting_since = None
                    self._emit("monitor.no_answer", address=self.address, waited_ms=self.no_answer_ms,
                               connected=connected)
                if mon in ready:
                    while True:
                        try:
                            m = recv_monitor_message(mon, zmq.NOBLOCK)
                        except zmq.Again:
                            break
                        ev = m["event"]
                        # CURVE: the connection is usable after the handshake; plain: on connect.
                        up = ev == zmq.EVENT_HANDSHAKE_SUCCEEDED or (ev == zmq.EVENT_CONNECTED and self.curve is None)
                        if up and not connected:
                            connected = True
                            self._emit("monitor.connected", address=self.address)
                        elif ev == zmq.EVENT_DISCONNECTED and connected:
                            connected = False
                            self._emit("monitor.disconnected", address=self.address)
                        elif ev in (zmq.EVENT_HANDSHAKE_FAILED_AUTH, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL):
                            self._emit("monitor.auth_failed", address=self.address, secure=self.curve is not None)
                if sock in ready:
                    for _ in range(10_000):
                        try:
                            parts = sock.recv_multipart(zmq.NOBLOCK)
                        except zmq.Again:
                            break
                        waiting_since = None  # the feed answers
                        event = decode_frames(parts)
                        if event is None:
                            if self.on_bad_frame is not None:
                                self.on_bad_frame()
                            continue
                        self.on_event(event)
        except BaseException as exc:  # noqa: BLE001 - surfaced to the caller through .error
            self.error = exc
        finally:
            try:
                sock.disable_monitor()
            except zmq.ZMQError:
                pass
            mon.close(0)
            sock.close(0)


# --- several daemons (daemons sharded by trader, docs/scaling.md "Feed aggregation") ----------
def lease_feeds(url: str) -> Callable[[], dict[str, tuple[str, str]]]:
    """The cluster's feeds from its lease table: shard -> (owner node, feed address), for the
    leases that have an owner and a feed. Read on each call (one short query)."""
    def read() -> dict[str, tuple[str, str]]:
        from bridge.daemon.cluster import ClusterDb

        db = ClusterDb(url, "mtbridge monitor", ddl=False)
        try:
            _, leases = db.view()
        finally:
            db.close()
        return {shard: (lease.owner, lease.feed) for shard, lease in leases.items() if lease.owner and lease.feed}
    return read


def listed_feeds(addresses: list[str]) -> Callable[[], dict[str, tuple[str, str]]]:
    """A configured list instead of the lease table: each entry is its own source, named by the
    address, or `SHARD=ADDRESS` to name it by its shard (what dealer actions route by)."""
    fixed: dict[str, tuple[str, str]] = {}
    for entry in addresses:
        name, sep, address = entry.partition("=")
        if not sep or "://" in name:
            name, address = entry, entry
        if not name or not address:
            raise ValueError(f"--feed {entry!r}: expected ADDRESS or SHARD=ADDRESS")
        if name in fixed:
            raise ValueError(f"--feed {entry!r}: {name} is listed twice")
        fixed[name] = ("", address)
    return lambda: dict(fixed)


class ClusterFeeds:
    """One `FeedSubscriber` per daemon, all feeding one `DeskHub` (bridge/monitor/hub.py),
    each under its source's name. `feeds()` is re-read every `refresh_s`: a shard that moved
    to another daemon (failover, hand-over) is followed to its new owner's feed; the new
    owner's snapshot then replaces that source's rows (its own resync rule)."""

    def __init__(self, feeds: Callable[[], dict[str, tuple[str, str]]], desk: Any, *,
                 curve: CurveClient | None = None, refresh_s: float = 2.0, context: zmq.Context | None = None,
                 clock: Callable[[], int] = wall_ms) -> None:
        self.feeds, self.desk, self.curve, self.refresh_s = feeds, desk, curve, refresh_s
        self.ctx = context or zmq.Context.instance()
        self.clock = clock
        self.subscribers: dict[str, FeedSubscriber] = {}
        self.errors: list[str] = []  # the last few feed-listing failures (the database unreachable)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> None:
        """Start a subscriber for each new source, move one whose address changed."""
        try:
            wanted = self.feeds()
        except Exception as exc:  # noqa: BLE001 - keep the subscribers we have; say why
            self.errors = [*self.errors[-9:], f"{type(exc).__name__}: {' '.join(str(exc).split())}"]
            self._tell(self.errors[-1])
            return
        self._tell("")
        for source, (node, address) in sorted(wanted.items()):
            sub = self.subscribers.get(source)
            if sub is not None and sub.address == address:
                continue
            if sub is not None:
                sub.stop()
            self.desk.set_node(source, node, address)
            self.subscribers[source] = FeedSubscriber(
                address, lambda event, s=source: self.desk.apply(s, event), curve=self.curve, clock=self.clock,
                on_bad_frame=self.desk.hub(source).bad_frame, context=self.ctx).start()

    def _tell(self, error: str) -> None:
        """The desk shows why it has no feeds (the database unreachable), and when that ends."""
        told = getattr(self.desk, "feeds_failed", None)
        if told is not None:
            told(error)

    def start(self) -> ClusterFeeds:
        self.refresh()
        self._thread = threading.Thread(target=self._run, name="mtbridge-monitor-cluster", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.refresh_s):
            self.refresh()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        for sub in self.subscribers.values():
            sub.stop()
