"""Open validity and withdrawal: a copy is opened near the trader's moment or refused "expired";
an open whose trader position closed first is withdrawn or closed at its fill, exactly once."""

from decimal import Decimal as D

import pytest

from bridge.copytrading import (CloseCopy, CommandFilled, CommandRefused, CopyRefused, Engine, EngineConfig,
                                OpenCopy, OpenWithdrawn, SnapshotPosition, Step, TraderPositionOpened,
                                TraderSnapshot, WithdrawOpen)
from bridge.domain.errors import DomainError
from bridge.domain.trading import Side
from tests.copytrading.helpers import World, of


def world(validity: int = 5_000) -> tuple[World, int]:
    w = World(EngineConfig(open_validity_ms=validity))
    w.trader()
    return w, w.investor("I", amount="5000")


def trader_open(w: World, ticket: int, opened_at: int) -> Step:
    return w.engine.handle(TraderPositionOpened(w.now, "T", ticket, "EURUSD", Side.BUY, D("0.1"), D("1.1"),
                                                opened_at=opened_at))


def test_config_validates_the_validity_and_maps_the_old_key():
    for bad in (0, -1, True):
        with pytest.raises(DomainError):
            EngineConfig(open_validity_ms=bad)
    assert EngineConfig().open_validity_ms == 5_000


def test_every_open_carries_its_deadline_and_a_late_deal_is_refused_expired():
    w, sub = world()
    opened_at = w.tick(10_000)
    w.tick(5_000)  # exactly at the deadline: still copied
    (cmd,) = of(trader_open(w, 1, opened_at), OpenCopy)
    assert cmd.expires_at == opened_at + 5_000
    w.tick(1)  # one millisecond past it: never opened
    step = trader_open(w, 2, opened_at)
    assert of(step, OpenCopy) == []
    (ref,) = of(step, CopyRefused)
    assert (ref.code, ref.detail) == ("expired", "seen 5001 ms after its open (validity 5000 ms)")
    assert 2 not in w.engine.subscriptions[sub].copies and 2 in w.engine.traders["T"].positions


def test_a_position_first_seen_in_a_snapshot_follows_the_same_rule():
    w, sub = world()
    started = w.engine.subscriptions[sub].started_at
    now = w.tick(8_000)
    step = w.engine.handle(TraderSnapshot(now, "T", (
        SnapshotPosition(1, "EURUSD", Side.BUY, D("0.1"), D("1.1"), now - 4_000),   # within: copied
        SnapshotPosition(2, "EURUSD", Side.BUY, D("0.1"), D("1.1"), now - 6_000),   # older: expired
        SnapshotPosition(3, "EURUSD", Side.BUY, D("0.1"), D("1.1"), started - 1),   # before the subscription
    )))
    assert [(c.trader_ticket, c.expires_at) for c in of(step, OpenCopy)] == [(1, now + 1_000)]
    assert [(r.trader_ticket, r.code, r.detail) for r in of(step, CopyRefused)] == [
        (2, "expired", "first seen in a snapshot 6000 ms after its open"),
        (3, "opened_before_subscription", "only trades opened after the subscription are copied (§4.1)")]
    # known from now on: the same snapshot again copies and refuses nothing
    assert w.engine.handle(TraderSnapshot(w.tick(), "T", step_positions(w))) == Step()


def step_positions(w: World) -> tuple[SnapshotPosition, ...]:
    return tuple(SnapshotPosition(p.ticket, p.symbol, p.side, p.volume, p.price, p.opened_at)
                 for p in w.engine.traders["T"].positions.values())


def book_matches(engine: Engine, sub_id: int) -> bool:
    sub = engine.subscriptions[sub_id]
    book = engine._books[sub_id]
    return (book._positions == {c.trader_ticket: (c.group, c.notional) for c in sub.copies.values()}
            and book.total == book.recompute())


@pytest.mark.parametrize("reason", ["expired", "trader_closed_before_copy"])
def test_a_withdrawn_open_is_refused_with_its_reason_and_releases_its_margin(reason):
    w, sub = world()
    _, step = w.open("0.5", ticket=1, fill=False)
    (cmd,) = of(step, OpenCopy)
    assert w.engine._books[sub].total > 0
    step = w.engine.handle(OpenWithdrawn(w.tick(), cmd.key, reason))
    (ref,) = of(step, CopyRefused)
    assert (ref.code, ref.trader_ticket, ref.subscription) == (reason, 1, sub)
    assert not w.engine.subscriptions[sub].copies and w.engine._books[sub].total == 0
    assert book_matches(w.engine, sub)
    # idempotent: again, after a restart, or for a key nobody knows
    engine = Engine.from_state(w.engine.to_state(), w.engine.config)
    assert engine.handle(OpenWithdrawn(w.tick(), cmd.key, reason)) == Step()
    assert engine.handle(OpenWithdrawn(w.tick(), "s9-t9-open-1", reason)) == Step()
    # a fill that would come after it anyway is not booked (the daemon guarantees it never runs)
    assert engine.handle(CommandFilled(w.tick(), cmd.key, 777, D("0.5"), D("1.1"))) == Step()


