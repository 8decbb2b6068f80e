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
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import zmq.utils.z85  # noqa: F401 - the daemon's ZAP handler uses zmq.utils.z85 without importing it

from bridge.copytrading.config import EngineConfig
from bridge.daemon.config import DaemonConfig, PartnerAgreement
from bridge.daemon.keys import AllowEntry, AllowList, generate_keypair
from bridge.domain.instruments import SymbolCatalog
from bridge.domain.rules import Rules, default_rules
from mtbridge_demo.bots import TraderBot
from mtbridge_demo.daemons import InChildProcess, InProcess
from mtbridge_demo.plan import (HOUR, INVESTOR_PW, MASTER, MINUTE, PARTNERS, START_BID, START_MS, SUFFIX, DemoConfig,
                                InvestorPlan, plan)
from mtbridge_demo.nodes import Node, SqliteJournal
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
class QuiescenceTimeout(RuntimeError):
    pass


class Demo:
    def __init__(self, cfg: DemoConfig, *, workdir: Path, progress: Callable[[int, int], None] | None = None,
                 insecure: bool = False, watch: WatchConfig | None = None,
                 on_ready: Callable[[WatchInfo], None] | None = None,
                 on_report: Callable[[dict], None] | None = None,
                 hold: Callable[[], Awaitable[Any]] | None = None, shards: int = 0,
                 pg_url: str | None = None) -> None:
        self.cfg = cfg
        self.shards = shards  # 0: one daemon, SQLite journal; N: N daemons sharded by trader on PostgreSQL
        self.pg_url = pg_url
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
        self._time_passed = 0
        self.nodes: list[Node] = []
        self.node_of: dict[str, Node] = {}  # trader or investor id -> its daemon
        self.pg: Any = None  # mtbridge_demo.shards.PgServer when sharded
        self._subscriptions_started = 0

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

    def _admin(self, node: Node, op: str, **args: Any) -> dict:
        """A back-office request to the daemon of the shard it concerns (`node`)."""
        reply = node.daemon.admin({"op": op, "args": args}, self.now)  # then the step: journal, then send
        if not reply.get("ok"):
            raise RuntimeError(f"admin {op} {args}: {reply}")
        for r in reply.get("records", ()):
            if r["topic"] == "record.refused":
                self.stats[f"backoffice_refused.{r['code']}"] += 1
            elif r["topic"] == "record.subscription_started":  # the demo's numbering: the order started
                self._subscriptions_started += 1
                node.subscriptions[r["subscription"]] = self._subscriptions_started
        return reply

    async def _daemon_tick(self) -> None:
        """Engine time moves here, once per sync, never from the daemon's timer loop (its
        `engine_tick_ms` is "never"), so TimePassed lands at the same place on every run.
        Several daemons: one after the other, each answered before the next moves."""
        moved = self.now > self._time_passed
        if moved:
            self._time_passed = self.now
        for i, node in enumerate(self.nodes):
            if i:
                await self.quiesce()
            node.daemon.tick(self.now, moved)  # TimePassed if time moved, then the step: journal, then send

    def _quiet(self) -> bool:
        return all(node.quiet() for node in self.nodes)

    async def quiesce(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        spins = 0
        while not self._quiet():
            if time.monotonic() > deadline:
                raise QuiescenceTimeout(f"daemon not quiescent after {timeout} s: " +
                                        "; ".join(n.state() for n in self.nodes if not n.quiet()))
            spins += 1
            await asyncio.sleep(0 if spins < 20 else 0.0005)

    def _book_balance_operations(self) -> int:
        """Back office: book the balance operations the daemon confirmed, in command-id order.

        The daemon runs with `balance_operations = "confirm"` (it confirms them itself and
        publishes them for the broker); the demo books each one on the trade server once,
        reading them from the daemon's journal (deterministic, unlike the lossy PUB feed)."""
        rows = []
        for node in self.nodes:  # shard by shard, each in command-id order
            for row, _, _ in node.journal.commands(node.booked_cid, "balance"):
                node.booked_cid = row.cid
                rows.append(row)
        for row in rows:
            login, volume, reason = row.login, row.volume, row.reason
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
        await self._daemon_tick()
        mono = self.nodes[0].trader_client.mono
        for _ in range(50):
            busy = False
            for node in self.nodes:  # shards in order: the traders' logins in the plain demo's order
                for m in node.trader_client.core.poll(now, None, mono()):
                    await node.trader_client.send([m])
                    await self.quiesce()
                    busy = True
            for i, node in enumerate(self.nodes):
                out = node.investor_client.core.poll(now, None, mono())
                if out:
                    if i:  # the previous shard's answers executed first: one order on the trade server
                        await self.quiesce()
                    await node.investor_client.send(out)
                    busy = True
            await self.quiesce()
            if self._book_balance_operations():
                busy = True
                await self.quiesce()
            if not busy:
                break
        self.stats["syncs"] += 1

    def _endpoint_of(self, node: Node) -> str:
        if not node.shard:
            return node.daemon.endpoints["router"]
        from mtbridge_demo.shards import owner_endpoint

        return owner_endpoint(self.pg.url, node.shard)

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
            await self._start_daemons(config)
        except BaseException:
            self.watcher.stop()
            await self._close_daemons()
            raise
        try:
            self.watch_info = await self.watcher.start(
                self.daemon.endpoints["pub"], self.server_key, self.monitor_key, investors,
                [(tp.id, self.login_of[tp.id]) for tp in self.trader_plans],
                admin=(self.daemon.endpoints.get("admin"), self.desk_key))
            if self.on_ready is not None:
                self.on_ready(self.watch_info)
            report = await self._scenario(ticks, rules, end_ms, wall0)
            if self.shards:  # which daemon owned which shard, traders and logins
                from mtbridge_demo.shards import cluster_report

                report["cluster"] = cluster_report(self.pg.url, self.nodes, self.login_of, "PostgreSQL")
            if self.on_report is not None:
                self.on_report(report)
            if self.hold is not None:
                await self.hold()
            return report
        finally:
            self.watcher.stop()
            for node in self.nodes:
                for c in node.clients:
                    await c.stop()
            await self._close_daemons()

    async def _start_daemons(self, config: DaemonConfig) -> None:
        """One daemon on its SQLite journal, or one per shard on PostgreSQL (mtbridge_demo.shards)."""
        if not self.shards:
            self.nodes = [Node("daemon", "", tuple(t.id for t in self.trader_plans),
                               tuple(i.id for i in self.investor_plans),
                               SqliteJournal(self.workdir / "demo-journal.db"), config)]
        else:
            from mtbridge_demo import shards as sh

            self.pg = sh.PgServer(self.pg_url)
            self.nodes = sh.plan_nodes(self.trader_plans, self.investor_plans, self.shards, self.pg.url)
            sh.register_cluster(self.pg.url, self.nodes, self.login_of)
            for node in self.nodes:
                node.config = sh.node_config(config, node, self.pg.url)
        for node in self.nodes:
            self.node_of.update({x: node for x in (*node.trader_ids, *node.investor_ids)})
            node.daemon = (InChildProcess(node.config, self.insecure, self.now, node.name) if node.shard else
                           InProcess(node.config, self.insecure, lambda: self.now))
            await node.daemon.start()
        self.daemon = self.nodes[0].daemon  # the one the watcher (feed, dashboard) listens to

    async def _close_daemons(self) -> None:
        try:
            for node in self.nodes:
                node.journal.close()
                if node.daemon is not None:
                    await node.daemon.close()
        finally:
            if self.pg is not None:
                self.pg.close()

    async def _scenario(self, ticks, rules, end_ms: int, wall0: float) -> dict:
        cfg, server = self.cfg, self.server
        self.now = server.now_ms
        # back office: partners (from the config), traders, clients, wallets, subscriptions
        for tp in self.trader_plans:
            self._admin(self.node_of[tp.id], "register_trader", trader=tp.id, account=self.login_of[tp.id],
                        account_type=tp.account_type,
                        leverage=tp.leverage, commission_pct=str(tp.commission_pct))
            if tp.ib:
                self._admin(self.node_of[tp.id], "assign_client", client=tp.id, partner=tp.ib)
        for ip in self.investor_plans:
            node = self.node_of[ip.id]
            if ip.ib:
                self._admin(node, "assign_client", client=ip.id, partner=ip.ib)
            self._admin(node, "deposit", owner=ip.id, amount=str(ip.amount + 100))
            reply = self._admin(node, "subscribe", investor=ip.id, trader=ip.trader, account=self.login_of[ip.id],
                                amount=str(ip.amount), mode=ip.mode,
                                protection_pct=None if ip.protection_pct is None else str(ip.protection_pct),
                                leverage=ip.leverage, account_type=ip.account_type, currency=ip.currency)
            if ip.settings:  # issue 15: the showcase subscriptions' copy settings, set by the service
                (sub_id,) = [r["subscription"] for r in reply.get("records", ())
                             if r["topic"] == "record.subscription_started"]
                self._admin(node, "set_copy_settings", subscription=sub_id, requester=None, **dict(ip.settings))
        self._book_balance_operations()

        # terminals: real DEALER sockets with CURVE (or plain with --insecure); sharded: a trader
        # terminal and an investor terminal per shard, at the endpoint its lease names (its owner)
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
        investor_sessions: list = []
        for node in self.nodes:
            endpoint = self._endpoint_of(node)
            mine = {self.login_of[x] for x in (*node.trader_ids, *node.investor_ids)}
            trader_end: Any = (self.gateway.links["trader"] if cfg.traders_by == "plugin" else
                               TerminalCore(server, [s for s in trader_sessions if s.login in mine], next_id=1,
                                            account_update_ms=0))
            node.trader_client = TerminalClient(
                trader_end, endpoint, insecure=self.insecure, clock=lambda: server.now_ms, poll_interval=None,
                recorder=self.recorder, name="gateway-traders" if cfg.traders_by == "plugin" else "trader-terminal",
                **keys(self.trader_key))
            if self.gateway is not None:
                investor_end: Any = self.gateway.links["investor"]
            else:
                if not investor_sessions:  # every investor signs in once, in plan order
                    investor_sessions = login_sessions(server, [(login, MASTER) for login in investor_logins])
                investor_end = TerminalCore(server, [s for s in investor_sessions if s.login in mine], next_id=1,
                                            account_update_ms=0, role="investor")
            node.investor_client = TerminalClient(
                investor_end, endpoint, insecure=self.insecure, clock=lambda: server.now_ms, poll_interval=None,
                recorder=self.recorder, name="gateway" if cfg.mode == "plugin" else "investor-terminal",
                **keys(self.investor_key))
            for client in node.clients:  # one after the other: hellos reach the daemon in a fixed order
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
        # in the demo's order of subscriptions (a daemon's own ids: per shard)
        subs = sorted((node.subscriptions.get(k, 0), i, k, node) for i, node in enumerate(self.nodes)
                      for k in node.daemon.summary()["subscriptions"])
        for _, _, sub_id, node in subs:
            self._admin(node, "stop", subscription=sub_id, requester=None, close_open=True)
            if len(self.nodes) > 1:  # its closes executed before the next shard's: one order on the trade server
                await self.quiesce()
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
                   hold: Callable[[], Awaitable[Any]] | None = None, shards: int = 0,
                   pg_url: str | None = None) -> dict:
    """Run the demo; returns {"results": ..., "timings": ...} (and "cluster" when sharded).

    `shards` N >= 1: N daemons sharded by trader on one PostgreSQL (`pg_url`, or a throwaway
    server), mtbridge_demo.shards; 0 (the default): one daemon, SQLite journal.

    `watch`: dashboard / pace / feed address (`results` do not depend on it). `on_ready(info)`
    once the daemon (and the dashboard) listen; `on_report(report)` as soon as the report is
    ready; then, if given, `await hold()` with everything still running (the CLI's --hold:
    until Ctrl-C), and only then the shutdown."""
    def demo(path: Path) -> Demo:
        return Demo(cfg, workdir=path, progress=progress, insecure=insecure, watch=watch, on_ready=on_ready,
                    on_report=on_report, hold=hold, shards=shards, pg_url=pg_url)

    if workdir is not None:
        return await demo(workdir).run()
    with tempfile.TemporaryDirectory(prefix="mtbridge-demo-") as tmp:
        return await demo(Path(tmp)).run()

