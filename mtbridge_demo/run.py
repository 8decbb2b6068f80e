"""`mtbridge demo`: the whole bridge on loopback, driven by a seeded simulation.

Wiring (one asyncio loop, one process):

* the simulated trade server (`simulator.server.TradeServer`) fed by seeded random walks
  (`simulator.prices`), on virtual time;
* the daemon (`bridge.daemon.server.Daemon`: ROUTER + CURVE/ZAP with a per-key allow-list,
  SQLite journal in a temporary directory, the copy engine inside) with CURVE keys
  generated on the fly; its clock is the demo's virtual clock;
* two simulated terminals (`simulator.terminals`), real DEALER sockets with CURVE: one
  for the trader accounts and one for all investor accounts (the allow-list binds each
  terminal key to its logins);
* seeded trader bots that open, partially close, move SL/TP, close, get stopped out.

**Determinism despite sockets.** Virtual time moves only between *syncs*. A sync happens
when something happened on the server (a trader acted, a stop fired: the server journal
grew by more than the tick) and every `sync_ms` of virtual time. In a sync: the daemon's
clock is set to the virtual time and its timers run once; the trader terminal's reports are
sent **one at a time**, each followed by waiting until the daemon is quiescent (every frame
sent was received and handled, every reply delivered, no command unanswered); then the
investor terminal reports (one socket: FIFO); back-office balance operations (investing,
commission, returns), which the daemon confirms itself, are booked on the server in
command-id order. So the
engine sees the same events in the same order, with the same `now`, on every run with
the same seed; only the timings section differs.

The back office (traders, partners, wallets, subscriptions, stop) talks to the daemon
core's admin interface in-process (`DaemonCore.on_admin`, the same requests the admin
endpoint accepts).

**Watching** (`WatchConfig`; none of it changes `results`): `--dashboard` serves the web
dashboard in-process (`DashboardServer`) on the daemon's feed with a generated `monitor`
key, a dealer `desk` with a random password and every investor account (login + investor
password); `--pace X` runs X simulated seconds per wall second while quotes flow (a gap
without quotes, the weekend, counts as one sync interval); `--hold` keeps the daemon and the
dashboard running after the report until Ctrl-C; `--pub` fixes the feed's address. The
dashboard and `mtbridge monitor` only listen: the engine sees the same events in the same
order either way.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import ipaddress
import json
import math
import random
import secrets
import sqlite3
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

ZERO = Decimal(0)
MINUTE = 60_000
HOUR = 3_600_000
START_MS = 1705060800000  # Friday 2024-01-12 12:00 UTC (14:00 on the UTC+2/us server clock)
MASTER, INVESTOR_PW = "Tr4derPass", "R3adOnly9"
FAR = 10**12  # "never" for daemon timers driven by virtual time
DASHBOARD_DEFAULT = ("127.0.0.1", 8050)
DEALER_USER = "desk"
DEFAULT_PUB = "tcp://127.0.0.1:*"  # the feed on any free port


# --------------------------------------------------------------------------------- plan
@dataclass(frozen=True, slots=True)
class DemoConfig:
    seed: int = 7
    traders: int = 3
    investors: int = 50
    hours: int = 64  # Friday 12:00 -> Monday 04:00: a rollover, a weekend, the Sunday payout
    sync_ms: int = 5 * MINUTE
    tick_ms: int = 2000  # one quote per symbol every tick_ms of virtual time
    symbols: tuple[str, ...] = ("EURUSD", "GBPUSD")


@dataclass(frozen=True, slots=True)
class TraderPlan:
    id: str
    style: str  # steady | scalper | gambler
    symbol: str
    account_type: str
    leverage: int
    deposit: Decimal
    commission_pct: Decimal
    ib: str | None


@dataclass(frozen=True, slots=True)
class InvestorPlan:
    id: str
    trader: str
    amount: Decimal
    mode: str
    protection_pct: Decimal | None
    leverage: int
    ib: str | None


PARTNERS = (("ib-north", None, Decimal(2)), ("ib-south", "ib-north", None))
_STYLES = ("steady", "scalper", "gambler")
_START_BID = {"EURUSD": 110000, "GBPUSD": 127000, "USDCHF": 88000, "AUDUSD": 67000}


def plan(cfg: DemoConfig) -> tuple[list[TraderPlan], list[InvestorPlan]]:
    """Who is who, from the seed alone (integer draws only)."""
    rng = random.Random(f"demo-plan:{cfg.seed}")
    traders = []
    for i in range(cfg.traders):
        style = _STYLES[i % len(_STYLES)]
        gambler = style == "gambler"
        traders.append(TraderPlan(
            id=f"trader-{i + 1}", style=style, symbol=cfg.symbols[i % len(cfg.symbols)],
            account_type="mt4_pro" if i % 2 else "mt4_standard",
            leverage=500 if gambler else (100, 200)[rng.randrange(2)],
            deposit=Decimal(3000 if gambler else 10000 + 1000 * rng.randrange(11)),
            commission_pct=Decimal(5 * rng.randrange(11)),  # 0..50 %
            ib="ib-north" if i == 0 else None,
        ))  # fmt: skip
    investors = []
    for i in range(cfg.investors):
        prot = rng.randrange(10)
        investors.append(InvestorPlan(
            id=f"inv-{i + 1:03d}", trader=traders[rng.randrange(len(traders))].id,
            amount=Decimal((300, 500, 1000, 2000, 5000)[rng.randrange(5)]),
            mode=("equal", "proportional")[rng.randrange(2)],
            protection_pct=None if prot < 4 else Decimal(0 if prot == 4 else 5 * rng.randrange(1, 11)),
            leverage=(100, 200, 500)[rng.randrange(3)],
            ib=(None, None, None, "ib-north", "ib-south")[rng.randrange(5)],
        ))  # fmt: skip
    return traders, investors


# --------------------------------------------------------------------------------- watching
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
        if not self.curve:
            return f"mtbridge monitor --connect {self.feed} --insecure"
        if self.server_key_file is None or self.monitor_key_file is None:
            return f"mtbridge monitor --connect {self.feed} --server-key <server.pub> --client-key <monitor.key>"
        return (f"mtbridge monitor --connect {self.feed} --server-key {self.server_key_file} "
                f"--client-key {self.monitor_key_file}")


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


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --------------------------------------------------------------------------------- trader bots
class TraderBot:
    """A seeded trader: every few virtual minutes, one decision on its symbol.

    steady: 0.1-0.5 lots with SL 25-60 pips / TP 30-90 pips, trails stops, takes partial
    profits; scalper: 0.05-0.3 lots, tight stops, closes quickly; gambler: 1-2 lots, no
    stops, adds to losers and never closes (a small, highly levered account: a stop-out).
    """

    def __init__(self, plan_: TraderPlan, login: int, session, seed: int) -> None:
        self.plan = plan_
        self.login = login
        self.session = session
        self.rng = random.Random(f"demo-bot:{seed}:{plan_.id}")
        self.next_ms = 0
        self.actions: Counter[str] = Counter()

    def schedule(self, now: int) -> None:
        lo, hi = {"steady": (4, 16), "scalper": (2, 7), "gambler": (6, 20)}[self.plan.style]
        self.next_ms = now + MINUTE * self.rng.randrange(lo, hi)

    def _price(self, server, side: str, points_away: int, spec) -> Decimal:
        tick = server.symbol_tick(self.plan.symbol, self.login)
        ref = tick.bid if side == "buy" else tick.ask
        pts = int(ref.scaleb(spec.digits)) + points_away
        return Decimal(pts).scaleb(-spec.digits)

    def decide(self, server, rc, TradeRequest, spec) -> list:
        rng, p = self.rng, self.plan
        positions = server.positions(self.login, p.symbol)
        r = rng.randrange(100)
        lot = Decimal("0.01")
        if p.style == "gambler":
            if len(positions) < 4 and r < 70:
                side = ("buy", "sell")[rng.randrange(2)] if not positions else (
                    "buy" if positions[0].type == rc.POSITION_TYPE_BUY else "sell")
                vol = Decimal(100 + 10 * rng.randrange(11)) * lot
                self.actions["open"] += 1
                return [self._market(rc, TradeRequest, side, vol)]
            return []
        max_pos = 2 if p.style == "steady" else 3
        if not positions or (len(positions) < max_pos and r < 30):
            side = ("buy", "sell")[rng.randrange(2)]
            if p.style == "steady":
                vol, sl_pips, tp_pips = Decimal(10 * rng.randrange(1, 6)) * lot, rng.randrange(25, 61), \
                    rng.randrange(30, 91)
            else:
                vol, sl_pips, tp_pips = Decimal(5 * rng.randrange(1, 7)) * lot, rng.randrange(8, 21), \
                    rng.randrange(8, 26)
            sign = 1 if side == "buy" else -1
            # stops are set relative to the closing price (bid for a buy, ask for a sell)
            close_side = "buy" if side == "buy" else "sell"
            sl = self._price(server, close_side, -sign * sl_pips * 10, spec)
            tp = self._price(server, close_side, sign * tp_pips * 10, spec) if rng.randrange(4) else ZERO
            self.actions["open"] += 1
            return [self._market(rc, TradeRequest, side, vol, sl=sl, tp=tp)]
        pos = positions[rng.randrange(len(positions))]
        buy = pos.type == rc.POSITION_TYPE_BUY
        if r < 50 and pos.volume >= 2 * lot:
            half = (pos.volume / 2).quantize(lot, ROUND_DOWN)
            self.actions["partial_close"] += 1
            return [self._close(rc, TradeRequest, pos, half)]
        if r < 70:
            # move the stop to break-even or trail it 15-30 pips behind the price
            gap = rng.randrange(15, 31) * 10
            sl = self._price(server, "buy" if buy else "sell", -gap if buy else gap, spec)
            if (buy and sl <= pos.sl) or (not buy and pos.sl and sl >= pos.sl):
                return []
            self.actions["modify"] += 1
            return [TradeRequest(rc.TRADE_ACTION_SLTP, p.symbol, position=pos.ticket, sl=sl, tp=pos.tp)]
        if r < 85 or p.style == "scalper":
            self.actions["close"] += 1
            return [self._close(rc, TradeRequest, pos, pos.volume)]
        return []

    def _market(self, rc, TradeRequest, side: str, volume: Decimal, sl: Decimal = ZERO, tp: Decimal = ZERO):
        return TradeRequest(rc.TRADE_ACTION_DEAL, self.plan.symbol, volume,
                            rc.ORDER_TYPE_BUY if side == "buy" else rc.ORDER_TYPE_SELL, sl=sl, tp=tp)

    def _close(self, rc, TradeRequest, pos, volume: Decimal):
        buy = pos.type == rc.POSITION_TYPE_BUY
        return TradeRequest(rc.TRADE_ACTION_DEAL, pos.symbol, volume,
                            rc.ORDER_TYPE_SELL if buy else rc.ORDER_TYPE_BUY, position=pos.ticket)


# --------------------------------------------------------------------------------- the run
class _QuietLog:
    """The daemon's structlog sink during the demo: counts warnings, prints nothing."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def _record(self, level: str, event: str, **_: Any) -> None:
        if level != "info":
            self.counts[event] += 1

    def __getattr__(self, level: str) -> Callable[..., None]:
        return lambda event, **kw: self._record(level, event, **kw)


