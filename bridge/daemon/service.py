"""The daemon as a service: its journal opened and locked, its endpoints bound with one-line
errors, a start that fails cleaned up, the signals (SIGTERM/SIGINT stop, SIGHUP reloads the
allow-list) and systemd notifications. A mixin of `bridge.daemon.server.Daemon`, whose state
it uses (`config`, `store`, `lock`, `_tasks`, `_loops`, sockets, `ctx`).

Exit status of `mtbridge daemon` (bridge/daemon/commands.py): 0 after a clean stop, 1 when a
task crashed (`TaskCrashed`), 2 when it cannot start (`StartupError`, one line).
"""

from __future__ import annotations

import asyncio
import os
import signal
from typing import TYPE_CHECKING

import zmq

from bridge.daemon.config import DaemonConfig, StartupError
from bridge.daemon.store import Store
from bridge.daemon.store_open import open_store

if TYPE_CHECKING:
    from bridge.daemon.server import Daemon


class TaskCrashed(Exception):
    """A daemon task ended with an exception: (task name, the exception)."""


class ServiceShell:
    def _open_journal(self: Daemon, config: DaemonConfig) -> Store:
        """The journal (SQLite file or PostgreSQL, bridge/daemon/store_open.py), locked for this
        process; a missing one only when asked to create it."""
        store, self.lock = open_store(config)
        return store

    def _bind(self: Daemon, sock: zmq.Socket, key: str, endpoint: str) -> None:
        try:
            sock.bind(endpoint)
        except zmq.ZMQError as exc:
            raise StartupError(f"cannot bind daemon.{key} to {endpoint}: {zmq.strerror(exc.errno)}") from None

    def _abort(self: Daemon) -> None:
        """A start that failed (an endpoint in use): release everything, write nothing more."""
        if self._closed:
            return
        self._closed = True
        for t in self._tasks:
            t.cancel()
        for coro in self._loops:  # never started: closed, not "never awaited"
            coro.close()
        health_server = getattr(self, "_health_server", None)
        if health_server is not None and health_server.server is not None:
            health_server.server.close()
        if getattr(self, "transport", None) is not None:
            self.transport.close(self.router)
        for name in ("router", "admin", "pub", "zap"):
            sock = getattr(self, name, None)
            if sock is not None:
                sock.close(linger=0)
        self.store.close()
        self.ctx.term()
        if self.lock is not None:
            self.lock.release()

    async def run(self: Daemon) -> None:
        """start(), then serve until SIGTERM/SIGINT or request_stop(), then close(). SIGHUP
        reloads the allow-list (bridge/daemon/reload.py). Under systemd (Type=notify) it says
        READY=1 once listening, RELOADING=1 / READY=1 around a reload, STOPPING=1 at the end."""
        from bridge.daemon.health import sd_notify

        loop = asyncio.get_running_loop()
        early: list[str] = []  # signals that came during start (recovery can be long): acted on after it

        def handle(sig: int, action: object) -> None:
            try:
                loop.add_signal_handler(sig, action)  # type: ignore[arg-type]
            except (NotImplementedError, RuntimeError):  # not the main thread
                pass

        handle(signal.SIGTERM, lambda: early.append("stop"))
        handle(signal.SIGINT, lambda: early.append("stop"))
        handle(signal.SIGHUP, lambda: early.append("reload"))
        await self.start()
        handle(signal.SIGTERM, self.request_stop)
        handle(signal.SIGINT, self.request_stop)
        handle(signal.SIGHUP, self.reload)
        if "stop" in early:
            self.request_stop()
        elif "reload" in early:
            self.reload()
        if os.environ.get("WATCHDOG_USEC") and os.environ.get("WATCHDOG_PID", str(os.getpid())) == str(os.getpid()):
            self.watchdog = sd_notify  # pinged every second from the timer loop
        sd_notify(f"READY=1\nMAINPID={os.getpid()}\nSTATUS=serving {self.endpoints.get('router', '')}")
        try:
            assert self._stop is not None
            await self._stop.wait()
        finally:
            sd_notify("STOPPING=1")
            await self.close()

    def reload(self: Daemon) -> dict:
        """SIGHUP: apply the config file's allow-list (bridge/daemon/reload.py)."""
        from bridge.daemon.health import sd_notify
        from bridge.daemon.reload import reload_allow_list

        sd_notify("RELOADING=1")
        try:
            return reload_allow_list(self)
        finally:
            sd_notify("READY=1")
