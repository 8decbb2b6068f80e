from decimal import Decimal as D

import pytest

from bridge.domain import DomainError, Rates


def test_direct_inverse_and_cross():
    rates = Rates({"EURUSD": D("1.25"), "USDJPY": D("150")})
    assert rates.convert(D(100), "EUR", "USD") == D(125)
    assert rates.convert(D(125), "USD", "EUR") == D(100)
    assert rates.convert(D(1), "EUR", "JPY") == D("187.5")  # through USD
    assert rates.convert(D(1), "USD", "USC") == D(100)
    assert rates.convert(D(100), "USC", "EUR") == D("0.8")


def test_missing_rate_is_a_clear_error():
    with pytest.raises(DomainError) as err:
        Rates().convert(D(1), "EUR", "GBP")
    assert err.value.code == "no_rate" and "EURGBP" in err.value.detail


# ---------------------------------------------------------------- crosses and the feed's pairs
def test_cross_through_a_currency_quoted_against_both():
    # JPY -> USD with no USDJPY: through EUR (EURJPY from a trader's deal, EURUSD from the feed)
    rates = Rates({"EURJPY": D("162.50"), "EURUSD": D("1.0850")})
    assert rates.rate("JPY", "USD") == D("1.0850") / D("162.50")
    assert rates.fraction("JPY", "USD") == (D("1.0850"), D("162.50"))
    assert rates.fraction("USD", "JPY") == (D("162.50"), D("1.0850"))
    # a direct quote wins over any cross
    assert rates.with_rate("USDJPY", D("150")).fraction("JPY", "USD") == (D(1), D(150))


def test_cent_fraction_needs_no_quote():
    assert Rates().fraction("USC", "USD") == (D(1), D(100))
    assert Rates().fraction("USD", "USC") == (D(100), D(1))
    assert Rates({"EURUSD": D("1.25")}).fraction("EUR", "USC") == (D("125.00"), D(1))


def test_conversion_symbols_cover_every_quote_and_account_currency():
    from bridge.domain.rules import default_rules

    rules = default_rules()
    pairs = rules.conversion_symbols()
    assert pairs == ("AUDUSD", "EURUSD", "GBPUSD", "USDCAD", "USDCHF", "USDJPY", "USDNGN")
    # with a quote of each, every symbol's quote currency converts into every account currency
    rates = Rates({p: D("2") for p in pairs})
    for spec in rules.symbols:
        for t in rules.account_types:
            for ccy in t.currencies:
                assert rates.fraction(spec.quote, ccy)


# ---------------------------------------------------------------- one conversion chain
def test_rate_is_the_fraction_divided_once_for_every_pair():
    """Review of issue 10: "`Rates.rate` and `Rates.fraction` duplicate the conversion chain":
    one chain now (`fraction`), `rate` divides its answer once. Every pair of these
    currencies, through each route (same, cent, direct, inverse, USD cross, other cross)."""
    rates = Rates({"EURUSD": D("1.0850"), "USDJPY": D("151.37"), "EURJPY": D("162.50"), "GBPCHF": D("1.1213"),
                   "CHFJPY": D("171.9")})
    currencies = ["USD", "USC", "EUR", "JPY", "GBP", "CHF", "NGN"]
    checked = 0
    for frm in currencies:
        for to in currencies:
            try:
                num, den = rates.fraction(frm, to)
            except DomainError as exc:
                with pytest.raises(DomainError) as err:
                    rates.rate(frm, to)
                assert err.value.code == exc.code == "no_rate"
                continue
            assert rates.rate(frm, to) == num / den
            checked += 1
    assert checked > 25  # most pairs have a route (NGN none)
    assert rates.rate("GBP", "JPY") == (D("1.1213") * D("171.9")) / (D(1) * D(1))  # GBP -> CHF -> JPY
    assert rates.rate("USC", "JPY") == D("151.37") / D(100)
