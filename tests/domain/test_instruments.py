"""Symbol specifications loaded from data and validated."""

from decimal import Decimal as D

import pytest

from bridge.domain import DomainError, default_rules, load_symbols
from bridge.domain.rulefile import RuleDataError

SYMBOLS = default_rules().symbols


def test_the_shipped_catalogue():
    for name in ["EURUSD", "GBPUSD", "USDJPY", "EURGBP", "XAUUSD", "XAGUSD", "US30", "XTIUSD", "BTCUSD", "ETHUSD"]:
        assert name in SYMBOLS
    eurusd = SYMBOLS.get("EURUSD")
    assert (eurusd.contract_size, eurusd.digits, eurusd.point) == (D(100000), 5, D("0.00001"))
    assert eurusd.swap_triple_day == 2  # Wednesday by default


def test_unknown_symbol():
    with pytest.raises(DomainError) as err:
        SYMBOLS.get("EURUSDX")
    assert err.value.code == "unknown_symbol"


@pytest.mark.parametrize("volume, ok", [("0.01", True), ("0.001", False), ("0.015", False), ("100", True),
                                        ("100.01", False), ("0", False), ("-1", False)])
def test_volume_checks(volume, ok):
    assert (SYMBOLS.get("EURUSD").volume_problem(D(volume)) is None) is ok


def test_index_volume_step():
    us30 = SYMBOLS.get("US30")
    assert us30.volume_problem(D("0.3")) is None
    assert "step" in us30.volume_problem(D("0.35"))


def test_price_checks():
    spec = SYMBOLS.get("EURUSD")
    assert spec.price_problem(D("1.10001")) is None
    assert "digits" in spec.price_problem(D("1.100001"))


def test_bad_symbol_file_names_file_and_key(tmp_path):
    path = tmp_path / "symbols.toml"
    path.write_text('[symbol.EURUSD]\nbase = "EUR"\nquote = "USD"\ncontract_size = 100000.0\ndigits = 5\ngroup = "g"\n'
                    'volume_min = "0.01"\nvolume_max = "100"\nvolume_step = "0.01"\n')
    with pytest.raises(RuleDataError) as err:
        load_symbols(path)
    assert str(path) in str(err.value) and "symbol.EURUSD.contract_size" in str(err.value)
