"""All rule data in one object, cross-checked on load.

`load_rules()` reads the packaged tables (or a broker's replacements) once; everything else
receives the resulting `Rules` and never reads a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bridge.domain.account_types import AccountType, AccountTypes, load_account_types
from bridge.domain.currency import cent_parent
from bridge.domain.errors import DomainError
from bridge.domain.instruments import SymbolCatalog, load_symbols
from bridge.domain.margin import AccountMargin
from bridge.domain.tiers import TierSchedule, load_tier_schedule


@dataclass(frozen=True, slots=True)
class Rules:
    symbols: SymbolCatalog
    account_types: AccountTypes
    tiers: TierSchedule

    def margin_for(self, account_type: AccountType | str, currency: str, leverage: int) -> AccountMargin:
        """The tier tables of one account (family from its type, thresholds in its currency)."""
        if isinstance(account_type, str):
            account_type = self.account_types.get(account_type)
        if currency not in account_type.currencies:
            raise DomainError("unknown_currency",
                              f"{account_type.title} accounts are not offered in {currency!r} "
                              f"(offered: {', '.join(account_type.currencies)})")
        return AccountMargin(self.tiers.family(account_type.tier_family), currency, leverage)

    def conversion_symbols(self) -> tuple[str, ...]:
        """The USD pairs whose quotes convert every symbol's quote currency and every account
        currency into USD (and so into each other): what the engine's price feed must carry
        (docs/copy-trading.md, "Where conversion rates come from"). The catalog's own pair
        when it has one (EURUSD, USDJPY), else the usual name USD<ccy> (USDNGN: a rate-only
        pair the feed sends although nobody trades it)."""
        currencies = {spec.quote for spec in self.symbols}
        for t in self.account_types:
            for c in t.currencies:
                parent = cent_parent(c)  # USC is US cents: converted with no quote
                currencies.add(parent[0] if parent else c)
        return tuple(sorted(c + "USD" if c + "USD" in self.symbols else "USD" + c
                            for c in currencies - {"USD"}))


def load_rules(symbols: str | Path | None = None, account_types: str | Path | None = None,
               tiers: dict[str, str | Path] | None = None) -> Rules:
    rules = Rules(load_symbols(symbols), load_account_types(account_types), load_tier_schedule(tiers))
    _cross_check(rules)
    return rules


@lru_cache(maxsize=1)
def default_rules() -> Rules:
    """The packaged rule tables, loaded once per process."""
    return load_rules()


def _cross_check(rules: Rules) -> None:
    for t in rules.account_types:
        family = rules.tiers.family(t.tier_family)  # raises for an unknown family
        missing = [c for c in t.currencies if c not in family.currencies and c != "USC"]
        if missing:
            raise DomainError("invalid_rule_data",
                              f"account type {t.id}: family {family.family} has no thresholds in {missing}")
    standard = rules.tiers.family("standard") if "standard" in rules.tiers.families else None
    for spec in rules.symbols:
        if standard is not None and spec.group not in standard.groups:
            raise DomainError("invalid_rule_data",
                              f"symbol {spec.name}: group {spec.group!r} has no tier table in family 'standard'")
