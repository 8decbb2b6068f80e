"""Currency conversion from a set of quoted rates (pure; the rates are passed in).

Rates are keyed by six-letter pair ("EURUSD" = USD per EUR). A conversion tries the direct
pair, then the inverse, then a cross through USD, then a cross through any other currency
quoted against both (JPY -> USD from EURJPY and EURUSD: a trader's EURJPY deal and an
EURUSD quote value a EURJPY copy on a USD account). The cent currency USC is USD / 100, the
money of Standard Cent accounts.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from bridge.domain.errors import DomainError

ACCOUNT_CURRENCIES = ("USD", "EUR", "GBP", "NGN", "USC")
# Units of the cent currency per unit of its parent.
_CENT_CURRENCIES = {"USC": ("USD", Decimal(100))}
ONE = Decimal(1)


def cent_parent(currency: str) -> tuple[str, Decimal] | None:
    """(parent currency, cents per unit) for a cent currency such as USC, else None."""
    return _CENT_CURRENCIES.get(currency)


def _no_rate(frm: str, to: str) -> DomainError:
    return DomainError("no_rate", f"no rate to convert {frm} to {to} (need {frm}{to} or {to}{frm})")


class Rates:
    """A snapshot of conversion rates; immutable once built."""

    __slots__ = ("_rates",)

    def __init__(self, rates: Mapping[str, Decimal] | None = None) -> None:
        self._rates = dict(rates or {})

    def as_dict(self) -> dict[str, Decimal]:
        """A copy of the quoted rates, by pair."""
        return dict(self._rates)

    def with_rate(self, pair: str, rate: Decimal) -> Rates:
        updated = dict(self._rates)
        updated[pair] = rate
        return Rates(updated)

    def rate(self, frm: str, to: str) -> Decimal:
        """Units of `to` per one unit of `frm`: `fraction`, divided once (one conversion chain,
        so `rate` and `fraction` always agree on the pairs they use)."""
        if frm == to:
            return ONE
        num, den = self.fraction(frm, to)
        return num if den == ONE else num / den

    def _leg(self, frm: str, to: str) -> tuple[Decimal, Decimal] | None:
        """(num, den) from the one quoted pair of the two currencies, direct or inverse."""
        direct = self._rates.get(frm + to)
        if direct is not None:
            return direct, ONE
        inverse = self._rates.get(to + frm)
        return (ONE, inverse) if inverse is not None else None

    def _cross(self, frm: str, to: str) -> tuple[tuple[Decimal, Decimal], tuple[Decimal, Decimal]] | None:
        """Two quoted legs frm -> X -> to through the first such X in alphabetical order."""
        via = sorted({c for pair in self._rates for c in (pair[:3], pair[3:])} - {frm, to})
        for x in via:
            first = self._leg(frm, x)
            if first is not None:
                second = self._leg(x, to)
                if second is not None:
                    return first, second
        return None

    def fraction(self, frm: str, to: str) -> tuple[Decimal, Decimal]:
        """Units of `to` per unit of `frm` as an exact fraction (numerator, denominator): the
        same pairs as `rate`, with no division, so a ratio built on it is divided once (copy
        volumes across currencies, seed 003 §4.5.2). DomainError("no_rate") as `rate`."""
        if frm == to:
            return ONE, ONE
        if frm in _CENT_CURRENCIES:
            parent, per = _CENT_CURRENCIES[frm]
            num, den = self.fraction(parent, to)
            return num, den * per
        if to in _CENT_CURRENCIES:
            parent, per = _CENT_CURRENCIES[to]
            num, den = self.fraction(frm, parent)
            return num * per, den
        leg = self._leg(frm, to)
        if leg is not None:
            return leg
        if "USD" not in (frm, to):
            try:
                n1, d1 = self.fraction(frm, "USD")
                n2, d2 = self.fraction("USD", to)
                return n1 * n2, d1 * d2
            except DomainError:
                pass
        legs = self._cross(frm, to)
        if legs is not None:
            (n1, d1), (n2, d2) = legs
            return n1 * n2, d1 * d2
        raise _no_rate(frm, to)

    def convert(self, amount: Decimal, frm: str, to: str) -> Decimal:
        return amount if frm == to else amount * self.rate(frm, to)
