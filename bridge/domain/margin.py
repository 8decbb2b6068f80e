"""Tiered (progressive) margin, seed 004.

The margin of one instrument group is computed on the aggregate notional of all its open
positions, in the account currency: each bracket of the group's tier table is charged at its
own leverage, capped at the account's leverage (the seed's worked example only holds with
that cap). Groups are independent; the account's margin is the sum of its groups' margins,
each rounded half up to the cent.

`MarginBook` keeps the per-group sums so that opening or closing one position costs one
bracket look-up, and equals a recomputation from scratch exactly: notionals are quantised
at open, so every sum is exact, and a group's margin depends only on its sum.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from bridge.domain.currency import Rates, cent_parent
from bridge.domain.errors import DomainError
from bridge.domain.instruments import SymbolSpec
from bridge.domain.tiers import TierFamily, TierTable

ZERO = Decimal(0)
# Notional in account currency is fixed at open to this quantum so group sums are exact.
NOTIONAL_QUANTUM = Decimal("0.000001")


def position_notional(spec: SymbolSpec, volume: Decimal, open_price: Decimal,
                      account_currency: str, rates: Rates) -> Decimal:
    """Lots x contract size x open price, converted to the account currency (seed 004)."""
    in_quote = volume * spec.contract_size * open_price
    return rates.convert(in_quote, spec.quote, account_currency).quantize(NOTIONAL_QUANTUM, ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class BracketUse:
    """How much of a group's notional one bracket carries, and its margin (unrounded)."""

    lower: Decimal
    upper: Decimal | None
    published_leverage: int
    leverage: int  # effective: capped at the account leverage
    amount: Decimal
    margin: Decimal


class GroupTiers:
    """One tier table prepared for one account currency and leverage.

    Precomputes the cumulative margin at each bracket bound, so the margin of any notional is
    one bisect plus one division.
    """

    __slots__ = ("uppers", "lowers", "published", "leverages", "cumulative", "quantum")

    def __init__(self, table: TierTable, currency: str, account_leverage: int, places: int = 2) -> None:
        if account_leverage < 1:
            raise DomainError("invalid_leverage", f"leverage 1:{account_leverage} must be at least 1:1")
        cent = cent_parent(currency)
        tier_currency, scale = cent if cent else (currency, Decimal(1))
        if tier_currency not in table.rows[0].ranges:
            raise DomainError("unknown_currency", f"no tier thresholds for account currency {currency!r}")
        brackets = table.brackets(tier_currency)
        self.uppers = [u * scale for u, _ in brackets[:-1]]  # finite bounds only
        self.lowers = [ZERO, *self.uppers]
        self.published = [lev for _, lev in brackets]
        self.leverages = [Decimal(min(lev, account_leverage)) for lev in self.published]
        self.quantum = Decimal(1).scaleb(-places)
        cumulative = [ZERO]
        for lower, upper, lev in zip(self.lowers, self.uppers, self.leverages):
            cumulative.append(cumulative[-1] + (upper - lower) / lev)
        self.cumulative = cumulative

    def exact_margin(self, notional: Decimal) -> Decimal:
        if notional <= 0:
            return ZERO
        i = bisect_left(self.uppers, notional)  # bracket holding the last unit of notional
        return self.cumulative[i] + (notional - self.lowers[i]) / self.leverages[i]

    def margin(self, notional: Decimal) -> Decimal:
        """The group's margin, rounded half up to the account currency's minor unit."""
        if notional <= 0:
            return ZERO
        i = bisect_left(self.uppers, notional)  # inlined exact_margin: this is the hot path
        exact = self.cumulative[i] + (notional - self.lowers[i]) / self.leverages[i]
        return exact.quantize(self.quantum, ROUND_HALF_UP)

    def breakdown(self, notional: Decimal) -> list[BracketUse]:
        """Bracket by bracket, as the seed's worked example writes it out."""
        uses = []
        for i, lev in enumerate(self.leverages):
            lower = self.lowers[i]
            if notional <= lower:
                break
            upper = self.uppers[i] if i < len(self.uppers) else None
            amount = (min(notional, upper) if upper is not None else notional) - lower
            uses.append(BracketUse(lower, upper, self.published[i], int(lev), amount, amount / lev))
        return uses


