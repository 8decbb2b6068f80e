"""Wallet and subscriptions: §1.2, §2.1-§2.4, §4.1, §4.4, §6, §7, §8.2, §10."""

from decimal import Decimal as D

from bridge.copytrading import (UNSET, AccountUpdated, BalanceOperation, CloseCopy, CopyRefused, EditSettings,
                                Engine, EngineConfig, OpenCopy, Refused, StopCopying, Subscribe,
                                SubscriptionStopped, SubState, TraderPositionOpened, TraderRegistered,
                                WalletDeposited, WalletMovement, WalletWithdrawn)
from bridge.domain.sizing import VolumeMode
from bridge.domain.trading import Side
from tests.copytrading.helpers import World, of


def test_subscribe_moves_money_from_wallet_to_investor_account():
    w = World()
    w.trader()
    w.handle(WalletDeposited(w.tick(), "I", D("1500")))
    step = w.handle(Subscribe(w.tick(), "I", "T", 2000, D("1000")))
    moves = of(step, WalletMovement)
    assert [(m.owner, m.amount, m.balance, m.kind) for m in moves] == [("I", D("-1000.00"), D("500.00"), "invest")]
    (fund,) = of(step, BalanceOperation)
    assert (fund.account, fund.amount, fund.reason, fund.key) == (2000, D("1000"), "invest", "s1-t0-invest-1")
    assert w.engine.wallet("I", "I") == D("500.00")
    assert w.engine.wallet("X", "I").code == "forbidden"


def test_subscribe_refusals():
    w = World()
    w.trader()
    w.handle(WalletDeposited(w.tick(), "I", D("100")))
    cases = [
        (Subscribe(w.now, "I", "T", 2000, D("200")), "insufficient_funds"),
        (Subscribe(w.now, "I", "nobody", 2000, D("50")), "unknown_trader"),
        (Subscribe(w.now, "I", "T", 2000, D("50"), protection_pct=D("51")), "invalid_protection"),
        (Subscribe(w.now, "I", "T", 1000, D("50")), "account_in_use"),
        (Subscribe(w.now, "I", "T", 2000, D("0.5")), "below_min_deposit"),
        (Subscribe(w.now, "I", "T", 2000, D("50"), leverage=7), "invalid_leverage"),
        (Subscribe(w.now, "T", "T", 2000, D("50")), "self_copy"),
    ]
    for event, code in cases:
        step = w.handle(event)
        assert [r.code for r in of(step, Refused)] == [code], event


def test_trader_eligibility_mt4_standard_or_pro_only():
    w = World()
    w.trader("RAW", 1001, account_type="mt4_raw_spread")
    w.trader("MT5", 1002, account_type="mt5_standard")
    w.trader("PRO", 1003, account_type="mt4_pro")
    w.handle(WalletDeposited(w.tick(), "I", D("1000")))
    for trader, code in (("RAW", ["trader_not_eligible"]), ("MT5", ["trader_not_eligible"]), ("PRO", [])):
        step = w.handle(Subscribe(w.tick(), "I", trader, 3000, D("100")))
        assert [r.code for r in of(step, Refused)] == code


def test_eligibility_list_is_configurable_and_applies_to_copies():
    w = World(EngineConfig(eligible_trader_types=("mt4_standard", "mt4_pro", "mt4_raw_spread")))
    w.trader("RAW", 1001, account_type="mt4_raw_spread")
    sub = w.investor("I", trader="RAW", amount="1000")
    # The broker narrows the list: restarting with the new config refuses further copies.
    engine = Engine.from_state(w.engine.to_state(), EngineConfig())
    step = engine.handle(TraderPositionOpened(w.tick(), "RAW", 1, "EURUSD", Side.BUY, D("0.1"), D("1.1")))
    assert [(r.subscription, r.code) for r in of(step, CopyRefused)] == [(sub, "trader_not_eligible")]


