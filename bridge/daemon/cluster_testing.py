"""Helpers for cluster tests and benchmarks: one config per daemon node from a `make_setup`
directory (fixed loopback ports: a redirect names them), a standby started without waiting,
and how far a standby got (its lease keeper's or warm standby's PostgreSQL session is open).
Not used by the daemon itself."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

from bridge.daemon.store_pg import connect
from bridge.daemon.testing import DaemonProcess, Setup


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node_config(setup: Setup, node: str, directory: Path, shards: tuple[str, ...] = ("s1",), lease_ms: int = 1500,
                renew_ms: int = 300) -> Path:
    """The setup's config for daemon `node`: its own fixed endpoints, a [cluster] table."""
    directory.mkdir(parents=True, exist_ok=True)
    text = setup.config_path.read_text()
    for name in ("router", "pub", "admin"):
        text = text.replace(f'{name} = "tcp://127.0.0.1:*"', f'{name} = "tcp://127.0.0.1:{free_port()}"', 1)
    for name in ("server.key", "allow.toml"):
        text = text.replace(f'"{name}"', f'"{setup.dir / name}"')
    listed = ", ".join(f'"{s}"' for s in shards)
    text += f'[cluster]\nnode = "{node}"\nshards = [{listed}]\nlease_ms = {lease_ms}\nrenew_ms = {renew_ms}\n'
    path = directory / "daemon.toml"
    path.write_text(text)
    return path


class Standby:
    """A daemon started in a thread: it blocks in its lease wait (no endpoints) until it owns a shard."""

    def __init__(self, daemon: DaemonProcess, timeout: float = 3600) -> None:
        self.daemon = daemon
        self.failed: list[BaseException] = []
        self.thread = threading.Thread(target=self._start, args=(timeout,), daemon=True)
        self.thread.start()

    def _start(self, timeout: float) -> None:
        try:
            self.daemon.start(timeout=timeout)
        except BaseException as exc:  # noqa: BLE001 - reported by `serving`
            self.failed.append(exc)

    def serving(self, timeout: float) -> bool:
        """True once it owns its shard and listens (False after `timeout` or a failed start)."""
        self.thread.join(timeout)
        return not self.thread.is_alive() and not self.failed and bool(self.daemon.endpoints)


def session_open(url: str, application_name: str) -> bool:
    """A PostgreSQL session of that application name is connected to the server of `url`."""
    db = connect(url, "mtbridge testing probe")
    try:
        return bool(db.execute("SELECT 1 FROM pg_stat_activity WHERE application_name = %s",
                               (application_name,)).fetchone())
    finally:
        db.close()


def lease_keeper_waiting(url: str, node: str) -> bool:
    """Daemon `node`'s lease keeper is connected (bridge/daemon/cluster.py): the node is past its
    process start, in its lease wait (or serving)."""
    return session_open(url, f"mtbridge lease keeper {node}"[:63])


def warm_standby_reading(url: str, name: str) -> bool:
    """A warm standby's reading session (bridge/daemon/warm_standby.py) is connected; `name` is
    "node/shard", e.g. "d2/s1"."""
    return session_open(url, f"mtbridge warm standby {name}"[:63])


def wait_routed(admin, shard: str, timeout: float = 30) -> None:  # noqa: ANN001 - an AdminClient (following)
    """Until the daemon `admin` talks to routes requests for `shard` to its owner: a daemon
    reads the lease table every renew interval, so a just-started owner is "no owner" to it
    for up to one interval."""
    deadline = time.monotonic() + timeout
    while True:
        reply = admin("ping", shard=shard)
        if reply.get("ok"):
            return
        if reply.get("error") != "no_owner" or time.monotonic() > deadline:
            raise AssertionError(f"shard {shard} is not routed: {reply}")
        time.sleep(0.05)