class AccountMargin:
    """The tier tables of one account: family, currency and leverage fixed."""

    __slots__ = ("family", "currency", "leverage", "places", "quantum", "_groups")

    def __init__(self, family: TierFamily, currency: str, leverage: int, places: int = 2) -> None:
        self.family = family
        self.currency = currency
        self.leverage = leverage
        self.places = places
        self.quantum = Decimal(1).scaleb(-places)
        self._groups: dict[str, GroupTiers] = {}

    def tiers(self, group: str) -> GroupTiers:
        tiers = self._groups.get(group)
        if tiers is None:
            tiers = GroupTiers(self.family.table_for(group), self.currency, self.leverage, self.places)
            self._groups[group] = tiers
        return tiers

    def group_margin(self, group: str, notional: Decimal) -> Decimal:
        return self.tiers(group).margin(notional)

    def with_leverage(self, leverage: int) -> AccountMargin:
        return AccountMargin(self.family, self.currency, leverage, self.places)

    def total(self, positions: Iterable[tuple[str, Decimal]]) -> Decimal:
        """From scratch: margin of (group, notional) pairs."""
        sums: dict[str, Decimal] = {}
        for group, notional in positions:
            sums[group] = sums.get(group, ZERO) + notional
        return sum((self.group_margin(g, n) for g, n in sums.items()), ZERO)


class MarginBook:
    """Incremental margin of one account: per-group notional sums and margins."""

    __slots__ = ("calc", "_positions", "_notional", "_margin", "total")

    def __init__(self, calc: AccountMargin) -> None:
        self.calc = calc
        self._positions: dict[Hashable, tuple[str, Decimal]] = {}
        self._notional: dict[str, Decimal] = {}
        self._margin: dict[str, Decimal] = {}
        self.total = ZERO

    def _set_group(self, group: str, notional: Decimal) -> None:
        new = self.calc.tiers(group).margin(notional)
        self.total += new - self._margin.get(group, ZERO)
        if notional:
            self._notional[group] = notional
            self._margin[group] = new
        else:  # keep the maps small and iteration honest
            self._notional.pop(group, None)
            self._margin.pop(group, None)

    def open(self, key: Hashable, group: str, notional: Decimal) -> Decimal:
        if key in self._positions:
            raise DomainError("duplicate_position", f"position {key!r} is already in the margin book")
        tiers = self.calc.tiers(group)  # refuses an untradeable group before anything changes
        self._positions[key] = (group, notional)
        # _set_group inlined (the copy engine's fan-out calls this 10 000 times per deal)
        group_notional = self._notional.get(group, ZERO) + notional
        new = tiers.margin(group_notional)
        self.total += new - self._margin.get(group, ZERO)
        self._notional[group] = group_notional
        self._margin[group] = new
        return self.total

    def close(self, key: Hashable) -> Decimal:
        group, notional = self._positions.pop(key)
        self._set_group(group, self._notional[group] - notional)
        return self.total

    def resize(self, key: Hashable, notional: Decimal) -> Decimal:
        """A partial close: the position keeps its group with a smaller notional."""
        group, old = self._positions[key]
        self._positions[key] = (group, notional)
        self._set_group(group, self._notional[group] - old + notional)
        return self.total

    def total_if_opened(self, group: str, notional: Decimal) -> Decimal:
        """Pre-trade check: the margin after a hypothetical open, without changing the book."""
        current = self._notional.get(group, ZERO)
        tiers = self.calc.tiers(group)
        return self.total - self._margin.get(group, ZERO) + tiers.margin(current + notional)

    def group_notional(self, group: str) -> Decimal:
        return self._notional.get(group, ZERO)

    def group_margin(self, group: str) -> Decimal:
        return self._margin.get(group, ZERO)

    def groups(self) -> list[str]:
        return sorted(self._notional)

    def __contains__(self, key: object) -> bool:
        return key in self._positions

    def __len__(self) -> int:
        return len(self._positions)

    def recompute(self) -> Decimal:
        """From scratch, for checking the incremental total."""
        return self.calc.total(self._positions.values())

    def position_margins(self) -> dict[Hashable, Decimal]:
        """Each group's margin shared pro rata by notional, for display.

        Shares are rounded down to the cent and the leftover cents go to the largest
        remainders (ties to the earlier-opened position), so they add up to the group margin.
        """
        quantum = self.calc.quantum
        by_group: dict[str, list[Hashable]] = {}
        for key, (group, _) in self._positions.items():
            by_group.setdefault(group, []).append(key)
        shares: dict[Hashable, Decimal] = {}
        for group, keys in by_group.items():
            total_margin, total_notional = self._margin[group], self._notional[group]
            exact = [(k, total_margin * self._positions[k][1] / total_notional) for k in keys]
            floors = {k: e.quantize(quantum, ROUND_FLOOR) for k, e in exact}
            leftover = int((total_margin - sum(floors.values(), ZERO)) / quantum)
            order = sorted(range(len(exact)), key=lambda i: (-(exact[i][1] - floors[exact[i][0]]), i))
            for i in order[:leftover]:
                floors[exact[i][0]] += quantum
            shares.update(floors)
        return {k: shares[k] for k in self._positions}
