"""The simulated terminal's state and plumbing: the server and `Simulation` behind it, the
logged-in session, failures, virtual time and the end of the scenario.

Times here are **trade-server time**, as the official package gives them: the server keeps
UTC, and `_out` / `_in` convert with its `timezone` at this edge (a naive or UTC datetime
passed in is read as a server wall-clock time, as MetaTrader5 does).

The end of the scenario: once its last quote has been delivered and time is asked to move
on (the next ``symbol_info_tick`` under the ``"tick"`` policy, or ``sleep`` past the end),
the terminal behaves as one whose connection has gone: every call returns ``None`` /
``False`` and `last_error()` is ``(RES_E_INTERNAL_FAIL_CONNECT, "No IPC connection: the
scenario ... ended at ...")``. With `stop_at_end` (``python -m simulator.mt5``), such a call
raises `ScenarioEnded` instead, which ends the script.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from bridge.domain.errors import DomainError
from bridge.domain.money import to_decimal
from simulator.mt5 import constants as C
from simulator.mt5._common import Fail, to_ms
from simulator.server import TradeServer


class ScenarioEnded(BaseException):
    """Raised by a call after the scenario's end when the terminal stops scripts there
    (a BaseException so that a script's ``except Exception`` does not swallow it)."""


class Core:
    """State and plumbing shared by every group of calls (see `simulator.mt5._terminal`)."""

    def __init__(self) -> None:
        self.server: TradeServer | None = None
        self.sim = None  # simulator.runner.Simulation | None
        self.session = None
        self.step = "none"  # "tick" | "none" | "<ms>"
        self.error: tuple[int, str] = (C.RES_S_OK, "Success")
        self.selected: set[str] = set()
        self.books: set[str] = set()  # market_book_add subscriptions
        self.path = ""
        self.ended: str | None = None  # why the terminal has gone, once the scenario ended
        self.stop_at_end = False
        self.on_time: Callable[[int], None] | None = None  # told the new UTC ms when time moves
        self.history_loaded: set[str] = set()
        self.request_id = 0

    # ------------------------------------------------------------------ plumbing
    def call(self, fn, *args, **kwargs):
        if self.ended is not None:
            return self.gone()
        try:
            out = fn(*args, **kwargs)
        except Fail as fail:
            self.error = (fail.code, fail.text)
            if self.ended is not None:
                return self.gone()
            return None
        self.error = (C.RES_S_OK, "Success")
        return out

    def gone(self) -> None:
        """A call after the end: None and the reason, or the end of the script."""
        self.error = (C.RES_E_INTERNAL_FAIL_CONNECT, self.ended or "No IPC connection")
        if self.stop_at_end:
            raise ScenarioEnded(self.ended)
        return None

    def need(self) -> TradeServer:
        if self.server is None:
            raise Fail(C.RES_E_INTERNAL_FAIL_CONNECT, "No IPC connection")
        return self.server

    def need_login(self) -> int:
        self.need()
        if self.session is None:
            raise Fail(C.RES_E_AUTH_FAILED, "Not logged in")
        return self.session.login

    def attach(self, server: TradeServer, sim=None, session=None, step: str = "none") -> None:
        self.server, self.sim, self.session, self.step = server, sim, session, step
        self.selected = set()
        self.books = set()
        self.error = (C.RES_S_OK, "Success")
        self.ended = None
        self.history_loaded = set()
        self.time_moved()

    def detach(self) -> None:
        self.server = self.sim = self.session = None
        self.ended = None

    def spec(self, symbol):
        srv = self.need()
        if not isinstance(symbol, str):
            raise Fail(C.RES_E_INVALID_PARAMS, "Invalid \"symbol\" argument")
        if symbol not in srv.rules.symbols:
            raise Fail(C.RES_E_NOT_FOUND, f"Terminal: symbol {symbol!r} not found")
        return srv.rules.symbols.get(symbol)

    def num(self, value, what: str) -> Decimal:
        try:
            return to_decimal(value, what)
        except DomainError:
            raise Fail(C.RES_E_INVALID_PARAMS, f"Invalid \"{what}\" argument") from None

    # ------------------------------------------------------------------ time
    def _out(self, utc_ms: int) -> int:
        """A server UTC time -> trade-server time (0 stays "none")."""
        return self.server.timezone.to_server(utc_ms) if utc_ms else 0

    def _in(self, value, what: str) -> int:
        """A time argument (trade-server time) -> UTC ms for the server."""
        return self.server.timezone.to_utc(to_ms(value, what))

    def time_moved(self) -> None:
        if self.on_time is not None and self.server is not None:
            self.on_time(self.server.now_ms)

    def advance(self, seconds: float | int) -> None:
        """Let `seconds` of virtual time pass (quotes, scripted steps, strategies); past the
        scenario's end the terminal has gone (see the module docstring)."""
        srv = self.need()
        ms = int(to_decimal(seconds, "seconds") * 1000)
        if ms < 0:
            raise ValueError("cannot advance by a negative time")
        target = srv.now_ms + ms
        if self.sim is not None:
            self.sim.run_until(target)
            if target > self.sim.end_ms:
                self.end()
                return
        if target > srv.now_ms:
            srv.advance_to(target)
        self.time_moved()

    def auto_step(self) -> None:
        """The step policy, applied before each ``symbol_info_tick``."""
        if self.sim is None or self.step == "none":
            return
        if self.step == "tick":
            if not self.sim.step_tick():
                self.end()
        else:
            target = self.sim.now_ms + int(self.step)
            self.sim.run_until(target)
            if target > self.sim.end_ms:
                self.end()
        self.time_moved()

    def end(self) -> None:
        """The scenario is over: run what remains up to its end, then the terminal is gone."""
        from simulator.clock import ms_to_datetime
        sim = self.sim
        sim.run_until(sim.end_ms)
        self.time_moved()
        when = ms_to_datetime(self._out(sim.end_ms)).strftime("%Y-%m-%d %H:%M:%S")
        self.ended = (f"No IPC connection: the scenario {sim.scenario.name!r} ended at {when} server time "
                      f"(no more quotes)")
        raise Fail(C.RES_E_INTERNAL_FAIL_CONNECT, self.ended)
