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
