"""Running the daemon beside other code: its log configuration, and `DaemonThread` (a daemon
on its own asyncio loop in a background thread, for tests, benchmarks and demos)."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from bridge.daemon.config import DaemonConfig
from bridge.daemon.server import Daemon


class _StderrLogger:
    """Writes each line to the *current* sys.stderr (tests swap it), flushing per line."""

    def msg(self, message: str) -> None:
        import sys

        print(message, file=sys.stderr, flush=True)

    log = debug = info = warning = warn = error = critical = exception = fatal = msg


class _StderrLoggerFactory:
    def __call__(self, *args: Any) -> _StderrLogger:
        return _StderrLogger()


def configure_logging(pretty: bool = False, level: str = "info") -> None:
    """structlog to stderr: JSON lines (the production default) or, with `pretty`, a console
    format (colours only on a terminal). An exception logged with `exc_info` is rendered into
    the line (`exception` field), never dropped."""
    import logging
    import sys

    if pretty:
        renderer: Any = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
        exc: list = []
    else:
        renderer, exc = structlog.processors.JSONRenderer(), [structlog.processors.format_exc_info]
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.processors.TimeStamper(fmt="iso", utc=True),
                    *exc, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper())),
        logger_factory=_StderrLoggerFactory(),
        cache_logger_on_first_use=False,
    )


class DaemonThread:
    """A daemon on its own asyncio loop in a background thread (tests, benchmarks, demos)."""

    def __init__(self, config: DaemonConfig, *, insecure: bool = False, **kwargs: Any) -> None:
        import threading

        self.config, self.insecure, self.kwargs = config, insecure, kwargs
        self.daemon: Daemon | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, name="mtbridge-daemon", daemon=True)

    def _main(self) -> None:
        async def go() -> None:
            self.loop = asyncio.get_running_loop()
            self.daemon = Daemon(self.config, insecure=self.insecure, **self.kwargs)
            try:
                await self.daemon.start()
            except BaseException as exc:
                self._error = exc
                self._ready.set()
                await self.daemon.close()
                raise
            self._ready.set()
            assert self.daemon._stop is not None
            try:
                await self.daemon._stop.wait()
            finally:
                await self.daemon.close()

        try:
            asyncio.run(go())
        except BaseException as exc:  # noqa: BLE001
            self._error = exc
            self._ready.set()

    def start(self, timeout: float = 20.0) -> DaemonThread:
        self.thread.start()
        if not self._ready.wait(timeout) or self._error is not None:
            raise RuntimeError(f"daemon did not start: {self._error!r}")
        return self

    @property
    def endpoints(self) -> dict[str, str]:
        assert self.daemon is not None
        return self.daemon.endpoints

    def call(self, fn: Any, timeout: float = 20.0) -> Any:
        """Run fn() on the daemon's loop (e.g. to read the core safely) and return its result."""
        import concurrent.futures

        assert self.loop is not None
        fut: concurrent.futures.Future = concurrent.futures.Future()

        def run() -> None:
            try:
                fut.set_result(fn())
            except BaseException as exc:  # noqa: BLE001
                fut.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return fut.result(timeout)

    def stop(self, timeout: float = 20.0) -> None:
        if self.loop is not None and self.daemon is not None and self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.daemon.request_stop)
        self.thread.join(timeout)
