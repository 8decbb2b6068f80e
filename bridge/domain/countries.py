"""Client countries and the swap-free default (seed 000: "Please note that we provide
swap-free accounts for clients from Muslim countries by default.").

A country is an ISO 3166-1 alpha-2 code. Which countries get swap-free accounts by default is
rule data: `bridge/data/swap_free_countries.toml` (the OIC member states, with the reasoning
in the file), or a broker's own file, validated on load.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bridge.domain.errors import DomainError
from bridge.domain.rulefile import Fields, RuleDataError, read_rule_file

_CODE = re.compile(r"[A-Z]{2}")


def country_code(value: object) -> str:
    """A client's country as an ISO 3166-1 alpha-2 code ("pk" -> "PK"); DomainError otherwise."""
    code = value.strip().upper() if isinstance(value, str) else None
    if code is None or not _CODE.fullmatch(code):
        raise DomainError("invalid_country", f"country {value!r} must be an ISO 3166-1 alpha-2 code like \"PK\"")
    return code


@dataclass(frozen=True, slots=True)
class SwapFreeCountries:
    codes: frozenset[str]
    source: str  # where the list comes from (the file's `source`)

    def swap_free(self, country: str | None, requested: bool | None = None) -> bool:
        """The account's swap-free flag: an explicit request wins; otherwise the client's country."""
        if requested is not None:
            return requested
        return country is not None and country in self.codes


def load_swap_free_countries(path: str | Path | None = None) -> SwapFreeCountries:
    data, source = read_rule_file(path, "swap_free_countries.toml")
    top = Fields(data, source, "")
    top.check_keys({"source", "countries"})
    table = top.raw("countries")
    if not isinstance(table, dict) or not table:
        raise top.fail("countries", "expected a table of ISO 3166-1 alpha-2 codes = names, not empty")
    rows = Fields(table, source, "countries")
    for code in table:
        if not _CODE.fullmatch(code):
            raise RuleDataError(source, f"countries.{code}", "not an ISO 3166-1 alpha-2 code (two letters A-Z)")
        rows.text(code)
    return SwapFreeCountries(frozenset(table), top.text("source"))


@lru_cache(maxsize=1)
def default_swap_free_countries() -> SwapFreeCountries:
    """The packaged list, loaded once per process."""
    return load_swap_free_countries()
