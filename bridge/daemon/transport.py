"""Transport events of the terminal ROUTER, read by a thread of their own (shell).

libzmq's socket monitor reports accepted connections (with their file descriptor),
handshake failures and disconnects. A refused handshake (no CURVE, a wrong secret) closes
its socket soon after the accept, so the peer's address must be read at once: this thread
blocks on the monitor and calls `getpeername` the moment a connection is accepted, then
hands the event to the event loop (`wake`), which pairs it with the connections it knows
(`TransportEvents.take`). Best effort, and documented as such: a plain-text peer hangs up
within microseconds, and when the socket is gone before the thread asks, the address is
logged as "?" (the peer reconnects every 100 ms by default, so later attempts carry it).

Bounded: at most `MAX_EVENTS` events wait for the loop; past that the oldest are dropped
and counted (`dropped`), which can only delay the detection of a closed connection until
the next transport event of that fd.
"""

from __future__ import annotations

import socket
import threading
from collections import deque
from typing import Callable

import zmq
from zmq.utils.monitor import recv_monitor_message

MAX_EVENTS = 65_536
EVENTS = (zmq.EVENT_ACCEPTED | zmq.EVENT_DISCONNECTED | zmq.EVENT_HANDSHAKE_SUCCEEDED
          | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_AUTH
          | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_MONITOR_STOPPED)

HANDSHAKE_REASONS = {
    zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH: "not CURVE (security mechanism mismatch)",
    zmq.PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC: "CURVE handshake failed (wrong server key or a secret that does not "
                                           "match the public key)",
    zmq.PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE: "CURVE key exchange failed",
}
# HANDSHAKE_FAILED_NO_DETAIL carries an errno: the peer hung up first (a plain-text peer
# that saw our CURVE greeting does that before we see its own).
PEER_CLOSED = "handshake failed: the peer closed it (no CURVE, or a wrong server key)"


def peer_address(fd: int) -> str:
    try:
        with socket.fromfd(fd, socket.AF_INET, socket.SOCK_STREAM) as sock:  # a dup: libzmq keeps its fd
            host, port = sock.getpeername()[:2]
            return f"{host}:{port}"
    except OSError:
        return "?"


def shut(fd: int) -> None:
    """Cut a connection under libzmq's feet: it sees the close and drops the peer."""
    try:
        with socket.fromfd(fd, socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class TransportEvents:
    """(event, fd, peer address, protocol error) tuples from a monitor thread."""

    def __init__(self, ctx: zmq.Context, sock: zmq.Socket, wake: Callable[[], None]) -> None:
        self.endpoint = f"inproc://mtbridge-monitor-{id(self)}"
        sock.monitor(self.endpoint, EVENTS)
        self.pair = zmq.Context.shadow(ctx.underlying).socket(zmq.PAIR)
        self.pair.connect(self.endpoint)
        self.events: deque[tuple[int, int, str, int]] = deque()
        self.dropped = 0
        self.wake = wake
        self.peers: dict[int, str] = {}  # accepted fd -> address (only read in the thread)
        self.thread = threading.Thread(target=self._run, name="mtbridge-transport", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        pair = self.pair
        while True:
            try:
                msg = recv_monitor_message(pair)
            except zmq.ZMQError:
                return
            event, value = int(msg["event"]), int(msg["value"])
            if event == zmq.EVENT_MONITOR_STOPPED:
                return
            peer = ""
            if event == zmq.EVENT_ACCEPTED:
                peer = self.peers[value] = peer_address(value)
            elif event == zmq.EVENT_DISCONNECTED:
                peer = self.peers.pop(value, "?")
            if len(self.events) >= MAX_EVENTS:
                self.events.popleft()
                self.dropped += 1
            self.events.append((event, value, peer, value))
            try:
                self.wake()
            except RuntimeError:  # the loop is closed: we are shutting down
                return

    def take(self) -> list[tuple[int, int, str, int]]:
        out = []
        events = self.events
        while events:
            out.append(events.popleft())
        return out

    def close(self, sock: zmq.Socket) -> None:
        try:
            sock.disable_monitor()  # sends MONITOR_STOPPED: the thread ends
        except zmq.ZMQError:
            pass
        self.thread.join(2.0)
        self.pair.close(0)
