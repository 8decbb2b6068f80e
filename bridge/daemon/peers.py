"""The daemon shell's view of its peers: which socket each connection's frames come from, the
transport events of the socket-monitor thread, cutting banned keys' sockets, and the ZAP
handler that admits CURVE keys (a mixin of `bridge.daemon.server.Daemon`, whose state it uses:
`fd_of`, `socket_of`, `conns_on_fd`, `closing_on_fd`, `peer_of`, `handshake_failures`, `core`, `zap`).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import zmq
from zmq.utils import z85

from bridge.daemon.keys import FEED_ROLES, TERMINAL_ROLES
from bridge.daemon.transport import HANDSHAKE_REASONS, PEER_CLOSED, shut

if TYPE_CHECKING:
    from bridge.daemon.server import Daemon

ZAP_DOMAIN = b"mtbridge"
FEED_ZAP_DOMAIN = b"mtbridge-feed"
ADMIN_ZAP_DOMAIN = b"mtbridge-admin"
_DOMAIN_ROLES = {ZAP_DOMAIN: TERMINAL_ROLES, FEED_ZAP_DOMAIN: FEED_ROLES, ADMIN_ZAP_DOMAIN: ("admin",)}
_SOCKET_NAMES = {ZAP_DOMAIN: "router", FEED_ZAP_DOMAIN: "feed", ADMIN_ZAP_DOMAIN: "admin"}


class PeerShell:
    # ------------------------------------------------------------------ transport events
    def _track(self: Daemon, conn: bytes, frame: Any) -> None:
        """Remember the socket a connection's frames come from (to see it close, or to cut it)."""
        try:
            fd = frame.get(zmq.SRCFD)
            inode = os.fstat(fd).st_ino  # the socket itself: the fd number is reused once it closes
        except (zmq.ZMQError, OSError):
            return
        self.fd_of[conn] = fd
        self.socket_of[conn] = inode
        older = self.conns_on_fd.get(fd)
        if older:
            # the fd was closed and reused before the monitor thread told us: the next
            # DISCONNECTED of this fd is theirs, not the new connection's
            self.closing_on_fd.setdefault(fd, []).append(older)
        self.conns_on_fd[fd] = {conn}

    def _drain_monitor(self: Daemon) -> None:
        transport = getattr(self, "transport", None)
        if transport is None:
            return
        for event, value, peer, _ in transport.take():
            if event == zmq.EVENT_DISCONNECTED:
                if not self._forget_fd(value) and self.handshake_failures:
                    reason, code = self.handshake_failures.popleft()
                    self._auth_denied(reason, address=peer, code=code, socket="router")
            elif event in (zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL):
                reason = HANDSHAKE_REASONS.get(value) if event == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL else PEER_CLOSED
                self.handshake_failures.append((reason or f"handshake failed (protocol error {value:#x})", value))
        while len(self.handshake_failures) > 1024:  # bounded: never paired with a disconnect
            self.handshake_failures.popleft()

    def _forget_fd(self: Daemon, fd: int) -> bool:
        closing = self.closing_on_fd.get(fd)
        if closing:  # a DISCONNECTED that belongs to an earlier connection on a reused fd
            conns = closing.pop(0)
            if not closing:
                del self.closing_on_fd[fd]
        else:
            conns = self.conns_on_fd.pop(fd, None)
        if not conns:
            return False
        core = self.core
        assert core is not None
        now = self.clock()
        for conn in sorted(conns):
            self.fd_of.pop(conn, None)
            self.socket_of.pop(conn, None)
            core.on_disconnected(conn, now)
        return True

    def _cut(self: Daemon) -> None:
        """Shut the sockets of connections the core banned (libzmq then sees them close).

        Only a socket that is still the connection's: a banned connection may have closed
        already (its frames are read from libzmq's queue well after the peer went, and the
        monitor's DISCONNECTED may not have arrived yet), and its fd number then belongs to
        whatever the process opened next, perhaps another peer's connection. So the cut
        shuts the fd only if it is still the same socket (`os.fstat` inode, recorded when the
        connection's first frame was read); a connection that is gone needs no cut."""
        core = self.core
        assert core is not None
        for conn in core.take_disconnects():
            fd, inode = self.fd_of.get(conn), self.socket_of.get(conn)
            if fd is None or inode is None:
                continue
            try:
                same = os.fstat(fd).st_ino == inode
            except OSError:  # closed and not reused
                same = False
            if same:
                shut(fd)
            else:
                self.stats["cuts_skipped"] += 1

    def _auth_denied(self: Daemon, reason: str, **fields: Any) -> None:
        core = self.core
        if core is not None:
            key = fields.pop("key", None)
            address = str(fields.get("address", "?"))
            ip = address.rsplit(":", 1)[0]  # repeats from one host aggregate
            subject = key or fields.get("public_key") or f"{reason}@{ip}"
            core.refusal("auth.denied", subject if key is None else key, reason=reason, **fields)
            self._commit()


    async def _zap_loop(self: Daemon) -> None:
        """ZAP (RFC 27): CURVE keys on the allow-list pass, with User-Id = the key's name, if
        their role may use the socket's domain (`_DOMAIN_ROLES`) and they are not banned.
        Every refusal is logged with the peer address (aggregated when repeated) and published.
        The allow-list is read per request: SIGHUP may replace it (bridge/daemon/reload.py)."""
        while True:
            msg = await self.zap.recv_multipart()
            version, request_id, domain, address, _identity, mechanism = msg[:6]
            creds = msg[6:]
            status, text, user = b"400", b"unknown key", b""
            peer = address.decode(errors="replace")
            sock_name = _SOCKET_NAMES.get(domain, domain.decode(errors="replace"))
            core = self.core
            assert core is not None
            if mechanism == b"CURVE" and creds and len(creds[0]) == 32:
                public = z85.encode(creds[0]).decode()
                entry = self.config.allow.by_key.get(public)
                if entry is None:
                    self._auth_denied("unknown key", public_key=public, address=peer, socket=sock_name)
                elif entry.role not in _DOMAIN_ROLES.get(domain, ()):
                    text = b"role not allowed here"
                    self._auth_denied("role", key=entry.name, role=entry.role, address=peer, socket=sock_name)
                elif core.is_banned(entry.name, self.clock()):
                    text = b"banned for abuse"
                    self._auth_denied("banned", key=entry.name, address=peer, socket=sock_name)
                else:
                    status, text, user = b"200", b"OK", entry.name.encode()
                    self.log.info("auth.accepted", key=entry.name, address=peer, socket=sock_name)
            else:
                text = b"CURVE required"
                self._auth_denied("not CURVE", mechanism=mechanism.decode(errors="replace"), address=peer,
                                  socket=sock_name)
            await self.zap.send_multipart([version, request_id, status, text, user, b""])
