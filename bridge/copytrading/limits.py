"""Risk limits that act (issue 15 item 8): a daily loss limit and a maximum drawdown per
subscription, in money or percent, each with an action. Pure: the figures of one check.

    daily loss = day base - equity      (day base: the equity at the server day's start,
                                         moved by the day's balance operations)
    drawdown   = peak - equity          (peak: the highest equity since the limits were set
                                         or the subscription resumed, moved the same way)
    allowed    = limit                  (unit money, the account currency)
               = limit % x base         (unit percent: of the day base, of the peak)

A limit is hit when the loss reaches the allowed amount (loss >= allowed). They sit beside the seed's investment
protection (§4.3, protection.py), which keeps its exact formula and is checked first.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

HUNDRED = Decimal(100)
ZERO = Decimal(0)


class LimitUnit(str, Enum):
    MONEY = "money"  # in the account currency
    PERCENT = "percent"  # of the base: the day base, the peak


class LimitAction(str, Enum):
    STOP_OPENING = "stop_opening"  # close_only: open copies follow the trader, nothing new opens
    CLOSE_AND_SUSPEND = "close_and_suspend"  # every copy closed, suspended until lifted
    CLOSE_AND_STOP = "close_and_stop"  # every copy closed, copying stopped (funds return)


DAILY_LOSS = "daily_loss_limit"
MAX_DRAWDOWN = "max_drawdown"


@dataclass(frozen=True, slots=True)
class LimitHit:
    limit: str  # daily_loss_limit | max_drawdown (also the refusal code)
    action: LimitAction
    equity: Decimal
    base: Decimal  # the day base or the peak
    loss: Decimal  # base - equity
    allowed: Decimal  # the loss the limit allows, in money
    value: Decimal  # the setting as given
    unit: LimitUnit

    def details(self) -> dict[str, str]:
        """Plain figures (a refusal's `details`, the desk's row)."""
        return {"limit": self.limit, "action": self.action.value, "equity": str(self.equity),
                "base": str(self.base), "loss": str(self.loss), "allowed": str(self.allowed),
                "value": str(self.value), "unit": self.unit.value}


def allowed(value: Decimal, unit: LimitUnit, base: Decimal) -> Decimal:
    """The loss a limit allows, in money (percent of a base: exact, never rounded)."""
    return value if unit is LimitUnit.MONEY else value * base / HUNDRED


def check(limit: str, value: Decimal | None, unit: LimitUnit, action: LimitAction, base: Decimal,
          equity: Decimal) -> LimitHit | None:
    """The hit of one limit, or None (not set, not reached, or a percent of a base <= 0)."""
    if value is None or (unit is LimitUnit.PERCENT and base <= 0):
        return None
    room = allowed(value, unit, base)
    loss = base - equity
    if loss <= 0 or loss < room:
        return None
    return LimitHit(limit, action, equity, base, loss, room, value, unit)
