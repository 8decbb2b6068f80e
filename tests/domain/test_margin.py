"""Tiered margin (seed 004): the worked example to the cent, and properties."""

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.domain import DomainError, MarginBook, Rates, default_rules, position_notional
from bridge.domain.margin import AccountMargin, GroupTiers

RULES = default_rules()
STANDARD = RULES.tiers.family("standard")

# Seed 004, "Calculating Forex Margin Requirements with Flexible Leverage", verbatim.
WORKED_EXAMPLE = [  # (position, lots, symbol, price, margin after the step)
    (1, "1", "GBPUSD", "1.4584", "145.84"),
    (2, "5", "EURUSD", "1.3175", "1409.18"),
    (3, "10", "GBPUSD", "1.4590", "5117.95"),
    (4, "30", "EURUSD", "1.3164", "25927.90"),
    (5, "20", "EURUSD", "1.3188", "77815.60"),
]


def usd_book(leverage: int = 1000, account_type: str = "standard") -> MarginBook:
    return MarginBook(RULES.margin_for(account_type, "USD", leverage))


def test_worked_example_every_step_to_the_cent():
    book = usd_book()
    for number, lots, symbol, price, expected in WORKED_EXAMPLE:
        spec = RULES.symbols.get(symbol)
        notional = position_notional(spec, D(lots), D(price), "USD", Rates())
        assert book.open(number, spec.group, notional) == D(expected)
    # Step 6: "Let's suppose you close position #3" -> 37 713.90 USD
    assert book.close(3) == D("37713.90")
    assert book.recompute() == D("37713.90")


def test_worked_example_notionals_are_the_seeds():
    spec = RULES.symbols.get("EURUSD")
    # "30 * 100 000 * 1.3164 = 3 949 200.00 USD"
    assert position_notional(spec, D(30), D("1.3164"), "USD", Rates()) == D("3949200")


def test_breakdown_follows_the_seed_text_of_step_5():
    tiers = GroupTiers(STANDARD.table_for("forex_majors"), "USD", 1000)
    uses = tiers.breakdown(D("8850390"))
    # 200 000 / 1000 + 1 800 000 / 500 + 4 000 000 / 200 + 2 000 000 / 100 + 850 390 / 25
    by_leverage = {}
    for u in uses:
        by_leverage[u.leverage] = by_leverage.get(u.leverage, D(0)) + u.amount
    assert by_leverage == {1000: D(200000), 500: D(1800000), 200: D(4000000), 100: D(2000000), 25: D(850390)}
    assert sum(u.margin for u in uses) == D("77815.60")


def test_bracket_leverage_is_capped_at_the_account_leverage():
    # Below 50 000 USD the table offers 1:2000; a 1:1000 account gets 1:1000 (seed step 1).
    assert GroupTiers(STANDARD.table_for("forex_majors"), "USD", 1000).margin(D(40000)) == D("40.00")
    assert GroupTiers(STANDARD.table_for("forex_majors"), "USD", 3000).margin(D(40000)) == D("20.00")
    assert GroupTiers(STANDARD.table_for("forex_majors"), "USD", 100).margin(D(40000)) == D("400.00")


def test_thresholds_follow_the_account_currency():
    tiers = GroupTiers(STANDARD.table_for("forex_majors"), "EUR", 2000)
    # EUR column: 0 - 45 000 at 1:2000, 45 001 - 180 000 at 1:1000
    assert tiers.margin(D(50000)) == D(45000) / 2000 + D(5000) / 1000


def test_cent_accounts_use_usd_thresholds_in_cents():
    usc = GroupTiers(STANDARD.table_for("forex_majors"), "USC", 3000)
    usd = GroupTiers(STANDARD.table_for("forex_majors"), "USD", 3000)
    # 123 456.78 USD = 12 345 678 USC: same brackets, amounts x 100
    assert usc.exact_margin(D(12345678)) == usd.exact_margin(D("123456.78")) * 100
    assert usc.margin(D(12345678)) == (usd.exact_margin(D("123456.78")) * 100).quantize(D("0.01"))


