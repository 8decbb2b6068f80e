"""Tier tables as data (seed 004): every table loaded, validated, irregular rows reported."""

from decimal import Decimal as D
from pathlib import Path

import pytest

from bridge.domain.rulefile import RuleDataError
from bridge.domain.tiers import load_tier_family, load_tier_schedule

SCHEDULE = load_tier_schedule()


def test_both_families_with_all_seed_tables():
    assert len(SCHEDULE.family("standard").tables) == 8  # seed: eight tables for Standard/ECN/MT5
    assert len(SCHEDULE.family("pro_mt4").tables) == 4  # and four for Pro MT4
    for family in SCHEDULE.families.values():
        assert family.currencies == ("USD", "EUR", "GBP", "NGN")


def test_first_standard_table_as_published():
    table = SCHEDULE.family("standard").table_for("forex_majors")
    assert [r.leverage for r in table.rows] == [2000, 1000, 500, 200, 100, 25]
    assert [r.ranges["NGN"][1] for r in table.rows] == [
        D(18000000), D(63000000), D(630000000), D(1890000000), D(2520000000), None]
    assert [r.floating_margin_pct for r in table.rows] == [D(x) for x in ("0.05", "0.1", "0.2", "0.5", "1", "4")]


def test_the_seeds_irregular_rows_are_reported_not_fixed():
    found = {(i.family, i.table_id, i.row, i.currency, i.published_from) for i in SCHEDULE.irregularities}
    assert ("standard", "table6", 2, "EUR", D(45)) in found  # "45 - 75" after "0 - 45"
    assert ("standard", "table7", 2, "NGN", D(4200)) in found  # "4 200 - 8 000" after "0 - 3 200"
    assert ("standard", "table7", 7, "EUR", D(256)) in found  # "More than 256" after "151 - 225"
    assert ("pro_mt4", "table4", 3, "USD", D(5000000)) in found  # "5 000 000 - 10 000 001"
    # the data keeps the published values
    row = SCHEDULE.family("pro_mt4").tables["table4"].rows[2]
    assert row.ranges["USD"] == (D(5000000), D(10000001))


def test_irregularities_are_exactly_the_documented_list():
    listed = Path(__file__).parents[2].joinpath("docs", "margin.md").read_text()
    for irregularity in SCHEDULE.irregularities:
        assert str(irregularity) in listed


def _write(tmp_path: Path, rows: str, groups: str = 'majors = "t1"') -> Path:
    path = tmp_path / "tiers.toml"
    path.write_text(f'family = "test"\ncurrencies = ["USD"]\n[groups]\n{groups}\n[[table]]\nid = "t1"\nrows = [\n{rows}\n]\n')
    return path


def test_a_broker_can_replace_a_table(tmp_path):
    path = _write(tmp_path, '{ USD = ["0", "1000"], leverage = 100, floating_margin_pct = "1" },\n'
                            '{ USD = ["1001", "inf"], leverage = 10, floating_margin_pct = "10" },')
    family = load_tier_family(path)
    assert family.table_for("majors").brackets("USD") == ((D(1000), 100), (None, 10))
    assert family.irregularities == ()


@pytest.mark.parametrize("rows, problem", [
    ('{ USD = ["0", "1000"], leverage = 100, floating_margin_pct = "1" },\n'
     '{ USD = ["1001", "500"], leverage = 10, floating_margin_pct = "10" },', "runs backwards"),
    ('{ USD = ["0", "1000"], leverage = 100, floating_margin_pct = "1" },\n'
     '{ USD = ["1001", "900"], leverage = 10, floating_margin_pct = "10" },\n'
     '{ USD = ["901", "inf"], leverage = 5, floating_margin_pct = "20" },', "runs backwards"),
    ('{ USD = ["0", "1000"], leverage = 100, floating_margin_pct = "1" },\n'
     '{ USD = ["1001", "inf"], leverage = 200, floating_margin_pct = "0.5" },', "leverage rises"),
    ('{ USD = ["0", "1000"], leverage = 100, floating_margin_pct = "1" },', "open-ended"),
    ('{ USD = ["0", "inf"], leverage = 100, floating_margin_pct = "1" },\n'
     '{ USD = ["1001", "inf"], leverage = 10, floating_margin_pct = "10" },', "only the last row"),
    ('{ USD = ["0", "inf"], leverage = 100, floating_margin_pct = 1.5 },', "as strings"),
    ('{ USD = ["0", "inf"], leverage = 100, floating_margin_pct = "1", typo = 1 },', "unknown key"),
    ('{ USD = ["0", "NaN"], leverage = 100, floating_margin_pct = "1" },', "not a finite number"),
])
def test_invalid_tables_are_refused_with_file_and_key(tmp_path, rows, problem):
    path = _write(tmp_path, rows)
    with pytest.raises(RuleDataError) as err:
        load_tier_family(path)
    assert problem in str(err.value)
    assert str(path) in str(err.value) and "table[0]" in str(err.value)


def test_thresholds_must_ascend(tmp_path):
    path = _write(tmp_path, '{ USD = ["0", "1000"], leverage = 100, floating_margin_pct = "1" },\n'
                            '{ USD = ["900", "1000"], leverage = 10, floating_margin_pct = "10" },\n'
                            '{ USD = ["1001", "inf"], leverage = 5, floating_margin_pct = "20" },')
    with pytest.raises(RuleDataError, match="does not ascend"):
        load_tier_family(path)


def test_groups_must_name_a_known_table(tmp_path):
    path = _write(tmp_path, '{ USD = ["0", "inf"], leverage = 100, floating_margin_pct = "1" },', 'majors = "t9"')
    with pytest.raises(RuleDataError, match="groups.majors"):
        load_tier_family(path)
