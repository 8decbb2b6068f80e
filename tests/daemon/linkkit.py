"""A test kit for the daemon <-> terminal link: simulated network and fault injectors.

The invariants over this world are in `linkinvariants.py` (next to this file).

Everything runs on **virtual time** (no sockets, no wall clock, no global random): one
`DaemonCore` with its journal (a SQLite file in a temporary directory with its write-ahead
file, as the daemon's: store_ahead.py), several `TerminalCore`s (one
trader login, investor logins, some sharing one connection) on one simulated `TradeServer`,
joined by `SimNetwork`. Used by `tests/daemon/test_link_model.py` (a hypothesis
`RuleBasedStateMachine`), usable by any test that wants to break the copy promise:

    every trader deal reaches every eligible investor exactly once, promptly (within its
    validity), or is refused with a reason (a `CopyRefused` record with a code); never late,
    never lost, never duplicated.

The model
---------
* **Time.** `world.t` is the daemon's clock (UTC ms). The trade server keeps UTC too and has
  a zone of `server_tz_ms` (it shows it in `hello.utc_offset_ms`; every time on the wire is
  UTC). A terminal's clock is `t + offset` (its `ts`, pacing and expiry judgement).
  Time only moves in `world.run(ms)`, in slices of `slice_ms`.
* **Network.** Per connection: the daemon's inbound frames (`SimNetwork.inbox`, arrival
  order, shared by all peers like one ROUTER socket) and the terminal's inbound frames
  (`SimNetwork.down[conn]`). Both are FIFO. A disconnect drops the connection's in-flight
  frames in both directions; a reconnect is a new connection id (a new DEALER identity)
  and `TerminalCore.connect()` (hello + full snapshot per login).
* **The daemon's shell** (see `DaemonShell.step`) reads at most `frames_per_ms x slice_ms`
  frames per slice (the **cost model**: every inbound frame costs the same, junk or not;
  `frames_per_ms` is the daemon's capacity), commits the batch to the store, then pumps.
  Two orders, as in `bridge/daemon/server.py`:
  - `timers_first`: `tick(now)` then the frames (the timer loop ran before the router's
    readiness callback);
  - `read_first`: a bounded turn of frames then `tick(now)` (the real shell's order: its
    timers run between turns however much is waiting).
  Either way the shell reports `on_read_idle(now)` whenever it finds its inbox empty, as
  the real one does: silence is judged up to the last complete read.
* **Faults** (`LinkWorld` methods): `disconnect`, `silence` (the terminal neither reads nor
  sends: frames queue both ways), `daemon_pause` (time jumps, frames pile up on the daemon),
  `flood` (an authorised peer sends junk frames and/or valid heartbeats), clock offsets,
  server time zone, `crash` (the core is discarded with its uncommitted batch and the last
  step's SQLite commit, which lags its sends by one step; the journal is opened again, which
  applies its write-ahead file, and the core rebuilt with `DaemonCore.recover(config,
  store.recover(), now=...)`), `replay` (a terminal re-sends an
  old message with its old id on a new seq), `investor_close_offline` (a copy closed by
  hand on the investor account while its terminal is away).
* **Invariants** are plain functions over the world (`check_*`), each returning a list of
  violation strings; `INVARIANTS` names them so a test can switch them one by one.

Timeouts are derived from the configuration (`settle_ms`), never from wall time.

API of the cores this kit relies on (keep it, or update the kit with it):

* `DaemonCore.recover(config, recovery, now=, insecure=, instance=)`, `on_frame(conn, None,
  frame, now)`, `on_admin({"op", "args"}, None, now)` (ops `price`, `register_trader`,
  `deposit`, `subscribe`; the reply's `ok` and `records` with `record.subscription_started`'s
  `subscription`), `tick(now)`, `take_batch()`, `take_feed()`, `take_logs()`, `pump(send,
  now)` with `SendResult.OK / UNROUTABLE`, `copy_map()` (sub -> trader ticket -> `ticket`,
  `volume`, `state`), `pending` (key -> `.row.type`), `engine.traders["T"].positions`
  (ticket -> `.volume`), `engine.subscriptions` (`.realised`), `engine.ledger()`;
* the journal batch's `events` rows `(seq, now, type, body JSON)` with event types
  `TraderPositionOpened` (`ticket`) and `TraderSnapshot` (`positions[].ticket`), and the
  `records` table (topic `record.copy_refused`: `subscription`, `trader_ticket`, `code`, `now`)
  of `SqliteStore(path, ahead=True)` (`recover()`, `write()`, `settle()`, `db`, `ahead`) and
  `store_ahead.read_view(path)`;
* `DaemonConfig` fields `heartbeat_ms`, `offline_after`, `resend_after_ms`,
  `close_profit_wait_ms`, `engine_tick_ms`, `copy_magic`, `engine` (`open_validity_ms`);
  `EngineConfig(server_timezone=, open_validity_ms=)`;
* the open command's comment is its key `s<sub>-t<trader ticket>-open-<n>` and its magic
  `config.copy_magic` (`OPEN_TAG`);
* `TerminalCore(server, sessions, next_id=)`, `connect(now)`, `disconnect()`, `receive(msg,
  now)`, `poll(now)`, `check(now)`, `reconnect_reason`, and for `replay` only
  `links[login].welcomed` / `links[login].counter.next()`;
* the simulated `TradeServer` API listed in `simulator/server/__init__.py`.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import tempfile
import weakref
from collections import deque
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

from bridge.copytrading.config import EngineConfig
from bridge.domain.servertime import ServerTimeZone
from bridge.daemon.config import DaemonConfig
from bridge.daemon.core import DaemonCore, SendResult
from bridge.daemon.store import SqliteStore
from bridge.protocol import Direction, Heartbeat, Hello, decode, encode
from simulator.prices import Tick
from simulator.server import TradeRequest, TradeServer
from simulator.server import retcodes as rc
from simulator.terminals import TerminalCore, login_sessions

D = Decimal
MONDAY = 1704067200000  # 2024-01-01 00:00 UTC, a Monday
HOUR = 3_600_000
MASTER, INVESTOR = "yS22Fr45", "Inv12345"
DEFAULT_OPEN_VALIDITY_MS = 5000
OPEN_TAG = re.compile(r"^s(\d+)-t(\d+)-open-\d+$")

BASE_PRICES = {  # symbol -> (bid, ask, point)
    "EURUSD": (D("1.10000"), D("1.10010"), D("0.00001")),
    "GBPUSD": (D("1.27000"), D("1.27015"), D("0.00001")),
    "USDJPY": (D("150.000"), D("150.015"), D("0.001")),
}


def open_validity_ms(config: DaemonConfig) -> int:
    """How long a trader's open may be copied (docs/protocol.md §7.1)."""
    return config.engine.open_validity_ms


