"""A scenario's world: keys and config, the daemon, the admin client, the trader, subscriptions,
terminals, the feed and the probes; `close()` ends everything it started."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import zmq

from benchmarks.chaos.common import TRADER, log, wall_ms
from benchmarks.chaos.daemon_process import Daemon
from benchmarks.chaos.feed_collector import FeedCollector
from benchmarks.chaos.flooder import Flooder
from benchmarks.chaos.loop_probes import LoopProbe, SchedSampler
from benchmarks.chaos.opens import Book
from benchmarks.chaos.terminals import Pump, Terminal, TerminalGroup
from benchmarks.chaos.timers import Timers, validity_setting
from bridge.daemon.client import AdminClient, TerminalClient
from bridge.daemon.testing import make_setup
from bridge.protocol import Position


class World:
    """keys: name -> (logins, role); 'trader' and 'ops' are added."""

    def __init__(self, tmp: Path, keys: dict[str, tuple[list[int], str]], timers: Timers, *,
                 journal: str = "", daemon: str = "") -> None:
        self.tmp, self.timers = tmp, timers
        section, self.validity_key, line = validity_setting(timers.validity_ms)
        daemon_lines = f"offline_after = {timers.offline_after}\n{daemon}"
        engine_lines = ""
        if section == "daemon":
            daemon_lines += f"\n{line}\n"
        else:
            engine_lines = line
        self.validity_section = section
        all_keys = {"trader": ([TRADER], "trader"), **keys, "ops": ([], "admin")}
        self.setup = make_setup(tmp, all_keys, heartbeat_ms=timers.heartbeat_ms, extra=daemon_lines,
                                engine=engine_lines)
        if journal:
            text = self.setup.config_path.read_text()
            self.setup.config_path.write_text(text.replace('path = "journal.db"\n', f'path = "journal.db"\n{journal}\n'))
        self.daemon = Daemon(self.setup.config_path)
        self.book = Book(timers.validity_ms)
        self.admin: AdminClient | None = None
        self.feed: FeedCollector | None = None
        self.probe: LoopProbe | None = None
        self.sched: SchedSampler | None = None
        self.terminals: list[Terminal] = []
        self.groups: list[TerminalGroup] = []
        self.flooders: list[Flooder] = []
        self.sub_of: dict[int, int] = {}  # investor login -> subscription id
        self.login_of: dict[int, int] = {}
        self.trader: TerminalClient | None = None
        self.positions: dict[int, Position] = {}
        self.next_ticket = 70_000

    # -- life cycle
    def start(self, *, feed: bool = True, probe: bool = False) -> World:
        self.daemon.start()
        self.admin = AdminClient(self.daemon.endpoints["admin"], self.setup.curve("ops"))
        assert self.admin("register_trader", trader="T", account=TRADER, account_type="mt4_standard", leverage=100,
                          commission_pct="0")["ok"]
        if feed:
            self.feed = FeedCollector(self.daemon.endpoints["pub"], self.setup.curve("ops")).start()
        if probe:
            self.probe = LoopProbe(self.daemon.endpoints["admin"], self.setup.curve("ops")).start()
            self.sched = SchedSampler(self.daemon).start()
        return self

    def pin_ports(self) -> None:
        """Keep the endpoints across restarts."""
        text = self.setup.config_path.read_text()
        for name in ("router", "pub", "admin"):
            text = text.replace(f'{name} = "tcp://127.0.0.1:*"', f'{name} = "{self.daemon.endpoints[name]}"', 1)
        self.setup.config_path.write_text(text)

    def close(self) -> None:
        for f in self.flooders:
            f.kill()
        for piece in (self.probe, self.sched, self.feed, *self.terminals, *self.groups, self.trader, self.admin):
            if piece is not None:
                piece.close()
        try:
            self.daemon.terminate(15)
        finally:
            self.daemon.kill()

    # -- back office
    def subscribe(self, logins: list[int], progress: str = "") -> None:
        assert self.admin is not None
        t0 = time.monotonic()
        for i, login in enumerate(logins):
            owner = f"I{login}"
            assert self.admin("deposit", owner=owner, amount="1000000")["ok"]
            r = self.admin("subscribe", investor=owner, trader="T", account=login, amount="1000000")
            assert r["ok"], r
            sub = next(rec["subscription"] for rec in r["records"] if rec["topic"] == "record.subscription_started")
            self.sub_of[login] = int(sub)
            self.login_of[int(sub)] = login
            if progress and i and i % 2000 == 0:
                log(f"{progress}: {i}/{len(logins)} subscriptions ({time.monotonic() - t0:.0f} s)")

    # -- terminals
    def connect_trader(self) -> TerminalClient:
        self.trader = TerminalClient(self.daemon.endpoints["router"], self.setup.curve("trader"))
        self.trader.sock.setsockopt(zmq.SNDTIMEO, 100)
        self.trader.hello(TRADER)
        return self.trader

    def terminal(self, key: str, logins: list[int], **kw: Any) -> Terminal:
        t = Terminal(self, key, logins, **kw)
        self.terminals.append(t)
        return t

    def group(self, key: str, connections: list[list[int]]) -> TerminalGroup:
        """Terminals in a worker process of their own (see `TerminalGroup`)."""
        g = TerminalGroup(self, key, connections)
        self.groups.append(g)
        return g

    def welcomed_pump(self, terminals: list[Terminal | TerminalGroup], timeout: float,
                      what: str = "terminals") -> Pump:
        """A `Pump` of `terminals` and the trader, once every session was welcomed."""
        assert self.trader is not None
        pump = Pump(terminals, [self.trader])  # type: ignore[arg-type]
        assert pump.run(timeout, lambda: (self.trader.sessions[TRADER].welcomed
                                          and all(t.welcomed() for t in pump.terminals))), f"{what} not welcomed"
        return pump

    # -- trader deals
    def trader_open(self) -> int:
        assert self.trader is not None
        self.next_ticket += 1
        ticket = self.next_ticket
        now = wall_ms()
        self.book.open_ms[ticket] = now
        self.book.sent_ns[ticket] = time.perf_counter_ns()
        p = self.trader.opened(TRADER, ticket, time_ms=now)
        self.positions[ticket] = p
        self.trader.set_positions(TRADER, tuple(self.positions.values()))
        return ticket

    def trader_close(self, ticket: int) -> None:
        assert self.trader is not None
        self.positions.pop(ticket, None)
        self.trader.set_positions(TRADER, tuple(self.positions.values()))
        self.trader.closed(TRADER, ticket, "0.1")

    # -- judging
    def copy_map(self) -> dict[int, dict[int, dict]]:
        assert self.admin is not None
        copies = self.admin("copies", timeout=120)["copies"]
        return {self.login_of.get(int(s), -int(s)): {int(t): c for t, c in book.items()}
                for s, book in copies.items()}

    def refusals(self) -> dict[tuple[int, int], str]:
        """(investor login, trader ticket) -> code of its CopyRefused on the feed."""
        assert self.feed is not None
        out = {}
        for b in self.feed.topic("record.copy_refused"):
            login = self.login_of.get(int(b.get("subscription", -1)))
            if login is not None:
                out[(login, int(b.get("trader_ticket", -1)))] = str(b.get("code"))
        return out

    def offline_logins(self, since_ms: int = 0) -> list[int]:
        assert self.feed is not None
        return [int(b.get("login", 0)) for b in self.feed.topic("terminal.offline", since_ms)]

