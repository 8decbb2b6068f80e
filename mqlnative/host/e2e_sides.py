"""The two sides of the end-to-end comparison, driven by the same scenario (mqlnative/e2e.py).

`PythonSide`: mtbridge's Python simulated terminals (`simulator.terminals.TerminalClient`,
one per account) on the asyncio loop. `EaSide`: the real EA sources built natively, one
terminal model and one EA instance per account, their handlers called from the same loop:
`OnTimer` every `timer_ms` of the terminal clock, queued `OnTradeTransaction`s after each
handler. Both run in one thread with the trade server, so nothing races on it.

Life-cycle verbs, the same on both sides:
- `stop(name)` / `start(name)`: the EA removed and attached again (OnDeinit / OnInit, a fresh
  copy of the library, the terminal and its files kept; the Python terminal: its socket
  closed, then reopened with the same state) - used for a disconnect;
- `restart_ea(name)`: the same, at once (mid-stream);
- `restart_terminal(name)`: the terminal process restarts (temporary global variables gone;
  the Python terminal: a fresh core rebuilt from the server).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from mqlnative.host.constants import Constants
from mqlnative.host.e2e_world import MASTER, Market
from mqlnative.host.loader import REASON_CLOSE, REASON_REMOVE, LoadedEA
from mqlnative.host.mt4 import Mt4Program, Mt4Terminal
from mqlnative.host.mt5 import Mt5Program, Mt5Terminal

PUMP_S = 0.005  # the loop's idle pause between rounds (the EAs' own timers pace them)


class Side:
    label = "?"
    checks_start = True

    def __init__(self, market: Market) -> None:
        self.market = market

    async def pump(self) -> None:
        await asyncio.sleep(PUMP_S)

    async def until(self, predicate, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.label}: timed out after {timeout:.0f} s waiting for {what}\n{self.debug()}")
            await self.pump()

    def debug(self) -> str:
        return "commands: " + repr(self.market.command_summary()[-12:])


class PythonSide(Side):
    label = "Python terminals"
    checks_start = False  # the Python terminals have no start check for netting accounts

    def __init__(self, market: Market) -> None:
        super().__init__(market)
        self.clients: dict = {}

    def _core(self, name: str):
        from simulator.terminals import TerminalCore, login_sessions
        m = self.market
        return TerminalCore(m.server, login_sessions(m.server, [(m.logins[name], MASTER)]),
                            next_id=time.time_ns() // 1000, role=m.setup.roles[name])

    async def start(self, name: str) -> None:
        from simulator.terminals import TerminalClient
        m = self.market
        c = self.clients.get(name)
        if c is None:
            keys = m.setup.keys[name]
            c = self.clients[name] = TerminalClient(
                self._core(name), m.endpoint(), server_key=m.setup.server.public, public_key=keys.public,
                secret_key=keys.secret, clock=m.clock.now_ms, poll_interval=0.02, backoff=(0.05, 0.5), name=name)
        await c.start()

    async def stop(self, name: str) -> None:
        await self.clients[name].stop()

    async def restart_ea(self, name: str) -> None:
        await self.clients[name].restart_terminal(self._core(name))

    restart_terminal = restart_ea

    async def close(self) -> None:
        for c in self.clients.values():
            await c.stop()


class EaSide(Side):
    """`libraries`: platform -> {"trader": .so, "investor": .so}."""

    label = "EAs"

    def __init__(self, market: Market, libraries: dict[str, dict[str, Path]], constants: dict[str, Constants],
                 workdir: Path, timer_ms: int = 50) -> None:
        super().__init__(market)
        self.libraries = libraries
        self.constants = constants
        self.workdir = workdir
        self.timer_ms = timer_ms
        self.terminals: dict = {}
        self.eas: dict[str, LoadedEA] = {}
        self.due: dict[str, int] = {}
        self.logs: dict[str, list[str]] = {}

    def _terminal(self, name: str):
        t = self.terminals.get(name)
        if t is None:
            m, role = self.market, self.market.roles[name]
            cls = Mt4Terminal if role.platform == "MT4" else Mt5Terminal
            files = self.workdir / "terminals" / name / ("MQL4" if role.platform == "MT4" else "MQL5") / "Files"
            t = self.terminals[name] = cls(m.server, m.logins[name], MASTER, clock=m.clock, files_dir=files, name=name)
        return t

    def _load(self, name: str) -> LoadedEA:
        m, role = self.market, self.market.roles[name]
        term = self._terminal(name)
        program_cls = Mt4Program if role.platform == "MT4" else Mt5Program
        ea_name = "MtBridgeTrader" if role.kind == "trader" else "MtBridgeInvestor"
        program = program_cls(term, ea_name)
        keys = m.setup.keys[name]
        inputs = {"InpEndpoint": m.endpoint(), "InpServerPublicKey": m.setup.server.public,
                  "InpClientPublicKey": keys.public, "InpClientSecretKey": keys.secret, "InpTimerMs": self.timer_ms,
                  "InpHeartbeatMs": 200, "InpReconnectMs": 300}
        branch = "mql4" if role.platform == "MT4" else "mql5"
        return LoadedEA(self.libraries[role.platform][role.kind], program, self.constants[branch],
                        self.workdir / "lib", inputs)

    def _keep_log(self, name: str, ea: LoadedEA) -> None:
        self.logs.setdefault(name, []).extend(ea.program.log)

    async def start(self, name: str) -> None:
        ea = self._load(name)
        r = ea.on_init()
        if r != 0:
            self._keep_log(name, ea)
            raise RuntimeError(f"{name}: OnInit returned {r}:\n" + "\n".join(list(ea.program.log)[-20:]))
        self.eas[name] = ea
        self.due[name] = 0

    def refused_start(self, name: str) -> str | None:
        """Attach the EA and expect OnInit to refuse; the EA's log (None if it started)."""
        ea = self._load(name)
        r = ea.on_init()
        log = "\n".join(ea.program.log)
        if r == 0:
            ea.on_deinit(REASON_REMOVE)
            return None
        ea.program.terminal.detach(ea.program)
        self._keep_log(name, ea)
        return log

    async def stop(self, name: str, reason: int = REASON_REMOVE) -> None:
        ea = self.eas.pop(name)
        ea.on_deinit(reason)
        self._keep_log(name, ea)

    async def restart_ea(self, name: str) -> None:
        await self.stop(name)
        await self.start(name)

    async def restart_terminal(self, name: str) -> None:
        await self.stop(name, REASON_CLOSE)
        self.terminals[name] = self.terminals[name].restarted()
        await self.start(name)

    async def pump(self) -> None:
        now = self.market.clock.now_ms()
        for name, ea in list(self.eas.items()):
            term = ea.program.terminal
            term.sync()
            if isinstance(term, Mt5Terminal):
                term.poll()
            ea.deliver_transactions()
            if ea.program.timer_ms and now >= self.due[name]:
                self.due[name] = now + ea.program.timer_ms
                ea.on_timer()
                if isinstance(term, Mt5Terminal):
                    term.poll()
                ea.deliver_transactions()
            if ea.stopped():
                raise RuntimeError(f"{name}: the EA stopped (critical error or ExpertRemove):\n"
                                   + "\n".join(list(ea.program.log)[-20:]))
        await asyncio.sleep(PUMP_S)

    def debug(self) -> str:
        tails = [f"--- {n} log tail:\n" + "\n".join(list(ea.program.log)[-8:]) for n, ea in self.eas.items()]
        return super().debug() + "\n" + "\n".join(tails)

    async def close(self) -> None:
        for name in list(self.eas):
            await self.stop(name)

    def write_logs(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for name, lines in self.logs.items():
            (directory / f"{name}.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