def settle_ms(config: DaemonConfig) -> int:
    """Virtual time after which every timer of the link has fired at least once, twice over."""
    hb = config.heartbeat_ms
    longest = max(hb * config.offline_after, config.resend_after_ms, config.close_profit_wait_ms,
                  config.engine_tick_ms, open_validity_ms(config))
    return 2 * longest + 4 * hb


def model_config(*, server_tz_ms: int = 0, **daemon: object) -> DaemonConfig:
    """The daemon config the model runs with: defaults, the engine told the trade server's
    zone, and the open validity the promise states."""
    engine = EngineConfig(server_timezone=ServerTimeZone(server_tz_ms), open_validity_ms=DEFAULT_OPEN_VALIDITY_MS)
    return DaemonConfig(engine=engine, **daemon)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- network
class SimNetwork:
    """Per-direction FIFO queues. Towards the daemon (one ROUTER socket): `fair` (default) keeps
    one pipe per connection and the daemon reads them round robin, as ZeroMQ fair-queues its
    peers; `fifo` reads everything in arrival order. `down[conn]`: frames on their way to the
    terminal of `conn`. Closing a connection loses its in-flight frames both ways."""

    def __init__(self, inbound: str = "fair") -> None:
        self.fair = inbound == "fair"  # ZeroMQ's ROUTER fair-queues its peers; "fifo" = arrival order
        self.inbox: deque[tuple[bytes, bytes]] = deque()  # fifo mode
        self.pipes: dict[bytes, deque[bytes]] = {}  # fair mode: per peer, served round robin
        self._turn: deque[bytes] = deque()
        self.down: dict[bytes, deque[bytes]] = {}
        self.live: set[bytes] = set()  # connections the daemon can route to
        self.sent_up = 0
        self.sent_down = 0

    def open(self, conn: bytes) -> None:
        self.live.add(conn)
        self.down[conn] = deque()

    def close(self, conn: bytes) -> None:
        """The peer is gone: its in-flight frames are lost, both ways."""
        self.live.discard(conn)
        self.down.pop(conn, None)
        self.pipes.pop(conn, None)
        if any(c == conn for c, _ in self.inbox):
            self.inbox = deque((c, f) for c, f in self.inbox if c != conn)

    def up(self, conn: bytes, frame: bytes) -> None:
        self.sent_up += 1
        if not self.fair:
            self.inbox.append((conn, frame))
            return
        pipe = self.pipes.get(conn)
        if pipe is None:
            pipe = self.pipes[conn] = deque()
        if not pipe:
            self._turn.append(conn)
        pipe.append(frame)

    @property
    def backlog(self) -> int:
        """Frames waiting for the daemon."""
        return len(self.inbox) + sum(len(p) for p in self.pipes.values())

    def pop(self) -> tuple[bytes, bytes] | None:
        """The next frame the daemon reads."""
        if not self.fair:
            return self.inbox.popleft() if self.inbox else None
        while self._turn:
            conn = self._turn.popleft()
            pipe = self.pipes.get(conn)
            if not pipe:
                continue
            frame = pipe.popleft()
            if pipe:
                self._turn.append(conn)
            return conn, frame
        return None

    def clear_inbound(self) -> None:
        self.inbox.clear()
        self.pipes.clear()
        self._turn.clear()

    def send(self, conn: bytes, frame: bytes) -> SendResult:
        """The daemon's `send` for `pump`."""
        q = self.down.get(conn)
        if q is None or conn not in self.live:
            return SendResult.UNROUTABLE
        q.append(frame)
        self.sent_down += 1
        return SendResult.OK


