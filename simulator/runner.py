"""Running a scenario: the `Simulation` (server + feeds + scripted steps + strategies on one
virtual timeline) and the run summary printed by ``mtbridge simulate``.

Order of events (deterministic): the merged feed (time, symbol, source order) is consumed
in time order; a scripted step due at time T runs after every quote with time <= T (the
server is first moved to T), steps at one instant in file order. After each quote of a
strategy's symbol, the strategies on that symbol (in file order) decide if their ``every``
period has come round (aligned on multiples of ``every`` since the epoch). Everything the
server does is journaled; the runner adds one ``scenario`` record first (name, seed, span)
and one ``script`` record per scripted step (what it did, or why it could not).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from bridge.domain.errors import Refusal
from bridge.domain.money import round_money
from bridge.protocol.orders import OrderKind
from simulator.journal import Journal
from simulator.report import EquityCurve, TradeRow, equity_svg, trade_rows, trades_csv
from simulator.prices import CsvTickFeed, Mt5TickFileFeed, RandomWalkFeed, Tick, WalkSpec, merge_feeds
from simulator.scenario import PENDING_ACTIONS, Scenario, ScriptedAction
from simulator.server import TradeRequest, TradeServer
from simulator.server import retcodes as rc
from simulator.strategies import STRATEGIES, strategy_rng

__all__ = ["AccountSummary", "RunSummary", "Simulation", "SimulationError"]

ZERO = Decimal(0)
# the scenario's pending-order actions: the wire's order types the simulated server runs
# (bridge.protocol.orders, the one list; its stop-limits are not simulated)
_PENDING = {kind: OrderKind(kind).code for kind in PENDING_ACTIONS}


class SimulationError(RuntimeError):
    """The scenario could not be set up (e.g. the server refused an account)."""


def _only(feed, symbol: str) -> Iterator[Tick]:
    return (t for t in feed if t.symbol == symbol)


@dataclass(frozen=True, slots=True)
class AccountSummary:
    id: str
    login: int
    account_type: str
    currency: str
    leverage: int
    balance: Decimal
    equity: Decimal
    margin: Decimal
    margin_level: Decimal | None  # percent, 2 places; None with no margin in use
    deposits: Decimal
    withdrawals: Decimal
    trades: int  # positions opened (deals with entry IN)
    deals: int  # buy/sell deals
    open_positions: int
    swaps: Decimal  # total swap charged (accrued on positions, open or closed)
    swap_charges: int
    margin_calls: int
    stop_outs: int  # stop-out events
    stop_out_closes: int  # positions closed by stop-out
    max_drawdown_pct: Decimal = Decimal(0)  # largest fall of equity from its running peak, percent (2 places)

    @property
    def net(self) -> Decimal:
        """What the account made or lost, in its currency: equity less the money put in."""
        return self.equity - self.deposits + self.withdrawals

    @property
    def return_pct(self) -> Decimal | None:
        """net / deposits x 100, 2 places (half-up); None without deposits."""
        if not self.deposits:
            return None
        return (self.net * 100 / self.deposits).quantize(Decimal("0.01"), ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class RunSummary:
    scenario: str
    seed: int
    start_ms: int
    end_ms: int
    ticks: int
    records: int
    digest: str
    accounts: tuple[AccountSummary, ...]
    trades: tuple[TradeRow, ...] = ()  # every account's buy/sell deals, in deal order
    curves: dict[str, list] = field(default_factory=dict)  # account id -> [(ms, equity)] (report.EquityCurve)

    def trades_csv(self) -> str:
        return trades_csv(list(self.trades))

    def charts(self) -> dict[str, str]:
        """account id -> its equity chart, a standalone SVG file."""
        return {a.id: equity_svg(f"{a.id} ({a.login}) equity, {a.currency}", self.curves.get(a.id, []))
                for a in self.accounts}

    def to_json(self) -> dict:
        def s(v):
            return None if v is None else str(v)
        return {
            "scenario": self.scenario, "seed": self.seed, "start_ms": self.start_ms, "end_ms": self.end_ms,
            "ticks": self.ticks, "journal_records": self.records, "digest": self.digest,
            "accounts": [{
                "id": a.id, "login": a.login, "account_type": a.account_type, "currency": a.currency,
                "leverage": a.leverage, "balance": s(a.balance), "equity": s(a.equity), "margin": s(a.margin),
                "margin_level": s(a.margin_level), "deposits": s(a.deposits), "withdrawals": s(a.withdrawals),
                "trades": a.trades, "deals": a.deals, "open_positions": a.open_positions, "swaps": s(a.swaps),
                "swap_charges": a.swap_charges, "margin_calls": a.margin_calls, "stop_outs": a.stop_outs,
                "stop_out_closes": a.stop_out_closes, "net": s(a.net), "return_pct": s(a.return_pct),
                "max_drawdown_pct": s(a.max_drawdown_pct),
            } for a in self.accounts],
            "trades": [t.to_json() for t in self.trades],
        }

    def to_text(self) -> str:
        from simulator.clock import ms_to_datetime
        t0 = ms_to_datetime(self.start_ms).strftime("%Y-%m-%d %H:%M")
        t1 = ms_to_datetime(self.end_ms).strftime("%Y-%m-%d %H:%M")
        out = [f"Scenario {self.scenario} (seed {self.seed}): {t0} -> {t1} UTC, {self.ticks} ticks, "
               f"{self.records} journal records", ""]
        head = (f"{'account':<12} {'login':>9} {'type':<16} {'ccy':<3} {'deposits':>12} {'balance':>12} "
                f"{'equity':>12} {'net P/L':>12} {'return':>8} {'max DD':>7} {'margin lvl':>11} {'trades':>6} "
                f"{'swaps':>9} {'m.calls':>7} {'stop-outs':>9}")
        out.append(head)
        for a in self.accounts:
            lvl = "-" if a.margin_level is None else f"{a.margin_level}%"
            so = f"{a.stop_outs}" + (f" ({a.stop_out_closes} pos)" if a.stop_out_closes else "")
            ret = "-" if a.return_pct is None else f"{a.return_pct:+}%"
            out.append(f"{a.id:<12} {a.login:>9} {a.account_type:<16} {a.currency:<3} {a.deposits:>12} "
                       f"{a.balance:>12} {a.equity:>12} {a.net:>+12} {ret:>8} {f'{a.max_drawdown_pct}%':>7} "
                       f"{lvl:>11} {a.trades:>6} {a.swaps:>9} {a.margin_calls:>7} {so:>9}")
        out.append("")
        out.append("return = net P/L / deposits; max DD = the largest fall of equity from its running peak, "
                   f"sampled at the first quote of each simulated minute and at the end")
        out += ["", f"Journal digest: {self.digest}"]
        return "\n".join(out)


@dataclass(slots=True)
class Drawdown:
    """The largest fall of equity from its running peak, in percent of the peak:
    1000 -> 1200 -> 900 -> 1300 is (1200 - 900) / 1200 = 25 %."""

    peak: Decimal | None = None
    worst_pct: Decimal = Decimal(0)

    def see(self, equity: Decimal) -> None:
        if self.peak is None or equity > self.peak:
            self.peak = equity
        elif self.peak > 0:
            self.worst_pct = max(self.worst_pct, (self.peak - equity) * 100 / self.peak)

    def pct(self) -> Decimal:
        return self.worst_pct.quantize(Decimal("0.01"), ROUND_HALF_UP)


DRAWDOWN_SAMPLE_MS = 60_000  # equity sampled at the first quote of each simulated minute (and at the end)


class _View:
    """What a strategy may see of its account (read-only)."""

    __slots__ = ("server", "login", "symbol", "now_ms")

    def __init__(self, server: TradeServer, login: int, symbol: str) -> None:
        self.server, self.login, self.symbol, self.now_ms = server, login, symbol, 0

    def tick(self):
        return self.server.symbol_tick(self.symbol, self.login)

    def account(self):
        return self.server.account_info(self.login)

    def positions(self):
        return self.server.positions(self.login, self.symbol)


class Simulation:
    """One run of a scenario with a seed. Move it with `run_until`, `step_tick` or `run`."""

    def __init__(self, scenario: Scenario, seed: int | None = None, *, until_ms: int | None = None,
                 scrypt_n: int = 2 ** 14, strict: bool = False) -> None:
        self.scenario = scenario
        self.seed = seed if seed is not None else (scenario.seed if scenario.seed is not None else 0)
        self.end_ms = scenario.end_ms if until_ms is None else min(scenario.end_ms, until_ms)
        journal = Journal()
        journal.append("scenario", scenario.start_ms, name=scenario.name, seed=self.seed,
                       start_ms=scenario.start_ms, end_ms=self.end_ms)
        self.server = TradeServer(seed=self.seed, start_ms=scenario.start_ms, journal=journal,
                                  stops_level_points=scenario.stops_level_points,
                                  journal_ticks=scenario.journal_ticks, scrypt_n=scrypt_n,
                                  timezone=scenario.server_timezone)
        self.server.strict = scenario.strict or strict  # set before anything trades
        self.ticks = 0
        self.logins: dict[str, int] = {}
        self.sessions: dict[str, object] = {}
        self._labels: dict[str, tuple[str, int]] = {}  # label -> ("position"|"order", ticket)
        self._open_accounts()
        self._drawdown = {login: Drawdown() for login in self.logins.values()}
        self._curves = {login: EquityCurve() for login in self.logins.values()}
        self._dd_next_ms = scenario.start_ms
        self._feed = self._build_feed()
        self._next_tick: Tick | None = next(self._feed, None)
        self._actions = list(scenario.actions)
        self._ai = 0
        self._strategies: dict[str, list] = {}
        rules = self.server.rules
        for s in scenario.strategies:
            cls = s.cls if s.cls is not None else STRATEGIES[s.kind]
            try:
                strat = cls.build(strategy_rng(self.seed, s.account, s.index), rules.symbols.get(s.symbol),
                                  dict(s.params))
            except Exception as exc:  # a user's class: one line, not a traceback
                raise SimulationError(f"strategies[{s.index}] {s.kind}: build failed: "
                                      f"{type(exc).__name__}: {exc}") from None
            every = getattr(strat, "every_ms", None)
            if isinstance(every, bool) or not isinstance(every, int) or every <= 0:
                raise SimulationError(f"strategies[{s.index}] {s.kind}: every_ms must be a positive int "
                                      f"(milliseconds between decisions), got {every!r}")
            view = _View(self.server, self.logins[s.account], s.symbol)
            self._strategies.setdefault(s.symbol, []).append([strat, view, s.account, 0, s.cls is None])

    # ------------------------------------------------------------------ setup
    def _open_accounts(self) -> None:
        srv = self.server
        for a in self.scenario.accounts:
            if srv.client(a.email) is None:
                c = srv.register_client(a.email, a.name, a.country)
                if isinstance(c, Refusal):
                    raise SimulationError(f"account {a.id}: {c.detail}")
            login = srv.open_account(a.email, a.type, a.currency, a.leverage, master_password=a.master_password,
                                     investor_password=a.investor_password, demo=a.demo,
                                     margin_mode=a.margin_mode, swap_free=a.swap_free, name=a.name)
            if isinstance(login, Refusal):
                raise SimulationError(f"account {a.id}: {login.detail}")
            session = srv.login(login, a.master_password)
            if isinstance(session, Refusal):
                raise SimulationError(f"account {a.id}: {session.detail}")
            dep = srv.deposit(login, a.deposit, payer_email=a.email)
            if isinstance(dep, Refusal):
                raise SimulationError(f"account {a.id}: deposit refused: {dep.detail}")
            self.logins[a.id] = login
            self.sessions[a.id] = session

    def _build_feed(self) -> Iterator[Tick]:
        sc = self.scenario
        rules = self.server.rules
        feeds = []
        for f in sc.feeds:
            if f.kind == "random_walk":
                spec = rules.symbols.get(f.symbol)
                ws = WalkSpec(symbol=f.symbol, start_bid=f.start_bid, digits=spec.digits,
                              spread_points=f.spread_points, volatility_points=f.volatility_points,
                              volatility_relative=f.volatility_relative, interval_ms=f.interval_ms,
                              ticks_per_second=f.ticks_per_second, gap_points=f.gap_points,
                              gap_relative=f.gap_relative,
                              market=f.market if f.market is not None else spec.group)
                feeds.append(RandomWalkFeed(ws, self.seed, sc.start_ms, self.end_ms,
                                            calendar=self.server.calendar))
            elif f.kind == "mt5_file":
                feeds.append(Mt5TickFileFeed(f.path, f.symbol))
            else:
                feeds.append(_only(CsvTickFeed(f.path), f.symbol))
        start, end = sc.start_ms, self.end_ms
        return (t for t in merge_feeds(*feeds) if start <= t.time_ms < end) if feeds else iter(())

    # ------------------------------------------------------------------ time
    @property
    def now_ms(self) -> int:
        return self.server.now_ms

    @property
    def finished(self) -> bool:
        return self._next_tick is None and self._ai >= len(self._actions)

    def next_tick_ms(self) -> int | None:
        return None if self._next_tick is None else self._next_tick.time_ms

    def _sample_equity(self) -> None:
        now = self.server.now_ms
        for login, dd in self._drawdown.items():
            equity = self.server.account_info(login).equity
            dd.see(equity)
            self._curves[login].see(now, equity)

    def _apply_tick(self, tick: Tick) -> None:
        srv = self.server
        srv.on_tick(tick)
        self.ticks += 1
        if tick.time_ms >= self._dd_next_ms:
            self._sample_equity()
            self._dd_next_ms = (tick.time_ms // DRAWDOWN_SAMPLE_MS + 1) * DRAWDOWN_SAMPLE_MS
        strats = self._strategies.get(tick.symbol)
        if strats:
            t = tick.time_ms
            for entry in strats:
                strat, view, account, next_ms, builtin = entry
                if t < next_ms:
                    continue
                entry[3] = (t // strat.every_ms + 1) * strat.every_ms
                view.now_ms = t
                session = self.sessions[account]
                for req in strat.decide(view):
                    if builtin and srv.strict:
                        req = self._at_market(req, view.login)
                    srv.order_send(session, req, reason=rc.DEAL_REASON_EXPERT)

    def _run_actions(self, up_to_ms: int, inclusive: bool) -> None:
        acts = self._actions
        while self._ai < len(acts) and (acts[self._ai].at_ms < up_to_ms or
                                         (inclusive and acts[self._ai].at_ms == up_to_ms)):
            act = acts[self._ai]
            self._ai += 1
            if act.at_ms > self.server.now_ms:
                self.server.advance_to(act.at_ms)
            self._do(act)

    def step_tick(self) -> bool:
        """Process the next quote (and the scripted steps due before it); False at the end."""
        tick = self._next_tick
        if tick is None:
            return False
        self._run_actions(tick.time_ms, inclusive=False)
        self._apply_tick(tick)
        self._next_tick = next(self._feed, None)
        return True

    def run_until(self, time_ms: int) -> None:
        """Process every quote and step with time <= `time_ms` (capped at the end), then move
        the server clock to it."""
        target = min(time_ms, self.end_ms)
        while self._next_tick is not None and self._next_tick.time_ms <= target:
            self.step_tick()
        self._run_actions(target, inclusive=True)
        if target > self.server.now_ms:
            self.server.advance_to(target)

    def run(self, progress: Callable[[int, int], None] | None = None, every: int = 5000) -> RunSummary:
        """Run to the end; `progress(done_ms, total_ms)` is called every `every` quotes."""
        total = self.end_ms - self.scenario.start_ms
        n = 0
        while self._next_tick is not None:
            self.step_tick()
            n += 1
            if progress is not None and n % every == 0:
                progress(self.server.now_ms - self.scenario.start_ms, total)
        self.run_until(self.end_ms)
        if progress is not None:
            progress(total, total)
        return self.summary()

    def _at_market(self, req: TradeRequest, login: int) -> TradeRequest:
        """Strict mode: the simulator's own market orders (scripted steps, built-in strategies)
        carry the current price, as a live EA's do; a user's strategy and a script must send it
        themselves. Only in strict mode, so a default run's journal is unchanged."""
        if req.action != rc.TRADE_ACTION_DEAL or req.price:
            return req
        tick = self.server.symbol_tick(req.symbol, login)
        if tick is None:
            return req  # no quote: the server answers PRICE_OFF
        return dataclasses.replace(req, price=tick.ask if req.type == rc.ORDER_TYPE_BUY else tick.bid)

    # ------------------------------------------------------------------ scripted steps
    def _script(self, act: ScriptedAction, ok: bool, detail: str, **fields) -> None:
        self.server.journal.append("script", self.server.now_ms, step=act.index, account=act.account,
                                   action=act.action, ok=ok, detail=detail, **fields)

    def _resolve(self, act: ScriptedAction, want: str) -> int | None:
        """The live ticket for `act.ref`: a position (a filled pending order's position has
        the order's ticket as identifier) or a pending order."""
        kind, ticket = self._labels.get(act.ref, ("", 0))
        login = self.logins[act.account]
        if want == "position":
            for p in self.server.positions(login):
                if p.ticket == ticket or p.identifier == ticket:
                    return p.ticket
            return None
        return ticket if any(o.ticket == ticket for o in self.server.orders(login)) else None

    def _do(self, act: ScriptedAction) -> None:
        srv = self.server
        login = self.logins[act.account]
        session = self.sessions[act.account]
        a = act.action
        if a in ("deposit", "withdraw"):
            spec = self.scenario.account(act.account)
            res = srv.deposit(login, act.amount, payer_email=spec.email) if a == "deposit" else \
                srv.withdraw(login, act.amount)
            self._script(act, not isinstance(res, Refusal), res.detail if isinstance(res, Refusal) else "done")
            return
        if a == "leverage":
            res = srv.set_leverage(login, act.leverage)
            self._script(act, res is None, res.detail if isinstance(res, Refusal) else "done")
            return
        if a in ("buy", "sell") or a in _PENDING:
            pending = a in _PENDING
            req = TradeRequest(action=rc.TRADE_ACTION_PENDING if pending else rc.TRADE_ACTION_DEAL,
                               symbol=act.symbol, volume=act.volume,
                               type=_PENDING[a] if pending else (rc.ORDER_TYPE_BUY if a == "buy" else
                                                                 rc.ORDER_TYPE_SELL),
                               price=act.price or ZERO, sl=act.sl or ZERO, tp=act.tp or ZERO, magic=act.magic,
                               comment=act.comment,
                               type_time=rc.ORDER_TIME_SPECIFIED if act.expiration_ms else rc.ORDER_TIME_GTC,
                               expiration_ms=act.expiration_ms or 0)
            if srv.strict:
                req = self._at_market(req, login)
            res = srv.order_send(session, req, reason=rc.DEAL_REASON_CLIENT)
            if res.ok and act.label:
                self._labels[act.label] = ("order", res.order) if pending else ("position", res.position)
            self._script(act, res.ok, res.comment, retcode=res.retcode)
            return
        if a in ("close", "sltp"):
            ticket = self._resolve(act, "position")
            if ticket is None:
                self._script(act, False, f"no open position labelled {act.ref!r}")
                return
            pos = next(p for p in srv.positions(login) if p.ticket == ticket)
            if a == "close":
                opposite = rc.ORDER_TYPE_SELL if pos.type == rc.POSITION_TYPE_BUY else rc.ORDER_TYPE_BUY
                req = TradeRequest(action=rc.TRADE_ACTION_DEAL, symbol=pos.symbol, volume=act.volume or pos.volume,
                                   type=opposite, position=ticket, magic=pos.magic, comment=act.comment)
            else:
                req = TradeRequest(action=rc.TRADE_ACTION_SLTP, symbol=pos.symbol, position=ticket,
                                   sl=pos.sl if act.sl is None else act.sl, tp=pos.tp if act.tp is None else act.tp)
        else:  # modify / cancel a pending order
            ticket = self._resolve(act, "order")
            if ticket is None:
                self._script(act, False, f"no active pending order labelled {act.ref!r}")
                return
            if a == "cancel":
                req = TradeRequest(action=rc.TRADE_ACTION_REMOVE, order=ticket)
            else:
                o = next(o for o in srv.orders(login) if o.ticket == ticket)
                req = TradeRequest(action=rc.TRADE_ACTION_MODIFY, order=ticket, symbol=o.symbol,
                                   price=act.price, sl=o.sl if act.sl is None else act.sl,
                                   tp=o.tp if act.tp is None else act.tp,
                                   type_time=rc.ORDER_TIME_SPECIFIED if act.expiration_ms else o.type_time,
                                   expiration_ms=act.expiration_ms or 0)
        if srv.strict:
            req = self._at_market(req, login)
        res = srv.order_send(session, req, reason=rc.DEAL_REASON_CLIENT)
        self._script(act, res.ok, res.comment, retcode=res.retcode)

    # ------------------------------------------------------------------ summary
    def summary(self) -> RunSummary:
        srv = self.server
        journal = srv.journal
        self._sample_equity()  # the end counts too
        per: dict[int, dict[str, object]] = {
            login: {"swaps": ZERO, "swap_charges": 0, "margin_calls": 0, "stop_outs": 0}
            for login in self.logins.values()}
        for rec in journal.records():
            kind = rec["kind"]
            if kind == "swap":
                d = per[rec["login"]]
                d["swaps"] += Decimal(rec["amount"])
                d["swap_charges"] += 1
            elif kind == "margin_call":
                per[rec["login"]]["margin_calls"] += 1
            elif kind == "stop_out":
                per[rec["login"]]["stop_outs"] += 1
        accounts = []
        trades: list[TradeRow] = []
        curves: dict[str, list] = {}
        for aid, login in self.logins.items():
            info = srv.account_info(login)
            deals = srv.history_deals(login)
            trading = [d for d in deals if d.type in (rc.DEAL_TYPE_BUY, rc.DEAL_TYPE_SELL)]
            level = None if info.margin_level is None else info.margin_level.quantize(Decimal("0.01"),
                                                                                       ROUND_HALF_UP)
            d = per[login]
            accounts.append(AccountSummary(
                id=aid, login=login, account_type=info.account_type, currency=info.currency,
                leverage=info.leverage, balance=round_money(info.balance), equity=round_money(info.equity),
                margin=round_money(info.margin), margin_level=level,
                deposits=sum((x.profit for x in deals if x.type == rc.DEAL_TYPE_BALANCE and x.profit > 0), ZERO),
                withdrawals=-sum((x.profit for x in deals if x.type == rc.DEAL_TYPE_BALANCE and x.profit < 0),
                                 ZERO),
                trades=sum(1 for x in trading if x.entry == rc.DEAL_ENTRY_IN), deals=len(trading),
                open_positions=len(srv.positions(login)), swaps=d["swaps"], swap_charges=d["swap_charges"],
                margin_calls=d["margin_calls"], stop_outs=d["stop_outs"],
                stop_out_closes=sum(1 for x in trading if x.reason == rc.DEAL_REASON_SO),
                max_drawdown_pct=self._drawdown[login].pct()))
            trades += trade_rows(aid, login, deals)
            curves[aid] = self._curves[login].with_end(srv.now_ms, accounts[-1].equity)
        trades.sort(key=lambda t: t.deal)
        return RunSummary(self.scenario.name, self.seed, self.scenario.start_ms, self.end_ms, self.ticks,
                          len(journal), srv.digest(), tuple(accounts), tuple(trades), curves)


