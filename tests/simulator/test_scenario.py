"""Scenario files: parsing, errors that name the file/line/key, determinism of runs."""

from pathlib import Path

import pytest

from simulator.runner import Simulation
from simulator.scenario import ScenarioError, load_scenario, parse_duration, parse_scenario

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "scenarios"

BASE = """\
[scenario]
name = "t"
start = 2024-01-08T00:00:00Z
duration = "6h"

[symbols.EURUSD]
start_bid = "1.10000"
spread_points = 5
volatility_points = "2"
interval_ms = 60000

[[accounts]]
id = "a"
email = "a@example.com"
type = "mt5_standard"
currency = "USD"
leverage = 100
deposit = "1000"
master_password = "Abc12345"
investor_password = "Abc12346"
"""


def test_parse_duration():
    assert parse_duration("90m") == 5_400_000
    assert parse_duration("36h") == 36 * 3_600_000
    assert parse_duration("7d") == 7 * 86_400_000
    assert parse_duration("1d12h") == 36 * 3_600_000
    for bad in ("", "7", "m", "3x", "-1d", "0s"):
        with pytest.raises(ValueError):
            parse_duration(bad)


@pytest.mark.parametrize("extra, line, key, words", [
    ('[[orders]]\nat = "+1h"\naccount = "a"\naction = "buy"\nsymbol = "EURUSD"\nvolume = "abc"\n',
     27, "orders[0].volume", "not a number"),
    ('[[orders]]\nat = "+1h"\naccount = "zz"\naction = "buy"\nsymbol = "EURUSD"\nvolume = "1"\n',
     24, "orders[0].account", "unknown account"),
    ('[[orders]]\nat = "+1d"\naccount = "a"\naction = "buy"\nsymbol = "EURUSD"\nvolume = "1"\n',
     23, "orders[0].at", "outside"),
    ('[[orders]]\nat = "+1h"\naccount = "a"\naction = "close"\nref = "nothing"\n',
     26, "orders[0].ref", "labelled"),
    ('[[strategies]]\naccount = "a"\nkind = "martingale"\nsymbol = "EURUSD"\nmultiplier = "x"\n',
     26, "strategies[0].multiplier", "not a number"),
])
def test_semantic_errors_name_file_line_key(extra, line, key, words):
    with pytest.raises(ScenarioError) as err:
        parse_scenario(BASE + "\n" + extra, "s.toml")
    e = err.value
    assert (e.path, e.key, e.line) == ("s.toml", key, line)
    assert words in e.problem
    assert str(e).startswith(f"s.toml:{line}: {key}: ")


def test_syntax_error_uses_the_decoder_line():
    with pytest.raises(ScenarioError) as err:
        parse_scenario(BASE + "\n[[orders]\n", "s.toml")
    assert err.value.line == 22 and "invalid TOML" in str(err.value)


def test_other_errors():
    with pytest.raises(ScenarioError, match="unknown symbol 'XXXYYY'"):
        parse_scenario(BASE.replace("[symbols.EURUSD]", "[symbols.XXXYYY]"), "s.toml")
    with pytest.raises(ScenarioError, match="password"):
        parse_scenario(BASE.replace('"Abc12345"', '"short"'), "s.toml")
    with pytest.raises(ScenarioError, match="leverage"):
        parse_scenario(BASE.replace("leverage = 100", "leverage = 7"), "s.toml")
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(EXAMPLES / "missing.toml")


def test_shipped_scenarios_load():
    for path in sorted(EXAMPLES.glob("*.toml")):
        sc = load_scenario(path)
        assert sc.accounts and sc.feeds


def _digest(path, seed, until_h=None):
    sc = load_scenario(path)
    until = None if until_h is None else sc.start_ms + until_h * 3_600_000
    return Simulation(sc, seed, until_ms=until, scrypt_n=2).run().digest


def test_same_seed_same_digest_other_seed_other_digest():
    q = EXAMPLES / "quiet_week.toml"
    assert _digest(q, 5, 30) == _digest(q, 5, 30)
    assert _digest(q, 5, 30) != _digest(q, 6, 30)
    r = EXAMPLES / "replay_ticks.toml"
    assert _digest(r, 1) == _digest(r, 1) != _digest(r, 2)


def test_scripted_week_charges_swaps_and_respects_swap_free():
    sim = Simulation(load_scenario(EXAMPLES / "quiet_week.toml"), 1, scrypt_n=2)
    summary = {a.id: a for a in sim.run().accounts}
    assert summary["alice"].swaps < 0 and summary["alice"].swap_charges >= 3
    assert summary["bob"].swaps == 0  # swap-free
    assert summary["bob"].deposits == 6000 and summary["bob"].withdrawals == 500
    steps = sim.server.journal.records("script")
    assert len(steps) == 11
    triple = [r for r in sim.server.journal.records("swap") if r["nights"] == 3]
    assert triple  # the Wednesday rollover


def test_martingale_ends_in_stop_out():
    summary = Simulation(load_scenario(EXAMPLES / "stop_out.toml"), None, scrypt_n=2).run()
    gambler = summary.accounts[0]
    assert gambler.stop_outs >= 1 and gambler.stop_out_closes >= 1 and gambler.margin_calls >= 1


def test_server_timezone_key():
    from bridge.domain.servertime import BROKER_DEFAULT, ServerTimeZone

    assert parse_scenario(BASE, "s.toml").server_timezone == BROKER_DEFAULT
    sc = parse_scenario(BASE.replace('duration = "6h"', 'duration = "6h"\nserver_timezone = "UTC-5/us"'), "s.toml")
    assert sc.server_timezone == ServerTimeZone(-5 * 3_600_000, "us")
    assert Simulation(sc, 1, scrypt_n=2).server.timezone == sc.server_timezone
    with pytest.raises(ScenarioError, match="server time zone") as err:
        parse_scenario(BASE.replace('duration = "6h"', 'duration = "6h"\nserver_timezone = "CET"'), "s.toml")
    assert err.value.key == "scenario.server_timezone"
    # the shipped weekly scenarios were written for a server on UTC (their digests stay put)
    assert load_scenario(EXAMPLES / "quiet_week.toml").server_timezone == ServerTimeZone()