# ---------------------------------------------------------------------- daemon shell
class DaemonShell:
    """The imperative shell around `DaemonCore`, on virtual time (see the module docstring)."""

    def __init__(self, config: DaemonConfig, net: SimNetwork, now: int, *, order: str = "timers_first",
                 frames_per_ms: int = 2) -> None:
        self.config, self.net, self.order, self.frames_per_ms = config, net, order, frames_per_ms
        self.now = now
        # the daemon's journal: a file with its write-ahead file, whose SQLite commit lags one step
        # (`commit`), so that every crash meets a step sent but not committed (store_ahead.py)
        self.dir = tempfile.mkdtemp(prefix="linkmodel-")
        weakref.finalize(self, shutil.rmtree, self.dir, True)
        self.path = Path(self.dir) / "journal.db"
        self.store = SqliteStore(self.path, ahead=True)
        self.core = DaemonCore.recover(config, self.store.recover(), now=now, insecure=True)
        self.first_sent: dict[str, int] = {}  # open key -> when the daemon first sent it
        self.seen: set[int] = set()  # trader tickets the daemon has heard of
        self.known_closed: dict[int, int] = {}  # trader ticket -> when the daemon knew it closed
        self.commit(now)
        self.paused_until = 0
        self.wake_order: str | None = None
        self.crashes = 0
        self.ticks_skipped = 0

    def commit(self, now: int) -> None:
        self.store.settle()  # the last step's SQLite commit, after its sends (as the real shell)
        batch = self.core.take_batch()
        if batch:
            self.store.write(batch)
            for _seq, _now, type_name, body in batch.events:
                if type_name == "TraderPositionOpened":
                    self.seen.add(json.loads(body)["ticket"])
                elif type_name == "TraderSnapshot":
                    self.seen.update(p["ticket"] for p in json.loads(body)["positions"])
        self.core.take_feed()
        self.core.take_logs()
        trader = self.core.engine.traders.get("T")
        if trader is not None and len(self.known_closed) < len(self.seen):
            for ticket in self.seen:
                if ticket not in self.known_closed and ticket not in trader.positions:
                    self.known_closed[ticket] = now

    def send(self, conn: bytes, frame: bytes) -> SendResult:
        """`pump`'s send: the network's, noting when each open key first left the daemon."""
        r = self.net.send(conn, frame)
        if r is SendResult.OK and b"\xa4type\xa4open" in frame:
            key = decode(frame, direction=Direction.TO_TERMINAL).key  # type: ignore[union-attr]
            self.first_sent.setdefault(key, self.now)
        return r

    def admin(self, now: int, op: str, **args: object) -> dict:
        reply = self.core.on_admin({"op": op, "args": args}, None, now)
        self.commit(now)
        self.now = now
        self.core.pump(self.send, now)
        return reply

    def read(self, now: int, budget: int) -> int:
        n = 0
        core, pop = self.core, self.net.pop
        while n < budget:
            got = pop()
            if got is None:
                core.on_read_idle(now)  # as the real shell: the liveness reference is the last empty read
                break
            core.on_frame(got[0], None, got[1], now)
            n += 1
        return n

    def step(self, now: int, slice_ms: int, order: str | None = None) -> None:
        if now < self.paused_until:
            return
        if self.wake_order is not None:  # the first step after a pause
            order, self.wake_order = self.wake_order, None
        order = order or self.order
        budget = max(1, self.frames_per_ms * slice_ms)
        if order == "timers_first":
            self.core.tick(now)
            self.read(now, budget)
        else:  # the real shell: a bounded turn of frames, then its timers (it never starves them)
            self.read(now, budget)
            self.core.tick(now)
        self.commit(now)
        self.now = now
        self.core.pump(self.send, now)

    def crash(self, now: int, read_before: int = 0) -> None:
        """kill -9: optionally read `read_before` frames (handled, never committed), then lose
        the core, its uncommitted batch and every frame in the daemon's buffers; rebuild from
        the journal. The terminals' sockets reconnect to the new process transparently (same
        connection ids), so their next frames meet a daemon that never saw their hello."""
        self.read(now, read_before)
        self.core.take_batch()  # lost
        self.net.clear_inbound()
        for q in self.net.down.values():
            q.clear()
        self.crashes += 1
        self.store.db.close()  # the process's journal connection and write-ahead file, gone unsettled
        self.store.ahead.close()  # type: ignore[union-attr]
        self.store = SqliteStore(self.path, ahead=True)  # the next process: applies the file, once
        self.core = DaemonCore.recover(self.config, self.store.recover(), now=now, insecure=True,
                                       instance=f"crash-{self.crashes}")
        self.commit(now)


