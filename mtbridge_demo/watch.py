"""Watching the demo: the dashboard, the feed, the pace. Nothing here reaches the engine.

`--dashboard` serves the web dashboard in-process (`DashboardServer`) on the daemon's feed with
a generated `monitor` key, a dealer `desk` with a random password and every investor account
(login + investor password); `--pace X` runs X simulated seconds per wall second while quotes
flow (a gap without quotes, the weekend, counts as one sync interval); `--pub` fixes the feed's
address. The dashboard and `mtbridge monitor` only listen: the engine sees the same events in
the same order either way, so `results` stay the same.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import secrets
import shutil
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtbridge_demo.plan import INVESTOR_PW

DASHBOARD_DEFAULT = ("127.0.0.1", 8050)
DEALER_USER = "desk"
DEFAULT_PUB = "tcp://127.0.0.1:*"  # the feed on any free port


@dataclass(frozen=True, slots=True)
class WatchConfig:
    """How a person watches the run. Nothing here reaches the engine: `results` stay the same."""

    dashboard: tuple[str, int] | None = None  # (host, port) of the in-process dashboard; port 0 = any free port
    pace: float = 0.0  # simulated seconds per wall second while quotes flow; 0 = as fast as possible
    pub: str = DEFAULT_PUB  # the daemon's feed (XPUB)
    key_files: bool = False  # write server.pub + monitor.key into the work directory (for `mtbridge monitor`)


@dataclass(frozen=True, slots=True)
class WatchInfo:
    """What a watcher needs, handed to `on_ready` once the daemon (and dashboard) listen."""

    feed: str  # the daemon's feed address (bound)
    curve: bool
    server_key_file: Path | None  # the daemon's public key (key file), when written
    monitor_key_file: Path | None  # a `monitor` key pair (key file, 0600), when written
    url: str | None  # the dashboard, when asked for
    dealer: str | None
    dealer_password: str | None  # random, per run
    investors: tuple[tuple[str, int, str], ...]  # (investor id, account login, investor password)
    traders: tuple[tuple[str, int], ...]  # (trader id, account login)

    def monitor_command(self) -> str:
        program = mtbridge_program()
        if not self.curve:
            return f"{program} monitor --connect {self.feed} --insecure"
        if self.server_key_file is None or self.monitor_key_file is None:
            return f"{program} monitor --connect {self.feed} --server-key <server.pub> --client-key <monitor.key>"
        return (f"{program} monitor --connect {self.feed} --server-key {self.server_key_file} "
                f"--client-key {self.monitor_key_file}")


def mtbridge_program() -> str:
    """How to run `mtbridge` from another shell: the bare name only when it is on PATH (an active
    venv); else this interpreter's entry point (.venv/bin/mtbridge), else `python -m bridge.cli`."""
    if shutil.which("mtbridge"):
        return "mtbridge"
    script = Path(sys.executable).parent / "mtbridge"
    return str(script) if script.exists() else f"{sys.executable} -m bridge.cli"