def test_pro_mt4_uses_its_own_tables():
    book = usd_book(500, "pro")
    spec = RULES.symbols.get("EURUSD")
    # Pro MT4 forex table 1: 1:200 up to 5 000 000 USD
    assert book.open(1, spec.group, position_notional(spec, D(1), D("1.1"), "USD", Rates())) == D("550.00")


def test_group_without_pro_table_is_refused_before_any_change():
    book = usd_book(500, "pro")
    with pytest.raises(DomainError) as err:
        book.open(1, "crypto_majors", D(1000))
    assert err.value.code == "group_not_offered"
    assert len(book) == 0 and book.total == 0


def test_groups_are_separate_pools():
    book = usd_book(1000)
    book.open(1, "forex_majors", D(100000))
    book.open(2, "metals", D(100000))
    assert book.total == D(100) + D(200)  # 1:1000 (capped) and metals 1:500


def test_conversion_to_account_currency():
    spec = RULES.symbols.get("USDJPY")
    rates = Rates({"USDJPY": D("150")})
    # 1 lot USDJPY at 150 = 15 000 000 JPY = 100 000 USD
    assert position_notional(spec, D(1), D(150), "USD", rates) == D(100000)
    with pytest.raises(DomainError) as err:
        position_notional(spec, D(1), D(150), "EUR", rates)
    assert err.value.code == "no_rate"


def test_total_if_opened_does_not_change_the_book():
    book = usd_book()
    book.open(1, "forex_majors", D(145840))
    assert book.total_if_opened("forex_majors", D(658750)) == D("1409.18")
    assert book.total == D("145.84") and len(book) == 1


def test_pro_rata_shares_add_up_to_the_group_margin():
    book = usd_book()
    for n, lots, symbol, price, _ in WORKED_EXAMPLE:
        book.open(n, "forex_majors", D(lots) * 100000 * D(price))
    shares = book.position_margins()
    assert sum(shares.values()) == book.total
    # each share is within a cent of its exact pro-rata value
    for n, lots, _, price, _ in WORKED_EXAMPLE:
        exact = book.total * D(lots) * 100000 * D(price) / book.group_notional("forex_majors")
        assert abs(shares[n] - exact) < D("0.01")


# --- properties ---------------------------------------------------------------------

GROUPS = ["forex_majors", "forex_minors", "indices", "metals", "crypto_majors"]
notionals = st.decimals(min_value=D("0.000001"), max_value=D("20000000"), places=6)
actions = st.lists(st.tuples(st.booleans(), st.sampled_from(GROUPS), notionals), max_size=60)


@settings(max_examples=150, deadline=None)
@given(actions=actions, leverage=st.sampled_from([1, 50, 100, 500, 1000, 3000]))
def test_incremental_margin_equals_recomputation(actions, leverage):
    book = usd_book(leverage)
    open_keys: list[int] = []
    for key, (close, group, notional) in enumerate(actions):
        if close and open_keys:
            book.close(open_keys.pop(len(open_keys) // 2))
        else:
            book.open(key, group, notional)
            open_keys.append(key)
        assert book.total == book.recompute()


@settings(max_examples=200, deadline=None)
@given(notional=notionals, group=st.sampled_from(GROUPS), leverage=st.sampled_from([1, 100, 1000, 3000]))
def test_margin_lies_between_the_extreme_leverages(notional, group, leverage):
    tiers = GroupTiers(STANDARD.table_for(group), "USD", leverage)
    exact = tiers.exact_margin(notional)
    assert notional / max(tiers.leverages) <= exact <= notional / min(tiers.leverages)


@settings(max_examples=200, deadline=None)
@given(a=notionals, b=notionals, group=st.sampled_from(GROUPS))
def test_margin_grows_with_notional(a, b, group):
    tiers = GroupTiers(STANDARD.table_for(group), "USD", 1000)
    low, high = sorted((a, b))
    assert tiers.exact_margin(low) <= tiers.exact_margin(high)


def test_account_margin_refuses_a_currency_the_type_does_not_offer():
    with pytest.raises(DomainError) as err:
        RULES.margin_for("standard_cent", "USD", 1000)
    assert err.value.code == "unknown_currency"
    assert isinstance(RULES.margin_for("standard_cent", "USC", 1000), AccountMargin)
