"""Investor reconciliation: a filled copy missing from the investor's reconnect snapshot is
vanished, then settled exactly once, by its closing deal or by the daemon's CopyVanished."""

import json
from decimal import Decimal as D

import pytest

from bridge.copytrading import (CloseCopy, CommandFilled, CommandRefused, CopyClosed, CopyClosedByServer,
                                CopyVanished, Engine, InvestorSnapshot, OpenCopy, PriceTick, SnapshotPosition, Step,
                                StopCopying,
                                SubState, TraderSnapshot)
from bridge.copytrading.subscription import CopyState, EarlyClose
from bridge.domain.trading import Side
from tests.copytrading.helpers import World, of
from tests.copytrading.test_validity import book_matches


def world() -> tuple[World, int]:
    w = World()
    w.trader()
    sub = w.investor("I", account=2000, amount="5000")
    return w, sub


def snap(w: World, *positions: tuple[int, str]) -> InvestorSnapshot:
    return InvestorSnapshot(w.tick(), 2000, tuple(SnapshotPosition(t, "EURUSD", Side.BUY, D(v), D("1.1"), w.now - 1)
                                                  for t, v in positions))


def filled(w: World, trader_ticket: int, volume: str = "0.5") -> int:
    w.open(volume, ticket=trader_ticket)
    return w.engine.subscriptions[1].copies[trader_ticket].ticket  # type: ignore[return-value]


def closed(step: Step) -> list[tuple]:
    return [(r.trader_ticket, r.volume, r.profit, r.reason, r.estimated) for r in of(step, CopyClosed)]


def test_a_copy_missing_from_the_snapshot_is_vanished_and_nothing_is_sent():
    w, sub = world()
    a = filled(w, 1)
    b = filled(w, 2)
    step = w.engine.handle(snap(w, (b, "0.5")))
    assert step == Step()  # nothing to the wire: the server has closed it already
    copy = w.engine.subscriptions[sub].copies[1]
    assert (copy.state, copy.vanished, copy.vanished_at) == (CopyState.VANISHED, D("0.50"), w.now)
    # the trader closes it: nothing to close on the server
    assert of(w.close(1, "0.5", fill=False), CloseCopy) == []
    assert a != b


@pytest.mark.parametrize("order", ["deal_after_snapshot", "deal_before_snapshot"])
def test_the_closing_deal_settles_it_with_the_servers_figure(order):
    w, sub = world()
    ticket = filled(w, 1)
    deal = CopyClosedByServer(w.now + 10, 2000, ticket, D("0.5"), D("1.09"), D("-50"), "so")
    if order == "deal_before_snapshot":
        step = w.engine.handle(deal)
        w.engine.handle(snap(w))  # the copy is gone already: nothing to mark
    else:
        w.engine.handle(snap(w))
        step = w.engine.handle(deal)
    assert closed(step) == [(1, D("0.5"), D("-50.00"), "server_so", False)]
    s = w.engine.subscriptions[sub]
    assert not s.copies and s.balance == D("4950.00") and book_matches(w.engine, sub)
    # duplicates of either settlement change nothing
    assert w.engine.handle(deal) == Step()
    assert w.engine.handle(CopyVanished(w.tick(), 2000, ticket)) == Step()
    assert w.engine.handle(snap(w)) == Step()


def test_no_deal_within_the_wait_books_it_closed_at_zero_estimated():
    w, sub = world()
    ticket = filled(w, 1)
    w.engine.handle(snap(w))
    step = w.engine.handle(CopyVanished(w.tick(60_000), 2000, ticket))
    assert closed(step) == [(1, D("0.5"), D("0.00"), "vanished", True)]
    s = w.engine.subscriptions[sub]
    assert not s.copies and s.trades == 1 and s.balance == D("5000.00") and book_matches(w.engine, sub)
    sources, holdings = w.engine.ledger()
    assert sources == holdings
    # settled once: a late deal, another verdict, another snapshot, the trader's close do nothing
    assert w.engine.handle(CopyClosedByServer(w.tick(), 2000, ticket, D("0.5"), D("1.1"), D("3"), "so")) == Step()
    assert w.engine.handle(CopyVanished(w.tick(), 2000, ticket)) == Step()
    assert w.engine.handle(snap(w)) == Step()
    assert w.close(1, "0.5", fill=False).commands == ()


def test_copy_vanished_for_a_copy_that_never_vanished_is_ignored():
    w, sub = world()
    ticket = filled(w, 1)
    w.engine.handle(snap(w, (ticket, "0.5")))
    assert w.engine.handle(CopyVanished(w.tick(), 2000, ticket)) == Step()
    assert w.engine.handle(CopyVanished(w.tick(), 2999, 1)) == Step()  # no such account
    assert w.engine.subscriptions[sub].copies[1].state is CopyState.OPEN


