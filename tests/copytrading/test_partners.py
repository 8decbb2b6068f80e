"""Partner remuneration §11 + seed 000: investor and trader volume, hourly credit, levels."""

from decimal import Decimal as D

from bridge.copytrading import (ClientAssigned, EngineConfig, IBCredited, PartnerAccrued, PartnerRegistered,
                                Refused, TimePassed)
from tests.copytrading.helpers import HOUR, T0, World, of


def _world(config=None):
    w = World(config)
    w.trader()
    w.handle(PartnerRegistered(w.tick(), "P"))
    w.handle(ClientAssigned(w.tick(), "I", "P"))
    w.investor("I", amount="10000")
    return w


def _round_turn(w, volume, symbol="EURUSD", price="1.10000"):
    ticket, _ = w.open(volume, symbol=symbol, price=price)
    w.close(ticket, volume, symbol=symbol)


def test_investor_volume_1_usd_per_lot_forex_metals_1_5_other_credited_hourly():
    w = _world()
    _round_turn(w, "1")  # forex: 1.00
    _round_turn(w, "0.5", symbol="XAUUSD", price="2300.00")  # metals: 0.50
    _round_turn(w, "0.2", symbol="US30", price="39000.0")  # indices: 1.5 x 0.2 = 0.30
    accrued = [(r.source, r.lots, r.amount, r.level) for r in w.records(PartnerAccrued)]
    assert accrued == [("investor_volume", D("1.00"), D("1.00"), 0), ("investor_volume", D("0.50"), D("0.50"), 0),
                       ("investor_volume", D("0.2"), D("0.30"), 0)]
    # all within the first hour (T0 = 00:00): nothing credited before 01:00
    assert of(w.engine.handle(TimePassed(T0 + HOUR - 1)), IBCredited) == []
    step = w.engine.handle(TimePassed(T0 + HOUR))
    assert [(r.partner, r.amount, r.now) for r in of(step, IBCredited)] == [("P", D("1.80"), T0 + HOUR)]
    assert w.engine.wallets.balance("P") == D("1.80")
    # hour by hour: a deal in the second hour is credited at 02:00, not before
    w.now = T0 + HOUR + 10 * 60_000
    _round_turn(w, "2")
    assert of(w.engine.handle(TimePassed(T0 + 2 * HOUR - 1)), IBCredited) == []
    step = w.engine.handle(TimePassed(T0 + 2 * HOUR))
    assert [(r.partner, r.amount) for r in of(step, IBCredited)] == [("P", D("2.00"))]
    assert of(w.engine.handle(TimePassed(T0 + 3 * HOUR)), IBCredited) == []


def test_rates_are_configurable_and_other_capped_at_1_5():
    import pytest

    from bridge.domain.errors import DomainError
    with pytest.raises(DomainError):
        EngineConfig(investor_rate_other=D("1.6"))
    w = _world(EngineConfig(investor_rates=(("forex_majors", D("0.8")),), investor_rate_other=D("1.2")))
    _round_turn(w, "1")
    _round_turn(w, "1", symbol="XAUUSD", price="2300.00")
    assert [r.amount for r in w.records(PartnerAccrued)] == [D("0.80"), D("1.20")]


def test_trader_volume_per_ib_agreement_and_trader_as_ib_gets_both():
    w = World()
    w.trader(commission="20")
    w.handle(PartnerRegistered(w.tick(), "Q", trader_rate_per_lot=D("5")))
    w.handle(ClientAssigned(w.tick(), "T", "Q"))
    # the trader is also a partner and the IB of investor J
    w.handle(PartnerRegistered(w.tick(), "T"))
    w.handle(ClientAssigned(w.tick(), "J", "T"))
    w.investor("J", amount="10000")
    ticket, _ = w.open("1", price="1.10000")
    w.close(ticket, "1", price="1.10100", profit_="100")  # +100 USD on the copy
    amounts = sorted((r.partner, r.source, r.amount) for r in w.records(PartnerAccrued))
    assert amounts == [("Q", "trader_volume", D("5")), ("T", "investor_volume", D("1.00"))]
    w.engine.handle(TimePassed(T0 + 7 * 24 * HOUR))  # the hour's credit and Sunday's payout
    # T's one wallet: 1.00 IB remuneration + 20 % of 100 = 20.00 commission
    assert w.engine.wallets.balance("T") == D("21.00")
    assert w.engine.wallets.balance("Q") == D("5.00")


def test_multi_level_share_to_the_referring_partner():
    w = World(EngineConfig(multilevel_shares=(D("0.10"), D("0.05"))))
    w.trader()
    w.handle(PartnerRegistered(w.tick(), "R2"))
    w.handle(PartnerRegistered(w.tick(), "R1", referrer="R2"))
    w.handle(PartnerRegistered(w.tick(), "P", referrer="R1"))
    w.handle(ClientAssigned(w.tick(), "I", "P"))
    w.investor("I", amount="10000")
    _round_turn(w, "5")
    got = [(r.partner, r.level, r.amount) for r in w.records(PartnerAccrued)]
    assert got == [("P", 0, D("5.00")), ("R1", 1, D("0.5")), ("R2", 2, D("0.25"))]
    step = w.engine.handle(TimePassed(T0 + HOUR))
    assert [(r.partner, r.amount) for r in of(step, IBCredited)] == [("P", D("5.00")), ("R1", D("0.50")),
                                                                      ("R2", D("0.25"))]


def test_partner_refusals():
    w = World()
    assert of(w.handle(PartnerRegistered(w.tick(), "P", referrer="nobody")), Refused)[0].code == "unknown_referrer"
    w.handle(PartnerRegistered(w.tick(), "P"))
    assert of(w.handle(ClientAssigned(w.tick(), "I", "X")), Refused)[0].code == "unknown_partner"
    w.handle(ClientAssigned(w.tick(), "I", "P"))
    assert of(w.handle(ClientAssigned(w.tick(), "I", "P")), Refused)[0].code == "already_assigned"
