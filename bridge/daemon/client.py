"""Minimal protocol clients for tests, benchmarks and smoke checks (not a terminal EA).

* `TerminalClient`: one DEALER connection (CURVE optional) speaking for one or more logins,
  each with its own session (hello, seq, heartbeats). Synchronous pyzmq, explicit polling.
* `Executor`: an investor account that executes `open`/`close`/`modify` commands at most
  once per idempotency key (answers a repeated key with the stored result), keeping its
  positions, and reports the deals (`position_opened` / `position_closed`) like a terminal.
* `AdminClient`: the shared admin client (`bridge.daemon.adminclient`), on this module's
  blocking context.

The simulated terminals in `simulator/terminals/` are the full-featured version.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable

import msgpack
import zmq

from bridge.daemon.adminclient import AdminArgsError  # noqa: F401 - re-exported for tests
from bridge.daemon.adminclient import AdminClient as SharedAdminClient
from bridge.protocol import (Close, CommandResult, Direction, ErrorReply, Heartbeat, Hello, Modify, Open,
                             Position, PositionClosed, PositionOpened, ProtocolError, Redirect, Welcome, decode,
                             encode)

SEQUENCE_CODES = {"not_started", "bad_start_seq", "sequence_replay", "sequence_gap"}
_ids = itertools.count(int(time.time() * 1000) * 1000)


def next_message_id() -> int:
    """Message ids only grow per login, across connections (the daemon refuses a replayed id):
    one process-wide counter, started from the wall clock."""
    return next(_ids)


_CTX: zmq.Context | None = None


def sync_context() -> zmq.Context:
    """A plain (blocking) context of our own: zmq.Context.instance() may be an asyncio one."""
    global _CTX
    if _CTX is None or _CTX.closed:
        _CTX = zmq.Context()
    return _CTX


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(slots=True)
class _Session:
    login: int
    hello: dict
    seq: int = 0
    welcomed: bool = False
    last_tx: int = 0
    heartbeat_ms: int = 1000
    hello_id: int = 0  # id of the last hello sent: errors about older frames are stale


@dataclass
class Curve:
    server_public: str
    public: str
    secret: str
    role: str = "trader"  # the key's allow-list role; a terminal's hello must say the same


class TerminalClient:
    def __init__(self, endpoint: str, curve: Curve | None = None, ctx: zmq.Context | None = None,
                 identity: bytes | None = None) -> None:
        self.endpoint, self.curve = endpoint, curve
        self.ctx = ctx or sync_context()
        self.sessions: dict[int, _Session] = {}
        self.inbox: list[Any] = []
        self.errors: list[ErrorReply] = []
        self.last_rx = wall_ms()
        self.identity = identity
        self.handlers: list[Callable[[Any], None]] = []  # called for every message received
        # daemons sharded by trader: follow a `redirect` naming an endpoint (reconnect there)
        self.follow_redirects = False
        self.redirects_followed: list[tuple[int, str, str]] = []  # (login, shard, endpoint)
        self._connect()

    def _connect(self) -> None:
        s = self.ctx.socket(zmq.DEALER)
        s.linger = 0
        s.setsockopt(zmq.RCVHWM, 0)
        s.setsockopt(zmq.SNDHWM, 0)
        s.setsockopt(zmq.SNDTIMEO, 3000)  # a send with no handshaken peer must not hang a test
        if self.identity:
            s.setsockopt(zmq.ROUTING_ID, self.identity)
        if self.curve:
            s.curve_serverkey = self.curve.server_public.encode()
            s.curve_publickey = self.curve.public.encode()
            s.curve_secretkey = self.curve.secret.encode()
        s.connect(self.endpoint)
        self.sock = s

    def close(self) -> None:
        self.sock.close(0)

    def reconnect(self) -> None:
        """New socket (new identity), then hello again for every login."""
        self.sock.close(0)
        self._connect()
        for s in self.sessions.values():
            s.seq, s.welcomed = 0, False
            self._send(s, Hello, **s.hello)

    # -------------------------------------------------------------- sending
    def send_raw(self, frame: bytes | list[bytes]) -> None:
        if isinstance(frame, list):
            self.sock.send_multipart(frame)
        else:
            self.sock.send(frame)

    def _send(self, s: _Session, cls: type, **body: Any) -> None:
        s.seq = 1 if cls is Hello else s.seq + 1
        s.last_tx = wall_ms()
        msg = cls(id=next_message_id(), seq=s.seq, ts=s.last_tx, login=s.login, **body)
        if cls is Hello:
            s.hello_id = msg.id
        self.sock.send(encode(msg))

    def hello(self, login: int, *, role: str | None = None, platform: str = "MT4", account_type: str = "mt4_standard",
              currency: str = "USD", leverage: int = 100, balance: Decimal = Decimal("10000"),
              equity: Decimal | None = None, positions: tuple[Position, ...] = ()) -> None:
        if role is None:
            role = self.curve.role if self.curve is not None and self.curve.role in ("trader", "investor") else "trader"
        body = dict(role=role, platform=platform, account_type=account_type, currency=currency, leverage=leverage,
                    balance=balance, equity=balance if equity is None else equity, positions=tuple(positions))
        s = self.sessions[login] = _Session(login, body)
        self._send(s, Hello, **body)

    def set_positions(self, login: int, positions: tuple[Position, ...]) -> None:
        """What the next (re)hello reports."""
        self.sessions[login].hello["positions"] = tuple(positions)

    def send(self, login: int, cls: type, **body: Any) -> None:
        self._send(self.sessions[login], cls, **body)

    def opened(self, login: int, ticket: int, symbol: str = "EURUSD", side: str = "buy",
               volume: str = "0.1", price: str = "1.1", time_ms: int | None = None, magic: int = 0,
               comment: str = "") -> Position:
        p = Position(ticket, symbol, side, Decimal(volume), Decimal(price), Decimal(0), Decimal(0),  # type: ignore[arg-type]
                     time_ms or wall_ms(), magic, comment)
        self.send(login, PositionOpened, **{f: getattr(p, f) for f in Position.__slots__})
        return p

    def closed(self, login: int, ticket: int, volume: str, remaining: str = "0", price: str = "1.1",
               reason: str = "client", profit: str = "0") -> None:
        self.send(login, PositionClosed, ticket=ticket, volume=Decimal(volume), remaining=Decimal(remaining),
                  price=Decimal(price), time=wall_ms(), reason=reason, profit=Decimal(profit))

    # -------------------------------------------------------------- receiving
    def poll(self, timeout_ms: int = 0) -> list[Any]:
        """Receive what is there (waiting up to timeout_ms for the first), answer protocol
        housekeeping (heartbeats, welcome, sequence errors -> re-hello); return new messages."""
        got: list[Any] = []
        if self.sock.poll(timeout_ms):
            while True:
                try:
                    frame = self.sock.recv(zmq.NOBLOCK)
                except zmq.Again:
                    break
                self.last_rx = wall_ms()
                msg = decode(frame, direction=Direction.TO_TERMINAL)
                got.append(msg)
                for handler in self.handlers:
                    handler(msg)
                if isinstance(msg, Welcome):
                    s = self.sessions.get(msg.login)
                    if s is not None:
                        s.welcomed, s.heartbeat_ms = True, msg.heartbeat_ms
                elif isinstance(msg, Redirect) and self.follow_redirects and msg.endpoint:
                    if msg.endpoint != self.endpoint:  # one move per connection: it re-hellos every login
                        self.endpoint = msg.endpoint
                        self.redirects_followed.append((msg.login, msg.shard, msg.endpoint))
                        self.reconnect()
                elif isinstance(msg, ErrorReply):
                    self.errors.append(msg)
                    s = self.sessions.get(msg.login)
                    if msg.code in SEQUENCE_CODES and s is not None and needs_hello(s.hello_id, msg):
                        self._send(s, Hello, **s.hello)
        self.inbox.extend(got)
        self.heartbeat()
        return got

    def heartbeat(self) -> None:
        now = wall_ms()
        for s in self.sessions.values():
            if now - s.last_tx >= s.heartbeat_ms // 2:
                try:
                    self._send(s, Heartbeat)
                except zmq.Again:
                    s.last_tx = now

    def wait(self, predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
        return wait_until(predicate, [self], timeout)

    def commands(self, login: int | None = None) -> list[Open | Close | Modify]:
        return [m for m in self.inbox if isinstance(m, (Open, Close, Modify)) and (login is None or m.login == login)]


def needs_hello(hello_id: int, err: ErrorReply) -> bool:
    """A sequence error calls for a new hello only if it is about a frame sent after the
    login's last hello: the frames a woken terminal sent before its hello was read all get
    `not_started`, and one hello answers them all (one more per error would restart the
    session again and again)."""
    return err.ref_id == 0 or err.ref_id > hello_id


def wait_until(predicate: Callable[[], bool], clients: list[TerminalClient], timeout: float = 20.0) -> bool:
    """Poll every client (answering heartbeats and commands) until predicate() or timeout."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        for i, c in enumerate(clients):
            c.poll(10 if i == 0 else 0)


