"""The official ``MetaTrader5`` Python package's API, backed by the simulated trade server.

``import simulator.mt5 as mt5`` and a script written for the real package runs unchanged
(see docs/simulator.md for the known differences). Functions, keyword arguments, constants
and result records have the real names, values and field orders; failures return ``None``
and set `last_error()`.

Choosing the scenario
---------------------
- ``mt5.initialize(path="scenario.toml")``: a path ending in ``.toml`` is a scenario file;
- otherwise ``initialize()`` reads the environment: ``MTBRIDGE_SCENARIO`` (the file),
  ``MTBRIDGE_SEED`` (default: the scenario's ``seed``, else 0), ``MTBRIDGE_STEP``;
- with neither, the packaged default scenario (``simulator/data/mt5_default.toml``);
- tests and tools: ``mt5.attach(server_or_simulation, login=..., password=...)``.

The terminal logs into the scenario's ``terminal_account`` (default: its first account) with
its master password, like a terminal that remembers its last login; ``login()`` switches.

How time passes (virtual, deterministic)
----------------------------------------
Nothing reads the wall clock. Time moves only:

- on every ``symbol_info_tick()`` call, by the *step* policy: ``"tick"`` (default: the next
  quote of the scenario's feed is delivered first, with the scripted steps and strategies
  due before it), ``"none"`` (never), or a duration such as ``"1s"`` (that much time passes);
  set by the scenario's ``mt5_step`` or ``MTBRIDGE_STEP``;
- with ``mt5.advance(seconds)`` / ``mt5.sleep(seconds)`` (explicit);
- ``python -m simulator.mt5 SCRIPT`` runs a script with every clock it can read virtual
  (freezegun), ``time.sleep`` advancing the virtual clock and ``import MetaTrader5``
  resolved to this module.

When the scenario ends, the terminal has gone: calls return None and `last_error()` says
why (``python -m simulator.mt5`` stops the script there). Bars and ticks are numpy
structured arrays with the official dtypes, with warm-up history before the start.

Extras (not in the real package): `attach`, `detach`, `advance`, `sleep`, `now`,
`simulation`, `server`, `finished`, `ended`.
"""

from __future__ import annotations

from typing import Any

from simulator.mt5.constants import *  # noqa: F401,F403
from simulator.mt5.constants import RES_S_OK
from simulator.mt5.records import *  # noqa: F401,F403
from simulator.mt5._terminal import SIM_BUILD, SIM_DATE, ScenarioEnded, Terminal

__author__ = "mtbridge"
__version__ = "5.0.4000"

_T = Terminal()


def _call(fn, *args, **kwargs):
    return _T.call(fn, *args, **kwargs)


# --- extras ------------------------------------------------------------------------------------

def attach(target: Any, *, login: int | None = None, password: str | None = None, step: str = "none") -> None:
    """Connect the facade to a `TradeServer` or a `simulator.runner.Simulation` (tests).

    With a Simulation and no login, the terminal uses its scenario's terminal account."""
    from simulator.runner import Simulation
    if isinstance(target, Simulation):
        sc = target.scenario
        account = sc.terminal_account or sc.accounts[0].id
        _T.attach(target.server, target, target.sessions[account], step)
    else:
        _T.attach(target, None, None, step)
    if login is not None:
        _T.call(_T.login, login, password or "", "")
        if _T.error[0] != RES_S_OK:
            raise ValueError(f"attach: login {login} failed: {_T.error[1]}")


def detach() -> None:
    _T.detach()


def advance(seconds: float | int) -> None:
    """Let `seconds` of virtual time pass: quotes, scripted steps and strategies run. Past
    the scenario's end the terminal has gone (`last_error()` says so)."""
    _T.call(_T.advance, seconds)


sleep = advance


def now() -> float:
    """Virtual time in UTC seconds since the epoch (0.0 when not connected); trade-server time is
    what the MetaTrader5 calls return (docs/simulator.md)."""
    return 0.0 if _T.server is None else _T.server.now_ms / 1000


def simulation():
    """The `simulator.runner.Simulation` behind the terminal, or None."""
    return _T.sim


def server():
    """The `simulator.server.TradeServer` behind the terminal, or None."""
    return _T.server


