"""Leverage tier tables (seed 004), loaded from `bridge/data/tiers/*.toml`.

A table is a list of published rows: per account currency a notional range [from, to] and
the leverage offered. Brackets are bounded by each row's published `to` (the last row is
open-ended). Validation refuses tables whose thresholds do not ascend or whose leverage
rises; rows whose published `from` does not follow the previous `to` by one unit are kept
as published and reported as `Irregularity` (the seed has a few, see docs/margin.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from bridge.domain.errors import DomainError
from bridge.domain.money import to_decimal
from bridge.domain.rulefile import Fields, RuleDataError, read_rule_file

FAMILY_FILES = ("standard", "pro_mt4")


@dataclass(frozen=True, slots=True)
class TierRow:
    ranges: dict[str, tuple[Decimal, Decimal | None]]  # currency -> (from, to); to None = open
    leverage: int
    floating_margin_pct: Decimal


@dataclass(frozen=True, slots=True)
class TierTable:
    family: str
    table_id: str
    rows: tuple[TierRow, ...]

    def brackets(self, currency: str) -> tuple[tuple[Decimal | None, int], ...]:
        """(upper bound, leverage) per bracket for one account currency; last bound None."""
        return tuple((row.ranges[currency][1], row.leverage) for row in self.rows)


@dataclass(frozen=True, slots=True)
class Irregularity:
    family: str
    table_id: str
    row: int  # 1-based, as a reader counts rows in the seed
    currency: str
    published_from: Decimal
    expected_from: Decimal

    def __str__(self) -> str:
        return (f"{self.family}/{self.table_id} row {self.row} ({self.currency}): published "
                f"from {self.published_from}, expected {self.expected_from}")


@dataclass(frozen=True, slots=True)
class TierFamily:
    """One account family's tables and its group -> table mapping."""

    family: str
    title: str
    currencies: tuple[str, ...]
    tables: dict[str, TierTable]
    groups: dict[str, str]  # instrument group -> table id
    irregularities: tuple[Irregularity, ...]

    def table_for(self, group: str) -> TierTable:
        table_id = self.groups.get(group)
        if table_id is None:
            raise DomainError(
                "group_not_offered",
                f"instrument group {group!r} has no leverage tiers on {self.title} accounts",
            )
        return self.tables[table_id]


@dataclass(frozen=True, slots=True)
class TierSchedule:
    families: dict[str, TierFamily]

    def family(self, name: str) -> TierFamily:
        try:
            return self.families[name]
        except KeyError:
            raise DomainError("unknown_tier_family", f"unknown tier family {name!r}") from None

    @property
    def irregularities(self) -> tuple[Irregularity, ...]:
        return tuple(i for f in self.families.values() for i in f.irregularities)


def load_tier_schedule(paths: dict[str, str | Path] | None = None) -> TierSchedule:
    """Load every family; `paths` overrides the packaged file of a family by name."""
    paths = paths or {}
    names = list(FAMILY_FILES) + sorted(set(paths) - set(FAMILY_FILES))
    return TierSchedule({n: load_tier_family(paths.get(n), n) for n in names})


def load_tier_family(path: str | Path | None, name: str = "standard") -> TierFamily:
    data, source = read_rule_file(path, f"tiers/{name}.toml")
    top = Fields(data, source, "")
    top.check_keys({"family", "title", "currencies", "groups", "table"})
    family = top.text("family")
    currencies = top.raw("currencies")
    if not isinstance(currencies, list) or not currencies or not all(isinstance(c, str) for c in currencies):
        raise top.fail("currencies", "expected a non-empty list of currency codes")
    raw_tables = top.raw("table")
    if not isinstance(raw_tables, list) or not raw_tables:
        raise top.fail("table", "expected at least one [[table]]")
    tables: dict[str, TierTable] = {}
    irregular: list[Irregularity] = []
    for index, raw in enumerate(raw_tables):
        f = Fields(raw, source, f"table[{index}]")
        f.check_keys({"id", "rows"})
        table_id = f.text("id")
        if table_id in tables:
            raise f.fail("id", f"duplicate table id {table_id!r}")
        table = _parse_table(family, table_id, f, tuple(currencies))
        tables[table_id] = table
        irregular.extend(_irregularities(table, tuple(currencies)))
    groups_raw = top.raw("groups")
    if not isinstance(groups_raw, dict) or not groups_raw:
        raise top.fail("groups", "expected a [groups] table mapping group -> table id")
    groups = {}
    for group, table_id in groups_raw.items():
        if table_id not in tables:
            raise RuleDataError(source, f"groups.{group}", f"unknown table id {table_id!r}")
        groups[group] = table_id
    return TierFamily(family, top.text("title", family), tuple(currencies), tables, groups, tuple(irregular))


