"""`TerminalCore`: what an mtbridge expert advisor does, as a sans-I/O state machine.

One core speaks for one terminal connection and any number of MetaTrader accounts on the
simulated `TradeServer` (the daemon's allow-list binds one CURVE key to many logins, so
an "investor terminal" process can manage thousands of accounts over one socket).

Inputs are decoded protocol messages, the server's state (read through its query API) and
`now`; outputs are protocol messages to send. No sockets, no clock, no threads:

    core = TerminalCore(server, [session_a, session_b])
    out = core.connect(now)              # hello + full snapshot per login, seq 1 each
    out = core.receive(message, now)     # welcome / heartbeat / open / close / modify / error
    out = core.poll(now)                 # server changes -> position_* / account_update,
                                         # and heartbeats that are due
    core.check(mono)                     # why the shell must drop the socket and call
                                         # connect() again (sequence error, silent daemon)

**Two clocks.** `now` stamps `ts` and paces the coalesced `account_update`s; `mono` (default:
`now`) paces heartbeats and the silent-daemon check. A shell on wall time passes one clock;
the deterministic demo passes virtual server time as `now` and wall time as `mono`, so what
is reported does not depend on socket timing while heartbeats still follow real time.

**Sequencing.** Every login is its own protocol stream on the shared socket: its own
`OutboundCounter` (seq 1 on its `hello`; ids are shared and keep growing across
reconnects) and its own `SequenceTracker` for what the daemon addresses to it (`welcome`
first). That is the only reading of docs/protocol.md that lets several logins share one
DEALER: each `hello` must carry seq 1.

**Reporting** (`watch.py`). Every account is watched, whatever its role: closing deals (`position_closed`
with the volume of the deal, `remaining`, and reason client/sl/tp/so from the deal's reason),
new positions (`position_opened`), SL/TP or swap changes (`position_modified`) and account figures
(`account_update`, coalesced: at most once per `account_update_ms` of `now`, immediately
after a deal). Investor accounts report too, so the daemon sees copies stopped out on the
server and investor equity for the protection rule.
A netting account (MT5) reports each deal as its position's new state, and a reconnect's
`hello` restarts its position watch at the snapshot (`_restart_netting_watch`): nothing older
than the snapshot is reported after it (docs/protocol.md, `hello`, "Netting accounts").

**Quotes.** The daemon's `welcome.quote_symbols` (its conversion pairs) are reported in
`quotes` from the server's quotes as the first account sees them, on the stream of the lowest
welcomed login that was asked: each symbol when it changed, at most once per `quote_every_ms`
(`quotes.py`); one frame per poll at most, so one connection costs the daemon at most one
`quotes` frame per second whatever the number of logins.

**Times.** The simulated server keeps UTC, so every time reported is UTC already (what the
EA gets by converting trade-server time); `hello.utc_offset_ms` is the server zone's offset
at `now`. An `open` whose `expires` is before `now` is answered `RETCODE_EXPIRED` and not
executed, after the key look-ups below.

**Commands** (`open`, `close`, `modify`) are executed with `TradeServer.order_send` on the
addressed login's session and answered with exactly one `command_result` per key, followed
at once by the account's reports (the deal the command made, the new account figures). A key is
executed at most once: results are kept per (login, key); after a terminal restart (a new
core) the table is rebuilt from the server, as the EA does: an `open` whose exact
(magic, comment) is found on an opening deal of the account is answered with that position;
a `close` whose key is found as the comment of a closing deal (the terminal writes the key
there) is answered with that deal. A `modify` that finds the position already at the
requested SL/TP answers "done" without a second request.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, MutableMapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from bridge.protocol import (
    Close,
    CommandResult,
    ErrorReply,
    Heartbeat,
    Hello,
    Message,
    Modify,
    Open,
    OutboundCounter,
    ProtocolError,
    Quotes,
    RETCODE_EXPIRED,
    SequenceTracker,
    Redirect,
    Welcome,
)
from simulator.server import DealInfo, Session, TradeRequest
from simulator.server import retcodes as rc
from simulator.terminals.orders import ORDER_COMMANDS, OrderWatch
from simulator.terminals.quotes import QUOTE_EVERY_MS, QuoteWatch
from simulator.terminals.watch import (  # re-exported: callers import them from here
    CLOSE_REASONS,
    SENT_KEPT,
    STATE_REPORTS,
    ZERO,
    AccountWatchMixin,
    _Tracked,
    close_reason,
    position_map,
    wire_number,
)

DEFAULT_HEARTBEAT_MS = 1000
OFFLINE_AFTER = 5  # heartbeats of silence (docs/protocol.md section 6)
MAX_REDIRECTS = 5  # redirects in a row before the terminal backs off (two daemons with stale views)
SEQUENCE_CODES = frozenset({"not_started", "bad_start_seq", "sequence_replay", "sequence_gap"})

@dataclass(frozen=True, slots=True)
class StoredResult:
    """The body of a `command_result`, kept per (login, key) for repeated keys."""

    key: str
    ok: bool
    retcode: int
    ticket: int
    price: Decimal
    volume: Decimal
    time: int
    message: str


@dataclass(frozen=True, slots=True)
class CommandSeen:
    """Instrumentation: a command received (and answered) by this terminal."""

    login: int
    type: str
    key: str
    ok: bool
    repeated: bool


@dataclass(slots=True)
class _Link:
    """One login's protocol stream on the connection, and what was last reported."""

    session: Session
    role: str
    counter: OutboundCounter
    quote_symbols: tuple[str, ...] = ()  # what the daemon's welcome asked this login to quote
    inbound: SequenceTracker = field(default_factory=lambda: SequenceTracker("welcome"))
    welcomed: bool = False
    resumed: bool = False
    last_tx: int = 0
    hello_id: int = 0  # id of the last hello: sequence errors about older frames are stale
    # watcher state
    last_deal: int = 0  # highest deal ticket reported
    last_deal_time: int = 0
    watching: bool = False  # the watch started (first hello of this process)
    netting: bool = False  # an MT5 netting account: hello says so, and additions are reported (protocol.md)
    # reports (position_*) not yet known journaled: re-sent after a welcome whose last_id is below them
    sent: deque = field(default_factory=lambda: deque(maxlen=SENT_KEPT))
    positions: dict[int, _Tracked] = field(default_factory=dict)
    account: tuple | None = None  # last account_update figures sent
    account_due: int = 0  # earliest `now` for the next coalesced account_update
    # recovery indexes (built from the server when the core starts)
    opened_by_tag: dict[tuple[int, str], DealInfo] = field(default_factory=dict)
    closed_by_key: dict[str, DealInfo] = field(default_factory=dict)
    orders: OrderWatch = field(default_factory=OrderWatch)  # pending orders (orders.py)


