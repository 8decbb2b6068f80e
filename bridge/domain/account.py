"""Account state, margin level, margin call, stop-out, minimum deposit, leverage change.

Pure functions over plain values: the caller passes the balance, the open positions with
their floating profit at current prices, and the account's tier tables. Margin level is
compared exactly (no rounding before a decision); it is rounded only for display.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from bridge.domain.account_types import AccountType
from bridge.domain.currency import Rates
from bridge.domain.errors import Refusal
from bridge.domain.margin import ZERO, AccountMargin, MarginBook
from bridge.domain.money import round_money

HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class PositionRisk:
    """What risk needs of one open position, in the account currency."""

    ticket: int
    group: str
    notional: Decimal  # fixed at open (seed 004: lots x contract size x open price)
    profit: Decimal  # floating profit at current prices, swaps and commission included


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    balance: Decimal
    credit: Decimal
    profit: Decimal
    equity: Decimal
    margin: Decimal
    free_margin: Decimal
    margin_level: Decimal | None  # percent; None while no margin is used


def margin_level(equity: Decimal, margin: Decimal) -> Decimal | None:
    """equity / margin x 100, undefined (None) when margin is 0."""
    return None if margin == 0 else equity / margin * HUNDRED


def snapshot(balance: Decimal, positions: Iterable[PositionRisk], calc: AccountMargin,
             credit: Decimal = ZERO) -> AccountSnapshot:
    positions = list(positions)
    profit = sum((p.profit for p in positions), ZERO)
    margin = calc.total((p.group, p.notional) for p in positions)
    equity = balance + credit + profit
    return AccountSnapshot(balance, credit, profit, equity, margin, equity - margin, margin_level(equity, margin))


def at_or_below(level: Decimal | None, threshold: Decimal) -> bool:
    """Margin call and stop-out fire when the level is at or below their threshold."""
    return level is not None and level <= threshold


@dataclass(frozen=True, slots=True)
class StopOutClose:
    ticket: int
    profit: Decimal  # realised by the close
    margin_level_before: Decimal
    margin_level_after: Decimal | None
    margin_after: Decimal


def stop_out(balance: Decimal, positions: Sequence[PositionRisk], calc: AccountMargin,
             stop_out_level: Decimal, credit: Decimal = ZERO) -> list[StopOutClose]:
    """While the margin level is at or below `stop_out_level`, close the largest loser.

    "Largest loser" is the lowest floating profit; ties go to the larger notional, then the
    lower ticket, so the order is total and deterministic. After each close the tiered
    margin is recomputed (closing lowers the aggregate notional of its group) and the level
    re-evaluated. Closing at the current price realises the floating profit, so equity is
    unchanged by the close itself.
    """
    book = MarginBook(calc)
    for p in positions:
        book.open(p.ticket, p.group, p.notional)
    equity = balance + credit + sum((p.profit for p in positions), ZERO)
    queue = sorted(positions, key=lambda p: (p.profit, -p.notional, p.ticket))
    closes: list[StopOutClose] = []
    for victim in queue:
        level = margin_level(equity, book.total)
        if not at_or_below(level, stop_out_level):
            break
        assert level is not None
        book.close(victim.ticket)
        closes.append(StopOutClose(victim.ticket, victim.profit, level, margin_level(equity, book.total), book.total))
    return closes


def min_deposit(account_type: AccountType, currency: str, rates: Rates) -> Decimal:
    """The account type's minimum deposit (seed 000, in USD) in the account's currency,
    rounded half up to the cent."""
    return round_money(rates.convert(account_type.min_deposit_usd, "USD", currency))


def trading_refusal(account_type: AccountType, currency: str, balance: Decimal, rates: Rates) -> Refusal | None:
    """Seed 000: "Trading may be disabled because of non-compliance with minimum deposit"."""
    minimum = min_deposit(account_type, currency, rates)
    if balance < minimum:
        return Refusal("trade_disabled",
                       f"balance {balance} {currency} is below the {account_type.title} minimum deposit "
                       f"{minimum} {currency}")
    return None


def leverage_change_refusal(account_type: AccountType, calc: AccountMargin, balance: Decimal,
                            positions: Sequence[PositionRisk], new_leverage: int,
                            credit: Decimal = ZERO) -> Refusal | None:
    """Seed 000: change leverage freely with nothing open; otherwise only if margin holds.

    "Holds" is read as: the free margin after the change is not negative (equity covers the
    margin recomputed under the tier tables at the new leverage).
    """
    if new_leverage not in account_type.leverages:
        offered = ", ".join(f"1:{x}" for x in account_type.leverages)
        return Refusal("invalid_leverage", f"1:{new_leverage} is not offered on {account_type.title} ({offered})")
    if not positions:
        return None
    after = snapshot(balance, positions, calc.with_leverage(new_leverage), credit)
    if after.free_margin < 0:
        return Refusal("insufficient_margin",
                       f"at 1:{new_leverage} the margin would be {after.margin} {calc.currency} "
                       f"but equity is {after.equity} {calc.currency}")
    return None
