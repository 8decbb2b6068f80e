"""`mtbridge demo`: the whole bridge on loopback, driven by a seeded simulation.

Wiring (one asyncio loop, one process):

* the simulated trade server (`simulator.server.TradeServer`) fed by seeded random walks
  (`simulator.prices`), on virtual time;
* the daemon (`bridge.daemon.server.Daemon`: ROUTER + CURVE/ZAP with a per-key allow-list,
  SQLite journal in a temporary directory, the copy engine inside) with CURVE keys
  generated on the fly; its clock is the demo's virtual clock;
* two simulated terminals (`simulator.terminals`), real DEALER sockets with CURVE: one
  for the trader accounts and one for all investor accounts (the allow-list binds each
  terminal key to its logins); in `--mode plugin` the investors have no terminal: the
  gateway plugin on the trade server (`simulator.gateway`) serves them over one DEALER
  socket, executing the daemon's commands as dealer actions (its key is marked
  `gateway = true` on the allow-list). The daemon sees the same frames either way, so the
  business results are the same; only the server's journal differs (no investor logins,
  `dealer_action` lines), hence `server_digest`;
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

**Watching** (`mtbridge_demo.watch`: dashboard, pace, feed address) only listens: `results`
are the same with or without it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sqlite3
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import zmq.utils.z85  # noqa: F401 - the daemon's ZAP handler uses zmq.utils.z85 without importing it

from bridge.copytrading.config import EngineConfig
from bridge.copytrading.events import TimePassed
from bridge.daemon.config import DaemonConfig, PartnerAgreement
from bridge.daemon.keys import AllowEntry, AllowList, generate_keypair
from bridge.daemon.server import Daemon
from bridge.daemon.store import read_commands
from bridge.domain.instruments import SymbolCatalog
from bridge.domain.rules import Rules, default_rules
from mtbridge_demo.bots import TraderBot
from mtbridge_demo.plan import (HOUR, INVESTOR_PW, MASTER, MINUTE, PARTNERS, START_BID, START_MS, SUFFIX, DemoConfig,
                                InvestorPlan, plan)
from mtbridge_demo.report import build_report
from mtbridge_demo.watch import Pacer, WatchConfig, WatchInfo, Watcher
from simulator.prices import RandomWalkFeed, WalkSpec, merge_feeds
from simulator.prices.tick import Tick
from simulator.server import DealInfo, TradeServer
from simulator.server import retcodes as rc
from simulator.gateway import GatewayPlugin
from simulator.server.plugins.rules import default_plugins
from simulator.terminals import LatencyRecorder, TerminalClient, TerminalCore, login_sessions

FAR = 10**12  # "never" for daemon timers driven by virtual time


# --------------------------------------------------------------------------------- the run
class _QuietLog:
    """The daemon's structlog sink during the demo: counts warnings, prints nothing."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def _record(self, level: str, event: str, **_: Any) -> None:
        if level != "info":
            self.counts[event] += 1

    def get_effective_level(self) -> int:  # the daemon builds its debug events only below INFO
        return logging.INFO

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
        self.watcher = Watcher(self.watch, insecure=insecure, workdir=workdir)
        self.watch_info: WatchInfo | None = None
        self.now = START_MS  # the daemon's clock: virtual time, moved only by sync()
        self.stats: Counter[str] = Counter()
        self._journal_db: sqlite3.Connection | None = None
        self._booked_cid = 0
        self._time_passed = 0

    # ---------------------------------------------------------------- set-up
    def _build_server(self) -> None:
        cfg = self.cfg
        # plugin mode: the gateway is one more plugin of the server, after the seeds' rules
        self.gateway = GatewayPlugin(next_id=1, account_update_ms=0) if cfg.mode == "plugin" else None
        plugins = None if self.gateway is None else [*default_plugins(), self.gateway]
        self.trader_plans, self.investor_plans = plan(cfg)
        self.server = TradeServer(server_rules(cfg, self.investor_plans), seed=cfg.seed, start_ms=START_MS,
                                  scrypt_n=2**4, server_name="mtbridge-demo", plugins=plugins)
        # issue 15's suffix map: the server quotes EURUSDc as EURUSD (the same market, another name)
        self.mirrored = {s: s + SUFFIX for s in cfg.symbols if s + SUFFIX in self.server.symbols()}
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
            login = s.open_account(email, ip.account_type, ip.currency, ip.leverage, master_password=MASTER,
                                   investor_password=INVESTOR_PW)
            assert isinstance(login, int), login
            self.login_of[ip.id], self.email_of[login] = login, email

    def _daemon_config(self):
        self.server_key = generate_keypair()
        self.trader_key = generate_keypair()
        self.investor_key = generate_keypair()
        self.admin_key = generate_keypair()
        self.monitor_key = generate_keypair()  # always listed: the daemon's config is the same with or without
        self.desk_key = generate_keypair()  # the dashboard's dealer actions (admin role), listed the same way
        trader_logins = tuple(self.login_of[t.id] for t in self.trader_plans)
        investor_logins = tuple(self.login_of[i.id] for i in self.investor_plans)
        allow = AllowList((
            AllowEntry("demo-traders", self.trader_key.public, trader_logins, "trader",
                       gateway=self.cfg.traders_by == "plugin"),
            # the same key name in both modes: the daemon's records do not depend on the mode
            AllowEntry("demo-investors", self.investor_key.public, investor_logins, "investor",
                       gateway=self.cfg.mode == "plugin"),
            AllowEntry("demo-admin", self.admin_key.public, (), "admin"),
            AllowEntry("demo-monitor", self.monitor_key.public, (), "monitor"),
            AllowEntry("demo-desk", self.desk_key.public, (), "admin"),
        ))  # fmt: skip
        return DaemonConfig(
            # the admin endpoint only for the dashboard's dealer actions; the demo's own requests go in-process
            router="tcp://127.0.0.1:*", pub=self.watch.pub,
            admin="tcp://127.0.0.1:*" if self.watch.dashboard is not None else "",
            heartbeat_ms=FAR, offline_after=5, resend_after_ms=FAR, close_profit_wait_ms=FAR,
            engine_tick_ms=FAR, balance_operations="confirm", server_key=self.server_key, allow=allow,
            journal_path=self.workdir / "demo-journal.db", snapshot_every_events=10**9, snapshot_every_s=10**9,
            engine=EngineConfig(eligible_trader_types=("mt4_standard", "mt4_pro")),
            partners=tuple(PartnerAgreement(pid, ref, rate) for pid, ref, rate in PARTNERS),
            source="<demo>",
        )  # fmt: skip

    # ---------------------------------------------------------------- daemon plumbing
    def _quote(self, tick: Tick) -> int:
        """One quote to the server, and to its suffixed twin (EURUSDc) when the demo has one;
        returns how many quotes were sent (each is one journal line)."""
        self.server.on_tick(tick)
        twin = self.mirrored.get(tick.symbol)
        if twin is None:
            return 1
        self.server.on_tick(dataclasses.replace(tick, symbol=twin))
        return 2

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
                WalkSpec(sym, Decimal(START_BID.get(sym, 100000)).scaleb(-spec.digits), spec.digits, 12,
                         volatility_points=Decimal(9), interval_ms=cfg.tick_ms, gap_points=Decimal(150)),
                cfg.seed, START_MS, end_ms, calendar=self.server.calendar))  # fmt: skip
        ticks = iter(merge_feeds(*feeds))
        first = [next(ticks) for _ in cfg.symbols]
        for t in first:
            self._quote(t)

        config = self._daemon_config()
        investors = [(ip.id, self.login_of[ip.id]) for ip in self.investor_plans]
        self.watcher.bind(investors)  # before the daemon: a busy port fails fast
        try:
            self.daemon = Daemon(config, insecure=self.insecure, log=_QuietLog(), clock=lambda: self.now)
            await self.daemon.start()
        except BaseException:
            self.watcher.stop()
            raise
        try:
            self.watch_info = await self.watcher.start(
                self.daemon.endpoints["pub"], self.server_key, self.monitor_key, investors,
                [(tp.id, self.login_of[tp.id]) for tp in self.trader_plans],
                admin=(self.daemon.endpoints.get("admin"), self.desk_key))
            if self.on_ready is not None:
                self.on_ready(self.watch_info)
            report = await self._scenario(ticks, rules, end_ms, wall0)
            if self.on_report is not None:
                self.on_report(report)
            if self.hold is not None:
                await self.hold()
            return report
        finally:
            self.watcher.stop()
            for c in getattr(self, "clients", ()):
                await c.stop()
            if self._journal_db is not None:
                self._journal_db.close()
            await self.daemon.close()

    async def _scenario(self, ticks, rules, end_ms: int, wall0: float) -> dict:
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
            reply = self._admin("subscribe", investor=ip.id, trader=ip.trader, account=self.login_of[ip.id],
                                amount=str(ip.amount), mode=ip.mode,
                                protection_pct=None if ip.protection_pct is None else str(ip.protection_pct),
                                leverage=ip.leverage, account_type=ip.account_type, currency=ip.currency)
            if ip.settings:  # issue 15: the showcase subscriptions' copy settings, set by the service
                (sub_id,) = [r["subscription"] for r in reply.get("records", ())
                             if r["topic"] == "record.subscription_started"]
                self._admin("set_copy_settings", subscription=sub_id, requester=None, **dict(ip.settings))
        self._book_balance_operations()

        # terminals: real DEALER sockets with CURVE (or plain with --insecure)
        endpoint = self.daemon.endpoints["router"]
        self.recorder = LatencyRecorder()
        def keys(kp) -> dict:
            if self.insecure:
                return {}
            return {"server_key": self.server_key.public, "public_key": kp.public, "secret_key": kp.secret}
        # the traders sign in to trade (the bots' sessions); their EA reports, or the gateway does
        trader_sessions = login_sessions(server, [(self.login_of[t.id], MASTER) for t in self.trader_plans])
        investor_logins = [self.login_of[i.id] for i in self.investor_plans]
        if self.gateway is not None:  # no investor terminal: the gateway plugin serves every investor account
            at_server = {"investor": investor_logins}
            if cfg.traders_by == "plugin":
                at_server["trader"] = [s.login for s in trader_sessions]
            self.gateway.serve(at_server)
        trader_end: Any = (self.gateway.links["trader"] if cfg.traders_by == "plugin" else
                           TerminalCore(server, trader_sessions, next_id=1, account_update_ms=0))
        self.trader_client = TerminalClient(
            trader_end, endpoint, insecure=self.insecure, clock=lambda: server.now_ms, poll_interval=None,
            recorder=self.recorder, name="gateway-traders" if cfg.traders_by == "plugin" else "trader-terminal",
            **keys(self.trader_key))
        if self.gateway is not None:
            investor_end: Any = self.gateway.links["investor"]
        else:
            investor_sessions = login_sessions(server, [(login, MASTER) for login in investor_logins])
            investor_end = TerminalCore(server, investor_sessions, next_id=1, account_update_ms=0, role="investor")
        self.investor_client = TerminalClient(
            investor_end, endpoint, insecure=self.insecure, clock=lambda: server.now_ms, poll_interval=None,
            recorder=self.recorder, name="gateway" if cfg.mode == "plugin" else "investor-terminal",
            **keys(self.investor_key))
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
            quoted = self._quote(tick)
            n_ticks += 1
            now = tick.time_ms
            acted = False
            for bot in bots:
                if now >= bot.next_ms and tick.symbol == bot.plan.symbol:
                    for req in bot.decide(server, specs[bot.plan.symbol]):
                        res = server.order_send(bot.session, req, reason=rc.DEAL_REASON_CLIENT)
                        self.stats["trader_requests_ok" if res.ok else f"trader_requests_refused_{res.retcode}"] += 1
                    bot.schedule(now)
                    acted = True
            if acted or len(journal) > before + quoted or now >= next_sync:
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
        return build_report(self, n_ticks, bots, wall)


def server_rules(cfg: DemoConfig, investors: list[InvestorPlan]) -> Rules:
    """The packaged rules, plus a suffixed twin of each demo symbol (EURUSDc: same contract,
    same margin group) when an investor's settings map symbols with the demo's suffix."""
    rules = default_rules()
    if not any(("symbol_suffix", SUFFIX) in ip.settings for ip in investors):
        return rules
    twins = [dataclasses.replace(rules.symbols.get(s), name=s + SUFFIX) for s in cfg.symbols]
    return Rules(SymbolCatalog([*rules.symbols, *twins], "demo"), rules.account_types, rules.tiers)


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

