"""The margin calculator behind `mtbridge margin`: a sequence of opens and closes on one
account, with the tiered margin after each step and a bracket-by-bracket breakdown.

Pure: takes the rules, the account, the actions and the conversion rates; returns data.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bridge.domain.currency import Rates
from bridge.domain.errors import DomainError
from bridge.domain.margin import BracketUse, MarginBook, position_notional
from bridge.domain.rules import Rules
from bridge.domain.trading import Side


@dataclass(frozen=True, slots=True)
class Open:
    side: Side
    volume: Decimal
    symbol: str
    price: Decimal


@dataclass(frozen=True, slots=True)
class Close:
    number: int  # 1-based position number, in order of opening


@dataclass(frozen=True, slots=True)
class PositionLine:
    number: int
    side: Side
    volume: Decimal
    symbol: str
    price: Decimal
    group: str
    notional: Decimal
    margin: Decimal  # pro-rata share of its group's margin


@dataclass(frozen=True, slots=True)
class GroupLine:
    group: str
    notional: Decimal
    margin: Decimal
    brackets: tuple[BracketUse, ...]


@dataclass(frozen=True, slots=True)
class Step:
    action: Open | Close
    margin: Decimal  # account margin after the action


@dataclass(frozen=True, slots=True)
class MarginReport:
    account_type: str
    tier_family: str
    currency: str
    leverage: int
    steps: tuple[Step, ...]
    positions: tuple[PositionLine, ...]
    groups: tuple[GroupLine, ...]
    margin: Decimal


def merge_brackets(uses: list[BracketUse]) -> tuple[BracketUse, ...]:
    """Join neighbouring brackets charged at the same effective leverage, as the seed writes
    "a leverage of 1:1000 is provided for the first 200 000 USD" over two published rows."""
    merged: list[BracketUse] = []
    for use in uses:
        if merged and merged[-1].leverage == use.leverage:
            prev = merged[-1]
            merged[-1] = BracketUse(prev.lower, use.upper, prev.published_leverage, use.leverage,
                                    prev.amount + use.amount, prev.margin + use.margin)
        else:
            merged.append(use)
    return tuple(merged)


def margin_report(rules: Rules, account_type: str, currency: str, leverage: int,
                  actions: list[Open | Close], rates: Rates) -> MarginReport:
    kind = rules.account_types.get(account_type)
    calc = rules.margin_for(kind, currency, leverage)
    book = MarginBook(calc)
    opened: dict[int, tuple[Open, str, Decimal]] = {}
    steps = []
    for action in actions:
        if isinstance(action, Open):
            spec = rules.symbols.get(action.symbol)
            if problem := spec.volume_problem(action.volume):
                raise DomainError("invalid_volume", problem)
            if problem := spec.price_problem(action.price):
                raise DomainError("invalid_price", problem)
            number = len(opened) + 1  # every open gets the next number, closed ones included
            # its own open price is the rate of its pair for this position (seed 003), whatever
            # price the same pair has elsewhere in the list
            own = rates.with_rate(spec.base + spec.quote, action.price)
            notional = position_notional(spec, action.volume, action.price, currency, own)
            book.open(number, spec.group, notional)
            opened[number] = (action, spec.group, notional)
        else:
            if action.number not in book:
                raise DomainError("unknown_position", f"close {action.number}: no open position #{action.number}")
            book.close(action.number)
        steps.append(Step(action, book.total))
    shares = book.position_margins()
    positions = tuple(
        PositionLine(n, o.side, o.volume, o.symbol, o.price, g, notional, shares[n])
        for n, (o, g, notional) in opened.items() if n in book
    )
    groups = tuple(
        GroupLine(g, book.group_notional(g), book.group_margin(g),
                  merge_brackets(calc.tiers(g).breakdown(book.group_notional(g))))
        for g in book.groups()
    )
    return MarginReport(kind.id, kind.tier_family, currency, leverage, tuple(steps), positions, groups, book.total)
