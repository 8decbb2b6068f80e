"""Property tests over random trader activity (hypothesis)."""

from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.copytrading import (AccountUpdated, ClientAssigned, CommandRefused, EditSettings, Engine,
                                OpenCopy, PartnerRegistered, PriceTick, StopCopying, SubState, TimePassed)
from bridge.domain.sizing import VolumeMode
from tests.copytrading.helpers import HOUR, World

SYMBOLS = {"EURUSD": D("1.10000"), "GBPUSD": D("1.27000"), "XAUUSD": D("2300.00")}
STEP = {"EURUSD": D("0.00010"), "GBPUSD": D("0.00010"), "XAUUSD": D("0.10")}

action = st.one_of(
    st.tuples(st.just("open"), st.sampled_from(sorted(SYMBOLS)), st.integers(1, 300), st.booleans()),
    st.tuples(st.just("partial"), st.integers(0, 20), st.integers(1, 99)),
    st.tuples(st.just("close"), st.integers(0, 20), st.sampled_from(["client", "sl", "tp", "stop_out"])),
    st.tuples(st.just("move"), st.sampled_from(sorted(SYMBOLS)), st.integers(-300, 300)),
    st.tuples(st.just("time"), st.integers(1, 30 * HOUR)),
    st.tuples(st.just("trader_equity"), st.integers(1000, 50000)),
    st.tuples(st.just("edit"), st.integers(1, 3), st.sampled_from([None, 0, 5, 20, 50])),
    st.tuples(st.just("stop"), st.integers(1, 3), st.booleans()),
    st.tuples(st.just("restart"),),
)


class Run(World):
    def __init__(self, refuse: set[int]) -> None:
        super().__init__()
        self.refuse = refuse  # indexes of OpenCopy commands the server refuses
        self.n_open = 0
        self.log: list = []

    def handle(self, event, fill: bool = True):
        step = self.engine.handle(event)
        self.steps.append(step)
        self.log.extend(step.commands)
        for cmd in step.commands:
            if isinstance(cmd, OpenCopy):
                self.n_open += 1
                if self.n_open in self.refuse:
                    self.handle(CommandRefused(self.tick(), cmd.key, 10019, "no money"))
                    continue
            self.answer(cmd)
        return step


def run(actions, refuse=frozenset(), restarts: bool | str = True):
    """restarts: False, True (through to_state) or "bytes" (through the journal's to_bytes)."""
    w = Run(set(refuse))
    w.prices.update(SYMBOLS)
    w.trader(equity="10000", commission="30")
    w.handle(PartnerRegistered(w.tick(), "P"))
    w.handle(PartnerRegistered(w.tick(), "P2", referrer="P"))
    w.handle(ClientAssigned(w.tick(), "I1", "P2"))
    w.handle(ClientAssigned(w.tick(), "T", "P"))
    w.investor("I1", account=2001, amount="3000", protection="30")
    w.investor("I2", account=2002, amount="5000", mode=VolumeMode.PROPORTIONAL, deposit="6000")
    w.investor("I3", account=2003, amount="800", protection="0")
    open_tickets: list[int] = []
    for a in actions:
        kind = a[0]
        if kind == "open":
            _, sym, centi, buy = a
            from bridge.domain.trading import Side
            t, _ = w.open(str(D(centi) / 100), symbol=sym, side=Side.BUY if buy else Side.SELL,
                          price=str(w.prices[sym]))
            open_tickets.append(t)
        elif kind in ("partial", "close") and open_tickets:
            t = open_tickets[a[1] % len(open_tickets)]
            pos = w.engine.traders["T"].positions[t]
            if kind == "partial":
                vol = (pos.volume * a[2] / 100).quantize(D("0.01"))
                if vol <= 0 or vol >= pos.volume:
                    continue
                w.close(t, str(vol), symbol=pos.symbol)
            else:
                w.close(t, str(pos.volume), symbol=pos.symbol, reason=a[2])
                open_tickets.remove(t)
        elif kind == "move":
            _, sym, steps = a
            price = max(w.prices[sym] + STEP[sym] * steps, STEP[sym] * 100)
            w.prices[sym] = price
            w.handle(PriceTick(w.tick(), sym, price, price + STEP[sym]))
        elif kind == "time":
            w.handle(TimePassed(w.tick(a[1])))
        elif kind == "trader_equity":
            w.handle(AccountUpdated(w.tick(), 1000, D(a[1]), D(a[1])))
        elif kind == "edit":
            sub = w.engine.subscriptions[a[1]]
            w.handle(EditSettings(w.tick(), a[1], sub.investor, protection_pct=None if a[2] is None else D(a[2])))
        elif kind == "stop":
            sub = w.engine.subscriptions[a[1]]
            w.handle(StopCopying(w.tick(), a[1], sub.investor, close_open=a[2]))
        elif kind == "restart" and restarts == "bytes":
            w.engine = Engine.from_bytes(w.engine.to_bytes())
        elif kind == "restart" and restarts:
            w.engine = Engine.from_state(w.engine.to_state())
        check(w)
    return w


def check(w: World) -> None:
    e = w.engine
    positions = e.traders["T"].positions
    for sub in e.subscriptions.values():
        for ticket, copy in sub.copies.items():
            # no open investor copy has a closed trader position
            assert ticket in positions, (sub.id, ticket)
        if sub.state is SubState.STOPPED:
            assert not sub.copies and sub.balance == 0
    sources, holdings = e.ledger()
    assert sources == holdings  # to the cent
    assert all(v == v.quantize(D("0.01")) for v in e.wallets.balances.values())
    assert not e.pending  # everything answered in this world


SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(actions=st.lists(action, max_size=40), refuse=st.sets(st.integers(1, 40), max_size=5))
def test_invariants_hold_over_random_activity(actions, refuse):
    w = run(actions, refuse)
    # the money never leaves the books: every wallet movement is whole cents
    w.handle(TimePassed(w.tick(8 * 24 * HOUR)))
    check(w)


@SETTINGS
@given(actions=st.lists(action, max_size=30), refuse=st.sets(st.integers(1, 30), max_size=3))
def test_replaying_the_same_events_gives_the_same_commands(actions, refuse):
    first = run(actions, refuse, restarts=False)
    second = run(actions, refuse, restarts=True)  # restarts from persisted state in between
    assert first.log == second.log
    assert first.engine.to_state() == second.engine.to_state()
    assert [s.records for s in first.steps] == [s.records for s in second.steps]
