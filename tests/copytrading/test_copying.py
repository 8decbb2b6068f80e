"""Copying and closing: §4.1, §4.2, §4.7, partial closes, results, terminals, keys."""

from decimal import Decimal as D

import pytest

from bridge.copytrading import (CloseCopy, CloseFailed, CloseSkipped, CommandFilled, CommandRefused, CopyClosed,
                                CopyClosedByServer,
                                CopyRefused, EngineConfig, ModifyCopy, OpenCopy, OpenWithdrawn, Step, TerminalOffline,
                                TerminalOnline, TimePassed, TraderPositionModified, WithdrawOpen)
from tests.copytrading.helpers import World, of


@pytest.mark.parametrize("reason", ["client", "sl", "tp", "stop_out"])
def test_any_close_of_the_trader_position_closes_its_copies(reason):
    w = World()
    w.trader()
    a = w.investor("A", account=2001)
    b = w.investor("B", account=2002)
    ticket, _ = w.open("0.2")
    step = w.close(ticket, "0.2", reason=reason)
    closes = of(step, CloseCopy)
    assert [(c.subscription, c.volume, c.reason) for c in closes] == [
        (a, D("0.20"), f"trader_{reason}"), (b, D("0.20"), f"trader_{reason}")]
    assert all(not w.engine.subscriptions[s].copies for s in (a, b))


def test_partial_close_closes_the_same_fraction():
    w = World()
    w.trader()
    sub = w.investor("I", amount="5000")
    ticket, _ = w.open("1.00")
    step = w.close(ticket, "0.25")
    (close,) = of(step, CloseCopy)
    assert (close.volume, close.reason) == (D("0.25"), "trader_partial_client")
    assert w.engine.subscriptions[sub].copies[ticket].volume == D("0.75")
    step = w.close(ticket, "0.5")  # two thirds of what is left
    assert of(step, CloseCopy)[0].volume == D("0.50")
    assert w.engine.subscriptions[sub].copies[ticket].volume == D("0.25")


def test_partial_close_whose_remainder_falls_below_minimum_closes_the_whole_copy():
    w = World()
    w.trader()
    sub = w.investor("I", amount="1000")
    ticket, _ = w.open("0.03")
    w.close(ticket, "0.015")  # half of 0.03 = 0.015 -> 0.02, leaving 0.01
    assert w.engine.subscriptions[sub].copies[ticket].volume == D("0.01")
    step = w.close(ticket, "0.0075")  # half again: 0.005 -> 0.01, remainder 0 < 0.01: whole copy
    assert of(step, CloseCopy)[0].volume == D("0.01")
    assert ticket not in w.engine.subscriptions[sub].copies


def test_partial_close_below_half_a_minimum_lot_is_skipped_and_recorded():
    w = World()
    w.trader()
    sub = w.investor("I", amount="1000")
    ticket, _ = w.open("0.10")
    step = w.close(ticket, "0.004")  # 4 % of 0.10 = 0.004 < 0.005
    assert of(step, CloseCopy) == []
    assert [r.code for r in of(step, CloseSkipped)] == ["below_min_volume"]
    assert w.engine.subscriptions[sub].copies[ticket].volume == D("0.10")


def test_trader_closes_while_the_copy_is_still_opening():
    w = World()
    w.trader()
    sub = w.investor("I", amount="1000")
    ticket, step = w.open("0.1", fill=False)
    (open_cmd,) = of(step, OpenCopy)
    # the engine asks the daemon to withdraw the open; this daemon had already sent it
    step = w.close(ticket, "0.1", fill=False)
    (withdraw,) = step.withdrawals
    assert step.commands == ()
    assert type(withdraw) is WithdrawOpen and withdraw.key == open_cmd.key
    step = w.engine.handle(CommandFilled(w.tick(), open_cmd.key, 777, D("0.1"), D("1.1")))
    (close,) = of(step, CloseCopy)
    assert (close.ticket, close.volume, close.reason) == (777, D("0.1"), "trader_client")
    # a repeated fill, or a withdrawal answered too late, closes nothing more
    assert w.engine.handle(CommandFilled(w.tick(), open_cmd.key, 777, D("0.1"), D("1.1"))) == Step()
    assert w.engine.handle(OpenWithdrawn(w.tick(), open_cmd.key, "trader_closed_before_copy")) == Step()
    w.engine.handle(CommandFilled(w.tick(), close.key, 777, D("0.1"), D("1.1"), D("0")))
    assert not w.engine.subscriptions[sub].copies


def test_partial_close_while_opening_applies_at_the_fill():
    w = World()
    w.trader()
    w.investor("I", amount="5000")
    ticket, step = w.open("1", fill=False)
    (open_cmd,) = of(step, OpenCopy)
    w.close(ticket, "0.4", fill=False)
    step = w.engine.handle(CommandFilled(w.tick(), open_cmd.key, 777, D("1"), D("1.1")))
    assert of(step, CloseCopy)[0].volume == D("0.40")


