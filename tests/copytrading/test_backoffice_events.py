"""Back-office events added for the admin command line (issue 13 §2): a wallet transfer and
disabling a trader.

Issue 13 §2: "`mtbridge admin ...`: a command-line back office over the admin API (register
and disable traders, deposit, withdraw, transfer, subscribe, edit, stop, list, status)".
"""

from __future__ import annotations

from decimal import Decimal as D

from bridge.copytrading import Engine, OpenCopy, Subscribe, WalletDeposited, TraderPositionClosed, TraderPositionOpened
from bridge.copytrading.events import TraderDisabled, WalletTransferred
from bridge.copytrading.records import CopyRefused, Refused, TraderStatusChanged, WalletMovement
from bridge.domain.trading import Side
from tests.copytrading.helpers import World, of


def test_transfer_moves_both_wallets_in_one_step_and_keeps_the_ledger():
    w = World()
    w.handle(WalletDeposited(w.tick(), "A", D("300.00")))
    step = w.handle(WalletTransferred(w.tick(), "A", "B", D("120.50")))
    moves = of(step, WalletMovement)
    assert [(m.owner, m.amount, m.balance, m.kind) for m in moves] == [
        ("A", D("-120.50"), D("179.50"), "transfer_out"), ("B", D("120.50"), D("120.50"), "transfer_in")]
    sources, holdings = w.engine.ledger()
    assert sources == holdings == D("300.00")


def test_transfer_refusals_change_nothing():
    w = World()
    w.handle(WalletDeposited(w.tick(), "A", D("100.00")))
    for event, code in ((WalletTransferred(w.tick(), "A", "B", D("100.01")), "insufficient_funds"),
                        (WalletTransferred(w.tick(), "A", "A", D("1")), "same_owner"),
                        (WalletTransferred(w.tick(), "A", "B", D("0.001")), "invalid_amount"),
                        (WalletTransferred(w.tick(), "A", "B", D("0")), "invalid_amount")):
        step = w.handle(event)
        assert [(r.request, r.code) for r in of(step, Refused)] == [("transfer", code)]
        assert not of(step, WalletMovement)
    assert w.engine.wallets.balance("A") == D("100.00") and w.engine.wallets.balance("B") == 0


def test_a_disabled_trader_is_not_copied_but_open_copies_follow_its_close():
    w = World()
    w.trader("T", 1000)
    sub = w.investor("I", amount="1000")
    w.handle(TraderPositionOpened(w.tick(), "T", 1, "EURUSD", Side.BUY, D("0.1"), D("1.1")))
    assert len(w.engine.subscriptions[sub].copies) == 1
    step = w.handle(TraderDisabled(w.tick(), "T"))
    assert [(r.trader, r.disabled) for r in of(step, TraderStatusChanged)] == [("T", True)]
    step = w.handle(TraderPositionOpened(w.tick(), "T", 2, "EURUSD", Side.BUY, D("0.1"), D("1.1")))
    assert [(r.subscription, r.code) for r in of(step, CopyRefused)] == [(sub, "trader_disabled")]
    assert not [c for c in step.commands if isinstance(c, OpenCopy)]
    w.handle(TraderPositionClosed(w.tick(), "T", 1, D("0.1"), D("1.1")))
    assert w.engine.subscriptions[sub].copies == {}  # the open copy followed the close
    step = w.handle(Subscribe(w.tick(), "J", "T", 2001, D("1")))
    assert [r.code for r in of(step, Refused)] == ["trader_disabled"]
    # enabled again: copied again; the flag survives the engine's state
    w.handle(TraderDisabled(w.tick(), "T", disabled=False))
    engine = Engine.from_bytes(w.engine.to_bytes())
    step = engine.handle(TraderPositionOpened(w.tick(), "T", 3, "EURUSD", Side.BUY, D("0.1"), D("1.1")))
    assert [c.subscription for c in step.commands if isinstance(c, OpenCopy)] == [sub]


def test_disable_is_idempotent_and_refuses_an_unknown_trader():
    w = World()
    w.trader("T", 1000)
    assert of(w.handle(TraderDisabled(w.tick(), "T")), TraderStatusChanged)
    assert not of(w.handle(TraderDisabled(w.tick(), "T")), TraderStatusChanged)
    step = w.handle(TraderDisabled(w.tick(), "nobody"))
    assert [(r.request, r.code) for r in of(step, Refused)] == [("disable_trader", "unknown_trader")]
    assert Engine.from_state(w.engine.to_state()).traders["T"].disabled is True