@dataclass
class Executor:
    """Executes commands for the investor logins of a TerminalClient, once per key."""

    client: TerminalClient
    results: dict[str, dict] = field(default_factory=dict)  # key -> result fields
    executions: dict[str, int] = field(default_factory=dict)  # key -> times executed (must stay 1)
    received: dict[str, int] = field(default_factory=dict)  # key -> times received
    positions: dict[int, dict[int, Position]] = field(default_factory=dict)  # login -> ticket -> position
    next_ticket: int = 900_000
    refuse: Callable[[Any], int | None] = lambda cmd: None  # -> a retcode to refuse with
    profit_per_lot: Decimal = Decimal("10")
    def __post_init__(self) -> None:
        self.client.handlers.append(self._on_message)

    def _on_message(self, m: Any) -> None:
        if isinstance(m, (Open, Close, Modify)):
            self.handle(m)

    def handle(self, m: Open | Close | Modify) -> None:
        self.received[m.key] = self.received.get(m.key, 0) + 1
        stored = self.results.get(m.key)
        if stored is None:
            stored = self._execute(m)
            self.results[m.key] = stored
            self.executions[m.key] = self.executions.get(m.key, 0) + 1
            if m.login in self.client.sessions:  # the next (re)hello reports what the account holds
                self.client.set_positions(m.login, tuple(self.positions.get(m.login, {}).values()))
        self.client.send(m.login, CommandResult, key=m.key, **stored)

    def _execute(self, m: Open | Close | Modify) -> dict:
        now = wall_ms()
        book = self.positions.setdefault(m.login, {})
        retcode = self.refuse(m)
        if retcode is not None:
            return dict(ok=False, retcode=retcode, ticket=0, price=Decimal(0), volume=Decimal(0), time=now,
                        message="refused by the test terminal")
        if isinstance(m, Open):
            self.next_ticket += 1
            p = Position(self.next_ticket, m.symbol, m.side, m.volume, Decimal("1.1"), m.sl, m.tp, now, m.magic,
                         m.comment)
            book[p.ticket] = p
            self.client.send(m.login, PositionOpened, **{f: getattr(p, f) for f in Position.__slots__})
            return dict(ok=True, retcode=10009, ticket=p.ticket, price=p.price, volume=p.volume, time=now,
                        message="")
        if isinstance(m, Close):
            p = book.get(m.ticket)
            if p is None:
                return dict(ok=False, retcode=10036, ticket=m.ticket, price=Decimal(0), volume=Decimal(0), time=now,
                            message="position not found")
            vol = min(m.volume, p.volume)
            remaining = p.volume - vol
            if remaining > 0:
                book[p.ticket] = Position(p.ticket, p.symbol, p.side, remaining, p.price, p.sl, p.tp, p.time,
                                          p.magic, p.comment)
            else:
                del book[p.ticket]
            self.client.send(m.login, PositionClosed, ticket=p.ticket, volume=vol, remaining=remaining,
                             price=Decimal("1.1"), time=now, reason="client", profit=vol * self.profit_per_lot)
            return dict(ok=True, retcode=10009, ticket=p.ticket, price=Decimal("1.1"), volume=vol, time=now,
                        message="")
        p = book.get(m.ticket)
        return dict(ok=p is not None, retcode=10009 if p else 10036, ticket=m.ticket, price=Decimal(0),
                    volume=Decimal(0), time=now, message="")


class AdminClient(SharedAdminClient):
    """The shared admin client (bridge/daemon/adminclient.py) on this module's blocking context."""

    def __init__(self, endpoint: str, curve: Curve | None = None, ctx: zmq.Context | None = None,
                 follow: bool = True) -> None:
        super().__init__(endpoint, curve, ctx or sync_context(), follow)


def protocol_error(frame: bytes) -> ProtocolError | None:
    msg = decode(frame, direction=Direction.TO_TERMINAL)
    return msg if isinstance(msg, ProtocolError) else None
