"""Platforms of trader and investor accounts (seed 003 §3, §7, the introduction)."""

from decimal import Decimal as D

import pytest

from bridge.copytrading import Engine, EngineConfig, OpenCopy, Refused, Subscribe, WalletDeposited
from bridge.domain.errors import DomainError
from tests.copytrading.helpers import World, of

SEED_3 = "The Service is available on the MetaTrader 4 platform."
SEED_7 = "The Trader Account should be Pro or Standard MT4 type."


def test_defaults_follow_the_seed_mt4_only():
    # Seed 003 §3: SEED_3; §7: SEED_7.
    c = EngineConfig()
    assert (c.trader_platforms, c.investor_platforms) == (("MT4",), ("MT4",))
    assert c.eligible_trader_types == ("mt4_standard", "mt4_pro")


@pytest.mark.parametrize("account_type,code", [
    ("mt4_standard", []), ("mt4_pro", []),
    ("mt5_standard", ["platform_not_allowed"]), ("mt5_pro", ["platform_not_allowed"]),
    ("mt5_raw_spread", ["platform_not_allowed"])])
def test_investor_subscription_on_mt5_is_refused_by_default(account_type, code):
    # Seed 003 §3: SEED_3 - investor accounts too, not only traders' (§7).
    w = World()
    w.trader()
    w.handle(WalletDeposited(w.tick(), "I", D("1000")))
    step = w.handle(Subscribe(w.tick(), "I", "T", 2000, D("500"), account_type=account_type))
    refusals = of(step, Refused)
    assert [r.code for r in refusals] == code
    if code:
        assert "MT5" in refusals[0].detail and "§3" in refusals[0].detail
        assert w.engine.wallet("I", "I") == D("1000")  # nothing moved


def test_mt5_enabled_by_configuration_on_both_sides():
    config = EngineConfig(eligible_trader_types=("mt4_standard", "mt4_pro", "mt5_standard", "mt5_pro"),
                          trader_platforms=("MT4", "MT5"), investor_platforms=("MT4", "MT5"))
    w = World(config)
    w.trader(account_type="mt5_standard")
    w.handle(WalletDeposited(w.tick(), "I", D("1000")))
    step = w.handle(Subscribe(w.tick(), "I", "T", 2000, D("1000"), account_type="mt5_pro"))
    assert not of(step, Refused)
    _, step = w.open("0.1")
    assert [c.volume for c in of(step, OpenCopy)] == [D("0.10")]


def test_trader_platform_is_checked_besides_the_type_list():
    # An MT5 type in the eligible list while MT5 is not an allowed trader platform: the
    # configuration is inconsistent and refused when the engine starts.
    config = EngineConfig(eligible_trader_types=("mt4_standard", "mt5_standard"))
    with pytest.raises(DomainError, match="trader_platforms"):
        Engine(config)


@pytest.mark.parametrize("kwargs", [
    {"trader_platforms": ()}, {"investor_platforms": ("MT6",)}, {"investor_platforms": ("MT4", "MT4")},
    {"trader_platforms": ["MT4"]}])
def test_platform_lists_are_validated(kwargs):
    with pytest.raises(DomainError) as err:
        EngineConfig(**kwargs)
    assert err.value.code == "invalid_config"


def test_default_investor_account_type_must_be_on_an_allowed_platform():
    with pytest.raises(DomainError, match="investor_platforms"):
        Engine(EngineConfig(investor_account_type="mt5_standard"))
    Engine(EngineConfig(investor_account_type="mt5_standard", investor_platforms=("MT5",)))
