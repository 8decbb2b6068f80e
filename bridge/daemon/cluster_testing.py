"""Helpers for cluster tests and benchmarks: one config per daemon node from a `make_setup`
directory (fixed loopback ports: a redirect names them), a standby started without waiting.
Not used by the daemon itself."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

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
