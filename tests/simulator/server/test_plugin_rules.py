"""The seeds' server rules are plugins: loaded by default, each rule gone when its plugin is.

The proof that the interface is complete: with the rule plugins loaded the server writes the
same journal as before the rules moved out of its core (the shipped scenarios' digests below
were measured on main before the move), and without a rule's plugin that rule is not applied.
"""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest
from srv_helpers import HOUR, MONDAY, account, market, new_server, quote

from bridge.domain.errors import DomainError
from simulator.runner import Simulation
from simulator.scenario import load_scenario
from simulator.server import retcodes as rc
from simulator.server.plugins import ServerPlugin
from simulator.server.plugins.rules import (
    MarginCallStopOut,
    MinimumDeposit,
    Swaps,
    TieredMargin,
    default_plugins,
)

ROOT = Path(__file__).resolve().parents[3]
DAY = 24 * HOUR


def _without(kind):
    return [p for p in default_plugins() if not isinstance(p, kind)]


def test_the_default_server_loads_the_seed_rules_as_plugins():
    s = new_server()
    assert [p.name for p in s.plugins.plugins] == ["tiered_margin", "minimum_deposit", "swaps",
                                                   "margin_call_stop_out"]
    assert s.plugins.margin is not None and s.plugins.risk is not None


def test_layout_has_a_home_for_the_core_the_interface_and_each_rule():
    server = ROOT / "simulator" / "server"
    assert (server / "server.py").is_file()  # the core
    assert {"api.py", "host.py"} <= {p.name for p in (server / "plugins").iterdir()}
    rules = {p.name for p in (server / "plugins" / "rules").iterdir()}
    assert {"tiered_margin.py", "margin_call.py", "swaps.py", "minimum_deposit.py"} <= rules
    for path in [*server.glob("*.py"), *server.glob("plugins/**/*.py")]:
        assert len(path.read_text().splitlines()) < 600, path


# Seed 004, "Calculating Forex Margin Requirements with Flexible Leverage", steps 1 and 2
SEED_004_STEP_1 = ("Assume you open Position #1 Buy 1 lots GBPUSD 1.4584 for a USD Denominated Account."
                   " ... Margin is: 145 840 / 1000 = 145.84 USD.")
SEED_004_STEP_2 = ("You open position # 2 Buy 5 lots EURUSD 1.3175. ... "
                   "Margin is: 200 000 / 1000 + 604 590 / 500 = 1 409.18 USD.")


def test_tiered_margin_plugin_reproduces_the_seed_004_example():
    assert "145.84 USD" in SEED_004_STEP_1 and "1 409.18 USD" in SEED_004_STEP_2
    s = new_server()
    login, sess = account(s, account_type="mt5_raw_spread", deposit="100000", leverage=1000)  # no markup
    quote(s, "1.4584", symbol="GBPUSD")
    quote(s, "1.3175", symbol="EURUSD")
    assert market(s, sess, "buy", "1", symbol="GBPUSD").retcode == rc.TRADE_RETCODE_DONE
    assert s.account_info(login).margin == D("145.84")
    assert market(s, sess, "buy", "5", symbol="EURUSD").retcode == rc.TRADE_RETCODE_DONE
    assert s.account_info(login).margin == D("1409.18")


def test_without_a_margin_plugin_the_server_does_not_start():
    with pytest.raises(ValueError, match="margin model"):
        new_server(plugins=_without(TieredMargin))


SEED_000_MIN_DEPOSIT = ("Trading may be disabled because of non-compliance with minimum deposit requirements. "
                        "The min deposit for Standard Cent and Standard accounts is 1 USD. For Pro and Raw "
                        "Spread accounts, it is 100 USD.")


@pytest.mark.parametrize("loaded", [True, False])
def test_minimum_deposit_lock_is_the_plugins(loaded):
    assert "For Pro and Raw Spread accounts, it is 100 USD." in SEED_000_MIN_DEPOSIT
    s = new_server(plugins=None if loaded else _without(MinimumDeposit))
    login, sess = account(s, account_type="mt5_raw_spread", deposit="99.99", leverage=1000)
    quote(s, "1.10000")
    r = market(s, sess, "buy", "0.01")
    if loaded:
        assert r.retcode == rc.TRADE_RETCODE_TRADE_DISABLED and "minimum deposit" in r.comment
        assert s.account_info(login).trade_allowed is False
        s.deposit(login, D("0.01"), payer_email="ann@example.com")
        assert market(s, sess, "buy", "0.01").retcode == rc.TRADE_RETCODE_DONE
    else:
        assert r.retcode == rc.TRADE_RETCODE_DONE and s.account_info(login).trade_allowed is True


SEED_000_SWAPS = ("A swap is a fee for the operation of a closing order at midnight of one trading day and its "
                  "reopening at the close price the next day. With swap-free accounts, traders can keep open "
                  "positions as long as they want, without adding a swap size to or charging it from the account.")
SEED_000_SWAP_FREE = "Please note that we provide swap-free accounts for clients from Muslim countries by default."