# ---------------------------------------------------------------------- terminals
@dataclass
class SimTerminal:
    name: str
    core: TerminalCore
    logins: tuple[int, ...]
    offset_ms: int = 0
    conn: bytes | None = None
    generation: int = 0
    silent_until: int = 0
    down_until: int | None = None  # disconnected until (then reconnects)
    connected_at: int = 0  # when the current connection (and its hello) started
    reconnects: int = 0
    sent: list[tuple[bytes, bytes]] = field(default_factory=list)  # (conn, frame) of this terminal

    def now(self, t: int) -> int:
        return t + self.offset_ms


# ---------------------------------------------------------------------- the world
@dataclass
class LinkParams:
    seed: int = 0
    investors: int = 3  # subscribed at start; inv1 and inv2 share one connection
    spare_investors: int = 2  # accounts subscribed later (each on its own connection)
    server_tz_ms: int = 0  # TRADE SERVER TIME ZONE: server clock = UTC + this (the simulator
    #                        has no zone of its own: the model runs its clock ahead by this)
    clock_offsets: dict[str, int] = field(default_factory=dict)  # terminal name -> ms
    order: str = "timers_first"  # or read_first (DaemonShell)
    inbound: str = "fair"  # fair (ZeroMQ ROUTER: round robin over peers) or fifo (arrival order)
    frames_per_ms: int = 2
    slice_ms: int = 100
    investor_deposit: Decimal = D(2000)
    feed_prices: bool = True  # price moves reach the engine (admin "price"), as the back office would
    config: dict = field(default_factory=dict)  # DaemonConfig overrides


