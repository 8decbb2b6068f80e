"""Copy volume (seed 003 §2.4, §4.5, §5, §6), and the modes a subscription's settings add.

Equal: the trader's volume 1:1. Proportional: (investor equity / trader equity) x
(investor leverage / trader leverage) x trader volume, both equities in the investor's
account currency (a EUR trader's equity is converted at EURUSD for a USD investor; a cent
account's at USC = USD / 100). The result is normalised (§5): round
half up to 0.01 lot; below 0.005 rejected; from 0.005 to 0.01 -> 0.01; above 100 lots after
rounding not opened (never clamped). The trader's equity is taken when the trader's deal is
copied; a later deposit or withdrawal never resizes an existing copy (§6) simply because
volumes are computed once, at the open.

Beyond the seed's two (issue 15, bridge/copytrading/settings.py): fixed (a set lot, whatever
the trader's volume), multiplier (x the trader's volume) and balance_ratio (investor balance /
trader balance x the trader's volume, balances in one currency as for proportional, no
leverage term). The §5 normalisation always applies after the mode; the symbol's own
min/step/max after that (the engine's `SymbolSpec.volume_problem`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from typing import NamedTuple

from bridge.domain.currency import Rates
from bridge.domain.errors import DomainError

NO_QUOTES = Rates()


class VolumeMode(str, Enum):
    EQUAL = "equal"  # §4.5.1, the default
    PROPORTIONAL = "proportional"  # §4.5.2
    FIXED = "fixed"  # a set lot (`fixed_volume`)
    MULTIPLIER = "multiplier"  # `multiplier` x the trader's volume
    BALANCE_RATIO = "balance_ratio"  # investor balance / trader balance x the trader's volume


#: The seed's modes (§2.4): a subscription with one of these and no other setting copies
#: exactly by the seed's terms.
SEED_MODES = (VolumeMode.EQUAL, VolumeMode.PROPORTIONAL)


@dataclass(frozen=True, slots=True)
class CopyLimits:
    """Seed 003 §5, as configurable data."""

    step: Decimal = Decimal("0.01")  # §5.3: nearest hundredth
    reject_below: Decimal = Decimal("0.005")  # §5.2
    minimum: Decimal = Decimal("0.01")  # §5.1, §5.2
    maximum: Decimal = Decimal("100")  # §5.1, §5.4


DEFAULT_LIMITS = CopyLimits()


class VolumeDecision(NamedTuple):
    """Immutable like a frozen dataclass, and cheaper to build: the copy engine makes one per
    subscription of a fan-out."""

    volume: Decimal | None  # None when the copy is not opened
    reason: str | None  # machine-readable reason when not opened
    raw: Decimal | None  # the unrounded result of the formula

    @property
    def accepted(self) -> bool:
        return self.volume is not None


def normalise(raw: Decimal, limits: CopyLimits = DEFAULT_LIMITS) -> VolumeDecision:
    if raw < limits.reject_below:
        return VolumeDecision(None, "below_min_volume", raw)
    if raw > limits.maximum + limits.step:  # decided before rounding: 1e42 lots cannot be quantised
        return VolumeDecision(None, "above_max_volume", raw)
    volume = raw.quantize(limits.step, ROUND_HALF_UP)
    if volume < limits.minimum:
        volume = limits.minimum
    if volume > limits.maximum:
        return VolumeDecision(None, "above_max_volume", raw)
    return VolumeDecision(volume, None, raw)


def equity_fraction(trader_currency: str, investor_currency: str, rates: Rates | None) -> tuple[Decimal, Decimal]:
    """(num, den): one unit of the trader's account currency is num / den units of the
    investor's (§4.5.2 compares the equities in one currency). Cent accounts need no quote
    (USC = USD / 100). DomainError("no_rate") when no quoted pair links the two."""
    return (rates or NO_QUOTES).fraction(trader_currency, investor_currency)


def copy_volume(mode: VolumeMode | str, trader_volume: Decimal, *, investor_equity: Decimal | None = None,
                trader_equity: Decimal | None = None, investor_leverage: int | None = None,
                trader_leverage: int | None = None, limits: CopyLimits = DEFAULT_LIMITS,
                investor_currency: str = "USD", trader_currency: str = "USD",
                rates: Rates | None = None, fixed_volume: Decimal | None = None,
                multiplier: Decimal | None = None, investor_balance: Decimal | None = None,
                trader_balance: Decimal | None = None) -> VolumeDecision:
    """Equities (balances) are in their accounts' currencies; the trader's is converted into
    the investor's with `rates` (refused "no_rate" when they cannot be linked). Each mode
    needs its own figures (TypeError when missing: a caller's bug, not a refusal)."""
    if mode.__class__ is not VolumeMode:  # the engine passes members: no EnumMeta call per copy
        mode = VolumeMode(mode)
    if trader_volume <= 0:
        return VolumeDecision(None, "invalid_trader_volume", None)
    if mode is VolumeMode.EQUAL:
        return normalise(trader_volume, limits)
    if mode is VolumeMode.FIXED:
        if fixed_volume is None:
            raise TypeError("fixed copying needs fixed_volume")
        return normalise(fixed_volume, limits)
    if mode is VolumeMode.MULTIPLIER:
        if multiplier is None:
            raise TypeError("multiplier copying needs multiplier")
        return normalise(multiplier * trader_volume, limits)
    if mode is VolumeMode.BALANCE_RATIO:
        if investor_balance is None or trader_balance is None:
            raise TypeError("balance_ratio copying needs both balances")
        return _ratio(investor_balance, trader_balance, 1, 1, trader_volume, limits, investor_currency,
                      trader_currency, rates, "balance")
    if investor_equity is None or trader_equity is None or investor_leverage is None or trader_leverage is None:
        raise TypeError("proportional copying needs both equities and both leverages")
    return _ratio(investor_equity, trader_equity, investor_leverage, trader_leverage, trader_volume, limits,
                  investor_currency, trader_currency, rates, "equity")


def _ratio(investor: Decimal, trader: Decimal, investor_leverage: int, trader_leverage: int,
           trader_volume: Decimal, limits: CopyLimits, investor_currency: str, trader_currency: str,
           rates: Rates | None, what: str) -> VolumeDecision:
    """(investor / trader) x (investor leverage / trader leverage) x trader volume, `what`
    (equity or balance) compared in the investor's currency."""
    if trader <= 0:
        return VolumeDecision(None, f"trader_{what}_not_positive", None)
    if investor <= 0:
        return VolumeDecision(None, f"investor_{what}_not_positive", None)
    if investor_leverage <= 0 or trader_leverage <= 0:
        return VolumeDecision(None, "invalid_leverage", None)
    try:
        num, den = equity_fraction(trader_currency, investor_currency, rates)
    except DomainError:
        return VolumeDecision(None, "no_rate", None)
    # Trader figure in the investor's currency = t x num / den. One division at the end
    # keeps the product exact as long as possible (no rounding before the §5.3 half-up step).
    raw = (investor * investor_leverage * trader_volume * den) / (trader * num * trader_leverage)
    return normalise(raw, limits)
