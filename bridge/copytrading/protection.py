"""Investment protection (seed 003 §4.3).

The rule is the seed's formula, strictly: protection triggers when
    equity < (100 % - p) x invested
The formula's "Investor Balance" is read through the prose: the trigger is the investor's
equity "in percent of the initially invested funds", so the base is the subscription's
invested funds (the amount invested at Start Copying, plus top-ups, minus withdrawals:
`Subscription.invested`), never the current balance. With the balance as base every realised
loss would lower the trigger: at p = 20 % an investor could lose 38.6 % of the invested funds
in closed trades without a trigger (docs/copy-trading.md).

At exact equality it does not trigger (the formula's "<" is normative over the prose "equals
the set value or less": the prose reading would, at p = 0 %, suspend every subscription at its
first instant, when equity = invested funds). p = 0 % therefore means "close everything at
the first cent of loss"; an unset protection (None) means the option is off.
"""

from __future__ import annotations

from decimal import Decimal

HUNDRED = Decimal(100)


def threshold(invested: Decimal, protection_pct: Decimal) -> Decimal:
    """(100 % - p) x invested funds, exact: the equity at which protection is at its level."""
    return (HUNDRED - protection_pct) * invested / HUNDRED


def triggered(equity: Decimal, invested: Decimal, protection_pct: Decimal | None) -> bool:
    """Equity strictly below (100 % - p) of the invested funds (exactly at the level: no)."""
    if protection_pct is None:
        return False
    return equity * HUNDRED < (HUNDRED - protection_pct) * invested