def _swap_week(plugins):
    s = new_server(plugins=plugins)
    s.register_client("gb@example.com", "Gail", "GB")
    s.register_client("sa@example.com", "Sami", "SA")
    gb, gbs = account(s, "gb@example.com", account_type="mt5_raw_spread")
    sa, sas = account(s, "sa@example.com", account_type="mt5_raw_spread")
    quote(s, "1.10000", "1.10002")
    market(s, gbs, "buy", "1.00")
    market(s, sas, "buy", "1.00")
    s.advance_to(MONDAY + DAY + 1)  # one rollover (Monday night)
    return s, gb, sa


def test_swaps_and_swap_free_defaults_are_the_plugins():
    assert "With swap-free accounts" in SEED_000_SWAPS and "by default" in SEED_000_SWAP_FREE
    s, gb, sa = _swap_week(None)
    assert (s.account_info(gb).swap_free, s.account_info(sa).swap_free) == (False, True)
    assert s.positions(gb)[0].swap == D("-7.50") and s.positions(sa)[0].swap == D(0)
    bare, gb2, sa2 = _swap_week(_without(Swaps))
    assert (bare.account_info(gb2).swap_free, bare.account_info(sa2).swap_free) == (False, False)
    assert bare.positions(gb2)[0].swap == D(0) and bare.journal.records("swap") == []
    assert bare.journal.records("rollover")  # the day still ends; the core charges nothing
    with pytest.raises(AttributeError, match="Swaps"):
        bare.swap_free_countries  # noqa: B018


class FlakySwap(ServerPlugin):
    """Its first rollover finds no rate (a core refusal); later ones add an unrounded fee."""

    name = "flaky_swap"

    def __init__(self) -> None:
        self.calls = 0

    def hook_trade_rollover(self, event, value):
        self.calls += 1
        if self.calls == 1:
            raise DomainError("no_rate", "no USD rate yet")
        return value + D("-1.234567")


def test_a_swap_plugin_failing_on_one_position_does_not_stop_the_rollover():
    """A swap plugin's refusal is its failure for that position: the day still ends (the clock
    advance does not raise), the other accounts are still charged, and every amount charged is
    money (rounded to the cent, half up)."""
    s, gb, sa = _swap_week([*default_plugins(), FlakySwap()])
    [err] = s.journal.records("plugin_error")
    assert (err["plugin"], err["hook"]) == ("flaky_swap", "hook_trade_rollover") and "no USD rate" in err["error"]
    assert s.positions(gb)[0].swap == D("-7.50")  # the seed's swap; the failing plugin changed nothing
    assert s.positions(sa)[0].swap == D("-1.23")  # swap-free for the seed plugin; the fee rounded


SEED_000_STOP_OUT = ("The change of the leverage causes the changes in the margin requirements for the open "
                     "orders and in case of insufficient amount of equity may cause stop out.")


def _thin_account(plugins):
    """tests/simulator/server/test_server_risk.py: two longs on MT5 Pro, balance 500."""
    s = new_server(plugins=plugins)
    login, sess = account(s, account_type="mt5_pro", deposit="500", leverage=2000)
    quote(s, "1.00000")
    market(s, sess, "buy", "1.00")
    quote(s, "1.01000")
    market(s, sess, "buy", "1.00")
    for bid in ("1.00279", "1.00263"):  # margin call at 28.25 %, then 10.17 %: stop-out
        quote(s, bid)
    return s, login


def test_margin_call_and_stop_out_are_the_plugins():
    assert "may cause stop out" in SEED_000_STOP_OUT
    s, login = _thin_account(None)
    assert len(s.journal.records("margin_call")) == 1 and len(s.journal.records("stop_out")) == 1
    assert len(s.positions(login)) == 1
    bare, login2 = _thin_account(_without(MarginCallStopOut))
    assert bare.journal.records("margin_call") == [] and bare.journal.records("stop_out") == []
    assert len(bare.positions(login2)) == 2 and bare.account_info(login2).margin_level < D(20)


# Measured on main before the rules moved into plugins (same scenario, same seed)
SHIPPED = {
    ("quiet_week.toml", 0): "3990a77608c18a6bd81697390902d122246f26c1a3c8ad26f61702441caa6791",
    ("quiet_week.toml", 7): "a51ebdc8a24edbc132f20cfc5930ac9a9a9f9cba560ff36d9f2882f21f9c5537",
    ("replay_ticks.toml", 1): "4e14d9a10497211c9fcb316d6ac46fb5763706142bbb64d0e94be3015de04218",
    ("stop_out.toml", 0): "d5e149409af45806ecf1f8ba030eb37208db36f8a31cc893c6dcef9baee9058f",
    ("stop_out.toml", 2): "0bedfcc7e4111441a2ce4db0249319c7932b03655cd2dace79de72bcdfe56580",
}


@pytest.mark.parametrize(("name", "seed"), sorted(SHIPPED))
def test_shipped_scenarios_keep_their_digests_with_the_rules_as_plugins(name, seed):
    sim = Simulation(load_scenario(ROOT / "examples" / "scenarios" / name), seed, scrypt_n=2)
    assert sim.run().digest == SHIPPED[(name, seed)]


def test_every_shipped_scenario_is_pinned():
    assert {p.name for p in (ROOT / "examples" / "scenarios").glob("*.toml")} == {n for n, _ in SHIPPED}
