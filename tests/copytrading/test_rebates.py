"""Rebates (seed 000): a partner shares part of its revenue with the clients it referred."""

from decimal import Decimal as D

import pytest

from bridge.copytrading import (ClientAssigned, Engine, EngineConfig, IBCredited, PartnerAccrued, PartnerRegistered,
                                RebateCredited, RebateSet, Refused, TimePassed, WalletMovement)
from bridge.domain.money import round_money
from tests.copytrading.helpers import HOUR, T0, World, of

SEED = ("Rebate is a part of the partner revenue shared with referred clients. The payment process is fully "
        "automated, and the rebate level can be set by partners.")
SEED_HOURLY = "IB commission is credited every hour and can be withdrawn at any time."


def _world(rebate: str | None = "25", config=None):
    w = World(config)
    w.trader()
    w.handle(PartnerRegistered(w.tick(), "P"))
    if rebate is not None:
        w.handle(RebateSet(w.tick(), "P", D(rebate)))
    w.handle(ClientAssigned(w.tick(), "I", "P"))
    w.investor("I", amount="10000")
    return w


def _round_turn(w, volume, symbol="EURUSD", price="1.10000"):
    ticket, _ = w.open(volume, symbol=symbol, price=price)
    w.close(ticket, volume, symbol=symbol)


def _credit(w, hour: int = 1):
    return w.engine.handle(TimePassed(T0 + hour * HOUR))


def test_seed_rebate_set_by_the_partner_is_credited_to_the_client_with_the_hourly_credit():
    assert "the rebate level can be set by partners" in SEED and "credited every hour" in SEED_HOURLY
    w = _world("25")
    _round_turn(w, "2")  # investor volume: 2 lots x 1 USD = 2.00 of partner revenue
    (acc,) = w.records(PartnerAccrued)
    assert (acc.partner, acc.client, acc.amount) == ("P", "I", D("2.00"))  # the revenue, before the rebate
    assert of(w.engine.handle(TimePassed(T0 + HOUR - 1)), RebateCredited) == []  # not before the hour
    step = _credit(w)
    assert [(r.partner, r.amount) for r in of(step, IBCredited)] == [("P", D("1.50"))]
    assert [(r.partner, r.client, r.amount, r.now) for r in of(step, RebateCredited)] == \
        [("P", "I", D("0.50"), T0 + HOUR)]
    assert [(m.owner, m.amount, m.kind) for m in of(step, WalletMovement)] == \
        [("P", D("1.50"), "ib_credit"), ("I", D("0.50"), "rebate")]
    assert w.engine.wallets.balance("I") == D("0.50")
    sources, holdings = w.engine.ledger()
    assert sources == holdings


def test_no_rebate_by_default_and_100_percent_gives_everything_away():
    w = _world(None)
    _round_turn(w, "1")
    step = _credit(w)
    assert of(step, RebateCredited) == [] and [r.amount for r in of(step, IBCredited)] == [D("1.00")]
    w = _world("100")
    _round_turn(w, "1")
    step = _credit(w)
    assert of(step, IBCredited) == [] and [r.amount for r in of(step, RebateCredited)] == [D("1.00")]


def test_a_new_level_applies_to_deals_after_it():
    w = _world("25")
    _round_turn(w, "1")  # 0.25 rebate
    w.handle(RebateSet(w.tick(), "P", D("50")))
    _round_turn(w, "1")  # 0.50 rebate
    step = _credit(w)
    assert [r.amount for r in of(step, RebateCredited)] == [D("0.75")]
    assert [r.amount for r in of(step, IBCredited)] == [D("1.25")]


def test_sub_cent_rests_carry_and_nothing_is_lost():
    w = _world("33.3")
    _round_turn(w, "1")  # rebate 0.333, partner 0.667
    step = _credit(w, 1)
    assert [r.amount for r in of(step, RebateCredited)] == [D("0.33")]
    assert [r.amount for r in of(step, IBCredited)] == [D("0.67")]
    for hour in range(2, 5):
        w.now = T0 + (hour - 1) * HOUR + 60_000
        _round_turn(w, "1")
        _credit(w, hour)
    # each credit is rounded half up with the rest carried: the totals are the exact totals rounded once
    assert w.engine.wallets.balance("I") == D("1.33") == round_money(4 * D("0.333"))
    assert w.engine.wallets.balance("P") == D("2.67") == round_money(4 * D("0.667"))
    book = w.engine.s.partners
    assert book.rebates["I"] + book.pending["P"] == 0  # 4.00 of revenue, 4.00 credited


def test_multi_level_amounts_are_not_shared_and_are_shares_of_the_whole_revenue():
    w = World(EngineConfig(multilevel_shares=(D("0.10"),)))
    w.trader()
    w.handle(PartnerRegistered(w.tick(), "R", referrer=None))
    w.handle(RebateSet(w.tick(), "R", D("100")))  # R's own clients would get everything; I is not one
    w.handle(PartnerRegistered(w.tick(), "P", referrer="R"))
    w.handle(RebateSet(w.tick(), "P", D("50")))
    w.handle(ClientAssigned(w.tick(), "I", "P"))
    w.investor("I", amount="10000")
    _round_turn(w, "5")
    step = _credit(w)
    assert [(r.partner, r.amount) for r in of(step, IBCredited)] == [("P", D("2.50")), ("R", D("0.50"))]
    assert [(r.partner, r.client, r.amount) for r in of(step, RebateCredited)] == [("P", "I", D("2.50"))]


def test_trader_volume_rebate_goes_to_the_trader():
    w = World()
    w.trader()
    w.handle(PartnerRegistered(w.tick(), "Q", trader_rate_per_lot=D("4")))
    w.handle(RebateSet(w.tick(), "Q", D("10")))
    w.handle(ClientAssigned(w.tick(), "T", "Q"))
    w.investor("I", amount="10000")
    _round_turn(w, "2")  # the trader's 2 lots: 8.00 for Q
    step = _credit(w)
    assert [(r.client, r.amount) for r in of(step, RebateCredited)] == [("T", D("0.80"))]
    assert w.engine.wallets.balance("T") == D("0.80") and w.engine.wallets.balance("Q") == D("7.20")


@pytest.mark.parametrize("value", [D("-0.01"), D("100.01"), D("NaN"), D("Infinity"), "10"])
def test_bad_levels_are_refused_and_change_nothing(value):
    w = _world("25")
    before = w.engine.s.partners.partners["P"].rebate_pct
    (ref,) = of(w.handle(RebateSet(w.tick(), "P", value)), Refused)
    assert (ref.request, ref.code) == ("set_rebate", "invalid_rebate")
    assert w.engine.s.partners.partners["P"].rebate_pct == before
    (ref,) = of(w.handle(RebateSet(w.tick(), "nobody", D("5"))), Refused)
    assert ref.code == "unknown_partner"


def test_state_written_before_rebates_existed_still_loads():
    w = _world(None)
    _round_turn(w, "1")
    state = w.engine.to_state()
    del state["partners"]["rebates"]
    for partner in state["partners"]["partners"].values():
        del partner["rebate_pct"]
    old = Engine.from_state(state)
    assert old.s.partners.rebates == {} and old.s.partners.partners["P"].rebate_pct == 0
    assert [r.amount for r in of(old.handle(TimePassed(T0 + HOUR)), IBCredited)] == [D("1.00")]
    assert Engine.from_bytes(w.engine.to_bytes()).to_state() == w.engine.to_state()
