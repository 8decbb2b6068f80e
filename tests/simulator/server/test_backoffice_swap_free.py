"""Seed 000: "Please note that we provide swap-free accounts for clients from Muslim countries by
default." The back office records each client's country; a rule-data list of countries makes
new accounts swap-free by default; an explicit swap_free on the account wins."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
import srv_helpers as h

from bridge.domain.countries import (SwapFreeCountries, country_code, default_swap_free_countries,
                                     load_swap_free_countries)
from bridge.domain.errors import DomainError, Refusal
from bridge.domain.rulefile import RuleDataError
from simulator.runner import Simulation
from simulator.scenario import ScenarioError, parse_scenario

SEED = "Please note that we provide swap-free accounts for clients from Muslim countries by default."
DAY = 24 * h.HOUR


def _open(server, email, country=None, **kw):
    if server.client(email) is None:
        assert not isinstance(server.register_client(email, "Client", country), Refusal)
    return h.account(server, email=email, account_type="mt5_raw_spread", **kw)


def test_seed_clients_from_listed_countries_get_swap_free_accounts_by_default():
    assert "swap-free accounts for clients from Muslim countries by default" in SEED
    s = h.new_server()
    pk, pk_sess = _open(s, "ayesha@example.com", "PK")  # Pakistan: in the list
    de, de_sess = _open(s, "hans@example.com", "DE")  # Germany: not in the list
    unknown, un_sess = _open(s, "anon@example.com")  # no country given: not swap-free
    assert s.client("ayesha@example.com").country == "PK"
    assert [s.account_info(x).swap_free for x in (pk, de, unknown)] == [True, False, False]
    opened = {r["login"]: r["swap_free"] for r in s.journal.records("account_opened")}
    assert opened == {pk: True, de: False, unknown: False}
    # and it is swap-free in fact: a week long, no swap is charged on it
    h.quote(s, "1.10000", "1.10002")
    for sess in (pk_sess, de_sess):
        assert h.market(s, sess, "buy", "1.00").retcode == h.rc.TRADE_RETCODE_DONE
    s.advance_to(h.MONDAY + 7 * DAY + 10 * h.HOUR)
    assert s.positions(pk)[0].swap == 0 and s.positions(de)[0].swap == D("-52.50")


def test_an_explicit_swap_free_wins_over_the_country():
    s = h.new_server()
    swaps, _ = _open(s, "omar@example.com", "SA", swap_free=False)  # asked for swaps
    free, _ = _open(s, "jane@example.com", "GB", swap_free=True)  # asked for swap-free
    default, _ = _open(s, "omar@example.com")  # the same client's next account: the default again
    assert [s.account_info(x).swap_free for x in (swaps, free, default)] == [False, True, True]
    requested = [r["swap_free"] for r in s.journal.records("request") if r["op"] == "open_account"]
    assert requested == [False, True, None]


def test_bad_country_and_swap_free_are_refused_and_change_nothing():
    s = h.new_server()
    for bad in ("Pakistan", "P", "", "12", 586):
        r = s.register_client("x@example.com", "X", bad)
        assert isinstance(r, Refusal) and r.code == "invalid_country", bad
    assert s.client("x@example.com") is None
    assert s.register_client("x@example.com", "X", " pk ").country == "PK"  # normalised
    r = s.open_account("x@example.com", "mt5_standard", "USD", 100, master_password=h.MASTER,
                       investor_password=h.INVESTOR, swap_free="yes")
    assert isinstance(r, Refusal) and r.code == "invalid_swap_free"
    assert s.client("x@example.com").logins == ()


def test_the_list_is_rule_data_validated_on_load(tmp_path):
    packaged = default_swap_free_countries()
    assert len(packaged.codes) == 57 and "Organisation of Islamic Cooperation" in packaged.source
    assert {"SA", "PK", "ID", "TR", "NG", "MY", "AE"} <= packaged.codes and not {"DE", "US", "GB"} & packaged.codes
    good = tmp_path / "mine.toml"
    good.write_text('source = "our compliance team, 2024"\n[countries]\nGB = "United Kingdom"\n')
    assert load_swap_free_countries(good) == SwapFreeCountries(frozenset({"GB"}), "our compliance team, 2024")
    for text, words in (('source = "x"\n[countries]\ngb = "UK"\n', "countries.gb"),
                        ('source = "x"\n[countries]\nGBR = "UK"\n', "countries.GBR"),
                        ('source = "x"\n[countries]\nGB = ""\n', "countries.GB"),
                        ('source = "x"\n[countries]\n', "countries"),
                        ('[countries]\nGB = "UK"\n', "source"),
                        ('source = "x"\nextra = 1\n[countries]\nGB = "UK"\n', "extra")):
        bad = tmp_path / "bad.toml"
        bad.write_text(text)
        with pytest.raises(RuleDataError, match=words):
            load_swap_free_countries(bad)


def test_a_broker_list_replaces_the_default():
    s = h.new_server()
    s.swap_free_countries = SwapFreeCountries(frozenset({"GB"}), "test")
    gb, _ = _open(s, "jane@example.com", "GB")
    pk, _ = _open(s, "ayesha@example.com", "PK")
    assert [s.account_info(x).swap_free for x in (gb, pk)] == [True, False]
    assert h.new_server().swap_free_countries is default_swap_free_countries()  # others keep the default


def test_country_codes():
    assert country_code("tr") == "TR"
    with pytest.raises(DomainError, match="alpha-2"):
        country_code("TUR")


SCENARIO = """\
[scenario]
name = "t"
start = 2024-01-08T00:00:00Z
duration = "1h"

[symbols.EURUSD]
start_bid = "1.10000"
spread_points = 5
volatility_points = "2"
interval_ms = 60000
"""


def _acct(id_, email, extra=""):
    return (f'[[accounts]]\nid = "{id_}"\nemail = "{email}"\ntype = "mt5_standard"\ncurrency = "USD"\n'
            f'leverage = 100\ndeposit = "1000"\nmaster_password = "Abc12345"\ninvestor_password = "Abc12346"\n{extra}')


def test_scenario_accounts_declare_the_country():
    text = (SCENARIO + _acct("a", "a@example.com", 'country = "id"\n')
            + _acct("b", "b@example.com", 'country = "ID"\nswap_free = false\n') + _acct("c", "c@example.com"))
    sc = parse_scenario(text, "s.toml")
    assert [(a.country, a.swap_free) for a in sc.accounts] == [("ID", None), ("ID", False), (None, None)]
    sim = Simulation(sc, 1, scrypt_n=2)
    sim.run()
    assert [sim.server.account_info(sim.logins[x]).swap_free for x in "abc"] == [True, False, False]
    for extra, key in (('country = "Indonesia"\n', "accounts[0].country"),
                       ('swap_free = "no"\n', "accounts[0].swap_free")):
        with pytest.raises(ScenarioError, match=key.replace("[", r"\[")):
            parse_scenario(SCENARIO + _acct("a", "a@example.com", extra), "s.toml")
    with pytest.raises(ScenarioError, match="one back office per e-mail"):
        parse_scenario(SCENARIO + _acct("a", "a@example.com", 'country = "ID"\n')
                       + _acct("b", "a@example.com", 'country = "DE"\n'), "s.toml")
