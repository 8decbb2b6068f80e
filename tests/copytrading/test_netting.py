"""Cross-platform copying and MT5 netting traders (issue 15 item 9)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.copytrading import (CloseCopy, EngineConfig, OpenCopy, SetCopySettings, Subscribe,
                                TraderPositionClosed, TraderPositionOpened, WalletDeposited)
from bridge.copytrading.netting import NettingBook
from bridge.domain.errors import DomainError
from bridge.domain.sizing import normalise
from bridge.domain.trading import Side
from tests.copytrading.helpers import World, of, in_copy_trading_doc

ITEM_9 = ("**Cross-platform**: a trader on MT5 copied to an investor on MT4 and the reverse, including an MT5 "
          "netting trader (its position changes become opens, partial closes and reversals for the copies).")
BOTH = EngineConfig(eligible_trader_types=("mt4_standard", "mt4_pro", "mt5_standard", "mt5_pro"),
                    trader_platforms=("MT4", "MT5"), investor_platforms=("MT4", "MT5"))
STEP = D("0.01")


def world(trader_type: str, investor_types: tuple[str, ...], multiplier: str | None = None) -> tuple[World, list[int]]:
    w = World(BOTH)
    w.trader(account_type=trader_type, equity="100000")
    subs = []
    for i, account_type in enumerate(investor_types):
        name = f"I{i}"
        w.handle(WalletDeposited(w.tick(), name, D("100000")))
        step = w.handle(Subscribe(w.tick(), name, "T", 2000 + i, D("100000"), account_type=account_type, leverage=500))
        sub = next(r.subscription for r in step.records if type(r).__name__ == "SubscriptionStarted")
        if multiplier is not None:
            w.handle(SetCopySettings(w.tick(), sub, name, mode="multiplier", multiplier=multiplier))
        subs.append(sub)
    return w, subs


@pytest.mark.parametrize("trader_type, investor_type", [("mt5_standard", "mt4_standard"),
                                                        ("mt4_standard", "mt5_standard")])
def test_mt5_trader_to_mt4_investor_and_the_reverse(trader_type, investor_type):
    assert in_copy_trading_doc(ITEM_9)  # the item 9, as docs/copy-trading.md quotes it
    w, (sub,) = world(trader_type, (investor_type,))
    step = w.handle(TraderPositionOpened(w.tick(), "T", 1, "EURUSD", Side.BUY, D("0.30"), D("1.08000")))
    assert [(c.subscription, c.volume) for c in of(step, OpenCopy)] == [(sub, D("0.30"))]
    step = w.handle(TraderPositionClosed(w.tick(), "T", 1, D("0.30"), D("1.08100")))
    assert [(c.subscription, c.volume) for c in of(step, CloseCopy)] == [(sub, D("0.30"))]
    assert not w.engine.subscriptions[sub].copies


def test_netting_worked_example():
    """Buy 0.30, buy 0.20 more, sell 0.40 (a partial close), sell 0.50 (through zero: a reversal)."""
    book = NettingBook("T")
    events = book.deal(1, 11, "EURUSD", Side.BUY, D("0.30"), D("1.08000"))
    assert [(type(e).__name__, e.ticket, e.volume) for e in events] == [("TraderPositionOpened", 11, D("0.30"))]
    events = book.deal(2, 12, "EURUSD", Side.BUY, D("0.20"), D("1.08100"))
    assert [(type(e).__name__, e.ticket, e.volume) for e in events] == [("TraderPositionOpened", 12, D("0.20"))]
    events = book.deal(3, 13, "EURUSD", Side.SELL, D("0.40"), D("1.08200"), profit=D("70.00"))
    assert [(type(e).__name__, e.ticket, e.volume, e.profit) for e in events] == [
        ("TraderPositionClosed", 11, D("0.30"), D("52.50")), ("TraderPositionClosed", 12, D("0.10"), D("17.50"))]
    assert book.net("EURUSD") == D("0.10")
    events = book.deal(4, 14, "EURUSD", Side.SELL, D("0.50"), D("1.08300"), profit=D("20.00"))
    assert [(type(e).__name__, e.ticket, e.volume) for e in events] == [
        ("TraderPositionClosed", 12, D("0.10")), ("TraderPositionOpened", 14, D("0.40"))]
    assert events[1].side is Side.SELL and book.net("EURUSD") == D("-0.40")
    assert NettingBook.from_state(book.to_state()).to_state() == book.to_state()


def test_bad_deals_are_refused_and_change_nothing():
    book = NettingBook("T")
    book.deal(1, 11, "EURUSD", Side.BUY, D("0.30"), D("1.08000"))
    before = book.to_state()
    for volume in (D("0"), D("-1"), D("NaN")):
        with pytest.raises(DomainError, match="invalid_deal|positive"):
            book.deal(2, 12, "EURUSD", Side.SELL, volume, D("1.08000"))
    with pytest.raises(DomainError, match="already opened"):
        book.deal(3, 11, "EURUSD", Side.BUY, D("0.10"), D("1.08000"))
    assert book.to_state() == before


def test_a_refused_deal_on_a_flat_symbol_or_a_reversal_leaves_the_book_as_it_was():
    book = NettingBook("T")
    book.deal(1, 11, "EURUSD", Side.BUY, D("0.30"), D("1.08000"))
    book.deal(2, 12, "EURUSD", Side.BUY, D("0.20"), D("1.08000"))
    before = book.to_state()
    with pytest.raises(DomainError, match="already opened"):  # a flat symbol: no empty position left behind
        book.deal(3, 11, "GBPUSD", Side.BUY, D("0.10"), D("1.25000"))
    with pytest.raises(DomainError, match="already opened"):  # a reversal: no leg closed
        book.deal(4, 12, "EURUSD", Side.SELL, D("0.80"), D("1.08000"))
    assert book.to_state() == before
    # and the book still works: a deal against GBPUSD (flat) opens, EURUSD closes its oldest leg
    assert [type(e).__name__ for e in book.deal(5, 21, "GBPUSD", Side.SELL, D("0.10"), D("1.25000"))] == [
        "TraderPositionOpened"]
    assert [(e.ticket, e.volume) for e in book.deal(6, 22, "EURUSD", Side.SELL, D("0.30"), D("1.08000"))] == [
        (11, D("0.30"))]


deals = st.lists(st.tuples(st.sampled_from([Side.BUY, Side.SELL]), st.integers(1, 200),
                           st.sampled_from(["EURUSD", "GBPUSD"])), min_size=1, max_size=25)


def copy_net(w: World, sub: int, symbol: str) -> D:
    return sum((c.side.sign * c.volume for c in w.engine.subscriptions[sub].copies.values() if c.symbol == symbol),
               D(0))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(deals=deals, multiplier=st.sampled_from(["1.5", "2", "0.7"]))
def test_copies_follow_the_netting_net_volume(deals, multiplier):
    """After any sequence of netting deals each copy's net volume equals the mapped trader net
    volume under the sizing rules, to the lot step: 1:1 exactly (equal, MT4 and MT5 investors),
    and for a multiplier each open leg's copy within one lot step of the multiplier x the leg
    (the §5 rounding of the leg's open and of each partial close)."""
    w, (equal_mt4, equal_mt5, scaled) = world("mt5_standard", ("mt4_standard", "mt5_standard", "mt4_standard"),
                                              None)
    w.handle(SetCopySettings(w.tick(), scaled, "I2", mode="multiplier", multiplier=multiplier))
    book = NettingBook("T")
    m = D(multiplier)
    for n, (side, lots, symbol) in enumerate(deals):
        for event in book.deal(w.tick(), 100 + n, symbol, side, D(lots) * STEP, D("1.10000")):
            w.handle(event)
        for symbol_ in ("EURUSD", "GBPUSD"):
            net = book.net(symbol_)
            assert copy_net(w, equal_mt4, symbol_) == net
            assert copy_net(w, equal_mt5, symbol_) == net
            pos = book.positions.get(symbol_)
            legs = pos.legs if pos else []
            copies = w.engine.subscriptions[scaled].copies
            for leg in legs:
                target = normalise(m * leg.volume).volume
                copied = copies[leg.ticket].volume if leg.ticket in copies else D(0)
                assert abs(copied - (target or D(0))) <= STEP, (leg, copied, target)
                assert leg.ticket not in copies or copies[leg.ticket].side is pos.side
            # no copy outlives its leg
            assert {t for t, c in copies.items() if c.symbol == symbol_} <= {leg.ticket for leg in legs}


def _ops(events):
    return [(type(e).__name__[14:], e.ticket, e.volume) for e in events]  # "Opened" / "Closed"


def test_move_to_reads_each_report_as_the_positions_new_net_volume():
    """docs/protocol.md, "Netting accounts": each report is the position's state after one deal."""
    book = NettingBook("T")
    steps = [(1, D("1.00"), [("Opened", 1, D("1.00"))]),
             (2, D("1.50"), [("Opened", 2, D("0.50"))]),  # position_opened again: grown by 0.50
             (3, D("1.10"), [("Closed", 1, D("0.40"))]),  # position_closed, remaining 1.10
             (4, D("1.10"), []),  # the same report again: nothing moves
             (5, D("-0.90"), [("Closed", 1, D("0.60")), ("Closed", 2, D("0.50")), ("Opened", 5, D("0.90"))])]
    for order, net, expected in steps:
        assert _ops(book.move_to(order, order, "EURUSD", net, D("1.1"))) == expected
        assert book.net("EURUSD") == net
    assert book.positions["EURUSD"].side is Side.SELL


def test_reconcile_trims_the_oldest_legs_and_names_what_is_missing():
    book = NettingBook.from_positions("T", [(2, "EURUSD", Side.BUY, D("0.20")), (1, "EURUSD", Side.BUY, D("0.30")),
                                            (3, "GBPUSD", Side.SELL, D("0.10")),
                                            (4, "EURUSD", Side.SELL, D("0.05"))])  # not netting: left out
    assert [leg.ticket for leg in book.positions["EURUSD"].legs] == [1, 2]  # oldest (lowest ticket) first
    assert book.reconcile({"EURUSD": D("0.10"), "USDJPY": D("-0.20")}) == (
        {2: D("0.10")}, [("USDJPY", Side.SELL, D("0.20"))])  # GBPUSD gone, EURUSD's oldest leg closed
    assert book.reconcile({"EURUSD": D("0.70"), "GBPUSD": D("-0.10")}) == (
        {1: D("0.30"), 2: D("0.20"), 3: D("0.10")}, [("EURUSD", Side.BUY, D("0.20"))])  # grown meanwhile
    assert book.reconcile({"EURUSD": D("-0.40")}) == ({}, [("EURUSD", Side.SELL, D("0.40"))])  # reversed