def test_server_refusal_of_an_open_is_recorded_with_its_retcode():
    w = World()
    w.trader()
    sub = w.investor("I", amount="1000")
    _, step = w.open("0.1", fill=False)
    (cmd,) = of(step, OpenCopy)
    step = w.engine.handle(CommandRefused(w.tick(), cmd.key, 10019, "no money"))
    (ref,) = of(step, CopyRefused)
    assert (ref.code, ref.retcode) == ("server_refused", 10019)
    assert not w.engine.subscriptions[sub].copies
    # a duplicate answer is ignored (idempotent)
    assert w.engine.handle(CommandRefused(w.tick(), cmd.key, 10019)).records == ()


def test_refused_close_is_retried_when_time_passes():
    w = World()
    w.trader()
    w.investor("I", amount="1000")
    ticket, _ = w.open("0.1")
    step = w.close(ticket, "0.1", fill=False)
    (close,) = of(step, CloseCopy)
    step = w.engine.handle(CommandRefused(w.tick(), close.key, 10018, "market closed"))
    assert of(step, CloseFailed)
    step = w.engine.handle(TimePassed(w.tick(1000)))
    (retry,) = of(step, CloseCopy)
    assert retry.key != close.key and retry.key.endswith("-close-3") and retry.volume == D("0.1")


def test_offline_terminal_refuses_copies_with_a_reason():
    w = World()
    w.trader()
    sub = w.investor("I", account=2000, amount="1000")
    w.handle(TerminalOffline(w.tick(), 2000))
    _, step = w.open("0.1")
    assert [(r.subscription, r.code) for r in of(step, CopyRefused)] == [(sub, "terminal_offline")]
    w.handle(TerminalOnline(w.tick(), 2000))
    _, step = w.open("0.1")
    assert of(step, OpenCopy)


def test_copies_carry_no_stops_unless_configured():
    w = World()
    w.trader()
    w.investor("I", amount="1000")
    ticket, _ = w.open("0.1")
    step = w.handle(TraderPositionModified(w.tick(), "T", ticket, D("1.09"), D("1.12")))
    assert step.commands == ()
    w2 = World(EngineConfig(mirror_stops=True))
    w2.trader()
    w2.investor("I", amount="1000")
    ticket, _ = w2.open("0.1")
    step = w2.handle(TraderPositionModified(w2.tick(), "T", ticket, D("1.09"), D("1.12")), fill=False)
    (mod,) = of(step, ModifyCopy)
    assert (mod.sl, mod.tp, mod.key) == (D("1.09"), D("1.12"), f"s1-t{ticket}-modify-2")


def test_closed_copies_book_realised_profit():
    w = World()
    w.trader()
    sub = w.investor("I", amount="1000")
    ticket, _ = w.open("0.1", price="1.10000")
    w.close(ticket, "0.1", price="1.09000")  # -100 USD on 0.1 lot
    (closed,) = w.records(CopyClosed)
    assert closed.profit == D("-100.00")
    assert w.engine.subscriptions[sub].balance == D("900.00")


def test_a_copy_closed_by_the_server_itself_is_booked_and_never_retried():
    # The investor account is stopped out by the trade server: the close arrives as a report,
    # not as the answer to a command of ours.
    w = World()
    w.trader()
    sub = w.investor("I", account=2000, amount="1000")
    ticket, _ = w.open("0.1")
    copy = w.engine.subscriptions[sub].copies[ticket]
    step = w.handle(CopyClosedByServer(w.tick(), 2000, copy.ticket, D("0.1"), D("1.09"), D("-100.00"), "so"))
    (closed,) = of(step, CopyClosed)
    assert (closed.reason, closed.profit, closed.remaining) == ("server_so", D("-100.00"), 0)
    assert ticket not in w.engine.subscriptions[sub].copies
    assert w.engine.subscriptions[sub].balance == D("900.00")
    # the trader's later close finds nothing to close; a replayed report changes nothing
    assert of(w.close(ticket, "0.1"), CloseCopy) == []
    again = w.handle(CopyClosedByServer(w.tick(), 2000, copy.ticket, D("0.1"), D("1.09"), D("-100.00"), "so"))
    assert again.records == () and w.engine.subscriptions[sub].balance == D("900.00")


def test_a_close_refused_because_the_position_is_gone_is_not_retried():
    w = World()
    w.trader()
    w.investor("I", amount="1000")
    ticket, _ = w.open("0.1")
    (close,) = of(w.close(ticket, "0.1", fill=False), CloseCopy)
    w.engine.handle(CommandRefused(w.tick(), close.key, 10036, "position closed"))
    assert of(w.engine.handle(TimePassed(w.tick(1000))), CloseCopy) == []


def test_a_copy_the_engine_cannot_value_is_refused_no_rate_not_raised():
    """Issue 12 item 1.3: a trader deal on a JPY-quoted symbol before any USDJPY price reached the
    engine. Each copy is refused `no_rate` with the pair it needs; the step completes."""
    w = World()
    w.trader()
    a = w.investor("A", account=2001)
    b = w.investor("B", account=2002)
    ticket, step = w.open("0.10", symbol="EURJPY", price="160.000", fill=False)
    refused = of(step, CopyRefused)
    assert [(r.subscription, r.code) for r in refused] == [(a, "no_rate"), (b, "no_rate")]
    assert "JPY" in refused[0].detail
    assert of(step, OpenCopy) == []