def finished() -> bool:
    """True once the scenario's feed and scripted steps are exhausted."""
    return _T.sim is None or _T.sim.finished


def ended() -> str | None:
    """Why the terminal has gone (the scenario ended), or None while it runs."""
    return _T.ended


# --- the MetaTrader5 API -----------------------------------------------------------------------

def initialize(path: str | None = None, *, login: int | None = None, password: str | None = None,
               server: str | None = None, timeout: int | None = None, portable: bool = False) -> bool:
    return bool(_call(_T.initialize, path, login, password, server, timeout, portable))


def login(login: int, password: str = "", server: str = "", timeout: int = 60000) -> bool:
    return bool(_call(_T.login, login, password, server))


def shutdown() -> None:
    _T.detach()
    _T.error = (RES_S_OK, "Success")


def version():
    return _call(_version)


def _version():
    _T.need()
    return (500, SIM_BUILD, SIM_DATE)


def last_error() -> tuple[int, str]:
    return _T.error


def account_info():
    return _call(_T.account_info)


def terminal_info():
    return _call(_T.terminal_info)


def symbols_total():
    return _call(_T.symbols_total)


def symbols_get(group: str | None = None):
    return _call(_T.symbols_get, group)


def symbol_info(symbol: str):
    return _call(_T.symbol_info, symbol)


def symbol_info_tick(symbol: str):
    return _call(_T.symbol_info_tick, symbol)


def symbol_select(symbol: str, enable: bool = True) -> bool:
    return bool(_call(_T.symbol_select, symbol, enable))


def market_book_add(symbol: str) -> bool:
    return bool(_call(_T.market_book_add, symbol))


def market_book_get(symbol: str):
    return _call(_T.market_book_get, symbol)


def market_book_release(symbol: str) -> bool:
    return bool(_call(_T.market_book_release, symbol))


def order_calc_margin(action: int, symbol: str, volume: float, price: float):
    return _call(_T.order_calc_margin, action, symbol, volume, price)


def order_calc_profit(action: int, symbol: str, volume: float, price_open: float, price_close: float):
    return _call(_T.order_calc_profit, action, symbol, volume, price_open, price_close)


def order_check(request: dict):
    return _call(_T.order_check, request)


def order_send(request: dict):
    return _call(_T.order_send, request)


def positions_total():
    return _call(_T.positions_total)


def positions_get(*, symbol: str | None = None, group: str | None = None, ticket: int | None = None):
    return _call(_T.positions_get, symbol, group, ticket)


def orders_total():
    return _call(_T.orders_total)


def orders_get(*, symbol: str | None = None, group: str | None = None, ticket: int | None = None):
    return _call(_T.orders_get, symbol, group, ticket)


def history_orders_total(date_from, date_to):
    r = _call(_T.history_orders, date_from, date_to, None, None, None)
    return None if r is None else len(r)


def history_orders_get(date_from=None, date_to=None, *, group: str | None = None, ticket: int | None = None,
                       position: int | None = None):
    return _call(_T.history_orders, date_from, date_to, group, ticket, position)


def history_deals_total(date_from, date_to):
    r = _call(_T.history_deals, date_from, date_to, None, None, None)
    return None if r is None else len(r)


def history_deals_get(date_from=None, date_to=None, *, group: str | None = None, ticket: int | None = None,
                      position: int | None = None):
    return _call(_T.history_deals, date_from, date_to, group, ticket, position)


def copy_ticks_from(symbol: str, date_from, count: int, flags: int):
    return _call(_T.copy_ticks, symbol, date_from, count, None, flags)


def copy_ticks_range(symbol: str, date_from, date_to, flags: int):
    return _call(_T.copy_ticks, symbol, date_from, None, date_to, flags)


def copy_rates_from(symbol: str, timeframe: int, date_from, count: int):
    return _call(_T.copy_rates, symbol, timeframe, date_from, None, None, count)


def copy_rates_from_pos(symbol: str, timeframe: int, start_pos: int, count: int):
    return _call(_T.copy_rates, symbol, timeframe, None, None, start_pos, count)


def copy_rates_range(symbol: str, timeframe: int, date_from, date_to):
    return _call(_T.copy_rates, symbol, timeframe, date_from, date_to, None, None)


