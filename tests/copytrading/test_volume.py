"""§4.5 / §5 volumes through the engine, with the seed's own numbers."""

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.copytrading import AccountUpdated, CopyRefused, EngineConfig, OpenCopy, PriceTick, TraderRegistered
from bridge.domain.currency import Rates
from bridge.domain.sizing import VolumeMode, copy_volume, equity_fraction, normalise
from tests.copytrading.helpers import World, of


def test_seed_example_proportional_0_2_lots():
    # §4.5.2: trader equity $500 at 1:200, investor equity $200 at 1:100, 1 lot -> 0.2 lots.
    w = World()
    w.trader(equity="500", leverage=200)
    w.investor("I", amount="200", mode=VolumeMode.PROPORTIONAL, leverage=100)
    # ETHUSD: small notional, so the margin check passes and the copy opens.
    _, step = w.open("1", symbol="ETHUSD", price="3000.00")
    (cmd,) = of(step, OpenCopy)
    assert cmd.volume == D("0.20")


def test_seed_example_on_eurusd_is_sized_then_refused_for_margin():
    # The same 0.2 lots of EURUSD need 216.00 of margin at 1:100: more than the $200 equity.
    w = World()
    w.trader(equity="500", leverage=200)
    w.investor("I", amount="200", mode=VolumeMode.PROPORTIONAL, leverage=100)
    _, step = w.open("1", symbol="EURUSD", price="1.08000")
    (refusal,) = of(step, CopyRefused)
    assert refusal.code == "no_money"
    assert refusal.detail.startswith("0.20 lots")


def test_rounding_examples_0_324_and_0_325():
    w = World()
    w.trader()
    w.investor("I", amount="5000")
    _, step = w.open("0.324")
    assert of(step, OpenCopy)[0].volume == D("0.32")
    _, step = w.open("0.325")
    assert of(step, OpenCopy)[0].volume == D("0.33")


def test_below_0_005_rejected_and_0_005_rounds_up_to_0_01():
    w = World()
    w.trader(equity="10000", leverage=100)
    w.investor("I", amount="1000", mode=VolumeMode.PROPORTIONAL, leverage=100)
    # ratio 1000/10000 = 0.1: 0.04 lots -> 0.004 (rejected), 0.05 -> 0.005 (-> 0.01)
    _, step = w.open("0.04")
    assert [r.code for r in of(step, CopyRefused)] == ["below_min_volume"]
    _, step = w.open("0.05")
    assert of(step, OpenCopy)[0].volume == D("0.01")


def test_above_100_lots_not_opened():
    w = World()
    w.trader(equity="1000", leverage=100)
    w.investor("I", amount="100000", mode=VolumeMode.PROPORTIONAL, leverage=100, deposit="100000")
    _, step = w.open("1.01", symbol="ETHUSD", price="10.00")  # 100 x 1.01 = 101 lots
    assert [r.code for r in of(step, CopyRefused)] == ["above_max_volume"]


def test_symbol_volume_step_is_respected():
    w = World()
    w.trader()
    w.investor("I", amount="5000")
    _, step = w.open("0.25", symbol="US30", price="39000.0")  # indices trade in 0.1 lots
    assert [r.code for r in of(step, CopyRefused)] == ["invalid_volume"]


@settings(max_examples=300, deadline=None)
@given(ie=st.decimals("0.01", "10000000", places=2), te=st.decimals("0.01", "10000000", places=2),
       il=st.sampled_from([1, 50, 100, 200, 500, 1000, 3000]), tl=st.sampled_from([1, 100, 500, 2000]),
       tv=st.decimals("0.01", "100", places=2), tc=st.sampled_from(["USD", "EUR", "GBP", "NGN", "USC"]))
def test_engine_fast_path_equals_domain_copy_volume(ie, te, il, tv, tl, tc):
    # The engine's per-deal precomputation is the domain's formula with the same operands.
    rates = Rates({"EURUSD": D("1.0853"), "GBPUSD": D("1.2671"), "USDNGN": D("1487.35")})
    num, den = equity_fraction(tc, "USD", rates)
    fast = normalise(ie * il * tv * den / (te * num * tl))
    assert fast == copy_volume(VolumeMode.PROPORTIONAL, tv, investor_equity=ie, trader_equity=te,
                               investor_leverage=il, trader_leverage=tl, investor_currency="USD",
                               trader_currency=tc, rates=rates)


# ---------------------------------------------------------------- §4.5.2 across currencies
SEED_4_5_2 = ("Investor Volume = (Investor Equity / Trader Equity) × (Leverage Investor / Leverage Trader) × "
              "Trader Volume.")
QUOTES = {"EURUSD": "1.25", "GBPUSD": "1.25", "USDNGN": "1500"}


def _cross_world(currency: str, equity: str, account_type: str = "mt4_standard", quotes=QUOTES) -> World:
    config = EngineConfig(eligible_trader_types=("mt4_standard", "mt4_pro", "mt4_standard_cent"))
    w = World(config)
    for symbol, mid in quotes.items():
        w.handle(PriceTick(w.tick(), symbol, D(mid), D(mid)))
    w.handle(TraderRegistered(w.tick(), "T", 1000, account_type, 100, D("20"), currency))
    w.handle(AccountUpdated(w.tick(), 1000, D(equity), D(equity)))
    w.investor("I", amount="1000", mode=VolumeMode.PROPORTIONAL, leverage=100)
    return w


@pytest.mark.parametrize("currency,equity,account_type", [
    ("USD", "1000", "mt4_standard"), ("EUR", "800", "mt4_standard"), ("GBP", "800", "mt4_pro"),
    ("NGN", "1500000", "mt4_standard"), ("USC", "100000", "mt4_standard_cent")])
def test_trader_equity_is_converted_to_the_investors_currency(currency, equity, account_type):
    # Seed 003 §4.5.2: SEED_4_5_2, with both equities in USD: the trader's 1 000 USD (held as
    # 800 EUR at 1.25, 800 GBP at 1.25, 1 500 000 NGN at USDNGN 1500, 100 000 US cents) against
    # the investor's 1 000 USD copies a 1-lot deal as 1.00 lot (unconverted: 1.25 lots for EUR,
    # 0.0007 lot for NGN - refused below the minimum).
    w = _cross_world(currency, equity, account_type)
    _, step = w.open("1", symbol="ETHUSD", price="10.00")
    (cmd,) = of(step, OpenCopy)
    assert cmd.volume == D("1.00")


def test_trader_currency_without_a_quote_is_refused_no_rate():
    w = _cross_world("EUR", "800", quotes={})
    _, step = w.open("1", symbol="ETHUSD", price="10.00")
    (refusal,) = of(step, CopyRefused)
    assert refusal.code == "no_rate" and "EUR" in refusal.detail
    # the quote arrives: the next deal is sized on it
    w.handle(PriceTick(w.tick(), "EURUSD", D("1.25"), D("1.25")))
    _, step = w.open("1", symbol="ETHUSD", price="10.00")
    assert [c.volume for c in of(step, OpenCopy)] == [D("1.00")]


def test_equal_mode_needs_no_equity_conversion():
    w = World(EngineConfig())
    w.handle(TraderRegistered(w.tick(), "T", 1000, "mt4_standard", 100, D("20"), "EUR"))
    w.handle(AccountUpdated(w.tick(), 1000, D("800"), D("800")))
    w.investor("I", amount="1000")
    _, step = w.open("1", symbol="ETHUSD", price="10.00")
    assert [c.volume for c in of(step, OpenCopy)] == [D("1.00")]