def test_withdrawal_reasons_are_validated():
    with pytest.raises(DomainError):
        OpenWithdrawn(1, "s1-t1-open-1", "bored")


def test_a_withdrawal_of_a_filled_open_changes_nothing():
    w, sub = world()
    w.open("0.1", ticket=1)
    assert w.engine.subscriptions[sub].copies[1].ticket is not None
    assert w.engine.handle(OpenWithdrawn(w.tick(), "s1-t1-open-1", "expired")) == Step()
    assert 1 in w.engine.subscriptions[sub].copies


def test_the_terminal_refusing_an_expired_open_books_expired():
    w, sub = world()
    _, step = w.open("0.1", ticket=1, fill=False)
    (cmd,) = of(step, OpenCopy)
    step = w.engine.handle(CommandRefused(w.tick(), cmd.key, 20001, "expired"))
    (ref,) = of(step, CopyRefused)
    assert (ref.code, ref.retcode) == ("expired", 20001)
    assert not w.engine.subscriptions[sub].copies and book_matches(w.engine, sub)


def test_a_full_trader_close_withdraws_every_opening_copy_once():
    w, sub = world()
    w.investor("J", account=2001, amount="5000")
    _, step = w.open("0.4", ticket=1, fill=False)
    opens = of(step, OpenCopy)
    assert len(opens) == 2
    w.answer(opens[1])  # J's open filled, I's is still in flight
    # a partial close withdraws nothing
    assert of(w.close(1, "0.1", fill=False), WithdrawOpen) == []
    step = w.close(1, "0.3", fill=False)
    (withdraw,) = of(step, WithdrawOpen)
    assert (withdraw.key, withdraw.subscription, withdraw.account, withdraw.trader_ticket, withdraw.reason) == (
        opens[0].key, sub, 2000, 1, "trader_closed_before_copy")
    assert [c.subscription for c in of(step, CloseCopy)] == [2]  # J's filled copy closes as usual
    # a later trader snapshot (the position is gone) asks for nothing again
    assert of(w.engine.handle(TraderSnapshot(w.tick(), "T", ())), WithdrawOpen) == []
    step = w.engine.handle(OpenWithdrawn(w.tick(), withdraw.key, withdraw.reason))
    assert [r.code for r in of(step, CopyRefused)] == ["trader_closed_before_copy"]
    assert book_matches(w.engine, sub)


def test_a_reconcile_close_withdraws_an_opening_copy():
    w, sub = world()
    _, step = w.open("0.1", ticket=1, fill=False)
    (cmd,) = of(step, OpenCopy)
    step = w.engine.handle(TraderSnapshot(w.tick(), "T", ()))
    assert [(c.key, c.reason) for c in of(step, WithdrawOpen)] == [(cmd.key, "trader_closed_before_copy")]
    # the daemon could not withdraw it (already on the wire): closed at its fill, exactly once
    step = w.engine.handle(CommandFilled(w.tick(), cmd.key, 777, D("0.1"), D("1.1")))
    assert [(c.ticket, c.reason) for c in of(step, CloseCopy)] == [(777, "reconcile")]
    assert of(w.engine.handle(CommandFilled(w.tick(), cmd.key, 777, D("0.1"), D("1.1"))), CloseCopy) == []
    assert of(w.engine.handle(TraderSnapshot(w.tick(), "T", ())), CloseCopy) == []


def test_the_first_report_59_seconds_late_is_refused_not_executed():
    """Issue 10: the trader opened 1 s after an investor terminal vanished; the open must not
    run 59 s later. The engine's part: the deadline is on the command, and a withdrawal or an
    expired refusal books it as a refusal with its reason."""
    w, sub = world()
    _, step = w.open("0.1", ticket=1, fill=False)
    (cmd,) = of(step, OpenCopy)
    assert cmd.expires_at == w.now + 5_000  # opened now
    w.tick(59_000)  # the daemon held it for the absent terminal: past expires_at, so it withdraws it
    step = w.engine.handle(OpenWithdrawn(w.now, cmd.key, "expired"))
    assert [r.code for r in of(step, CopyRefused)] == ["expired"]
    # the trader closes the position meanwhile: nothing to close, nothing to withdraw
    assert w.close(1, "0.1", fill=False) == Step()
