"""Investment protection (seed 003 §4.3).

The rule is the seed's formula, strictly: protection triggers when
    equity < (100 % - p) x balance
with `balance` the subscription's current balance (the formula's "Investor Balance"). At
exact equality it does not trigger (the formula's "<" is normative over the prose "equals the
set value or less": the prose reading would, at p = 0 %, suspend every subscription at its
first instant, when equity = balance). p = 0 % therefore means "close everything at the first
cent of floating loss"; an unset protection (None) means the option is off.
"""

from __future__ import annotations

from decimal import Decimal

HUNDRED = Decimal(100)


def threshold(balance: Decimal, protection_pct: Decimal) -> Decimal:
    """(100 % - p) x balance, exact."""
    return (HUNDRED - protection_pct) * balance / HUNDRED


def triggered(equity: Decimal, balance: Decimal, protection_pct: Decimal | None) -> bool:
    if protection_pct is None:
        return False
    return equity * HUNDRED < (HUNDRED - protection_pct) * balance