class _Ids:
    """Message ids shared by every login of the connection (unique per sender)."""

    __slots__ = ("next",)

    def __init__(self, first: int) -> None:
        self.next = first


class TerminalCore(AccountWatchMixin):
    """Sans-I/O terminal for one connection and several logins (see the module docstring).

    `sessions`: one `Session` per login (`TradeServer.login`); a master-password session
    reports `role: trader` (it can trade and receives commands), an investor-password
    (read-only) session `role: investor`. `next_id` is the first message id (a restarted
    terminal must start above every id it used before: e.g. wall ms x 1000).
    `results`: the (login, key) -> result table, injectable so a shell can persist it.
    `role`: what `hello` says for every login (the key's allow-list role: `trader` or
    `investor`); by default `trader`, or `investor` for a read-only session.
    """

    def __init__(
        self,
        server,
        sessions: Sequence[Session],
        *,
        next_id: int = 1,
        heartbeat_ms: int = DEFAULT_HEARTBEAT_MS,
        account_update_ms: int = 1000,
        results: MutableMapping[tuple[int, str], StoredResult] | None = None,
        role: str | None = None,
        quote_every_ms: int = QUOTE_EVERY_MS,
    ) -> None:
        if not sessions:
            raise ValueError("a terminal needs at least one session")
        self.server = server
        self.heartbeat_ms = heartbeat_ms
        self.account_update_ms = account_update_ms
        self.results: MutableMapping[tuple[int, str], StoredResult] = {} if results is None else results
        self.links: dict[int, _Link] = {}
        self._ids = _Ids(next_id)
        self.connected = False
        self.reconnect_reason: str | None = None
        # daemons sharded by trader: where a `redirect` sends this terminal ("" = where it was,
        # after a heartbeat interval: the shard has no owner yet); taken by the shell
        self.redirect_to: str | None = None
        self.redirects = 0  # redirects in a row since the last welcome (bounded: MAX_REDIRECTS)
        self.last_rx: int = 0
        self._mono = 0  # liveness clock (see `mono` below)
        self.errors: list[ErrorReply] = []
        self.commands: list[CommandSeen] = []
        self.quotes = QuoteWatch(quote_every_ms)
        for s in sorted(sessions, key=lambda s: s.login):
            if s.login in self.links:
                raise ValueError(f"login {s.login} given twice")
            # `role`: the copy-trading role of every login here, as on the daemon's allow-list
            # (trader = signal source, investor = follower); it must match the key's role.
            link = _Link(s, role or ("investor" if s.read_only else "trader"), OutboundCounter(1))
            self.links[s.login] = link
            self._recover(link)

    # ------------------------------------------------------------------ identity
    @property
    def logins(self) -> list[int]:
        return list(self.links)

    @property
    def next_id(self) -> int:
        return self._ids.next

    def welcomed(self, login: int | None = None) -> bool:
        """True once the daemon welcomed `login` (every login when None) on this connection."""
        if login is not None:
            return self.links[login].welcomed
        return all(link.welcomed for link in self.links.values())

    def _envelope(self, link: _Link, now: int) -> dict:
        _, seq = link.counter.next()  # the counter's own id is unused: ids are per sender
        mid = self._ids.next
        self._ids.next += 1
        link.last_tx = self._mono
        return {"id": mid, "seq": seq, "ts": now, "login": link.session.login}

    # ------------------------------------------------------------------ connection
    def connect(self, now: int, mono: int | None = None) -> list[Message]:
        """A new connection: every login sends `hello` (seq 1) with its full snapshot."""
        self._mono = now if mono is None else mono
        self.connected = True
        self.reconnect_reason = None
        self.last_rx = self._mono
        out: list[Message] = []
        for link in self.links.values():
            link.counter.restart()
            link.inbound = SequenceTracker("welcome")
            link.welcomed = False
            out.append(self._hello(link, now))
        return out

    def disconnect(self) -> None:
        self.connected = False
        for link in self.links.values():
            link.welcomed = False

    def _hello(self, link: _Link, now: int) -> Hello:
        login = link.session.login
        info = self.server.account_info(login)
        link.netting = info.margin_mode != rc.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING
        positions = self.server.positions(login)
        if not link.watching:
            # first contact of this terminal process: the snapshot is where the watch starts
            self._sync_watch(link, positions)
            link.watching = True
        elif link.netting:
            self._restart_netting_watch(link, positions)
        # On a reconnect (hedging) the watch goes on where it stopped: the next poll reports,
        # after this hello, the deals made while the link was down (a position opened and closed
        # meanwhile included, and the closing deal, with its profit, of a position the daemon
        # knew), so none is lost (docs/protocol.md §6.3). A position the snapshot already shows
        # is reported once more as opened; the daemon takes it as the duplicate it is.
        link.account = None
        link.account_due = now
        envelope = self._envelope(link, now)
        link.hello_id = envelope["id"]
        return Hello(
            **envelope, role=link.role, platform=info.platform,
            account_type=info.account_type, currency=info.currency, leverage=info.leverage,
            balance=wire_number(info.balance), equity=wire_number(info.equity),
            positions=tuple(position_map(p) for p in positions),
            utc_offset_ms=self.server.timezone.offset_ms(now),
            margin_mode="netting" if link.netting else "hedging",
        )  # fmt: skip

    # ------------------------------------------------------------------ inbound
    def receive(self, message: Message | ProtocolError, now: int, mono: int | None = None) -> list[Message]:
        """One decoded message from the daemon (or the ProtocolError decoding produced)."""
        self._mono = now if mono is None else mono
        if isinstance(message, ProtocolError):
            # a frame we cannot read: the stream can no longer be trusted
            self.reconnect_reason = f"undecodable frame from daemon: {message.code}"
            return []
        self.last_rx = self._mono
        link = self.links.get(message.login)
        if link is None:
            self.errors.append(ErrorReply(message.id, message.seq, message.ts, message.login,
                                          "unknown_login", "message for a login this terminal does not hold",
                                          message.id, "login"))
            return []
        if isinstance(message, Redirect):  # instead of welcome, or unsolicited: another daemon serves this login
            self.redirects += 1
            # seq 1 answers the hello; the session's next seq is a rebalancing's redirect (the
            # daemon handed the shard over, docs/protocol.md `redirect`)
            expected = 1 if not link.welcomed else link.inbound.last_seq + 1
            if message.seq != expected or self.redirects > MAX_REDIRECTS:
                self.redirects = 0
                self.redirect_to = None
                self.reconnect_reason = f"login {link.session.login}: redirect refused (seq {message.seq}, "\
                                        f"or more than {MAX_REDIRECTS} in a row)"
                return []
            self.redirect_to = message.endpoint
            self.reconnect_reason = (f"login {link.session.login}: shard {message.shard} is served at "
                                     f"{message.endpoint or '(no owner yet)'}")
            return []
        refusal = link.inbound.accept(message)
        if refusal is not None:
            self.reconnect_reason = f"login {link.session.login}: {refusal.code}: {refusal.detail}"
            return []
        if isinstance(message, Welcome):
            self.redirects = 0
            link.welcomed = True
            link.resumed = message.resume
            link.quote_symbols = message.quote_symbols
            if message.heartbeat_ms > 0:
                self.heartbeat_ms = message.heartbeat_ms
            # reports the daemon never journaled (it died, or they died in flight): sent again,
            # in order, with new ids; the journaled ones are forgotten (docs/protocol.md §6.3)
            again = [replace(m, **self._envelope(link, now)) for m in link.sent if m.id > message.last_id]
            link.sent = deque(again, maxlen=SENT_KEPT)
            # then every pending order there now: the truth about orders, as the hello's
            # positions are about positions (orders.py; docs/protocol.md §6.3). Not sent when
            # there is none to tell of: no order, and a daemon that never knew the login
            orders = link.orders.snapshot(self.server, link.session.login, lambda: self._envelope(link, now),
                                          message.resume)
            return again + ([orders] if orders is not None else [])  # type: ignore[return-value]
        if isinstance(message, Heartbeat):
            return []
        if isinstance(message, ErrorReply):
            self.errors.append(message)
            # only about a frame sent after the last hello: one reconnect answers all the earlier ones
            if message.code in SEQUENCE_CODES and (message.ref_id == 0 or message.ref_id > link.hello_id):
                self.reconnect_reason = f"login {link.session.login}: daemon says {message.code}"
            return []
        if isinstance(message, (Open, Close, Modify, *ORDER_COMMANDS)):
            out: list[Message] = [self._command(link, message, now)]
            # as the EA's OnTradeTransaction: the deal the command made is reported at once
            # (the daemon books a close's profit from its position_closed)
            self._watch(link, now, out)
            return out
        return []  # a terminal-bound type we do not act on

    def _command(self, link: _Link, cmd: Open | Close | Modify, now: int) -> CommandResult:
        login = link.session.login
        stored = self.results.get((login, cmd.key))
        repeated = stored is not None
        if stored is None:
            stored = self._recovered(link, cmd)
            repeated = stored is not None
        if stored is None and isinstance(cmd, Open) and cmd.expires and now > cmd.expires:
            # after the key look-ups: a late resend of an executed open still gets its result
            stored = StoredResult(cmd.key, False, RETCODE_EXPIRED, 0, ZERO, ZERO, self.server.now_ms,
                                  f"expired {now - cmd.expires} ms ago; not executed")
        if stored is None:
            stored = self._execute(link, cmd)
        self.results[(login, cmd.key)] = stored
        self.commands.append(CommandSeen(login, cmd.TYPE, cmd.key, stored.ok, repeated))
        return CommandResult(**self._envelope(link, now), key=stored.key, ok=stored.ok,
                             retcode=stored.retcode, ticket=stored.ticket, price=stored.price,
                             volume=stored.volume, time=stored.time, message=stored.message)

    # ------------------------------------------------------------------ execution
    def _execute(self, link: _Link, cmd: Open | Close | Modify) -> StoredResult:
        server = self.server
        session = link.session
        key = cmd.key
        if isinstance(cmd, ORDER_COMMANDS):
            res, order = link.orders.execute(server, session, cmd)
            return self._stored(key, res, order)
        if isinstance(cmd, Open):
            request = TradeRequest(
                action=rc.TRADE_ACTION_DEAL, symbol=cmd.symbol, volume=cmd.volume,
                type=rc.ORDER_TYPE_BUY if cmd.side == "buy" else rc.ORDER_TYPE_SELL,
                sl=cmd.sl, tp=cmd.tp, magic=cmd.magic, comment=cmd.comment,
            )  # fmt: skip
            res = server.order_send(session, request)
            return self._stored(key, res, res.position if res.ok else 0)
        if isinstance(cmd, Close):
            pos = next((p for p in server.positions(session.login) if p.ticket == cmd.ticket), None)
            if pos is None:
                return StoredResult(key, False, rc.TRADE_RETCODE_POSITION_CLOSED, cmd.ticket, ZERO, ZERO,
                                    server.now_ms, f"position {cmd.ticket} is not open")
            request = TradeRequest(
                action=rc.TRADE_ACTION_DEAL, symbol=pos.symbol, volume=cmd.volume,
                type=rc.ORDER_TYPE_SELL if pos.type == rc.POSITION_TYPE_BUY else rc.ORDER_TYPE_BUY,
                position=cmd.ticket, magic=pos.magic, comment=key,  # the key marks the deal
            )  # fmt: skip
            res = server.order_send(session, request)
            return self._stored(key, res, cmd.ticket)
        # Modify
        pos = next((p for p in server.positions(session.login) if p.ticket == cmd.ticket), None)
        if pos is None:
            return StoredResult(key, False, rc.TRADE_RETCODE_POSITION_CLOSED, cmd.ticket, ZERO, ZERO,
                                server.now_ms, f"position {cmd.ticket} is not open")
        if pos.sl == cmd.sl and pos.tp == cmd.tp:
            return StoredResult(key, True, rc.TRADE_RETCODE_DONE, cmd.ticket, ZERO, ZERO, server.now_ms,
                                "sl/tp already set")
        request = TradeRequest(action=rc.TRADE_ACTION_SLTP, symbol=pos.symbol, position=cmd.ticket,
                               sl=cmd.sl, tp=cmd.tp, magic=pos.magic)
        res = server.order_send(session, request)
        return self._stored(key, res, cmd.ticket)

    def _stored(self, key: str, res, ticket: int) -> StoredResult:
        ok = res.ok
        return StoredResult(key, ok, res.retcode, ticket,
                            wire_number(res.price) if ok else ZERO, wire_number(res.volume) if ok else ZERO,
                            self.server.now_ms, res.comment)

    # ------------------------------------------------------------------ restart recovery
    def _recover(self, link: _Link) -> None:
        """Index the account's own deals so a key executed before a restart is recognised."""
        for d in self.server.history_deals(link.session.login):
            if d.type not in (rc.DEAL_TYPE_BUY, rc.DEAL_TYPE_SELL) or not d.comment:
                continue
            if d.entry == rc.DEAL_ENTRY_IN:
                link.opened_by_tag.setdefault((d.magic, d.comment), d)
            elif d.entry in (rc.DEAL_ENTRY_OUT, rc.DEAL_ENTRY_OUT_BY):
                link.closed_by_key.setdefault(d.comment, d)

    def _recovered(self, link: _Link, cmd: Open | Close | Modify) -> StoredResult | None:
        d: DealInfo | None = None
        if isinstance(cmd, Open) and cmd.comment:
            d = link.opened_by_tag.get((cmd.magic, cmd.comment))
        elif isinstance(cmd, Close):
            d = link.closed_by_key.get(cmd.key)
        if d is None:
            return None
        return StoredResult(cmd.key, True, rc.TRADE_RETCODE_DONE, d.position_id, wire_number(d.price),
                            wire_number(d.volume), d.time_msc, "done (recovered from the account history)")

    # ------------------------------------------------------------------ watching the server
    def poll(self, now: int, logins: Iterable[int] | None = None, mono: int | None = None) -> list[Message]:
        """Report what changed on the server since the last poll, then due heartbeats.

        `logins` limits the scan (a caller that knows which accounts were touched); by
        default every login is scanned, in login order. Nothing is reported for a login the
        daemon has not welcomed yet: its next `hello` snapshot covers it."""
        self._mono = now if mono is None else mono
        out: list[Message] = []
        if not self.connected:
            return out
        targets = self.links.values() if logins is None else [self.links[x] for x in sorted(set(logins))
                                                                if x in self.links]
        for link in targets:
            if link.welcomed:
                self._watch(link, now, out)
        self._quotes(now, out)
        out.extend(self.heartbeats(self._mono, now))
        return out

    def _quotes(self, now: int, out: list[Message]) -> None:
        link = next((x for x in self.links.values() if x.welcomed and x.quote_symbols), None)
        if link is None:
            return
        if link.quote_symbols != self.quotes.symbols:
            self.quotes.ask(link.quote_symbols)
        login = link.session.login

        def tick(symbol: str) -> tuple[int, Decimal, Decimal] | None:
            t = self.server.symbol_tick(symbol, login)  # None: a symbol this server does not quote
            return None if t is None else (t.time_msc, wire_number(t.bid), wire_number(t.ask))

        quotes = self.quotes.due(tick, now)
        if quotes:
            out.append(Quotes(**self._envelope(link, now), quotes=quotes))

    # ------------------------------------------------------------------ heartbeats, liveness
    def heartbeats(self, mono: int, now: int | None = None) -> list[Message]:
        """A heartbeat for every welcomed login that sent nothing for `heartbeat_ms` of `mono`
        (`now`, default `mono`, stamps `ts`)."""
        self._mono = mono
        out: list[Message] = []
        if not self.connected:
            return out
        for link in self.links.values():
            if link.welcomed and mono - link.last_tx >= self.heartbeat_ms:
                out.append(Heartbeat(**self._envelope(link, mono if now is None else now)))
        return out

    def daemon_silent(self, now: int) -> bool:
        """The daemon is offline: nothing received for 5 x heartbeat_ms."""
        return self.connected and now - self.last_rx >= OFFLINE_AFTER * self.heartbeat_ms

    def check(self, now: int) -> str | None:
        """Why the shell must reconnect now, or None."""
        if self.reconnect_reason is None and self.daemon_silent(now):
            self.reconnect_reason = f"daemon silent for {now - self.last_rx} ms"
        return self.reconnect_reason