def test_any_number_of_subscriptions_fan_out_in_subscription_order():
    w = World()
    w.trader()
    subs = [w.investor(f"I{i}", account=2000 + i, amount="1000") for i in range(5)]
    _, step = w.open("0.1", fill=False)
    assert [c.subscription for c in of(step, OpenCopy)] == subs
    assert [c.key for c in of(step, OpenCopy)] == [f"s{s}-t1-open-1" for s in subs]
    assert [c.id for c in of(step, OpenCopy)] == sorted(c.id for c in of(step, OpenCopy))


def test_edit_settings_while_copying():
    w = World()
    w.trader(equity="10000", leverage=100)
    sub = w.investor("I", amount="1000", leverage=100)
    _, step = w.open("0.5")
    assert of(step, OpenCopy)[0].volume == D("0.50")
    w.handle(EditSettings(w.tick(), sub, "I", mode=VolumeMode.PROPORTIONAL, protection_pct=D("30")))
    s = w.engine.subscriptions[sub]
    assert (s.mode, s.protection_pct, s.state) == (VolumeMode.PROPORTIONAL, D("30"), SubState.ACTIVE)
    _, step = w.open("0.5")
    assert of(step, OpenCopy)[0].volume == D("0.05")  # 1000/10000 x 0.5
    # someone else may not edit; UNSET leaves a setting alone; None turns protection off
    assert of(w.handle(EditSettings(w.tick(), sub, "X", protection_pct=None)), Refused)[0].code == "forbidden"
    w.handle(EditSettings(w.tick(), sub, "I", mode=UNSET, protection_pct=None))
    assert (s.mode, s.protection_pct) == (VolumeMode.PROPORTIONAL, None)


def test_only_trades_opened_after_the_subscription_are_copied():
    w = World()
    w.trader()
    before, _ = w.open("0.1")
    sub = w.investor("I", amount="1000")
    after, step = w.open("0.1")
    assert [c.trader_ticket for c in of(step, OpenCopy)] == [after]
    # closing the earlier trade touches nothing of the subscription
    step = w.close(before, "0.1")
    assert of(step, CloseCopy) == []
    # a report of a trade whose open time precedes the subscription is never copied
    late = TraderPositionOpened(w.tick(), "T", 99, "EURUSD", Side.BUY, D("0.1"), D("1.1"),
                                opened_at=w.engine.subscriptions[sub].started_at - 1)
    step = w.handle(late)
    assert [r.code for r in of(step, CopyRefused)] == ["opened_before_subscription"]


def test_trader_deposit_or_withdrawal_never_resizes_copies():
    w = World()
    w.trader(equity="10000", leverage=100)
    sub = w.investor("I", amount="1000", mode=VolumeMode.PROPORTIONAL, leverage=100)
    ticket, step = w.open("1")
    assert of(step, OpenCopy)[0].volume == D("0.10")
    for equity in ("20000", "2500"):
        step = w.handle(AccountUpdated(w.tick(), 1000, D(equity), D(equity)))
        assert step.commands == ()
    assert w.engine.subscriptions[sub].copies[ticket].volume == D("0.10")
    # new trades use the new trader equity (§4.5 at the moment of copying)
    _, step = w.open("1")
    assert of(step, OpenCopy)[0].volume == D("0.40")


def test_stop_copying_refused_with_open_copies_unless_asked_to_close_them():
    w = World()
    w.trader()
    sub = w.investor("I", amount="1000", deposit="1200")
    ticket, _ = w.open("0.1", price="1.10000")
    step = w.handle(StopCopying(w.tick(), sub, "I"))
    assert [r.code for r in of(step, Refused)] == ["copies_open"]
    w.prices["EURUSD"] = D("1.10500")  # +50 USD on 0.1 lot
    step = w.handle(StopCopying(w.tick(), sub, "I", close_open=True))
    (close,) = of(step, CloseCopy)
    assert (close.reason, close.volume) == ("stop_copying", D("0.10"))
    (stopped,) = w.records(SubscriptionStopped)
    # 1000 + 50 profit - 20 % commission (10.00) = 1040.00 back in the wallet
    assert (stopped.returned, stopped.commission) == (D("1040.00"), D("10.00"))
    assert w.engine.wallet("I", "I") == D("1240.00")
    assert w.engine.wallets.balance("T") == D("10.00")
    assert w.engine.subscriptions[sub].state is SubState.STOPPED
    # after the stop nothing is copied any more
    _, step = w.open("0.1")
    assert of(step, OpenCopy) == []
    assert of(w.handle(StopCopying(w.tick(), sub, "I")), Refused)[0].code == "subscription_stopped"


