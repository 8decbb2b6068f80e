"""The one client of the daemon's admin endpoint (docs/protocol.md §14): request/reply over a
ZeroMQ DEALER, CURVE unless insecure. `mtbridge admin` uses it; a dashboard that acts on the
daemon is meant to use it too; `bridge.daemon.client` re-exports it for tests.

Every request is checked against the admin table (`bridge.daemon.admin.OPS`) before it is
sent: a mistake raises `AdminArgsError` with the daemon's own wording, without a round trip.

Every request gets a text id, a fresh UUID unless the caller names one: the idempotency token
of the cluster ledger (docs/scaling.md "Money that crosses shards"). The same request sent
again -- `retries` after a lost reply, a `moved` hop to the owner -- carries the same id, so
its money moves once; a number would be a new request each time.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import msgpack
import zmq

from bridge.daemon import admin


class CurveKeys(Protocol):
    """What the client needs of a CURVE key set (`bridge.daemon.client.Curve` is one)."""

    server_public: str
    public: str
    secret: str


@dataclass(frozen=True)
class AdminKeys:
    server_public: str
    public: str
    secret: str


def admin_keys(server_key: str, client_key: str) -> AdminKeys:
    """--server-key (40 Z85 characters, or a key file) + --client-key (a key pair file with its
    secret, of role `admin` on the daemon's allow-list). ValueError with a one-line reason."""
    from bridge.daemon.keys import read_keypair, valid_z85_key

    try:
        server = server_key if valid_z85_key(server_key) else read_keypair(Path(server_key)).public
    except (OSError, ValueError) as exc:
        raise ValueError(f"--server-key {server_key}: {_why(exc)}") from None
    try:
        pair = read_keypair(Path(client_key))
    except (OSError, ValueError) as exc:
        raise ValueError(f"--client-key {client_key}: {_why(exc)}") from None
    if pair.secret is None:
        raise ValueError(f"--client-key {client_key}: the key file must hold `secret` as well as `public`")
    return AdminKeys(server, pair.public, pair.secret)


def _why(exc: Exception) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    return str(exc) or type(exc).__name__


class AdminArgsError(ValueError):
    """A request the admin table refuses, caught before sending (`error`: the would-be reply)."""

    def __init__(self, error: admin.AdminError) -> None:
        super().__init__(f"{error.error}: {error.detail}")
        self.error = error


MAX_HOPS = 3  # `moved` replies followed in a row (two daemons with stale views cannot bounce a request forever)


class AdminClient:
    """`follow`: daemons sharded by trader answer a request about another shard `moved` with
    that shard's owner's admin endpoint; the client sends the same request there (same keys:
    the owner's allow-list decides) and returns the owner's answer (docs/scaling.md).
    `new_id`: a request's id when the caller names none (a UUID: unique across clients and
    restarts, as the ledger's idempotency token must be)."""

    def __init__(self, endpoint: str, curve: CurveKeys | None = None, ctx: zmq.Context | None = None,
                 follow: bool = True, new_id: Callable[[], str] | None = None) -> None:
        self.endpoint, self.curve, self.follow = endpoint, curve, follow
        self.hops: list[str] = []  # the admin endpoints the last request was moved to
        self._own_ctx = ctx is None
        self.ctx = ctx if ctx is not None else zmq.Context()
        s = self.ctx.socket(zmq.DEALER)
        s.linger = 0
        if curve:
            s.curve_serverkey = curve.server_public.encode()
            s.curve_publickey = curve.public.encode()
            s.curve_secretkey = curve.secret.encode()
        s.connect(endpoint)
        self.sock = s
        self.new_id = new_id or (lambda: str(uuid.uuid4()))

    @staticmethod
    def build(op: str, rid: object = None, **args: Any) -> dict:
        """The request map, checked against the admin table (Decimals travel as exact text)."""
        from decimal import Decimal

        request = {"id": rid, "op": op, "args": {k: str(v) if isinstance(v, Decimal) else v for k, v in args.items()}}
        checked = admin.parse_request(request)
        if isinstance(checked, admin.AdminError):
            raise AdminArgsError(checked)
        return request

    def __call__(self, op: str, timeout: float = 20.0, shard: str | None = None, *, rid: str | None = None,
                 retries: int = 0, **args: Any) -> dict:
        """Send `op` with `args` and wait for its reply. `request` sends anything. `shard`
        (daemons sharded by trader): the shard the request is for, where its arguments do not
        say (a subscription id is numbered per shard); the daemon routes it to that shard.
        `rid`: the request's id (default: a new UUID). `retries`: send the same request (same
        id) again that many times when no reply comes in `timeout`; TimeoutError after the last."""
        request = self.build(op, self.new_id() if rid is None else rid, **args)
        if shard is not None:
            request["shard"] = shard
        for attempt in range(max(0, retries) + 1):
            try:
                return self.request(request, timeout)
            except TimeoutError:
                if attempt >= retries:
                    raise
        raise AssertionError("unreachable")

    def request(self, request: Any, timeout: float = 20.0) -> dict:
        """Send one request map as it is (no check) and wait for the reply with its `id`;
        a `moved` reply is followed to the named daemon (at most MAX_HOPS). TimeoutError if
        no reply comes (a wrong endpoint or key looks the same: silence)."""
        self.hops = []
        reply = self._request(self.sock, request, timeout)
        while (self.follow and reply.get("error") == "moved" and isinstance(reply.get("admin"), str)
               and reply["admin"] and len(self.hops) < MAX_HOPS):
            self.hops.append(reply["admin"])
            other = AdminClient(reply["admin"], self.curve, self.ctx, follow=False)
            try:
                reply = other._request(other.sock, request, timeout)
            finally:
                other.sock.close(0)
        return reply

    def _request(self, sock: zmq.Socket, request: Any, timeout: float) -> dict:
        rid = request.get("id") if isinstance(request, dict) else None
        sock.send(msgpack.packb(request, use_bin_type=True))
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            if sock.poll(max(1, min(100, int(left * 1000)))):
                reply = msgpack.unpackb(sock.recv(), raw=False, strict_map_key=False)
                if isinstance(reply, dict) and reply.get("id") == rid:
                    return reply
        raise TimeoutError(f"admin {admin.peek(request)[1] or '?'}: no reply in {timeout:g} s")

    def close(self) -> None:
        self.sock.close(0)
        if self._own_ctx:
            self.ctx.term()

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