def _bound(text: object, f: Fields, key: str) -> Decimal | None:
    """One published threshold: a decimal string, or "inf" for an open end."""
    if text == "inf":
        return None
    if not isinstance(text, str):
        raise f.fail(key, f"expected a number written as a string, got {text!r}")
    try:
        number = to_decimal(text, key)
    except DomainError as exc:
        raise f.fail(key, exc.detail) from None
    if number < 0:
        raise f.fail(key, f"threshold {number} is negative")
    return number


def _parse_table(family: str, table_id: str, f: Fields, currencies: tuple[str, ...]) -> TierTable:
    raw_rows = f.raw("rows")
    if not isinstance(raw_rows, list) or not raw_rows:
        raise f.fail("rows", "expected a non-empty list of rows")
    rows = []
    for r_index, raw in enumerate(raw_rows):
        rf = Fields(raw, f.source, f"{f.where}.rows[{r_index}]")
        rf.check_keys(set(currencies) | {"leverage", "floating_margin_pct"})
        ranges = {}
        for ccy in currencies:
            pair = rf.raw(ccy)
            if not isinstance(pair, list) or len(pair) != 2:
                raise rf.fail(ccy, "expected [from, to]")
            low, high = _bound(pair[0], rf, ccy), _bound(pair[1], rf, ccy)
            if low is None:
                raise rf.fail(ccy, "'from' cannot be inf")
            if high is not None and high < low:
                raise rf.fail(ccy, f"range {low} - {high} runs backwards")
            ranges[ccy] = (low, high)
        rows.append(TierRow(ranges, rf.integer("leverage", low=1), rf.decimal("floating_margin_pct", positive=True)))
    _validate(rows, f, currencies)
    return TierTable(family, table_id, tuple(rows))


def _validate(rows: list[TierRow], f: Fields, currencies: tuple[str, ...]) -> None:
    for ccy in currencies:
        previous: Decimal | None = None
        for index, row in enumerate(rows):
            high = row.ranges[ccy][1]
            last = index == len(rows) - 1
            if last and high is not None:
                raise f.fail(f"rows[{index}].{ccy}", "the last row must be open-ended (\"inf\")")
            if not last and high is None:
                raise f.fail(f"rows[{index}].{ccy}", "only the last row may be open-ended")
            if high is not None and previous is not None and high <= previous:
                raise f.fail(f"rows[{index}].{ccy}", f"threshold {high} does not ascend (previous {previous})")
            previous = high
    for index in range(1, len(rows)):
        if rows[index].leverage > rows[index - 1].leverage:
            raise f.fail(f"rows[{index}].leverage",
                         f"leverage rises from 1:{rows[index - 1].leverage} to 1:{rows[index].leverage}")


def _irregularities(table: TierTable, currencies: tuple[str, ...]) -> list[Irregularity]:
    found = []
    for ccy in currencies:
        expected = Decimal(0)
        for index, row in enumerate(table.rows):
            low, high = row.ranges[ccy]
            if low != expected:
                found.append(Irregularity(table.family, table.table_id, index + 1, ccy, low, expected))
            if high is not None:
                expected = high + 1
    return found