def test_a_copy_back_in_a_later_snapshot_is_open_again_and_closable():
    w, sub = world()
    ticket = filled(w, 1)
    w.engine.handle(snap(w))
    w.close(1, "0.5", fill=False)  # the trader closed meanwhile: nothing sent while vanished
    step = w.engine.handle(snap(w, (ticket, "0.5")))
    copy = w.engine.subscriptions[sub].copies[1]
    assert (copy.state, copy.vanished, copy.vanished_at) == (CopyState.OPEN, D(0), None)
    assert [(c.ticket, c.volume, c.reason) for c in of(step, CloseCopy)] == [(ticket, D("0.50"), "trader_client")]


def test_a_smaller_volume_in_the_snapshot_shrinks_the_copy():
    w, sub = world()
    ticket = filled(w, 1, "1")
    step = w.engine.handle(snap(w, (ticket, "0.6")))
    assert step == Step()
    copy = w.engine.subscriptions[sub].copies[1]
    assert (copy.state, copy.vanished) == (CopyState.OPEN, D("0.40"))
    # closes never ask for the vanished part
    step = w.close(1, "1", fill=False)
    assert [c.volume for c in of(step, CloseCopy)] == [D("0.60")]
    # the missing part settles at 0, estimated; the rest closes normally
    step = w.engine.handle(CopyVanished(w.tick(), 2000, ticket))
    assert closed(step) == [(1, D("0.40"), D("0.00"), "vanished", True)]
    w.answer(of(w.steps[-1], CloseCopy)[0])
    assert not w.engine.subscriptions[sub].copies and book_matches(w.engine, sub)


def test_a_shrink_explained_by_a_close_in_flight_is_left_to_that_close():
    w, sub = world()
    ticket = filled(w, 1, "1")
    step = w.close(1, "0.4", fill=False)  # a partial close of ours is in flight
    (close,) = of(step, CloseCopy)
    w.engine.handle(snap(w, (ticket, "0.6")))  # it was executed while the terminal was away
    assert w.engine.subscriptions[sub].copies[1].vanished == 0
    w.engine.handle(CommandFilled(w.tick(), close.key, ticket, D("0.4"), D("1.1"), D("0")))
    assert w.engine.subscriptions[sub].copies[1].volume == D("0.60")


def test_a_partial_server_deal_leaves_the_rest_vanished():
    w, sub = world()
    ticket = filled(w, 1, "1")
    w.engine.handle(snap(w))
    step = w.engine.handle(CopyClosedByServer(w.tick(), 2000, ticket, D("0.3"), D("1.1"), D("12"), "so"))
    assert closed(step) == [(1, D("0.3"), D("12.00"), "server_so", False)]
    copy = w.engine.subscriptions[sub].copies[1]
    assert (copy.state, copy.volume, copy.vanished) == (CopyState.VANISHED, D("0.70"), D("0.70"))
    step = w.engine.handle(CopyVanished(w.tick(), 2000, ticket))
    assert closed(step) == [(1, D("0.70"), D("0.00"), "vanished", True)]
    assert not w.engine.subscriptions[sub].copies


def test_a_close_refused_10036_no_longer_leaves_the_copy_open_forever():
    w, sub = world()
    ticket = filled(w, 1)
    (close,) = of(w.close(1, "0.5", fill=False), CloseCopy)
    w.engine.handle(CommandRefused(w.tick(), close.key, 10036, "position closed"))
    w.engine.handle(snap(w))
    step = w.engine.handle(CopyVanished(w.tick(), 2000, ticket))
    assert closed(step) == [(1, D("0.5"), D("0.00"), "vanished", True)]
    assert not w.engine.subscriptions[sub].copies and not w.engine.pending


def test_a_vanished_copy_with_a_close_in_flight_forgets_that_close_when_settled():
    w, sub = world()
    ticket = filled(w, 1)
    (close,) = of(w.close(1, "0.5", fill=False), CloseCopy)
    w.engine.handle(snap(w))
    w.engine.handle(CopyVanished(w.tick(), 2000, ticket))
    assert not w.engine.pending
    # its answer, if it ever comes, changes nothing
    assert w.engine.handle(CommandFilled(w.tick(), close.key, ticket, D("0.5"), D("1.1"), D("9"))) == Step()


