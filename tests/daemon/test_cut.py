"""Cutting a banned connection (bridge/daemon/peers.py `_cut`) shuts its socket, and only its
socket. Its frames are read from libzmq's queue, possibly well after the peer went; by then
its fd number may belong to another connection, which a cut by number would shut instead (a
flood run lost an admin request and ten copies after the flooder's ban). No libzmq here: the
connection's first frame reports a real socket's fd (as ZMQ_SRCFD does), and the fd is then
reused by another socket."""

from __future__ import annotations

import socket
from pathlib import Path

import zmq

from shellkit import close_shell, shell_daemon


class Frame:
    """A received frame's metadata, as the shell reads it."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def get(self, prop: int) -> int:
        assert prop == zmq.SRCFD
        return self.fd




def _alive(a: socket.socket, b: socket.socket) -> bool:
    try:
        a.sendall(b"x")
        return b.recv(1) == b"x"
    except OSError:
        return False


def test_a_banned_connection_is_cut(tmp_path: Path) -> None:
    d = shell_daemon(tmp_path)
    ours, peer = socket.socketpair()
    try:
        d._track(b"conn-a", Frame(ours.fileno()))
        d.core.disconnects.append(b"conn-a")  # type: ignore[union-attr]
        d._cut()
        assert not _alive(peer, ours)  # shut: the peer's bytes no longer arrive
        assert d.stats["cuts_skipped"] == 0
    finally:
        ours.close()
        peer.close()
        close_shell(d)


def test_a_cut_never_shuts_another_connection_on_a_reused_fd(tmp_path: Path) -> None:
    d = shell_daemon(tmp_path)
    gone, gone_peer = socket.socketpair()
    fd = gone.fileno()
    d._track(b"conn-banned", Frame(fd))
    gone.close()  # the banned peer went; the monitor's DISCONNECTED has not been read yet
    gone_peer.close()
    other, other_peer = socket.socketpair()
    try:
        if other.fileno() != fd and other_peer.fileno() == fd:
            other, other_peer = other_peer, other
        assert other.fileno() == fd  # the next socket took the lowest free fd: the same number
        d.core.disconnects.append(b"conn-banned")  # type: ignore[union-attr]
        d._cut()
        assert _alive(other_peer, other) and _alive(other, other_peer)  # not shut
        assert d.stats["cuts_skipped"] == 1
    finally:
        other.close()
        other_peer.close()
        close_shell(d)
