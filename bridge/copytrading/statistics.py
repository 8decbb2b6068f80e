"""Statistics: public per trader (seed 003 §13), private per investor (§12).

Trader return is time-weighted: each closed deal's profit is a return on the trader's
balance before it, and returns are chained, so deposits and withdrawals (§6) do not count as
performance. Drawdown is the largest fall of that index from its running peak.

Investor statistics are private: `investor_statistics(requester, investor)` refuses anyone
but the investor (`Refusal("forbidden")`), the access rule the dashboard relies on.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bridge.copytrading.trader import TraderRecord
from bridge.domain.errors import Refusal

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class TraderStatistics:
    trader: str
    return_pct: Decimal
    max_drawdown_pct: Decimal
    trades: int  # positions fully closed
    followers: int  # subscriptions not stopped
    volume: Decimal  # lots closed


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    subscription: int
    trader: str
    state: str
    mode: str
    protection_pct: Decimal | None
    commission_pct: Decimal  # effective (locked, capped by the service)
    invested: Decimal
    balance: Decimal
    equity: Decimal
    realised: Decimal
    commission_accrued: Decimal
    commission_paid: Decimal
    open_copies: int
    trades: int
    volume: Decimal


@dataclass(frozen=True, slots=True)
class InvestorStatistics:
    investor: str
    wallet: Decimal
    invested: Decimal  # in subscriptions not stopped
    equity: Decimal  # of subscriptions not stopped
    realised: Decimal  # over all subscriptions
    commission_paid: Decimal
    subscriptions: tuple[SubscriptionView, ...]


def authorise(requester: str | None, investor: str) -> Refusal | None:
    """§12: an investor's statistics are visible to that investor only."""
    if requester is None or requester != investor:
        return Refusal("forbidden", f"{requester!r} may not read the statistics of investor {investor!r}")
    return None


def trader_view(t: TraderRecord, followers: int) -> TraderStatistics:
    return TraderStatistics(t.id, ((t.index - ONE) * HUNDRED).quantize(Decimal("0.01")),
                            (t.max_drawdown * HUNDRED).quantize(Decimal("0.01")), t.trades, followers, t.volume)
