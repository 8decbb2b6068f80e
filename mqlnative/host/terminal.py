"""What every MetaTrader terminal model shares: the account session on the simulated
`TradeServer`, the clock, the global variables, the files folder, and the program-level
functions both platforms have (time, Print, account/symbol/terminal/MQL info, timers).

A `Terminal` is one terminal (one login, one data folder); each EA attached to it is a
`Program` with its own log, last error, timer and selection state (MQL keeps
`PositionSelect`/`HistorySelect`/`OrderSelect` per program). Host functions are methods
named exactly like the MQL function; enum arguments arrive as their MQL names (the
dispatcher maps the runtime's integers to names), an enum return value is an `Enum` (a str).

Times (see docs/mql-e2e.md): the server keeps UTC. `TimeGMT` = the clock (UTC),
`TimeTradeServer` = the clock in the server's time zone, `TimeCurrent` = the last quote's
time in the server's zone (it does not move without quotes, as in MetaTrader), `TimeLocal`
= UTC (the simulated PC runs on UTC). Record times (positions, deals, orders) are server time.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

from bridge.domain.errors import Refusal
from mqlnative.host.globals import GlobalVariables
from simulator.mt5._terminal import Terminal as Mt5Facade
from simulator.server import TradeServer

LOG_KEPT = 20_000  # lines kept per program (bounded; the newest win)


class Enum(str):
    """An enum value returned by name (the dispatcher sends the runtime's integer)."""


class Terminal:
    """One terminal logged into one account. `platform` is "MT4" or "MT5" (subclasses)."""

    platform = "?"
    build = 0

    def __init__(self, server: TradeServer, login: int, password: str, *, clock, files_dir: Path,
                 name: str = "terminal", kept_globals: dict | None = None) -> None:
        session = server.login(login, password)
        if isinstance(session, Refusal):
            raise ValueError(f"{name}: login {login} refused: {session.detail}")
        self.server = server
        self.session = session
        self.login = login
        self.password = password
        self.clock = clock
        self.name = name
        self.files_dir = Path(files_dir)
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.facade = Mt5Facade()
        self.facade.attach(server, None, session)
        self.globals = GlobalVariables(lambda: self.clock.now_ms() // 1000, kept_globals)
        self.start_ms = clock.now_ms()
        self.connected = True
        self.programs: list[Program] = []

    # --- time
    def sync(self) -> None:
        """Bring the server's clock up to this terminal's (rollovers, expirations run)."""
        now = self.clock.now_ms()
        if now > self.server.now_ms:
            self.server.advance_to(now)

    def server_ms(self, utc_ms: int) -> int:
        return self.server.timezone.to_server(utc_ms) if utc_ms else 0

    def last_quote_ms(self) -> int:
        """UTC ms of the latest quote of any symbol (0 before the first)."""
        best = 0
        for s in self.server.symbols():
            t = self.server.symbol_tick(s)
            if t is not None and t.time_msc > best:
                best = t.time_msc
        return best

    def restarted(self) -> Terminal:
        """The same terminal after a restart: a new session and process, the same data
        folder, the ordinary global variables kept, the temporary ones gone."""
        return type(self)(self.server, self.login, self.password, clock=self.clock, files_dir=self.files_dir,
                          name=self.name, kept_globals=self.globals.survivors())

    def attach(self, program: Program) -> None:
        self.programs.append(program)

    def detach(self, program: Program) -> None:
        if program in self.programs:
            self.programs.remove(program)


class Program:
    """One MQL program (EA) on a terminal: the functions both platforms share."""

    ERR_SUCCESS = 0
    # GlobalVariable* failures (MQL5 4501 ERR_GLOBALVARIABLE_NOT_FOUND; MQL4 4058)
    ERR_GLOBAL_NOT_FOUND = 4501
    ERR_UNKNOWN_SYMBOL = 4301
    ERR_BAD_PARAMETER = 4003

    def __init__(self, terminal: Terminal, name: str, *, dlls_allowed: bool = True,
                 chart_symbol: str = "EURUSD") -> None:
        self.terminal = terminal
        self.name = name
        self.dlls_allowed = dlls_allowed
        self.log: deque[str] = deque(maxlen=LOG_KEPT)
        self.error: int | None = None  # set by a failing call; the dispatcher sends it as "err"
        self.timer_ms = 0
        self.removed = False
        self.deinit_reason = 0
        self.chart_symbol = chart_symbol
        terminal.attach(self)

    # --- plumbing
    @property
    def server(self) -> TradeServer:
        return self.terminal.server

    def fail(self, code: int, value: Any = False) -> Any:
        self.error = code
        return value

    def _known_symbol(self, symbol: object) -> bool:
        return isinstance(symbol, str) and symbol in self.server.rules.symbols

    # --- output
    def Print(self, text: str) -> None:  # noqa: N802 - MQL names
        self.log.append(str(text))

    # --- time
    def TimeGMT(self) -> int:  # noqa: N802
        return self.terminal.clock.now_ms() // 1000

    def TimeLocal(self) -> int:  # noqa: N802
        return self.TimeGMT()

    def TimeTradeServer(self) -> int:  # noqa: N802
        return self.terminal.server_ms(self.terminal.clock.now_ms()) // 1000

    def TimeCurrent(self) -> int:  # noqa: N802
        return self.terminal.server_ms(self.terminal.last_quote_ms()) // 1000

    def GetTickCount(self) -> int:  # noqa: N802
        return (self.terminal.clock.now_ms() - self.terminal.start_ms) & 0xFFFFFFFF

    def GetTickCount64(self) -> int:  # noqa: N802
        return self.terminal.clock.now_ms() - self.terminal.start_ms

    def GetMicrosecondCount(self) -> int:  # noqa: N802
        return (self.terminal.clock.now_ms() - self.terminal.start_ms) * 1000

    def Sleep(self, ms: int) -> None:  # noqa: N802
        self.terminal.clock.sleep(ms)
        self.terminal.sync()

    # --- timer (the driver calls OnTimer every `timer_ms`)
    def EventSetMillisecondTimer(self, ms: int) -> bool:  # noqa: N802
        if not isinstance(ms, int) or ms <= 0:
            return self.fail(self.ERR_BAD_PARAMETER)
        self.timer_ms = max(ms, 10)  # MetaTrader's timer resolution is ~10-16 ms
        return True

    def EventSetTimer(self, seconds: int) -> bool:  # noqa: N802
        if not isinstance(seconds, int) or seconds <= 0:
            return self.fail(self.ERR_BAD_PARAMETER)
        self.timer_ms = seconds * 1000
        return True

    def EventKillTimer(self) -> None:  # noqa: N802
        self.timer_ms = 0

    def ExpertRemove(self) -> None:  # noqa: N802
        self.removed = True

    # --- global variables
    def GlobalVariableSet(self, name: str, value: float) -> int:  # noqa: N802
        t = self.terminal.globals.set(name, value)
        return t if t else self.fail(self.ERR_BAD_PARAMETER, 0)

    def GlobalVariableGet(self, name: str) -> float:  # noqa: N802
        v = self.terminal.globals.get(name)
        return self.fail(self.ERR_GLOBAL_NOT_FOUND, 0.0) if v is None else v

    def GlobalVariableCheck(self, name: str) -> bool:  # noqa: N802
        return self.terminal.globals.check(name)

    def GlobalVariableTime(self, name: str) -> int:  # noqa: N802
        t = self.terminal.globals.time(name)
        return t if t else self.fail(self.ERR_GLOBAL_NOT_FOUND, 0)

    def GlobalVariableDel(self, name: str) -> bool:  # noqa: N802
        return self.terminal.globals.delete(name) or self.fail(self.ERR_GLOBAL_NOT_FOUND)

    def GlobalVariableTemp(self, name: str) -> bool:  # noqa: N802
        return self.terminal.globals.temp(name) or self.fail(self.ERR_BAD_PARAMETER)

    def GlobalVariableSetOnCondition(self, name: str, value: float, check_value: float) -> bool:  # noqa: N802
        r = self.terminal.globals.set_on_condition(name, value, check_value)
        return self.fail(self.ERR_GLOBAL_NOT_FOUND) if r is None else r

    def GlobalVariablesDeleteAll(self, prefix: str = "", limit_data: int = 0) -> int:  # noqa: N802
        return self.terminal.globals.delete_all(prefix, limit_data)

    def GlobalVariablesTotal(self) -> int:  # noqa: N802
        return len(self.terminal.globals.names())

    def GlobalVariableName(self, index: int) -> str:  # noqa: N802
        names = self.terminal.globals.names()
        return names[index] if 0 <= index < len(names) else self.fail(self.ERR_BAD_PARAMETER, "")

    def GlobalVariablesFlush(self) -> None:  # noqa: N802
        return None

    # --- terminal / program
    def TerminalInfoInteger(self, prop: str) -> int:  # noqa: N802
        t = self.terminal
        values = {"TERMINAL_CONNECTED": t.connected, "TERMINAL_DLLS_ALLOWED": True, "TERMINAL_TRADE_ALLOWED": True,
                  "TERMINAL_BUILD": t.build, "TERMINAL_MAXBARS": 100_000, "TERMINAL_CODEPAGE": 65001,
                  "TERMINAL_PING_LAST": 0, "TERMINAL_X64": t.platform == "MT5", "TERMINAL_VPS": False,
                  "TERMINAL_EMAIL_ENABLED": False, "TERMINAL_FTP_ENABLED": False,
                  "TERMINAL_NOTIFICATIONS_ENABLED": False, "TERMINAL_MQID": False,
                  "TERMINAL_COMMUNITY_ACCOUNT": False, "TERMINAL_COMMUNITY_CONNECTION": False}
        if prop not in values:
            return self.fail(self.ERR_BAD_PARAMETER, 0)
        return int(values[prop])

    def TerminalInfoString(self, prop: str) -> str:  # noqa: N802
        t = self.terminal
        values = {"TERMINAL_LANGUAGE": "English", "TERMINAL_COMPANY": "mtbridge simulator",
                  "TERMINAL_NAME": f"{t.platform} {t.name}", "TERMINAL_PATH": str(t.files_dir.parent.parent),
                  "TERMINAL_DATA_PATH": str(t.files_dir.parent.parent),
                  "TERMINAL_COMMONDATA_PATH": str(t.files_dir.parent.parent / "Common")}
        return values[prop] if prop in values else self.fail(self.ERR_BAD_PARAMETER, "")

    def TerminalInfoDouble(self, prop: str) -> float:  # noqa: N802
        return self.fail(self.ERR_BAD_PARAMETER, 0.0)

    def MQLInfoInteger(self, prop: str) -> int:  # noqa: N802
        if prop == "MQL_PROGRAM_TYPE":
            return Enum("PROGRAM_EXPERT")
        values = {"MQL_DLLS_ALLOWED": self.dlls_allowed, "MQL_TRADE_ALLOWED": True, "MQL_SIGNALS_ALLOWED": False,
                  "MQL_DEBUG": False, "MQL_PROFILER": False, "MQL_TESTER": False, "MQL_OPTIMIZATION": False,
                  "MQL_VISUAL_MODE": False, "MQL_FRAME_MODE": False, "MQL_MEMORY_LIMIT": 1 << 20,
                  "MQL_MEMORY_USED": 1, "MQL_LICENSE_TYPE": 0, "MQL_FORWARD": False, "MQL_CODEPAGE": 65001}
        if prop not in values:
            return self.fail(self.ERR_BAD_PARAMETER, 0)
        return int(values[prop])

    def MQLInfoString(self, prop: str) -> str:  # noqa: N802
        values = {"MQL_PROGRAM_NAME": self.name,
                  "MQL_PROGRAM_PATH": str(self.terminal.files_dir.parent / "Experts" / self.name)}
        return values[prop] if prop in values else self.fail(self.ERR_BAD_PARAMETER, "")

    def IsStopped(self) -> bool:  # noqa: N802
        return self.removed

    def UninitializeReason(self) -> int:  # noqa: N802
        return self.deinit_reason

    def Symbol(self) -> str:  # noqa: N802
        return self.chart_symbol

    def TimeGMTOffset(self) -> int:  # noqa: N802
        return self.TimeGMT() - self.TimeLocal()

    def TimeDaylightSavings(self) -> int:  # noqa: N802
        return 0  # the simulated PC runs on UTC

    def SymbolIsSynchronized(self, symbol: str) -> bool:  # noqa: N802
        return self._known_symbol(symbol)

    # --- account (same property names on both platforms)
    def _account(self):
        return self.terminal.facade.account_info()

    def AccountInfoInteger(self, prop: str) -> int:  # noqa: N802
        a = self._account()
        if prop == "ACCOUNT_MARGIN_MODE":
            names = {0: "ACCOUNT_MARGIN_MODE_RETAIL_NETTING", 1: "ACCOUNT_MARGIN_MODE_EXCHANGE",
                     2: "ACCOUNT_MARGIN_MODE_RETAIL_HEDGING"}
            return Enum(names[a.margin_mode])
        if prop == "ACCOUNT_TRADE_MODE":
            return Enum({0: "ACCOUNT_TRADE_MODE_DEMO", 1: "ACCOUNT_TRADE_MODE_CONTEST",
                         2: "ACCOUNT_TRADE_MODE_REAL"}[a.trade_mode])
        if prop == "ACCOUNT_MARGIN_SO_MODE":
            return Enum("ACCOUNT_STOPOUT_MODE_PERCENT")
        field = _field(prop, "ACCOUNT_")
        if field == "limit_orders":
            return 0
        if field not in a._fields or isinstance(getattr(a, field), (float, str)):
            return self.fail(self.ERR_BAD_PARAMETER, 0)
        return int(getattr(a, field))

    def AccountInfoDouble(self, prop: str) -> float:  # noqa: N802
        a = self._account()
        field = _field(prop, "ACCOUNT_")
        if field not in a._fields or not isinstance(getattr(a, field), float):
            return self.fail(self.ERR_BAD_PARAMETER, 0.0)
        return float(getattr(a, field))

    def AccountInfoString(self, prop: str) -> str:  # noqa: N802
        a = self._account()
        field = _field(prop, "ACCOUNT_")
        if field not in a._fields or not isinstance(getattr(a, field), str):
            return self.fail(self.ERR_BAD_PARAMETER, "")
        return getattr(a, field)

    # --- symbols
    def SymbolSelect(self, symbol: str, select: bool) -> bool:  # noqa: N802
        if not self._known_symbol(symbol):
            return self.fail(self.ERR_UNKNOWN_SYMBOL)
        self.terminal.facade.symbol_select(symbol, bool(select))
        return True

    def SymbolsTotal(self, selected: bool) -> int:  # noqa: N802
        return len(self.terminal.facade.selected if selected else self.server.symbols())

    def SymbolName(self, index: int, selected: bool) -> str:  # noqa: N802
        names = sorted(self.terminal.facade.selected) if selected else self.server.symbols()
        return names[index] if 0 <= index < len(names) else self.fail(self.ERR_BAD_PARAMETER, "")

    def _symbol_value(self, symbol: str, prop: str, kind: type) -> Any:
        if not self._known_symbol(symbol):
            return None
        info = self.terminal.facade.symbol_info(symbol)
        field = _field(prop, "SYMBOL_")
        if field not in info._fields:
            return None
        return typed(getattr(info, field), kind)

    def _symbol_info(self, symbol: str, prop: str, kind: type) -> Any:
        value = self._symbol_value(symbol, prop, kind)
        if value is None:
            code = self.ERR_UNKNOWN_SYMBOL if not self._known_symbol(symbol) else self.ERR_BAD_PARAMETER
            return self.fail(code, kind())
        return value

    def SymbolInfoDouble(self, symbol: str, prop: str) -> float:  # noqa: N802
        return self._symbol_info(symbol, prop, float)

    def SymbolInfoInteger(self, symbol: str, prop: str) -> int:  # noqa: N802
        return self._symbol_info(symbol, prop, int)

    def SymbolInfoString(self, symbol: str, prop: str) -> str:  # noqa: N802
        return self._symbol_info(symbol, prop, str)

    def SymbolInfoTick(self, symbol: str, tick: dict) -> Any:  # noqa: N802
        if not self._known_symbol(symbol):
            return self.fail(self.ERR_UNKNOWN_SYMBOL)
        t = self.server.symbol_tick(symbol, self.terminal.login)
        if t is None:
            return self.fail(self.ERR_UNKNOWN_SYMBOL)
        ms = self.terminal.server_ms(t.time_msc)
        return Out(True, {1: {"time": ms // 1000, "bid": float(t.bid), "ask": float(t.ask), "last": 0.0,
                              "volume": 0, "time_msc": ms, "flags": 6, "volume_real": 0.0}})


class Out:
    """A return value plus new values of by-reference arguments (index -> value)."""

    __slots__ = ("out", "value")

    def __init__(self, value: Any, out: dict[int, Any]) -> None:
        self.value = value
        self.out = out


def _field(prop: str, prefix: str) -> str:
    return prop[len(prefix):].lower() if isinstance(prop, str) and prop.startswith(prefix) else ""


def typed(value: Any, kind: type) -> Any:
    """`value` as the MQL getter's type (`int` takes bools), or None when it is of another kind."""
    if kind is int and isinstance(value, (bool, int)):
        return int(value)
    if kind in (float, str) and isinstance(value, kind):
        return value
    return None
