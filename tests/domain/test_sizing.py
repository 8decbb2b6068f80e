"""Copy volume (seed 003 §4.5, §5)."""

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.domain import copy_volume, normalise
from bridge.domain.currency import Rates


def test_the_seeds_proportional_example():
    # §4.5.2: trader equity $500 at 1:200, investor equity $200 at 1:100, 1 lot -> 0.2 lots
    decision = copy_volume("proportional", D(1), investor_equity=D(200), trader_equity=D(500),
                           investor_leverage=100, trader_leverage=200)
    assert decision.volume == D("0.20") and decision.reason is None


def test_equal_copying_is_one_to_one():
    assert copy_volume("equal", D("2.37")).volume == D("2.37")


@pytest.mark.parametrize("raw, expected", [
    ("0.324", "0.32"),  # §5.3 "rounded down to 0.32 lots"
    ("0.325", "0.33"),  # §5.3 "rounded up to 0.33 lots"
    ("1.005", "1.01"),  # half up where binary float gives 1.0
    ("0.005", "0.01"),  # §5.2 from 0.005 -> 0.01
    ("0.0099", "0.01"),
    ("100", "100.00"),
    ("100.004", "100.00"),
])
def test_rounding(raw, expected):
    assert normalise(D(raw)).volume == D(expected)


@pytest.mark.parametrize("raw, reason", [
    ("0.0049999", "below_min_volume"),  # §5.2 below 0.005 rejected
    ("0.001", "below_min_volume"),
    ("100.005", "above_max_volume"),  # §5.4 above 100 after rounding: not opened, never clamped
    ("250", "above_max_volume"),
])
def test_rejections_carry_a_reason(raw, reason):
    decision = normalise(D(raw))
    assert decision.volume is None and decision.reason == reason and not decision.accepted


def test_bad_equities_are_rejected_not_divided():
    kwargs = dict(investor_equity=D(200), investor_leverage=100, trader_leverage=200)
    assert copy_volume("proportional", D(1), trader_equity=D(0), **kwargs).reason == "trader_equity_not_positive"
    assert copy_volume("proportional", D(1), trader_equity=D(500), investor_equity=D(-1), investor_leverage=100,
                       trader_leverage=200).reason == "investor_equity_not_positive"
    assert copy_volume("equal", D(0)).reason == "invalid_trader_volume"


def test_a_trader_deposit_does_not_change_an_earlier_decision():
    # §6: the copy keeps the volume decided at the open; a later equity only affects new copies.
    before = copy_volume("proportional", D(1), investor_equity=D(200), trader_equity=D(500),
                         investor_leverage=100, trader_leverage=200)
    after = copy_volume("proportional", D(1), investor_equity=D(200), trader_equity=D(5000),
                        investor_leverage=100, trader_leverage=200)
    assert before.volume == D("0.20") and after.volume == D("0.02")


volumes = st.decimals(min_value=D(0), max_value=D(150), places=6)


@given(a=volumes, b=volumes)
def test_normalisation_is_monotone(a, b):
    low, high = sorted((a, b))
    lo, hi = normalise(low), normalise(high)
    if lo.accepted and hi.accepted:
        assert lo.volume <= hi.volume
    # rejection below the minimum only happens below every accepted volume, and above the max above
    if hi.reason == "below_min_volume":
        assert lo.reason == "below_min_volume"
    if lo.reason == "above_max_volume":
        assert hi.reason == "above_max_volume"


@given(raw=st.decimals(min_value=D("0.005"), max_value=D(100), places=8))
def test_accepted_volume_is_within_half_a_step(raw):
    decision = normalise(raw)
    assert decision.volume is not None
    assert abs(decision.volume - raw) <= D("0.005") or decision.volume == D("0.01")


@pytest.mark.parametrize("raw", ["100.011", "1e30", "1e42", "9" * 60])
def test_an_absurd_volume_is_refused_above_max_not_raised(raw):
    """Issue 12 item 8: a raw volume far beyond the maximum is decided before rounding (quantising
    1e42 to 0.01 lots overflows Decimal's 28 digits)."""
    decision = normalise(D(raw))
    assert (decision.volume, decision.reason) == (None, "above_max_volume")


# ---------------------------------------------------------------- §4.5.2 across currencies
SEED_4_5_2 = ("Investor Volume = (Investor Equity / Trader Equity) × (Leverage Investor / Leverage Trader) × "
              "Trader Volume.")
QUOTES = Rates({"EURUSD": D("1.25"), "GBPUSD": D("1.25"), "USDNGN": D("1500")})
# The same 1 000 USD in each account currency at QUOTES (USC: US cents, no quote needed).
THOUSAND_USD = {"USD": D("1000"), "EUR": D("800"), "GBP": D("800"), "NGN": D("1500000"), "USC": D("100000")}


def _proportional(ie, ic, te, tc, rates=QUOTES, tv=D(1)):
    return copy_volume("proportional", tv, investor_equity=ie, trader_equity=te, investor_leverage=100,
                       trader_leverage=100, investor_currency=ic, trader_currency=tc, rates=rates)


@pytest.mark.parametrize("trader_currency", sorted(THOUSAND_USD))
@pytest.mark.parametrize("investor_currency", sorted(THOUSAND_USD))
def test_equities_are_compared_in_one_currency_on_both_sides(investor_currency, trader_currency):
    # Seed 003 §4.5.2: SEED_4_5_2. Equal equities in any two account currencies (EUR, GBP,
    # NGN, US cents, USD, on either side) are a ratio of 1: a 1-lot deal copies as 1.00 lot.
    decision = _proportional(THOUSAND_USD[investor_currency], investor_currency,
                             THOUSAND_USD[trader_currency], trader_currency)
    assert decision.volume == D("1.00"), decision


def test_the_issue_cases_800_eur_trader_and_1_500_000_ngn_trader():
    # 800 EUR at EURUSD 1.25 is 1 000 USD: not 1000/800 = 1.25 lots.
    assert _proportional(D(1000), "USD", D(800), "EUR").volume == D("1.00")
    # 1 500 000 NGN at USDNGN 1500 is 1 000 USD: not 1000/1500000 lots (below the minimum).
    assert _proportional(D(1000), "USD", D(1500000), "NGN").volume == D("1.00")
    # the seed's own example, with the trader's $500 held as 400 EUR: still 0.2 lots
    seed = copy_volume("proportional", D(1), investor_equity=D(200), trader_equity=D(400), investor_leverage=100,
                       trader_leverage=200, investor_currency="USD", trader_currency="EUR", rates=QUOTES)
    assert seed.volume == D("0.20")


def test_conversion_is_exact_at_a_rounding_half():
    # 325 USD against 1 000 USD held in NGN (1/1500 is not a finite decimal): the ratio is
    # exactly 0.325 and rounds up (§5.3), never down through a rounded conversion.
    assert _proportional(D(325), "USD", D(1500000), "NGN").volume == D("0.33")
    assert _proportional(D(324), "USD", D(1500000), "NGN").volume == D("0.32")
    assert _proportional(D("487500"), "NGN", D(1000), "USD").volume == D("0.33")  # 325 USD in NGN


def test_no_quote_linking_the_currencies_is_refused_no_rate():
    assert _proportional(D(1000), "USD", D(800), "EUR", rates=Rates()).reason == "no_rate"
    assert _proportional(D(1000), "NGN", D(800), "EUR", rates=Rates({"EURUSD": D("1.25")})).reason == "no_rate"
    # cent <-> dollar needs no quote
    assert _proportional(D(1000), "USD", D(100000), "USC", rates=Rates()).volume == D("1.00")