def test_stop_without_copies_returns_funds_at_once():
    w = World()
    w.trader()
    sub = w.investor("I", amount="1000")
    step = w.handle(StopCopying(w.tick(), sub, "I"))
    (ret,) = of(step, BalanceOperation)
    assert (ret.amount, ret.reason) == (D("-1000"), "return")
    assert w.engine.wallet("I", "I") == D("1000.00")


def test_a_loss_beyond_the_funds_is_written_off_at_the_stop():
    w = World()
    w.trader()
    sub = w.investor("I", amount="1000")
    ticket, _ = w.open("0.5")
    w.close(ticket, "0.5", price="1.07800")  # a gap: -220 pips on 0.5 lot = -1100 on 1000 invested
    step = w.handle(StopCopying(w.tick(), sub, "I"))
    assert of(step, BalanceOperation) == [] and of(step, SubscriptionStopped)[0].returned == D("-100.00")
    assert w.engine.s.written_off == D("100.00")
    sources, holdings = w.engine.ledger()
    assert sources == holdings


def test_service_unsubscribes_closing_the_copies():
    w = World()
    w.trader()
    sub = w.investor("I", amount="1000")
    w.open("0.1")
    step = w.handle(StopCopying(w.tick(), sub, None))  # §8.2
    assert [c.reason for c in of(step, CloseCopy)] == ["stop_copying"]
    assert w.engine.subscriptions[sub].state is SubState.STOPPED


def test_wallet_withdrawal():
    w = World()
    w.handle(WalletDeposited(w.tick(), "I", D("100")))
    assert of(w.handle(WalletWithdrawn(w.tick(), "I", D("100.01"))), Refused)[0].code == "insufficient_funds"
    w.handle(WalletWithdrawn(w.tick(), "I", D("40")))
    assert w.engine.wallet("I", "I") == D("60.00")


def test_commission_rate_locked_at_subscription_and_capped_by_service():
    from bridge.copytrading import CommissionCapSet, TraderCommissionChanged
    w = World()
    w.trader(commission="30")
    a = w.investor("A", account=2001)
    w.handle(TraderCommissionChanged(w.tick(), "T", D("10")))
    b = w.investor("B", account=2002)
    assert w.engine.subscription_view("A", a).commission_pct == D("30")
    assert w.engine.subscription_view("B", b).commission_pct == D("10")
    w.handle(TraderCommissionChanged(w.tick(), "T", D("50")))
    assert w.engine.subscription_view("B", b).commission_pct == D("10")
    w.handle(CommissionCapSet(w.tick(), "T", D("15")))  # §8.3
    assert w.engine.subscription_view("A", a).commission_pct == D("15")
    assert w.engine.subscription_view("B", b).commission_pct == D("10")
    assert of(w.handle(TraderCommissionChanged(w.tick(), "T", D("50.5"))), Refused)[0].code == "invalid_commission"
    assert of(w.handle(TraderRegistered(w.tick(), "U", 1009, "mt4_standard", 100, D("51"))), Refused)


def test_state_round_trip_is_json():
    import json
    w = World()
    w.trader()
    w.investor("I", amount="1000")
    w.open("0.1", fill=False)
    state = w.engine.to_state()
    text = json.dumps(state, sort_keys=True)
    again = Engine.from_state(json.loads(text)).to_state()
    assert json.dumps(again, sort_keys=True) == text
