"""Account types (seed 000), loaded from `bridge/data/account_types.toml`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from bridge.domain.currency import ACCOUNT_CURRENCIES
from bridge.domain.errors import DomainError
from bridge.domain.rulefile import Fields, read_rule_file

_KEYS = frozenset({"platform", "name", "tier_family", "currencies", "min_deposit_usd", "commission_per_lot",
                   "spread_markup_points", "margin_call_level", "stop_out_level", "leverages", "margin_modes"})
PLATFORMS = ("MT4", "MT5")
# Short names accepted wherever a person types an account type.
ALIASES = {"standard_cent": "mt4_standard_cent", "cent": "mt4_standard_cent", "standard": "mt4_standard",
           "pro": "mt4_pro", "raw_spread": "mt4_raw_spread", "raw": "mt4_raw_spread", "ecn": "mt4_raw_spread"}


@dataclass(frozen=True, slots=True)
class AccountType:
    id: str
    platform: str  # "MT4" | "MT5"
    name: str
    tier_family: str
    currencies: tuple[str, ...]
    min_deposit_usd: Decimal
    commission_per_lot: Decimal  # USD per lot per side
    spread_markup_points: int
    margin_call_level: Decimal  # percent
    stop_out_level: Decimal  # percent
    leverages: tuple[int, ...]
    margin_modes: tuple[str, ...]

    @property
    def title(self) -> str:
        return f"{self.platform} {self.name}"


class AccountTypes:
    def __init__(self, types: list[AccountType], source: str = "<memory>") -> None:
        self._by_id = {t.id: t for t in types}
        self.source = source

    def get(self, name: str) -> AccountType:
        key = ALIASES.get(name.lower(), name.lower())
        try:
            return self._by_id[key]
        except KeyError:
            known = ", ".join(self._by_id)
            raise DomainError("unknown_account_type", f"unknown account type {name!r} (known: {known})") from None

    def __iter__(self) -> Iterator[AccountType]:
        return iter(self._by_id.values())

    def ids(self) -> list[str]:
        return list(self._by_id)


def load_account_types(path: str | Path | None = None) -> AccountTypes:
    data, source = read_rule_file(path, "account_types.toml")
    defaults = data.get("defaults", {})
    types = data.get("account_type")
    if not isinstance(types, dict) or not types:
        raise Fields(data, source, "").fail("account_type", "no [account_type.ID] tables")
    parsed = [_parse(tid, Fields({**defaults, **body}, source, f"account_type.{tid}"))
              for tid, body in types.items()]
    return AccountTypes(parsed, source)


def _string_list(f: Fields, key: str, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
    value = f.raw(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise f.fail(key, "expected a non-empty list of strings")
    for v in value:
        if allowed is not None and v not in allowed:
            raise f.fail(key, f"{v!r} is not one of {', '.join(allowed)}")
    return tuple(value)


def _parse(tid: str, f: Fields) -> AccountType:
    f.check_keys(_KEYS)
    platform = f.text("platform")
    if platform not in PLATFORMS:
        raise f.fail("platform", f"expected one of {', '.join(PLATFORMS)}, got {platform!r}")
    leverages = f.raw("leverages")
    if (not isinstance(leverages, list) or not leverages
            or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 1 for x in leverages)
            or leverages != sorted(set(leverages))):
        raise f.fail("leverages", "expected an ascending list of distinct positive integers")
    margin_call = f.decimal("margin_call_level", positive=True)
    stop_out = f.decimal("stop_out_level", non_negative=True)
    if stop_out >= margin_call:
        raise f.fail("stop_out_level", f"{stop_out}% must be below the margin call level {margin_call}%")
    return AccountType(
        id=tid, platform=platform, name=f.text("name"), tier_family=f.text("tier_family"),
        currencies=_string_list(f, "currencies", ACCOUNT_CURRENCIES),
        min_deposit_usd=f.decimal("min_deposit_usd", non_negative=True),
        commission_per_lot=f.decimal("commission_per_lot", non_negative=True),
        spread_markup_points=f.integer("spread_markup_points", low=0),
        margin_call_level=margin_call, stop_out_level=stop_out, leverages=tuple(leverages),
        margin_modes=_string_list(f, "margin_modes", ("hedging", "netting")),
    )