class QuiescenceTimeout(RuntimeError):
    pass


class Demo:
    def __init__(self, cfg: DemoConfig, *, workdir: Path, progress: Callable[[int, int], None] | None = None,
                 insecure: bool = False, watch: WatchConfig | None = None,
                 on_ready: Callable[[WatchInfo], None] | None = None,
                 on_report: Callable[[dict], None] | None = None,
                 hold: Callable[[], Awaitable[Any]] | None = None) -> None:
        self.cfg = cfg
        self.workdir = workdir
        self.progress = progress
        self.insecure = insecure
        self.watch = watch or WatchConfig()
        self.on_ready = on_ready
        self.on_report = on_report
        self.hold = hold
        self.dashboard_server: Any = None
        self.feed_subscriber: Any = None
        self.watch_info: WatchInfo | None = None
        self.dealer_password: str | None = None
        self.now = START_MS  # the daemon's clock: virtual time, moved only by sync()
        self.stats: Counter[str] = Counter()
        self._journal_db: sqlite3.Connection | None = None
        self._booked_cid = 0
        self._time_passed = 0

    # ---------------------------------------------------------------- set-up
    def _build_server(self) -> None:
        from simulator.server import TradeServer

        cfg = self.cfg
        self.server = TradeServer(seed=cfg.seed, start_ms=START_MS, scrypt_n=2**4, server_name="mtbridge-demo")
        self.trader_plans, self.investor_plans = plan(cfg)
        s = self.server
        self.login_of: dict[str, int] = {}
        self.email_of: dict[int, str] = {}
        for tp in self.trader_plans:
            email = f"{tp.id}@demo.example"
            s.register_client(email, tp.id)
            login = s.open_account(email, tp.account_type, "USD", tp.leverage, master_password=MASTER,
                                   investor_password=INVESTOR_PW)
            assert isinstance(login, int), login
            s.deposit(login, tp.deposit, payer_email=email)
            self.login_of[tp.id], self.email_of[login] = login, email
        for ip in self.investor_plans:
            email = f"{ip.id}@demo.example"
            s.register_client(email, ip.id)
            login = s.open_account(email, "mt4_standard", "USD", ip.leverage, master_password=MASTER,
                                   investor_password=INVESTOR_PW)
            assert isinstance(login, int), login
            self.login_of[ip.id], self.email_of[login] = login, email

    def _daemon_config(self):
        from bridge.copytrading.config import EngineConfig
        from bridge.daemon.config import DaemonConfig, PartnerAgreement
        from bridge.daemon.keys import AllowEntry, AllowList, generate_keypair

        self.server_key = generate_keypair()
        self.trader_key = generate_keypair()
        self.investor_key = generate_keypair()
        self.admin_key = generate_keypair()
        self.monitor_key = generate_keypair()  # always listed: the daemon's config is the same with or without
        trader_logins = tuple(self.login_of[t.id] for t in self.trader_plans)
        investor_logins = tuple(self.login_of[i.id] for i in self.investor_plans)
        allow = AllowList((
            AllowEntry("demo-traders", self.trader_key.public, trader_logins, "trader"),
            AllowEntry("demo-investors", self.investor_key.public, investor_logins, "investor"),
            AllowEntry("demo-admin", self.admin_key.public, (), "admin"),
            AllowEntry("demo-monitor", self.monitor_key.public, (), "monitor"),
        ))  # fmt: skip
        return DaemonConfig(
            router="tcp://127.0.0.1:*", pub=self.watch.pub, admin="",
            heartbeat_ms=FAR, offline_after=5, resend_after_ms=FAR, close_profit_wait_ms=FAR,
            engine_tick_ms=FAR, balance_operations="confirm", server_key=self.server_key, allow=allow,
            journal_path=self.workdir / "demo-journal.db", snapshot_every_events=10**9, snapshot_every_s=10**9,
            engine=EngineConfig(eligible_trader_types=("mt4_standard", "mt4_pro")),
            partners=tuple(PartnerAgreement(pid, ref, rate) for pid, ref, rate in PARTNERS),
            source="<demo>",
        )  # fmt: skip

    # ---------------------------------------------------------------- daemon plumbing
    def _admin(self, op: str, **args: Any) -> dict:
        reply = self.daemon.core.on_admin({"op": op, "args": args}, "demo-admin", self.now)
        self.daemon._commit()  # the shell's step: journal, then send
        if not reply.get("ok"):
            raise RuntimeError(f"admin {op} {args}: {reply}")
        for r in reply.get("records", ()):
            if r["topic"] == "record.refused":
                self.stats[f"backoffice_refused.{r['code']}"] += 1
        return reply

    def _daemon_tick(self) -> None:
        """Engine time moves here, once per sync, never from the daemon's timer loop (its
        `engine_tick_ms` is "never"), so TimePassed lands at the same place on every run."""
        from bridge.copytrading.events import TimePassed

        if self.now > self._time_passed:
            self._time_passed = self.now
            self.daemon.core.feed_engine(TimePassed(self.now))
        self.daemon._commit()  # the shell's step: journal, then send

    def _quiet(self) -> bool:
        d, core = self.daemon, self.daemon.core
        sent = sum(c.sent for c in self.clients)
        received = sum(c.received for c in self.clients)
        return (d.stats["frames_in"] == sent and d.stats["frames_out"] == received and not core.has_backlog
                and not core.awaiting and not core.pending)

    async def quiesce(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        spins = 0
        while not self._quiet():
            if time.monotonic() > deadline:
                core = self.daemon.core
                raise QuiescenceTimeout(
                    f"daemon not quiescent after {timeout} s: frames_in={self.daemon.stats['frames_in']} "
                    f"sent={sum(c.sent for c in self.clients)} frames_out={self.daemon.stats['frames_out']} "
                    f"received={sum(c.received for c in self.clients)} pending={len(core.pending)} "
                    f"awaiting={len(core.awaiting)} backlog={core.has_backlog}")
            spins += 1
            await asyncio.sleep(0 if spins < 20 else 0.0005)

    def _book_balance_operations(self) -> int:
        """Back office: book the balance operations the daemon confirmed, in command-id order.

        The daemon runs with `balance_operations = "confirm"` (it confirms them itself and
        publishes them for the broker); the demo books each one on the trade server once,
        reading them from the daemon's journal (deterministic, unlike the lossy PUB feed)."""
        from bridge.daemon.store import read_commands
        from simulator.server import DealInfo

        if self._journal_db is None:
            self._journal_db = sqlite3.connect(self.workdir / "demo-journal.db")
        rows = [r for r, _, _ in read_commands(self._journal_db, self._booked_cid, "balance")]
        for row in rows:
            self._booked_cid, login, volume, reason = row.cid, row.login, row.volume, row.reason
            amount = Decimal(volume)
            if amount > 0:
                res = self.server.deposit(login, amount, payer_email=self.email_of[login])
            else:
                res = self.server.withdraw(login, -amount)
            ok = isinstance(res, DealInfo)
            self.stats[f"balance_{reason}_{'booked' if ok else 'refused_by_server'}"] += 1
        return len(rows)

    async def sync(self, now: int) -> None:
        """Report everything the server did up to `now` and let the daemon answer it all."""
        self.now = now
        self.recorder.mark()
        self._daemon_tick()
        mono = self.trader_client.mono
        for _ in range(50):
            busy = False
            for m in self.trader_client.core.poll(now, None, mono()):
                await self.trader_client.send([m])
                await self.quiesce()
                busy = True
            out = self.investor_client.core.poll(now, None, mono())
            if out:
                await self.investor_client.send(out)
                busy = True
            await self.quiesce()
            if self._book_balance_operations():
                busy = True
                await self.quiesce()
            if not busy:
                break
        self.stats["syncs"] += 1

    # ---------------------------------------------------------------- the scenario
    async def run(self) -> dict:
        import zmq.utils.z85  # noqa: F401 - the daemon's ZAP handler uses zmq.utils.z85 without importing it

        from bridge.daemon.server import Daemon
        from bridge.domain.rules import default_rules
        from simulator.prices import RandomWalkFeed, WalkSpec, merge_feeds
        from simulator.server import TradeRequest
        from simulator.server import retcodes as rc
        from simulator.terminals import (
            LatencyRecorder,
            TerminalClient,
            TerminalCore,
            login_sessions,
        )

        wall0 = time.perf_counter()
        cfg = self.cfg
        self._build_server()
        # quotes before anything trades
        rules = default_rules()
        end_ms = START_MS + cfg.hours * HOUR
        feeds = []
        for sym in cfg.symbols:
            spec = rules.symbols.get(sym)
            feeds.append(RandomWalkFeed(
                WalkSpec(sym, Decimal(_START_BID.get(sym, 100000)).scaleb(-spec.digits), spec.digits, 12,
                         volatility_points=Decimal(9), interval_ms=cfg.tick_ms, gap_points=Decimal(150)),
                cfg.seed, START_MS, end_ms, calendar=self.server.calendar))  # fmt: skip
        ticks = iter(merge_feeds(*feeds))
        first = [next(ticks) for _ in cfg.symbols]
        for t in first:
            self.server.on_tick(t)

        config = self._daemon_config()
        self._bind_dashboard()  # before the daemon: a busy port fails fast
        try:
            self.daemon = Daemon(config, insecure=self.insecure, log=_QuietLog(), clock=lambda: self.now)
            await self.daemon.start()
        except BaseException:
            self._stop_watch()
            raise
        try:
            await self._start_watch()
            report = await self._scenario(ticks, rules, end_ms, wall0, TradeRequest, rc, TerminalClient,
                                          TerminalCore, LatencyRecorder, login_sessions)
            if self.on_report is not None:
                self.on_report(report)
            if self.hold is not None:
                await self.hold()
            return report
        finally:
            self._stop_watch()
            for c in getattr(self, "clients", ()):
                await c.stop()
            if self._journal_db is not None:
                self._journal_db.close()
            await self.daemon.close()

    # ---------------------------------------------------------------- watching (listen only)
    def _bind_dashboard(self) -> None:
        """The dashboard's users and socket: dealer `desk` (random password) and every investor
        account with its investor password (the back office's); nothing served yet."""
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
        for ip in self.investor_plans:
            login = self.login_of[ip.id]
            users.append(User(Principal(INVESTOR, str(login), login, ip.id), hashed(INVESTOR_PW)))
        self.hub = MonitorHub()
        dash = Dashboard(self.hub, MemoryCredentialStore(users), DashboardConfig(
            session_secret=secrets.token_hex(32), title="mtbridge demo - dealing desk"))
        host, port = self.watch.dashboard
        try:
            self.dashboard_server = DashboardServer(dash, host, port)
        except OSError as exc:
            raise OSError(exc.errno, f"cannot serve the dashboard on {host}:{port}: {exc.strerror or exc}") from exc

    async def _start_watch(self) -> None:
        from bridge.daemon.keys import KeyPair, write_keypair

        feed = self.daemon.endpoints["pub"]
        server_file = monitor_file = None
        if self.watch.key_files and not self.insecure:
            keys = self.workdir / "keys"
            server_file, monitor_file = keys / "server.pub", keys / "monitor.key"
            write_keypair(server_file, KeyPair(self.server_key.public, None), "the demo daemon's public key")
            write_keypair(monitor_file, self.monitor_key, "a monitor key of the demo (feed only)")
        url = None
        if self.dashboard_server is not None:
            from bridge.monitor.feed import CurveClient, FeedSubscriber

            curve = None if self.insecure else CurveClient(self.server_key.public, self.monitor_key.public,
                                                           self.monitor_key.secret or "")
            self.feed_subscriber = FeedSubscriber(feed, self.hub.apply, curve=curve,
                                                  on_bad_frame=self.hub.bad_frame).start()
            await asyncio.to_thread(self.dashboard_server.start)
            url = self.dashboard_server.url
        self.watch_info = WatchInfo(
            feed=feed, curve=not self.insecure, server_key_file=server_file, monitor_key_file=monitor_file, url=url,
            dealer=DEALER_USER if url else None, dealer_password=self.dealer_password if url else None,
            investors=tuple((ip.id, self.login_of[ip.id], INVESTOR_PW) for ip in self.investor_plans),
            traders=tuple((tp.id, self.login_of[tp.id]) for tp in self.trader_plans))
        if self.on_ready is not None:
            self.on_ready(self.watch_info)

    def _stop_watch(self) -> None:
        server, self.dashboard_server = self.dashboard_server, None
        if server is not None:
            if server.thread.is_alive():
                server.stop()
            else:
                server.sock.close()
        sub, self.feed_subscriber = self.feed_subscriber, None
        if sub is not None:
            sub.stop()

    async def _scenario(self, ticks, rules, end_ms, wall0, TradeRequest, rc, TerminalClient, TerminalCore,
                        LatencyRecorder, login_sessions) -> dict:
        cfg, server = self.cfg, self.server
        self.now = server.now_ms
        # back office: partners (from the config), traders, clients, wallets, subscriptions
        for tp in self.trader_plans:
            self._admin("register_trader", trader=tp.id, account=self.login_of[tp.id], account_type=tp.account_type,
                        leverage=tp.leverage, commission_pct=str(tp.commission_pct))
            if tp.ib:
                self._admin("assign_client", client=tp.id, partner=tp.ib)
        for ip in self.investor_plans:
            if ip.ib:
                self._admin("assign_client", client=ip.id, partner=ip.ib)
            self._admin("deposit", owner=ip.id, amount=str(ip.amount + 100))
            self._admin("subscribe", investor=ip.id, trader=ip.trader, account=self.login_of[ip.id],
                        amount=str(ip.amount), mode=ip.mode,
                        protection_pct=None if ip.protection_pct is None else str(ip.protection_pct),
                        leverage=ip.leverage)
        self._book_balance_operations()

        # terminals: real DEALER sockets with CURVE (or plain with --insecure)
        endpoint = self.daemon.endpoints["router"]
        self.recorder = LatencyRecorder()
        def keys(kp) -> dict:
            if self.insecure:
                return {}
            return {"server_key": self.server_key.public, "public_key": kp.public, "secret_key": kp.secret}
        trader_sessions = login_sessions(server, [(self.login_of[t.id], MASTER) for t in self.trader_plans])
        investor_sessions = login_sessions(server, [(self.login_of[i.id], MASTER) for i in self.investor_plans])
        self.trader_client = TerminalClient(
            TerminalCore(server, trader_sessions, next_id=1, account_update_ms=0), endpoint,
            insecure=self.insecure, clock=lambda: server.now_ms, poll_interval=None, recorder=self.recorder,
            name="trader-terminal", **keys(self.trader_key))
        self.investor_client = TerminalClient(
            TerminalCore(server, investor_sessions, next_id=1, account_update_ms=0, role="investor"), endpoint,
            insecure=self.insecure, clock=lambda: server.now_ms, poll_interval=None, recorder=self.recorder,
            name="investor-terminal", **keys(self.investor_key))
        self.clients = [self.trader_client, self.investor_client]
        for client in self.clients:  # one after the other: hellos reach the daemon in a fixed order
            await client.start()
            await client.wait_welcomed(timeout=30)
            await self.quiesce()
        await self.sync(server.now_ms)

        # the simulated hours
        bots = []
        for tp in self.trader_plans:
            session = next(s for s in trader_sessions if s.login == self.login_of[tp.id])
            bot = TraderBot(tp, session.login, session, cfg.seed)
            bot.schedule(server.now_ms)
            bots.append(bot)
        specs = {s: rules.symbols.get(s) for s in cfg.symbols}
        next_sync = server.now_ms + cfg.sync_ms
        journal = server.journal
        total = end_ms - START_MS
        last_report = 0
        n_ticks = len(cfg.symbols)
        pacer = Pacer(self.watch.pace, server.now_ms, max_gap_ms=cfg.sync_ms) if self.watch.pace else None
        for tick in ticks:
            before = len(journal)
            server.on_tick(tick)
            n_ticks += 1
            now = tick.time_ms
            acted = False
            for bot in bots:
                if now >= bot.next_ms and tick.symbol == bot.plan.symbol:
                    for req in bot.decide(server, rc, TradeRequest, specs[bot.plan.symbol]):
                        res = server.order_send(bot.session, req, reason=rc.DEAL_REASON_CLIENT)
                        self.stats["trader_requests_ok" if res.ok else f"trader_requests_refused_{res.retcode}"] += 1
                    bot.schedule(now)
                    acted = True
            if acted or len(journal) > before + 1 or now >= next_sync:
                await self.sync(now)
                next_sync = now + cfg.sync_ms
            if self.progress is not None and now - last_report >= MINUTE:
                last_report = now
                self.progress(now - START_MS, total)
            if pacer is not None:
                await pacer.wait(now)
        if self.progress is not None:
            self.progress(total, total)

        # the end: time runs to the end of the span (a weekend passes without quotes), then
        # the service stops every subscription, closing its copies; funds return
        if server.now_ms < end_ms:
            server.advance_to(end_ms)
        await self.sync(server.now_ms)
        for sub_id in sorted(int(k) for k in self.daemon.core.status()["subscriptions"]):
            self._admin("stop", subscription=sub_id, requester=None, close_open=True)
        await self.sync(server.now_ms)
        await self.sync(server.now_ms)
        wall = time.perf_counter() - wall0
        return self._report(n_ticks, bots, wall)

    # ---------------------------------------------------------------- the report
    def _report(self, n_ticks: int, bots: list[TraderBot], wall: float) -> dict:
        from bridge.daemon.store import read_commands
        from simulator.server import retcodes as rc

        server, core = self.server, self.daemon.core
        self.daemon._commit()
        db = sqlite3.connect(self.workdir / "demo-journal.db")
        records = [(t, json.loads(b)) for t, b in db.execute("SELECT topic, body FROM records ORDER BY id")]
        statuses = Counter(f"{r.type}:{s}" for r, s, _ in read_commands(db))
        db.close()
        by: dict[str, list[dict]] = defaultdict(list)
        for topic, body in records:
            by[topic.removeprefix("record.")].append(body)

        def total(items, key="amount") -> str:
            return str(sum((Decimal(x[key]) for x in items), ZERO))

        def count(items, key) -> dict:
            return dict(sorted(Counter(str(x[key]) for x in items).items()))

        reasons = {rc.DEAL_REASON_SL: "sl", rc.DEAL_REASON_TP: "tp", rc.DEAL_REASON_SO: "so"}
        traders = {}
        for bot in bots:
            login = bot.login
            deals = [d for d in server.history_deals(login) if d.type in (rc.DEAL_TYPE_BUY, rc.DEAL_TYPE_SELL)]
            info = server.account_info(login)
            traders[bot.plan.id] = {
                "login": login, "style": bot.plan.style, "symbol": bot.plan.symbol,
                "commission_pct": str(bot.plan.commission_pct),
                "positions_opened": sum(d.entry == rc.DEAL_ENTRY_IN for d in deals),
                "closing_deals": dict(sorted(Counter(reasons.get(d.reason, "client") for d in deals
                                                     if d.entry == rc.DEAL_ENTRY_OUT).items())),
                "bot_actions": dict(sorted(bot.actions.items())),
                "balance": str(info.balance), "equity": str(info.equity),
                "followers": sum(1 for i in self.investor_plans if i.trader == bot.plan.id),
            }
        investor_so = 0
        for ip in self.investor_plans:
            investor_so += sum(1 for d in server.history_deals(self.login_of[ip.id])
                               if d.entry == rc.DEAL_ENTRY_OUT and d.reason == rc.DEAL_REASON_SO)
        accrued = by["commission_accrued"]
        credited = by["ib_credited"]
        paid = by["commission_paid"]
        results = {
            "seed": self.cfg.seed,
            "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self.cfg).items()},
            "ticks": n_ticks,
            "traders": traders,
            "subscriptions": {
                "started": len(by["subscription_started"]),
                "stopped": len(by["subscription_stopped"]),
                "refused_requests": count(by["refused"], "code"),
                "invested": total(by["subscription_started"]),
                "returned": total(by["subscription_stopped"], "returned"),
            },
            "copies": {
                "opened": len(by["copy_opened"]),
                "lots_opened": total(by["copy_opened"], "volume"),
                "closed_by_reason": count(by["copy_closed"], "reason"),
                "refused_by_reason": count(by["copy_refused"], "code"),
                "partial_close_skipped": count(by["close_skipped"], "code"),
                "close_failed": count(by["close_failed"], "retcode"),
                "realised_profit": total(by["copy_closed"], "profit"),
            },
            "commands": dict(sorted(statuses.items())),
            "protection": {
                "triggers": len(by["protection_triggered"]),
                "subscriptions": sorted({x["subscription"] for x in by["protection_triggered"]}),
            },
            "stop_outs": {
                "engine_stop_outs": len(by["stop_out_triggered"]),
                "server_closes_trader_accounts": sum(t["closing_deals"].get("so", 0) for t in traders.values()),
                "server_closes_investor_accounts": investor_so,
            },
            "commissions": {
                "accrued": total(accrued),
                "paid": {r: total([x for x in paid if x["reason"] == r]) for r in sorted({x["reason"] for x in paid})},
                "paid_by_trader": {t: total([x for x in paid if x["trader"] == t])
                                   for t in sorted({x["trader"] for x in paid})},
            },
            "partners": {
                "accrued": {p: total([x for x in by["partner_accrued"] if x["partner"] == p])
                            for p in sorted({x["partner"] for x in by["partner_accrued"]})},
                "accrued_by_source": {s: total([x for x in by["partner_accrued"] if x["source"] == s])
                                      for s in sorted({x["source"] for x in by["partner_accrued"]})},
                "credited": {p: total([x for x in credited if x["partner"] == p])
                             for p in sorted({x["partner"] for x in credited})},
            },
            "wallets": {k: str(v) for k, v in sorted(core.engine.wallets.balances.items()) if v},
            "back_office": dict(sorted(self.stats.items())),
            "server_digest": server.digest(),
            "records_digest": hashlib.sha256("\n".join(
                f"{t} {json.dumps(b, sort_keys=True)}" for t, b in records).encode()).hexdigest(),
        }
        results["back_office"].pop("syncs", None)
        lat = self.recorder.summary_ms()
        lat_open = self.recorder.summary_ms(types=("open",))
        timings = {
            "wall_s": round(wall, 3),
            "syncs": self.stats["syncs"],
            "frames_in": self.daemon.stats["frames_in"],
            "frames_out": self.daemon.stats["frames_out"],
            "copy_latency_ms": lat,
            "open_copy_latency_ms": lat_open,
            "daemon_warnings": dict(sorted(self.daemon.log.counts.items())),
            "transport": "plain (insecure)" if self.insecure else "CURVE",
        }
        return {"results": results, "timings": timings}


async def run_demo(cfg: DemoConfig, *, progress: Callable[[int, int], None] | None = None,
                   insecure: bool = False, workdir: Path | None = None, watch: WatchConfig | None = None,
                   on_ready: Callable[[WatchInfo], None] | None = None,
                   on_report: Callable[[dict], None] | None = None,
                   hold: Callable[[], Awaitable[Any]] | None = None) -> dict:
    """Run the demo; returns {"results": ..., "timings": ...}.

    `watch`: dashboard / pace / feed address (`results` do not depend on it). `on_ready(info)`
    once the daemon (and the dashboard) listen; `on_report(report)` as soon as the report is
    ready; then, if given, `await hold()` with everything still running (the CLI's --hold:
    until Ctrl-C), and only then the shutdown."""
    def demo(path: Path) -> Demo:
        return Demo(cfg, workdir=path, progress=progress, insecure=insecure, watch=watch, on_ready=on_ready,
                    on_report=on_report, hold=hold)

    if workdir is not None:
        return await demo(workdir).run()
    with tempfile.TemporaryDirectory(prefix="mtbridge-demo-") as tmp:
        return await demo(Path(tmp)).run()


# --------------------------------------------------------------------------------- text report
def render_text(report: dict) -> str:
    r, t = report["results"], report["timings"]
    c = r["copies"]
    out = [(f"mtbridge demo - seed {r['seed']}: {r['config']['traders']} traders, {r['config']['investors']} "
            f"investors, {r['config']['hours']} simulated hours, {r['ticks']} quotes ({t['transport']})"), ""]
    out.append("Traders")
    for tid, x in r["traders"].items():
        closes = ", ".join(f"{k} {v}" for k, v in x["closing_deals"].items()) or "none"
        out.append(f"  {tid:<9} {x['style']:<8} {x['symbol']}  followers {x['followers']:>2}  commission "
                   f"{x['commission_pct']:>2}%  positions {x['positions_opened']:>3}  closing deals: {closes}  "
                   f"equity {x['equity']}")
    out.append("")
    out.append(f"Copies opened:   {c['opened']} ({c['lots_opened']} lots)")
    out.append("Copies closed:   " + (", ".join(f"{k} {v}" for k, v in c["closed_by_reason"].items()) or "none"))
    out.append("Copies refused:  " + (", ".join(f"{k} {v}" for k, v in c["refused_by_reason"].items()) or "none"))
    if c["partial_close_skipped"]:
        out.append("Partial closes skipped: " + ", ".join(f"{k} {v}" for k, v in c["partial_close_skipped"].items()))
    if c["close_failed"]:
        out.append("Closes refused by the server (retcode): " +
                   ", ".join(f"{k} {v}" for k, v in c["close_failed"].items()))
        if "10036" in c["close_failed"]:
            out.append("  (10036 = position already closed: the trade server closed the copy first; the engine "
                       "books that close from the server's report and does not retry)")
    out.append(f"Copies' realised profit: {c['realised_profit']} USD")
    p, s = r["protection"], r["stop_outs"]
    out.append(f"Protection triggers: {p['triggers']}" + (f" (subscriptions {p['subscriptions']})" if p["triggers"] else ""))
    out.append(f"Stop-outs: engine {s['engine_stop_outs']}, server closes on trader accounts "
               f"{s['server_closes_trader_accounts']}, on investor accounts {s['server_closes_investor_accounts']}")
    cm = r["commissions"]
    out.append(f"Commissions: accrued {cm['accrued']} USD; paid " +
               (", ".join(f"{k} {v}" for k, v in cm["paid"].items()) or "0") + " USD")
    pa = r["partners"]
    out.append("Partner payouts: credited " + (", ".join(f"{k} {v}" for k, v in pa["credited"].items()) or "none") +
               " USD; accrued " + (", ".join(f"{k} {v}" for k, v in pa["accrued_by_source"].items()) or "none"))
    sub = r["subscriptions"]
    out.append(f"Subscriptions: {sub['started']} started, {sub['stopped']} stopped; invested {sub['invested']} USD, "
               f"returned {sub['returned']} USD")
    lat = t["copy_latency_ms"]
    out.append("")
    out.append(f"Copy latency (trader event sent -> investor command received, {lat['samples']} copies): "
               f"p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms")
    out.append(f"Run: {t['wall_s']} s wall, {t['syncs']} syncs, {t['frames_in']} frames in / {t['frames_out']} out")
    out.append(f"Determinism: server journal {r['server_digest'][:16]}, daemon records {r['records_digest'][:16]}")
    return "\n".join(out)


# --------------------------------------------------------------------------------- CLI
def _host_port(text: str) -> tuple[str, int]:
    try:
        return parse_host_port(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _pace(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0 simulated seconds per wall second, got {text!r}")
    return value


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register `mtbridge demo` on the CLI's subparsers."""
    p = subparsers.add_parser(
        "demo", help="run the whole bridge on a seeded simulation and print a report",
        description="Start the daemon, a simulated trade server and its terminals on loopback (CURVE keys "
                    "generated on the fly), run a seeded scenario of simulated hours and print a report. "
                    "With --json, `results` is identical across runs with the same seed (with or without "
                    "--dashboard, --pace, --hold: they only watch).",
        epilog="watch it: mtbridge demo --dashboard --pace 600 --hold, then open the printed URL "
               f"(log in as {DEALER_USER} or as a printed investor account)",
    )
    p.add_argument("--seed", type=int, default=7, help="scenario seed (default 7)")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--traders", type=int, default=3, help="trader accounts (default 3)")
    p.add_argument("--investors", type=int, default=50, help="investor accounts (default 50)")
    p.add_argument("--hours", type=int, default=64,
                   help="simulated hours from Friday 12:00 (default 64: to Monday 04:00, over the weekend)")
    p.add_argument("--insecure", action="store_true", help="plain-text transport (no CURVE)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument("--dashboard", nargs="?", const=DASHBOARD_DEFAULT, default=None, type=_host_port,
                   metavar="HOST:PORT",
                   help="serve the web dashboard in-process on the demo's feed (default 127.0.0.1:8050; port 0 = "
                        f"any free port); prints its URL, the dealer login `{DEALER_USER}` with a random password "
                        "and an investor login to stderr")
    p.add_argument("--pace", type=_pace, default=0.0, metavar="X",
                   help="run X simulated seconds per wall second while quotes flow (e.g. 600: an hour in 6 s; "
                        "the weekend without quotes is skipped); default 0 = as fast as possible")
    p.add_argument("--hold", action="store_true",
                   help="after the report keep the daemon (and the dashboard) running until Ctrl-C")
    p.add_argument("--pub", default=None, metavar="ADDRESS",
                   help="the daemon's feed address (default tcp://127.0.0.1:* = any free port; printed when "
                        "watching)")
    p.set_defaults(handler=run_command)


def _say(text: str) -> None:
    print(f"mtbridge demo: {text}", file=sys.stderr, flush=True)


def announce(info: WatchInfo, *, pace: float, hold: bool) -> None:
    """What a watcher needs, once, on stderr (the dealer password is not shown anywhere else)."""
    if info.url:
        _say(f"dashboard {info.url}")
        _say(f"  dealer:   {info.dealer} / {info.dealer_password}   (random, printed once)")
        if info.investors:
            inv, login, pw = info.investors[0]
            _say(f"  investor: {login} / {pw}   ({inv}; every investor account logs in with its login and "
                 "investor password)")
    _say(f"feed {info.feed} ({'CURVE' if info.curve else 'plain'}); console view from another shell:")
    _say(f"  {info.monitor_command()}")
    if info.monitor_key_file is not None:
        _say(f"  keys: server {info.server_key_file}, monitor {info.monitor_key_file} (deleted when the demo ends)")
    if pace:
        _say(f"pace: {pace:g} simulated seconds per wall second (the weekend without quotes is skipped)")
    if hold:
        _say("--hold: after the report the daemon and the dashboard keep running; Ctrl-C to stop")


def run_command(args: argparse.Namespace) -> int:
    if args.traders < 1 or args.investors < 0 or args.hours < 1:
        print("mtbridge demo: error: need at least 1 trader, 0 investors and 1 hour", file=sys.stderr)
        return 2
    cfg = DemoConfig(seed=args.seed, traders=args.traders, investors=args.investors, hours=args.hours)
    dashboard = getattr(args, "dashboard", None)
    pace = getattr(args, "pace", 0.0) or 0.0
    hold = bool(getattr(args, "hold", False))
    pub = getattr(args, "pub", None)
    watching = dashboard is not None or hold or bool(pace) or pub is not None
    watch = WatchConfig(dashboard=dashboard, pace=pace, pub=pub or DEFAULT_PUB, key_files=watching)
    if dashboard is not None and not _is_loopback(dashboard[0]):
        _say(f"warning: the dashboard listens on {dashboard[0]}, not loopback; the demo's investor accounts share "
             "one well-known investor password")
    show = not args.no_progress and sys.stderr.isatty()
    bar: Any = None
    if show:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        bar = Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.fields[sim]}"), TimeElapsedColumn(),
                       transient=True, console=__import__("rich.console").console.Console(stderr=True))
        task = bar.add_task("demo", total=cfg.hours * HOUR, sim="")

        def progress(done: int, total_: int) -> None:
            h, m = divmod(done // MINUTE, 60)
            bar.update(task, completed=done, sim=f"{h:02d}:{m:02d} of {cfg.hours:02d}:00 simulated")
    else:
        progress = None  # type: ignore[assignment]
    printed: list[dict] = []
    ready: list[WatchInfo] = []

    def on_ready(info: WatchInfo) -> None:
        ready.append(info)
        if watching:
            announce(info, pace=pace, hold=hold)
        if show:
            bar.start()

    def on_report(report: dict) -> None:
        if show:
            bar.stop()
        if args.json:
            print(json.dumps(report, indent=2, sort_keys=False), flush=True)
        else:
            print(render_text(report), flush=True)
        printed.append(report)
        if hold:
            url = ready[0].url if ready else None
            _say("the run is over; the daemon" + (f" and the dashboard ({url})" if url else "") +
                 " keep running. Ctrl-C to stop")

    async def wait_forever() -> None:
        """--hold: until Ctrl-C (asyncio.run cancels the run) or SIGTERM (ends the hold)."""
        import signal

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGTERM, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here
            pass
        try:
            await stop.wait()
        finally:
            try:
                loop.remove_signal_handler(signal.SIGTERM)
            except (NotImplementedError, RuntimeError, ValueError):
                pass

    import zmq

    restore = _log_to_stderr() if dashboard is not None else None
    try:
        asyncio.run(run_demo(cfg, progress=progress, insecure=args.insecure, watch=watch, on_ready=on_ready,
                             on_report=on_report, hold=wait_forever if hold else None))
    except KeyboardInterrupt:
        if not printed:
            _say("interrupted")
            return 130
    except (OSError, zmq.ZMQError) as exc:  # a busy --dashboard port or --pub address
        _say(f"error: {exc}")
        return 2
    finally:
        if show and bar.live.is_started:
            bar.stop()
        if restore is not None:
            restore()
    return 0


def _log_to_stderr() -> Callable[[], None]:
    """The dashboard logs with structlog (stdout by default): send it to stderr, warnings only, so
    stdout holds the report alone. Returns a function restoring the previous configuration."""
    import structlog

    from bridge.daemon.running import configure_logging

    previous = structlog.get_config()
    configure_logging(pretty=True, level="warning")
    return lambda: structlog.configure(**previous)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mtbridge")
    add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["demo", *(argv or [])])
    return args.handler(args)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
