"""Property test of the promise: every trader deal reaches every eligible investor exactly once,
promptly, or is refused with a reason; never late; nothing stays open after reconciliation.

A small model of the shell drives the engine: the daemon holds commands per investor account
(sending only to connected terminals, withdrawing opens that expired unsent or that the engine
asks to withdraw), terminals execute what reached them (refusing an open that arrives after
its deadline with 20001), the trade server closes positions by itself (its deal report may be
lost), and reconnects bring investor and trader snapshots and the daemon's vanished verdicts.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.copytrading import (BalanceOperation, CloseCopy, CommandFilled, CopyClosed, CommandRefused, CopyClosedByServer,
                                CopyOpened, CopyVanished, Engine, EngineConfig, InvestorSnapshot, OpenCopy,
                                OpenWithdrawn, SnapshotPosition, Step, SubState, TerminalOffline, TerminalOnline,
                                TimePassed, TraderPositionClosed, TraderPositionOpened, TraderSnapshot)
from bridge.copytrading.subscription import CopyState
from bridge.domain.sizing import VolumeMode
from bridge.domain.trading import Side
from tests.copytrading.helpers import World

ACCOUNTS = (2001, 2002, 2003)
CONFIG = EngineConfig(open_validity_ms=5_000)
PRICE = D("1.10000")

_open = st.tuples(st.just("open"), st.integers(0, 8_000), st.integers(1, 200))
_deliver = st.tuples(st.just("deliver"), st.sampled_from(ACCOUNTS), st.booleans())  # send, execute, report
_server_close = st.tuples(st.just("server_close"), st.sampled_from(ACCOUNTS), st.integers(0, 9), st.booleans())
action = st.one_of(
    _open, _open, _deliver, _deliver, _deliver, _server_close,
    st.tuples(st.just("partial"), st.integers(0, 9), st.integers(1, 99)),
    st.tuples(st.just("close"), st.integers(0, 9)),
    st.tuples(st.just("wait"), st.integers(1, 7_000)),
    st.tuples(st.just("send"), st.sampled_from(ACCOUNTS)),
    st.tuples(st.just("exec"), st.sampled_from(ACCOUNTS), st.booleans()),
    st.tuples(st.just("report"), st.sampled_from(ACCOUNTS), st.booleans()),
    st.tuples(st.just("offline"), st.sampled_from(ACCOUNTS), st.booleans()),
    st.tuples(st.just("online"), st.sampled_from(ACCOUNTS)),
    st.tuples(st.just("verdict"), st.sampled_from(ACCOUNTS)),
    st.tuples(st.just("trader_reconnect"), st.one_of(st.none(), st.integers(0, 8_000)),
              st.one_of(st.none(), st.integers(0, 9))),
    st.tuples(st.just("time"),),
    st.tuples(st.just("restart"),),
)


@dataclass
class Terminal:
    online: bool = True
    queue: list = field(default_factory=list)  # held by the daemon, not on the wire yet
    inbox: list = field(default_factory=list)  # on the wire: the terminal executes it
    outbox: list = field(default_factory=list)  # results and deal reports, sent when connected
    positions: dict[int, list] = field(default_factory=dict)  # server: ticket -> [volume, key]
    absent: set[int] = field(default_factory=set)  # tickets the last snapshot lacked, no deal yet


class Desk(World):
    def __init__(self) -> None:
        super().__init__(CONFIG)
        self.terminals = {a: Terminal() for a in ACCOUNTS}
        self.trader_positions: dict[int, list] = {}  # the trader's truth: ticket -> [volume, opened_at]
        self.next_ticket = 900_000
        self.opens_emitted: Counter = Counter()
        self.opens_executed: Counter = Counter()
        self.copies_opened: Counter = Counter()
        self.deals_reported: set[tuple[int, int]] = set()
        self.log: list = []

    # ------------------------------------------------------------------ the daemon
    def handle(self, event, fill: bool = True) -> Step:
        step = self.engine.handle(event)
        self.steps.append(step)
        self.log.append((step.commands, step.withdrawals))
        for cmd in step.commands:
            if type(cmd) is BalanceOperation:  # booked by the back office at once
                self.handle(CommandFilled(self.tick(), cmd.key))
                continue
            if type(cmd) is OpenCopy:
                assert self.engine.s.now <= cmd.expires_at  # never emitted late
                self.opens_emitted[(cmd.subscription, cmd.trader_ticket)] += 1
            self.terminals[cmd.account].queue.append(cmd)
        for rec in step.records:
            if type(rec) is CopyOpened:
                self.copies_opened[(rec.subscription, rec.trader_ticket)] += 1
            elif type(rec) is CopyClosed and rec.estimated:  # only when no deal was ever reported
                account = self.engine.subscriptions[rec.subscription].account
                assert (account, rec.ticket) not in self.deals_reported
        for w in step.withdrawals:
            queue = self.terminals[w.account].queue
            held = [c for c in queue if c.key == w.key]
            if held:  # never on the wire: withdrawn; otherwise it runs and the engine closes the copy
                queue.remove(held[0])
                self.handle(OpenWithdrawn(self.tick(), w.key, w.reason))
        return step

    def send(self, account: int) -> None:
        t = self.terminals[account]
        if not t.online:
            return
        for cmd in list(t.queue):
            t.queue.remove(cmd)
            if type(cmd) is OpenCopy and self.now > cmd.expires_at:
                self.handle(OpenWithdrawn(self.tick(), cmd.key, "expired"))
            else:
                t.inbox.append(cmd)

    def execute(self, account: int, refuse_open: bool) -> None:
        t = self.terminals[account]
        self.tick()
        for cmd in t.inbox:
            if type(cmd) is OpenCopy:
                if self.now > cmd.expires_at:
                    t.outbox.append(CommandRefused(0, cmd.key, 20001, "expired"))
                elif refuse_open:
                    t.outbox.append(CommandRefused(0, cmd.key, 10019, "no money"))
                    refuse_open = False
                else:
                    self.opens_executed[(cmd.subscription, cmd.trader_ticket)] += 1
                    self.next_ticket += 1
                    t.positions[self.next_ticket] = [cmd.volume, cmd.key]
                    t.outbox.append(CommandFilled(0, cmd.key, self.next_ticket, cmd.volume, PRICE))
            elif type(cmd) is CloseCopy:
                pos = t.positions.get(cmd.ticket)
                if pos is None:
                    t.outbox.append(CommandRefused(0, cmd.key, 10036, "position closed"))
                    continue
                volume = min(cmd.volume, pos[0])
                pos[0] -= volume
                if pos[0] <= 0:
                    del t.positions[cmd.ticket]
                t.outbox.append(CommandFilled(0, cmd.key, cmd.ticket, volume, PRICE, volume * 7))
        t.inbox.clear()

    def report(self, account: int, deals_first: bool = False) -> None:
        """What the terminal has to say, once connected: results and deal reports, in its order
        or (after a reconnect, replaying its history) deals first."""
        t = self.terminals[account]
        if not t.online:
            return
        out, t.outbox = t.outbox, []
        if deals_first:
            out.sort(key=lambda event: type(event) is not CopyClosedByServer)
        for event in out:
            if type(event) is CopyClosedByServer:
                t.absent.discard(event.ticket)
                self.deals_reported.add((account, event.ticket))
            self.handle(type(event)(self.tick(), *_fields(event)[1:]))

    def server_close(self, account: int, index: int, reported: bool) -> None:
        t = self.terminals[account]
        if not t.positions:
            return
        ticket = sorted(t.positions)[index % len(t.positions)]
        volume = t.positions.pop(ticket)[0]
        if reported:
            t.outbox.append(CopyClosedByServer(0, account, ticket, volume, PRICE, -volume * 3, "so"))

    def offline(self, account: int, noticed: bool) -> None:
        t = self.terminals[account]
        t.online = False
        if noticed:  # the daemon may not notice at once: the engine keeps fanning out to it
            self.handle(TerminalOffline(self.tick(), account))

    def online(self, account: int) -> None:
        t = self.terminals[account]
        if t.online and self.engine._sub_by_account[account].online:
            return
        t.online = True
        self.handle(TerminalOnline(self.tick(), account))
        positions = tuple(SnapshotPosition(ticket, "EURUSD", Side.BUY, v, PRICE, 0)
                          for ticket, (v, _) in sorted(t.positions.items()))
        sub = self.engine._sub_by_account[account]
        t.absent = {c.ticket for c in sub.copies.values() if c.ticket is not None and c.ticket not in t.positions}
        self.handle(InvestorSnapshot(self.tick(), account, positions))

    def verdict(self, account: int) -> None:
        t = self.terminals[account]
        if any(type(e) is CopyClosedByServer for e in t.outbox):
            return  # a deal is on its way: keep waiting
        for ticket in sorted(t.absent):
            self.handle(CopyVanished(self.tick(), account, ticket))
        t.absent.clear()

    def deliver(self, account: int, refuse_open: bool) -> None:
        self.send(account)
        self.execute(account, refuse_open)
        self.report(account)

    def time_passes(self) -> None:
        self.handle(TimePassed(self.tick()))

    def restart(self) -> None:
        self.engine = Engine.from_state(json.loads(json.dumps(self.engine.to_state())), CONFIG)

    # ------------------------------------------------------------------ the trader
    def trader_open(self, lag: int, centi: int) -> None:
        self.next_ticket += 1
        ticket, volume, now = self.next_ticket, D(centi) / 100, self.tick()
        self.trader_positions[ticket] = [volume, now - lag]
        self.handle(TraderPositionOpened(now, "T", ticket, "EURUSD", Side.BUY, volume, PRICE, opened_at=now - lag))

    def trader_close(self, index: int, pct: int = 100) -> None:
        if not self.trader_positions:
            return
        ticket = sorted(self.trader_positions)[index % len(self.trader_positions)]
        pos = self.trader_positions[ticket]
        volume = pos[0] if pct == 100 else (pos[0] * pct / 100).quantize(D("0.01"))
        if volume <= 0 or (pct != 100 and volume >= pos[0]):
            return
        pos[0] -= volume
        if pos[0] <= 0:
            del self.trader_positions[ticket]
        self.handle(TraderPositionClosed(self.tick(), "T", ticket, volume, PRICE))

    def trader_reconnect(self, unseen_lag: int | None, lost_close: int | None) -> None:
        if lost_close is not None and self.trader_positions:
            del self.trader_positions[sorted(self.trader_positions)[lost_close % len(self.trader_positions)]]
        if unseen_lag is not None:
            self.next_ticket += 1
            self.trader_positions[self.next_ticket] = [D("0.3"), self.now - unseen_lag]
        self.handle(TraderSnapshot(self.tick(), "T", tuple(
            SnapshotPosition(t, "EURUSD", Side.BUY, v, PRICE, at) for t, (v, at) in sorted(self.trader_positions.items()))))


def _fields(event) -> tuple:
    return tuple(getattr(event, f) for f in event.__dataclass_fields__)


def setup() -> Desk:
    d = Desk()
    d.trader(equity="20000")
    for account, mode in zip(ACCOUNTS, (VolumeMode.EQUAL, VolumeMode.PROPORTIONAL, VolumeMode.EQUAL)):
        d.investor(f"I{account}", account=account, amount="20000", mode=mode)
    d.tick(10_000)  # trader deals (opened up to 8 s before they are seen) come after the subscriptions
    return d


_ACTIONS = {
    "open": Desk.trader_open, "partial": Desk.trader_close, "close": Desk.trader_close, "wait": Desk.tick,
    "send": Desk.send, "exec": Desk.execute, "report": Desk.report, "deliver": Desk.deliver,
    "offline": Desk.offline, "online": Desk.online, "server_close": Desk.server_close, "verdict": Desk.verdict,
    "trader_reconnect": Desk.trader_reconnect, "time": Desk.time_passes, "restart": Desk.restart,
}


def apply(d: Desk, a: tuple) -> None:
    _ACTIONS[a[0]](d, *a[1:])


def check(d: Desk) -> None:
    e = d.engine
    # each (subscription, trader ticket): at most one open, executed at most once, booked at most once
    assert max(d.opens_emitted.values(), default=0) <= 1
    assert max(d.opens_executed.values(), default=0) <= 1
    assert max(d.copies_opened.values(), default=0) <= 1
    positions = e.traders["T"].positions
    for sub in e.subscriptions.values():
        book = e._books.get(sub.id)
        if sub.state is SubState.STOPPED:
            assert not sub.copies and book is None
            continue
        # reserved margin: exactly the copies' (refused and withdrawn opens released theirs)
        assert book is not None
        assert book._positions == {c.trader_ticket: (c.group, c.notional) for c in sub.copies.values()}
        assert book.total == book.recompute()
        for ticket, copy in sub.copies.items():
            if ticket not in positions:  # the trader closed it: the copy is on its way out
                assert copy.close_reason is not None, (sub.id, ticket)
            assert D(0) <= copy.vanished <= copy.volume
            assert (copy.state is CopyState.VANISHED) <= (copy.vanished == copy.volume)
    sources, holdings = e.ledger()
    assert sources == holdings  # to the cent
    assert all(v == v.quantize(D("0.01")) for v in e.wallets.balances.values())


def settle(d: Desk) -> None:
    """Everything reconnects (hello snapshots), runs and reports, and the daemon gives its
    verdicts, until nothing moves. Then engine and server agree."""

    def run_all() -> None:
        for account in ACCOUNTS:
            for _ in range(3):
                d.deliver(account, False)

    for _ in range(10):
        d.tick(10)
        d.trader_reconnect(None, None)
        for account in ACCOUNTS:
            d.offline(account, True)
            d.online(account)
        run_all()
        d.time_passes()
        run_all()
        for account in ACCOUNTS:
            d.verdict(account)
        check(d)
        if quiet(d):
            break
    e = d.engine
    assert quiet(d) and not e.pending
    for account in ACCOUNTS:
        sub = e._sub_by_account[account]
        # no copy open whose trader position is closed; engine and server hold the same positions
        assert all(ticket in e.traders["T"].positions for ticket in sub.copies)
        assert {c.ticket: c.volume for c in sub.copies.values()} == {
            k: v for k, (v, _) in d.terminals[account].positions.items()}


def quiet(d: Desk) -> bool:
    if any(t.queue or t.inbox or t.outbox or t.absent for t in d.terminals.values()) or d.engine.pending:
        return False
    # A fill reported after the hello that lacked its (already closed) position is only seen
    # missing at the next hello: the engine skips opening copies in a snapshot.
    for account in ACCOUNTS:
        copies = d.engine._sub_by_account[account].copies.values()
        if {c.ticket: c.volume for c in copies} != {k: v for k, (v, _) in d.terminals[account].positions.items()}:
            return False
    return all(c.state is CopyState.OPEN and not c.vanished and c.close_reason is None
               for sub in d.engine.subscriptions.values() for c in sub.copies.values())


SETTINGS = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(actions=st.lists(action, min_size=10, max_size=60))
def test_every_deal_reaches_each_investor_once_promptly_or_is_refused(actions):
    d = setup()
    for a in actions:
        apply(d, a)
        check(d)
    settle(d)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=st.lists(action, max_size=30))
def test_replaying_the_journal_gives_the_same_commands_and_state(actions):
    first, second = setup(), setup()
    for a in actions:
        apply(first, a)
        if a[0] != "restart":
            apply(second, a)
        second.engine = Engine.from_state(json.loads(json.dumps(second.engine.to_state())), CONFIG)
    assert first.log == second.log
    assert first.engine.to_state() == second.engine.to_state()