class LinkWorld:
    """The whole link in memory. Build it, act (trader actions, faults), `run(ms)`, check."""

    def __init__(self, params: LinkParams | None = None) -> None:
        p = self.params = params or LinkParams()
        self.rng = random.Random(p.seed)
        self.tz = p.server_tz_ms
        self.t = self.t0 = MONDAY + 10 * HOUR
        self.config = model_config(server_tz_ms=self.tz, **p.config)
        self.validity_ms = open_validity_ms(self.config)
        # the server keeps UTC and shows its own zone at the edges (hello.utc_offset_ms, the facade)
        self.server = TradeServer(seed=p.seed, start_ms=self.t, scrypt_n=2**4, journal_ticks=False,
                                  timezone=ServerTimeZone(self.tz))
        for sym, (bid, ask, _pt) in BASE_PRICES.items():
            self.server.on_tick(Tick(sym, self.server.now_ms, bid, ask))
        self.net = SimNetwork(p.inbound)
        self.faults: dict[str, list[tuple[int, int]]] = {}  # terminal -> (start, end) of its outages
        self.daemon_outages: list[tuple[int, int]] = []  # pauses and crashes of the daemon
        self.reconnects: list[tuple[int, str, str]] = []  # (t, terminal, why) decided by the terminal
        # FIFO mode only: (since, t) a terminal gave up while its hello still waited unread behind
        # frames the daemon must read in arrival order (no daemon can answer it sooner; a real
        # ROUTER fair-queues its peers, where this is never excused)
        self.queued_behind: dict[str, list[tuple[int, int]]] = {}
        self.shell = DaemonShell(self.config, self.net, self.t, order=p.order, frames_per_ms=p.frames_per_ms)
        self.trader = self._account("trader", D(10000))
        self.investors = [self._account(f"inv{i + 1}", p.investor_deposit) for i in range(p.investors)]
        self.spares = [self._account(f"spare{i + 1}", p.investor_deposit) for i in range(p.spare_investors)]
        self.sub_of: dict[int, int] = {}  # investor login -> subscription id
        self.sub_started: dict[int, int] = {}  # subscription id -> start (daemon time, UTC)
        for sym, (bid, ask, _pt) in BASE_PRICES.items():  # the back office feeds the engine's rates
            if p.feed_prices:
                self.admin("price", symbol=sym, bid=str(bid), ask=str(ask))
        self.admin("register_trader", trader="T", account=self.trader, account_type="mt4_standard",
                   leverage=100, commission_pct="20")
        for login in self.investors:
            self.subscribe(login)
        self.terminals: dict[str, SimTerminal] = {}
        self.terminal_of: dict[int, str] = {}
        self._terminal("T", [self.trader])
        if len(self.investors) >= 2:
            self._terminal("IA", self.investors[:2])
            rest = self.investors[2:]
        else:
            rest = self.investors
        for i, login in enumerate(rest):
            self._terminal(f"I{i + 3}", [login])
        for i, login in enumerate(self.spares):
            self._terminal(f"S{i + 1}", [login])
        self.flooders = 0
        self.log: list[str] = []
        self.run(self.params.slice_ms * 3)

    # -------------------------------------------------------------- setup helpers
    def _account(self, name: str, deposit: Decimal) -> int:
        email = f"{name}@example.com"
        self.server.register_client(email, name)
        login = self.server.open_account(email, "mt4_standard", "USD", 100, master_password=MASTER,
                                         investor_password=INVESTOR)
        assert isinstance(login, int), login
        self.server.deposit(login, deposit, payer_email=email)
        return login

    def _terminal(self, name: str, logins: list[int]) -> SimTerminal:
        core = TerminalCore(self.server, login_sessions(self.server, [(x, MASTER) for x in logins]),
                            next_id=10**9 * (len(self.terminals) + 1))
        term = SimTerminal(name, core, tuple(logins), self.params.clock_offsets.get(name, 0))
        self.terminals[name] = term
        for login in logins:
            self.terminal_of[login] = name
        self._connect(term)
        return term

    @property
    def daemon(self) -> DaemonCore:
        return self.shell.core

    def admin(self, op: str, **args: object) -> dict:
        reply = self.shell.admin(self.t, op, **args)
        assert reply.get("ok"), reply
        return reply

    def subscribe(self, login: int, amount: Decimal | None = None) -> int:
        amount = amount or self.params.investor_deposit
        owner = f"investor-{login}"
        self.admin("deposit", owner=owner, amount=str(amount))
        reply = self.admin("subscribe", investor=owner, trader="T", account=login, amount=str(amount))
        sub = next(r["subscription"] for r in reply["records"] if r["topic"] == "record.subscription_started")
        self.sub_of[login] = sub
        self.sub_started[sub] = self.t
        return sub

    # -------------------------------------------------------------- connections
    def _connect(self, term: SimTerminal) -> None:
        if term.conn is not None:
            self.net.close(term.conn)
        term.generation += 1
        term.conn = f"{term.name}#{term.generation}".encode()
        self.net.open(term.conn)
        term.down_until = None
        term.connected_at = self.t
        self._send(term, term.core.connect(term.now(self.t)))

    def _send(self, term: SimTerminal, messages: list) -> None:
        assert term.conn is not None
        for m in messages:
            frame = encode(m)
            term.sent.append((term.conn, frame))
            self.net.up(term.conn, frame)

    def _terminal_step(self, term: SimTerminal) -> None:
        t = self.t
        if term.down_until is not None:
            if t >= term.down_until:
                term.reconnects += 1
                self._connect(term)
            return
        if t < term.silent_until or term.conn is None:
            return
        now = term.now(t)
        q = self.net.down.get(term.conn)
        while q:
            msg = decode(q.popleft(), direction=Direction.TO_TERMINAL)
            self._send(term, term.core.receive(msg, now))
            if term.core.reconnect_reason is not None:
                break
        if term.core.check(now) is not None:
            self.log.append(f"{t}: {term.name} reconnects: {term.core.reconnect_reason}")
            self.reconnects.append((t, term.name, term.core.reconnect_reason or ""))
            if not self.net.fair and not term.core.welcomed():
                self.queued_behind.setdefault(term.name, []).append((term.connected_at, t))
            term.core.disconnect()
            term.reconnects += 1
            self._connect(term)
            return
        self._send(term, term.core.poll(now))

    # -------------------------------------------------------------- time
    def run(self, ms: int, *, order: str | None = None) -> None:
        """Advance virtual time by `ms` in slices: terminals act, then the daemon's shell."""
        end = self.t + ms
        step = self.params.slice_ms
        while self.t < end:
            self.t = min(self.t + step, end)
            self.server.advance_to(self.t)
            for name in sorted(self.terminals):
                self._terminal_step(self.terminals[name])
            self.shell.step(self.t, step, order)

    def settle(self, *, extra_ms: int = 0) -> None:
        """Let every fault end by itself (pauses, silences, disconnections run their course),
        then run past every timeout: quiescence."""
        ends = [self.shell.paused_until] + [max(term.silent_until, term.down_until or 0)
                                            for term in self.terminals.values()]
        if max(ends) > self.t:
            self.run(max(ends) - self.t)
        total = settle_ms(self.config) + extra_ms
        self.run(total)
        # drain: keep running while frames move
        for _ in range(50):
            if not self.net.backlog and not any(self.net.down.values()):
                break
            self.run(self.params.slice_ms * 10)

    # -------------------------------------------------------------- trader actions
    def _session(self, login: int):
        return self.server.login(login, MASTER)

    def trader_open(self, symbol: str, side: str, volume: Decimal) -> int | None:
        otype = rc.ORDER_TYPE_BUY if side == "buy" else rc.ORDER_TYPE_SELL
        res = self.server.order_send(self._session(self.trader),
                                     TradeRequest(rc.TRADE_ACTION_DEAL, symbol, volume, otype),
                                     reason=rc.DEAL_REASON_CLIENT)
        return res.position if res.ok else None

    def trader_positions(self) -> list:
        return self.server.positions(self.trader)

    def close_position(self, login: int, ticket: int, volume: Decimal | None = None) -> bool:
        pos = next((p for p in self.server.positions(login) if p.ticket == ticket), None)
        if pos is None:
            return False
        vol = pos.volume if volume is None else min(volume, pos.volume)
        otype = rc.ORDER_TYPE_SELL if pos.type == rc.POSITION_TYPE_BUY else rc.ORDER_TYPE_BUY
        res = self.server.order_send(self._session(login), TradeRequest(rc.TRADE_ACTION_DEAL, pos.symbol, vol, otype,
                                                                         position=ticket),
                                     reason=rc.DEAL_REASON_CLIENT)
        return bool(res.ok)

    def trader_close(self, ticket: int, volume: Decimal | None = None) -> bool:
        return self.close_position(self.trader, ticket, volume)

    def trader_set_stop(self, ticket: int, kind: str, points: int) -> bool:
        """Put an SL or TP `points` away from the current close price."""
        pos = next((p for p in self.server.positions(self.trader) if p.ticket == ticket), None)
        if pos is None:
            return False
        bid, ask, point = self._quote(pos.symbol)
        buy = pos.type == rc.POSITION_TYPE_BUY
        ref = bid if buy else ask
        away = point * points
        below = ref - away
        above = ref + away
        level = (below if buy else above) if kind == "sl" else (above if buy else below)
        req = TradeRequest(rc.TRADE_ACTION_SLTP, pos.symbol, position=ticket,
                           sl=level if kind == "sl" else pos.sl, tp=level if kind == "tp" else pos.tp)
        return bool(self.server.order_send(self._session(self.trader), req).ok)

    def _quote(self, symbol: str) -> tuple[Decimal, Decimal, Decimal]:
        tick = self.server.symbol_tick(symbol)
        assert tick is not None
        return tick.bid, tick.ask, BASE_PRICES[symbol][2]

    def move_price(self, symbol: str, points: int) -> None:
        bid, ask, point = self._quote(symbol)
        d = point * points
        self.server.on_tick(Tick(symbol, self.server.now_ms, bid + d, ask + d))
        if self.params.feed_prices:
            self.admin("price", symbol=symbol, bid=str(bid + d), ask=str(ask + d))

    # -------------------------------------------------------------- faults
    def disconnect(self, name: str, for_ms: int) -> None:
        term = self.terminals[name]
        if term.conn is not None:
            self.net.close(term.conn)
        term.core.disconnect()
        term.down_until = self.t + for_ms
        self.faults.setdefault(name, []).append((self.t, self.t + for_ms))

    def silence(self, name: str, for_ms: int) -> None:
        self.terminals[name].silent_until = self.t + for_ms
        self.faults.setdefault(name, []).append((self.t, self.t + for_ms))

    def daemon_pause(self, ms: int, order: str) -> None:
        """From now the daemon's process is stopped for `ms` (GC, swap, a slow disk) while the
        terminals go on and frames pile up; its first step after it handles them in `order`
        (timers_first | read_first). Time moves with `run` (other actions may happen meanwhile)."""
        self.shell.paused_until = self.t + ms
        self.shell.wake_order = order
        self.daemon_outages.append((self.t, self.t + ms))

    def flood(self, frames: int, kind: str = "junk") -> bytes:
        """An authorised peer (its own connection and login) floods the daemon: `junk`
        (undecodable frames), `heartbeat` (valid heartbeats on its own session) or `mixed`."""
        self.flooders += 1
        conn = f"F#{self.flooders}".encode()
        self.net.open(conn)
        login = 990_000 + self.flooders
        now = self.t
        self.net.up(conn, encode(Hello(id=1, seq=1, ts=now, login=login, role="investor", platform="MT4",
                                       account_type="mt4_standard", currency="USD", leverage=100,
                                       balance=D(0), equity=D(0), positions=())))
        seq = 1
        for i in range(frames):
            junk = kind == "junk" or (kind == "mixed" and i % 2 == 0)
            if junk:
                self.net.up(conn, b"\xc1" + bytes([i % 256]))
            else:
                seq += 1
                self.net.up(conn, encode(Heartbeat(id=seq, seq=seq, ts=now, login=login)))
        return conn

    def crash(self, read_before: int = 0) -> None:
        self.shell.crash(self.t, read_before)
        self.daemon_outages.append((self.t, self.t))

    def replay(self, name: str, index: int) -> bool:
        """The terminal re-sends one of its earlier trade reports (same `id`, so a duplicate the
        daemon must refuse) as the next message of its current session."""
        term = self.terminals[name]
        if term.conn is None or term.down_until is not None:
            return False
        old = []
        for conn, frame in term.sent:
            msg = decode(frame, direction=Direction.TO_DAEMON)
            if msg.TYPE in ("position_opened", "position_closed") and conn != term.conn:
                old.append(msg)
        if not old:
            return False
        msg = old[index % len(old)]
        link = term.core.links.get(msg.login)
        if link is None or not link.welcomed:
            return False
        _, seq = link.counter.next()
        self._send(term, [replace(msg, seq=seq)])
        return True

    def investor_close_offline(self, name: str, for_ms: int) -> bool:
        """The terminal of an investor account goes away; meanwhile a person closes a copy on
        that account by hand; the terminal comes back with a snapshot that lacks it."""
        term = self.terminals[name]
        copies = [(login, p.ticket) for login in term.logins for p in self.server.positions(login)
                  if p.magic == self.config.copy_magic]
        if not copies:
            return False
        self.disconnect(name, for_ms)
        login, ticket = copies[0]
        return self.close_position(login, ticket)
