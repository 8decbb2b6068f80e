"""The simulated terminal behind `simulator.mt5`: connecting to a scenario, and the
`Terminal` that puts every group of API calls together.

Split by concern: `_core` (state, failures, virtual time, the scenario's end), `_info`
(account, terminal, symbols), `_trading` (calculations, order_check, order_send), `_book`
(positions, orders, history), `_market` (ticks and bars, warm-up history in `_warmup`).

Choosing the scenario on ``initialize()``: a ``path`` ending in ``.toml``, else the
environment's ``MTBRIDGE_SCENARIO``, else the packaged default scenario
(``simulator/data/mt5_default.toml``: the majors, crosses and gold on a USD account).
"""

from __future__ import annotations

import os
from importlib import resources

from bridge.domain.errors import Refusal
from simulator.mt5 import constants as C
from simulator.mt5._book import BookCalls, deal_record, order_record, position_record
from simulator.mt5._common import Fail, group_match, to_ms
from simulator.mt5._core import Core, ScenarioEnded
from simulator.mt5._info import COMPANY, SIM_BUILD, SIM_DATE, InfoCalls
from simulator.mt5._market import MarketCalls
from simulator.mt5._trading import TradingCalls

__all__ = ["COMPANY", "DEFAULT_SCENARIO", "SIM_BUILD", "SIM_DATE", "ScenarioEnded", "Terminal", "deal_record",
           "group_match", "order_record", "position_record", "to_ms"]

DEFAULT_SCENARIO = "mt5_default.toml"  # in simulator/data (package data)

# the names other modules used before the split
_deal = deal_record


def default_scenario_path() -> str:
    """The packaged default scenario as a file path (works from an installed package)."""
    return str(resources.files("simulator").joinpath("data", DEFAULT_SCENARIO))


class Terminal(Core, InfoCalls, TradingCalls, BookCalls, MarketCalls):
    """One simulated terminal: a server (and optionally the `Simulation` that feeds it), the
    logged-in session and the time policy."""

    def initialize(self, path: str | None, login, password, server, timeout, portable) -> bool:
        if self.server is None:
            scenario = path if path and str(path).lower().endswith(".toml") else (
                os.environ.get("MTBRIDGE_SCENARIO") or default_scenario_path())
            self.open_scenario(str(scenario), os.environ.get("MTBRIDGE_SEED"))
        if login is not None:
            self.login(login, password or "", server or "")
        return True

    def open_scenario(self, path: str, seed: str | int | None) -> None:
        from simulator.runner import Simulation, SimulationError
        from simulator.scenario import ScenarioError, load_scenario, parse_duration
        try:
            sc = load_scenario(path)
            sim = Simulation(sc, None if seed in (None, "") else int(seed),
                             strict=os.environ.get("MTBRIDGE_STRICT", "") not in ("", "0"))
        except (ScenarioError, SimulationError, ValueError) as exc:
            raise Fail(C.RES_E_INTERNAL_FAIL_INIT, f"IPC initialize failed, {exc}") from None
        account = sc.terminal_account or sc.accounts[0].id
        step = os.environ.get("MTBRIDGE_STEP", sc.mt5_step)
        if step not in ("tick", "none"):
            try:
                step = str(parse_duration(step))
            except ValueError as exc:
                raise Fail(C.RES_E_INTERNAL_FAIL_INIT, f"IPC initialize failed, MTBRIDGE_STEP: {exc}") from None
        self.attach(sim.server, sim, sim.sessions[account], step)
        self.path = os.path.abspath(path)
        # the first quote(s) of the scenario: a terminal always shows a price
        first = sim.next_tick_ms()
        if first is not None:
            sim.run_until(first)
        self.time_moved()

    def login(self, login, password, server) -> bool:
        srv = self.need()
        if isinstance(login, bool) or not isinstance(login, int) or not isinstance(password, str):
            raise Fail(C.RES_E_INVALID_PARAMS, "Invalid \"login\" argument")
        s = srv.login(login, password)
        if isinstance(s, Refusal):
            raise Fail(C.RES_E_AUTH_FAILED, "Authorization failed")
        self.session = s
        return True