class Pacer:
    """Holds the simulation back to `pace` simulated seconds per wall second.

    Only time with quotes is paced: a gap between quotes longer than `max_gap_ms` (the market
    closed: the weekend) counts as `max_gap_ms`. Never ahead of the pace; when the run falls
    behind (a busy step), it does not race to catch up by more than `max_lag_s`."""

    def __init__(self, pace: float, start_ms: int, *, max_gap_ms: int, max_lag_s: float = 1.0,
                 mono: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        if not pace > 0 or not math.isfinite(pace):
            raise ValueError(f"pace must be a positive number of simulated seconds per second, got {pace!r}")
        self.pace = pace
        self.last_ms = start_ms
        self.sim_ms = 0
        self.max_gap_ms = max_gap_ms
        self.max_lag_s = max_lag_s
        self.mono = mono
        self.sleep = sleep
        self.wall0 = mono()

    async def wait(self, now_ms: int) -> None:
        self.sim_ms += min(max(0, now_ms - self.last_ms), self.max_gap_ms)
        self.last_ms = max(self.last_ms, now_ms)
        delay = self.wall0 + self.sim_ms / 1000 / self.pace - self.mono()
        if delay > 0.01:
            await self.sleep(delay)
        elif delay < -self.max_lag_s:
            self.wall0 -= delay + self.max_lag_s


def parse_host_port(text: str) -> tuple[str, int]:
    """`HOST:PORT`, `[IPv6]:PORT` or `PORT` (on 127.0.0.1); port 0 = any free port."""
    text = text.strip()
    if text.isdigit():
        host, port = DASHBOARD_DEFAULT[0], text
    else:
        host, sep, port = text.rpartition(":")
        host = host.strip()
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if not sep or not host or not port.isdigit():
            raise ValueError(f"expected HOST:PORT (e.g. 127.0.0.1:8050), got {text!r}")
    if not 0 <= int(port) <= 65535:
        raise ValueError(f"port out of range: {port}")
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False



class Watcher:
    """The dashboard, its feed subscriber and the key files of one run (listen only).

    `bind` takes the dashboard's socket before the daemon starts (a busy port fails fast);
    `start` serves it once the daemon's feed is bound; `stop` closes everything, started or not."""

    def __init__(self, watch: WatchConfig, *, insecure: bool, workdir: Path) -> None:
        self.watch = watch
        self.insecure = insecure
        self.workdir = workdir
        self.dashboard_server: Any = None
        self.feed_subscriber: Any = None
        self.hub: Any = None
        self.dealer_password: str | None = None
        self.dashboard: Any = None
        self.admin_link: Any = None

    def bind(self, investors: list[tuple[str, int]]) -> None:
        """The dashboard's users and socket: dealer `desk` (random password) and every investor
        account `(investor id, login)` with its investor password (the back office's); nothing
        served yet."""
        if self.watch.dashboard is None:
            return
        from bridge.monitor.auth import MemoryCredentialStore, User, hash_password
        from bridge.monitor.commands import DashboardServer
        from bridge.monitor.hub import MonitorHub
        from bridge.monitor.views import DEALER, INVESTOR, Principal
        from bridge.monitor.web import Dashboard, DashboardConfig

        self.dealer_password = secrets.token_urlsafe(12)
        hashes: dict[str, str] = {}  # one scrypt per distinct password (the back office gives all the same)

        def hashed(pw: str) -> str:
            if pw not in hashes:
                hashes[pw] = hash_password(pw)
            return hashes[pw]

        users = [User(Principal(DEALER, DEALER_USER), hashed(self.dealer_password))]
        for investor, login in investors:
            users.append(User(Principal(INVESTOR, str(login), login, investor), hashed(INVESTOR_PW)))
        self.hub = MonitorHub()
        dash = self.dashboard = Dashboard(self.hub, MemoryCredentialStore(users), DashboardConfig(
            session_secret=secrets.token_hex(32), title="mtbridge demo - dealing desk"))
        host, port = self.watch.dashboard
        try:
            self.dashboard_server = DashboardServer(dash, host, port)
        except OSError as exc:
            raise OSError(exc.errno, f"cannot serve the dashboard on {host}:{port}: {exc.strerror or exc}") from exc

    async def start(self, feed: str, server_key: Any, monitor_key: Any, investors: list[tuple[str, int]],
                    traders: list[tuple[str, int]], admin: tuple[str | None, Any] = (None, None)) -> WatchInfo:
        """Write the key files (when asked), serve the dashboard on the daemon's feed `feed`;
        `admin` (the daemon's admin endpoint, an admin key pair) turns on its dealer actions."""
        from bridge.daemon.keys import KeyPair, write_keypair

        server_file = monitor_file = None
        if self.watch.key_files and not self.insecure:
            keys = self.workdir / "keys"
            server_file, monitor_file = keys / "server.pub", keys / "monitor.key"
            write_keypair(server_file, KeyPair(server_key.public, None), "the demo daemon's public key")
            write_keypair(monitor_file, monitor_key, "a monitor key of the demo (feed only)")
        url = None
        if self.dashboard_server is not None:
            from bridge.monitor.feed import CurveClient, FeedSubscriber

            curve = None if self.insecure else CurveClient(server_key.public, monitor_key.public,
                                                           monitor_key.secret or "")
            self.feed_subscriber = FeedSubscriber(feed, self.hub.apply, curve=curve,
                                                  on_bad_frame=self.hub.bad_frame).start()
            endpoint, admin_key = admin
            if endpoint:
                from bridge.daemon.adminclient import AdminKeys
                from bridge.monitor.web_dealer import DealerLink

                keys = None if self.insecure else AdminKeys(server_key.public, admin_key.public, admin_key.secret or "")
                self.admin_link = self.dashboard.admin = DealerLink(endpoint, keys)
            await asyncio.to_thread(self.dashboard_server.start)
            url = self.dashboard_server.url
        return WatchInfo(
            feed=feed, curve=not self.insecure, server_key_file=server_file, monitor_key_file=monitor_file, url=url,
            dealer=DEALER_USER if url else None, dealer_password=self.dealer_password if url else None,
            investors=tuple((inv, login, INVESTOR_PW) for inv, login in investors), traders=tuple(traders))

    def stop(self) -> None:
        server, self.dashboard_server = self.dashboard_server, None
        if server is not None:
            if server.thread.is_alive():
                server.stop()
            else:
                server.sock.close()
        sub, self.feed_subscriber = self.feed_subscriber, None
        if sub is not None:
            sub.stop()
        link, self.admin_link = self.admin_link, None
        if link is not None:
            link.close()
