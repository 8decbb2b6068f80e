"""Instrument (symbol) specifications, loaded from `bridge/data/symbols.toml`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from bridge.domain.errors import DomainError
from bridge.domain.rulefile import Fields, read_rule_file

_SYMBOL_KEYS = frozenset(
    {"base", "quote", "contract_size", "digits", "group", "swap_long", "swap_short",
     "swap_triple_day", "volume_min", "volume_max", "volume_step", "description"}
)


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    name: str
    base: str
    quote: str  # prices, profit and notional are in this currency
    contract_size: Decimal
    digits: int
    point: Decimal
    volume_min: Decimal
    volume_max: Decimal
    volume_step: Decimal
    group: str  # the instrument group, i.e. the leverage-tier pool
    swap_long: Decimal  # points per lot per night
    swap_short: Decimal
    swap_triple_day: int  # 0=Monday .. 6=Sunday
    description: str = ""

    def volume_problem(self, volume: Decimal) -> str | None:
        """Why `volume` is not tradeable on this symbol, or None when it is."""
        if not volume.is_finite() or volume <= 0:
            return f"volume {volume} must be positive"
        if volume < self.volume_min:
            return f"volume {volume} is below the minimum {self.volume_min} for {self.name}"
        if volume > self.volume_max:
            return f"volume {volume} is above the maximum {self.volume_max} for {self.name}"
        if (volume - self.volume_min) % self.volume_step != 0:
            return f"volume {volume} is not a multiple of the step {self.volume_step} for {self.name}"
        return None

    def price_problem(self, price: Decimal) -> str | None:
        """Why `price` is not a valid quote for this symbol, or None."""
        if not price.is_finite() or price <= 0:
            return f"price {price} must be positive"
        if price != price.quantize(self.point):
            return f"price {price} has more than {self.digits} digits for {self.name}"
        return None


class SymbolCatalog:
    """The tradeable symbols, by name, in file order."""

    def __init__(self, specs: list[SymbolSpec], source: str = "<memory>") -> None:
        self._by_name = {s.name: s for s in specs}
        self.source = source

    def get(self, name: str) -> SymbolSpec:
        try:
            return self._by_name[name]
        except KeyError:
            raise DomainError("unknown_symbol", f"unknown symbol {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[SymbolSpec]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def names(self) -> list[str]:
        return list(self._by_name)


def load_symbols(path: str | Path | None = None) -> SymbolCatalog:
    """Load and validate a symbol file (the packaged one by default)."""
    data, source = read_rule_file(path, "symbols.toml")
    defaults = Fields(data.get("defaults", {}), source, "defaults")
    table = data.get("symbol")
    if not isinstance(table, dict) or not table:
        raise Fields(data, source, "").fail("symbol", "no [symbol.NAME] tables")
    specs = []
    for name, body in table.items():
        if not isinstance(body, dict):
            raise Fields(data, source, "symbol").fail(name, "expected a table")
        specs.append(_parse_symbol(name, Fields(body, source, f"symbol.{name}"), defaults))
    return SymbolCatalog(specs, source)


def _parse_symbol(name: str, f: Fields, defaults: Fields) -> SymbolSpec:
    f.check_keys(_SYMBOL_KEYS)

    def dflt(key: str) -> object:
        return defaults.data.get(key, ...)

    digits = f.integer("digits", low=0, high=10)
    volume_min = f.decimal("volume_min", dflt("volume_min"), positive=True)
    volume_max = f.decimal("volume_max", dflt("volume_max"), positive=True)
    volume_step = f.decimal("volume_step", dflt("volume_step"), positive=True)
    if volume_max < volume_min:
        raise f.fail("volume_max", f"{volume_max} is below volume_min {volume_min}")
    return SymbolSpec(
        name=name,
        base=f.text("base"),
        quote=f.text("quote"),
        contract_size=f.decimal("contract_size", positive=True),
        digits=digits,
        point=Decimal(1).scaleb(-digits),
        volume_min=volume_min,
        volume_max=volume_max,
        volume_step=volume_step,
        group=f.text("group"),
        swap_long=f.decimal("swap_long", "0"),
        swap_short=f.decimal("swap_short", "0"),
        swap_triple_day=f.integer("swap_triple_day", dflt("swap_triple_day"), low=0, high=6),
        description=f.raw("description", ""),
    )