def test_a_close_of_ours_that_filled_while_away_settles_it_with_its_profit():
    w, sub = world()
    ticket = filled(w, 1)
    (close,) = of(w.close(1, "0.5", fill=False), CloseCopy)
    w.engine.handle(snap(w))
    step = w.engine.handle(CommandFilled(w.tick(), close.key, ticket, D("0.5"), D("1.1"), D("7")))
    assert closed(step) == [(1, D("0.5"), D("7.00"), "trader_client", False)]
    assert w.engine.handle(CopyVanished(w.tick(), 2000, ticket)) == Step()


def test_an_open_copy_whose_trader_position_is_gone_is_closed_at_the_investor_snapshot():
    w, sub = world()
    ticket = filled(w, 1)
    # the engine never heard of the trader's close (it only shows in a later trader snapshot)
    w.engine.traders["T"].positions.pop(1)
    step = w.engine.handle(snap(w, (ticket, "0.5")))
    assert [(c.ticket, c.reason) for c in of(step, CloseCopy)] == [(ticket, "reconcile")]
    assert of(w.engine.handle(snap(w, (ticket, "0.5"))), CloseCopy) == []  # asked once


def test_stop_copying_waits_for_the_settlement_of_a_vanished_copy():
    w, sub = world()
    ticket = filled(w, 1)
    w.engine.handle(snap(w))
    step = w.engine.handle(StopCopying(w.tick(), sub, "I", close_open=True))
    assert of(step, CloseCopy) == [] and w.engine.subscriptions[sub].state is SubState.STOPPING
    w.engine.handle(CopyVanished(w.tick(), 2000, ticket))
    assert w.engine.subscriptions[sub].state is SubState.STOPPED


def test_a_replay_of_the_journal_gives_the_same_state():
    def run(restart: bool) -> tuple[Engine, list[Step]]:
        w, _ = world()
        a = filled(w, 1)
        b = filled(w, 2, "1")
        events = [snap(w, (b, "0.7")), TraderSnapshot(w.tick(), "T", ()),
                  CopyClosedByServer(w.tick(), 2000, a, D("0.2"), D("1.1"), D("-3"), "so"),
                  snap(w), CopyVanished(w.tick(), 2000, a), CopyVanished(w.tick(), 2000, b)]
        steps = []
        for event in events:
            if restart:
                w.engine = Engine.from_state(json.loads(json.dumps(w.engine.to_state())))
            steps.append(w.engine.handle(event))
        return w.engine, steps

    first, steps1 = run(False)
    second, steps2 = run(True)
    assert steps1 == steps2 and first.to_state() == second.to_state()
    assert not first.subscriptions[1].copies


def test_the_vanished_part_of_a_copy_floats_no_more():
    w, sub = world()
    ticket = filled(w, 1, "1")
    w.engine.handle(snap(w, (ticket, "0.6")))
    w.engine.handle(PriceTick(w.tick(), "EURUSD", D("1.10100"), D("1.10110")))  # +10 pips on 0.6 lots
    assert w.engine.subscriptions[sub].floating == D("60.00")


def test_a_deal_reported_before_the_fill_settles_the_copy_at_its_fill():
    w, sub = world()
    _, step = w.open("0.5", ticket=1, fill=False)
    (cmd,) = of(step, OpenCopy)
    deal = CopyClosedByServer(w.tick(), 2000, 777, D("0.5"), D("1.09"), D("-20"), "so")
    assert w.engine.handle(deal) == Step()  # not known yet: kept while the open is in flight
    assert w.engine.handle(deal) == Step()  # a repeated report is kept once
    engine = Engine.from_state(json.loads(json.dumps(w.engine.to_state())))
    step = engine.handle(CommandFilled(w.tick(), cmd.key, 777, D("0.5"), D("1.1")))
    assert closed(step) == [(1, D("0.5"), D("-20.00"), "server_so", False)]
    s = engine.subscriptions[sub]
    assert not s.copies and not engine.s.early_closes and s.balance == D("4980.00")
    assert engine.handle(deal) == Step()


def test_a_deal_of_an_unknown_position_is_not_kept_without_an_open_in_flight():
    w, sub = world()
    w.open("0.5", ticket=1)
    assert w.engine.handle(CopyClosedByServer(w.tick(), 2000, 4242, D("1"), D("1.1"), D("5"), "so")) == Step()
    assert w.engine.s.early_closes == {}
    # kept while an open is in flight, dropped when the last one is answered otherwise
    _, step = w.open("0.1", ticket=2, fill=False)
    w.engine.handle(CopyClosedByServer(w.tick(), 2000, 4242, D("1"), D("1.1"), D("5"), "so"))
    assert w.engine.s.early_closes == {2000: {4242: [EarlyClose(D("1"), D("1.1"), D("5"), "so")]}}
    w.engine.handle(CommandRefused(w.tick(), of(step, OpenCopy)[0].key, 10019, "no money"))
    assert w.engine.s.early_closes == {}
