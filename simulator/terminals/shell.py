"""`TerminalClient`: the thin asyncio + pyzmq shell around a `TerminalCore`.

It owns one DEALER socket (CURVE by default: the terminal's key pair + the daemon's public
key; `insecure=True` for a daemon started with `--insecure`), feeds decoded frames to the
core, sends what the core returns, runs the core's watcher every `poll_interval` seconds
(or only when asked, `poll_interval=None`, as the deterministic demo does) and reconnects
with exponential backoff when the core asks for it (sequence error, silent daemon): a new
socket (new routing id), then `hello` + full snapshot for every login.

Daemons sharded by trader (docs/scaling.md): a `redirect` answering the hello makes the
shell reconnect at once to the endpoint it names (`endpoint` changes, `home` stays the
configured one); "no owner yet" retries after a heartbeat interval; when a redirect target
falls silent (its daemon died), the shell goes back `home`, where any daemon redirects it to
the shard's new owner.

    client = TerminalClient(core, "tcp://127.0.0.1:5570", server_key=daemon_public,
                            public_key=pub, secret_key=sec)
    await client.start()
    await client.wait_welcomed(timeout=10)
    await client.poll_once()          # report server changes now
    await client.stop()

The shell is the only place a clock is read: `clock()` (message `ts`, account-update pacing;
wall ms by default, virtual server time in the demo), `mono()` (wall ms: heartbeats, the
silent-daemon check) and `time.perf_counter_ns()` for the latency recorder.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import zmq
import zmq.asyncio

from bridge.protocol import (
    DEFAULT_LIMITS,
    Close,
    Direction,
    Limits,
    Message,
    Modify,
    Open,
    PositionClosed,
    PositionModified,
    PositionOpened,
    ProtocolError,
    decode,
    encode,
)
from simulator.terminals.core import TerminalCore
from simulator.terminals.latency import LatencyRecorder


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


_CTX: zmq.asyncio.Context | None = None


def _context() -> zmq.asyncio.Context:
    """Our own asyncio context (`zmq.asyncio.Context.instance()` may hand back a plain one
    another module created first)."""
    global _CTX
    if _CTX is None or _CTX.closed:
        _CTX = zmq.asyncio.Context()
    return _CTX


class TerminalClient:
    def __init__(
        self,
        core: TerminalCore,
        endpoint: str,
        *,
        server_key: bytes | str | None = None,
        public_key: bytes | str | None = None,
        secret_key: bytes | str | None = None,
        insecure: bool = False,
        context: zmq.asyncio.Context | None = None,
        clock: Callable[[], int] = wall_ms,
        mono: Callable[[], int] = wall_ms,
        poll_interval: float | None = 0.05,
        backoff: tuple[float, float] = (0.05, 2.0),
        recorder: LatencyRecorder | None = None,
        limits: Limits = DEFAULT_LIMITS,
        name: str = "terminal",
    ) -> None:
        if not insecure and not (server_key and public_key and secret_key):
            raise ValueError("CURVE needs server_key, public_key and secret_key (or insecure=True)")
        self.core = core
        self.endpoint = endpoint
        self.home = endpoint  # the configured endpoint; a redirect changes `endpoint`
        self._keys = tuple(k.encode() if isinstance(k, str) else k for k in (server_key, public_key, secret_key))
        self.insecure = insecure
        self._ctx = context or _context()
        self.clock = clock
        self.mono = mono
        self.poll_interval = poll_interval
        self.backoff = backoff
        self.recorder = recorder
        self.limits = limits
        self.name = name
        self._sock: zmq.asyncio.Socket | None = None
        self._task: asyncio.Task | None = None
        self._lock = asyncio.Lock()
        self._stopping = False
        self.connections = 0  # sockets opened (1 + reconnects)
        self.reconnects: list[str] = []  # why each reconnect happened
        self.sent = 0
        self.received = 0
        self._activity = asyncio.Event()

    # ------------------------------------------------------------------ life cycle
    async def start(self) -> None:
        self._stopping = False
        await self._open()
        self._task = asyncio.create_task(self._run(), name=f"{self.name}-loop")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        self._close()

    async def restart_terminal(self, core: TerminalCore) -> None:
        """Simulate a terminal restart: a new core (rebuilt from the server), a new socket."""
        await self.stop()
        self.core = core
        await self.start()

    def _close(self) -> None:
        if self._sock is not None:
            self._sock.close(linger=0)
            self._sock = None
        self.core.disconnect()

    async def _open(self) -> None:
        sock = self._ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.MAXMSGSIZE, self.limits.max_frame_size)
        sock.setsockopt(zmq.SNDHWM, 0)
        sock.setsockopt(zmq.RCVHWM, 0)
        if not self.insecure:
            server_key, public_key, secret_key = self._keys
            sock.curve_serverkey = server_key
            sock.curve_publickey = public_key
            sock.curve_secretkey = secret_key
        sock.connect(self.endpoint)
        self._sock = sock
        self.connections += 1
        await self._send(self.core.connect(self.clock(), self.mono()))

    # ------------------------------------------------------------------ sending
    async def _send(self, messages: list[Message]) -> None:
        sock = self._sock
        if sock is None or not messages:
            return
        rec = self.recorder
        for m in messages:
            frame = encode(m, limits=self.limits)
            if rec is not None and isinstance(m, (PositionOpened, PositionModified, PositionClosed)):
                rec.event_sent(m.ticket, time.perf_counter_ns())
            await sock.send(frame, copy=False)
            self.sent += 1

    async def poll_once(self, logins=None) -> int:
        """Run the core's watcher now and send what it reports; returns how many messages."""
        async with self._lock:
            out = self.core.poll(self.clock(), logins, self.mono())
            await self._send(out)
            return len(out)

    async def send(self, messages: list[Message]) -> None:
        """Send messages the caller built with this client's core (e.g. one at a time)."""
        async with self._lock:
            await self._send(messages)

    async def send_messages(self, build: Callable[[TerminalCore, int], list[Message]]) -> int:
        """Send what `build(core, now)` returns, in order, under the send lock."""
        async with self._lock:
            out = build(self.core, self.clock())
            await self._send(out)
            return len(out)

    # ------------------------------------------------------------------ receiving
    def _on_frame(self, frames: list[bytes]) -> list[Message]:
        now, mono = self.clock(), self.mono()
        if len(frames) != 1:
            return self.core.receive(ProtocolError("not_msgpack", f"{len(frames)}-frame message"), now, mono)
        message = decode(frames[0], direction=Direction.TO_TERMINAL, limits=self.limits)
        self.received += 1
        if self.recorder is not None and isinstance(message, (Open, Close, Modify)):
            self.recorder.command_received(message.TYPE, message.key, time.perf_counter_ns())
        return self.core.receive(message, now, mono)

    async def _run(self) -> None:
        delay = self.backoff[0]
        next_poll = time.monotonic()
        tick = 0.02 if self.poll_interval is None else min(self.poll_interval, 0.02)
        while not self._stopping:
            sock = self._sock
            if sock is None:
                await asyncio.sleep(tick)
                continue
            try:
                ready = await sock.poll(int(tick * 1000), zmq.POLLIN)
            except zmq.ZMQError:
                await asyncio.sleep(tick)
                continue
            if ready and sock is self._sock:
                async with self._lock:
                    while self._sock is sock:
                        try:
                            frames = await sock.recv_multipart(zmq.NOBLOCK)
                        except zmq.Again:
                            break
                        await self._send(self._on_frame(frames))
                self._activity.set()
            async with self._lock:
                now, mono = self.clock(), self.mono()
                if self.poll_interval is not None and time.monotonic() >= next_poll:
                    next_poll = time.monotonic() + self.poll_interval
                    await self._send(self.core.poll(now, None, mono))
                else:
                    await self._send(self.core.heartbeats(mono, now))
                reason = self.core.check(mono)
            if reason is not None:
                self.reconnects.append(reason)
                async with self._lock:
                    self._close()
                    target, self.core.redirect_to = self.core.redirect_to, None
                if target:  # a redirect: the shard's owner is known, go there at once
                    self.endpoint = target
                    delay = self.backoff[0]
                else:
                    if target is None and self.endpoint != self.home and self.core.redirects == 0:
                        self.endpoint = self.home  # the redirect target died: any daemon redirects anew
                    await asyncio.sleep(delay if target is None else self.core.heartbeat_ms / 1000)
                    delay = min(delay * 2, self.backoff[1])
                async with self._lock:
                    if not self._stopping:
                        await self._open()
            elif self.core.welcomed():
                delay = self.backoff[0]

    # ------------------------------------------------------------------ helpers for callers
    async def wait_welcomed(self, timeout: float = 10.0) -> None:
        """Until the daemon welcomed every login of the current connection."""
        deadline = time.monotonic() + timeout
        while not (self._sock is not None and self.core.welcomed()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: not welcomed within {timeout} s "
                                   f"(errors: {[e.code for e in self.core.errors[-3:]]})")
            self._activity.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._activity.wait(), 0.05)
