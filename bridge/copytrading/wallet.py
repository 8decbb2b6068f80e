"""Wallets (seed 003 §1.2): investor, trader and partner wallets, keyed by owner id, in USD.

A person who is both trader and partner has one wallet under one id, so copy commission and
IB remuneration land together (§11). Every change returns its `WalletMovement` record.
"""

from __future__ import annotations

from decimal import Decimal

from bridge.copytrading.records import WalletMovement
from bridge.domain.money import round_money

ZERO = Decimal(0)


class Wallets:
    __slots__ = ("balances",)

    def __init__(self, balances: dict[str, Decimal] | None = None) -> None:
        self.balances: dict[str, Decimal] = dict(balances or {})

    def balance(self, owner: str) -> Decimal:
        return self.balances.get(owner, ZERO)

    def move(self, now: int, owner: str, amount: Decimal, kind: str,
             subscription: int | None = None) -> WalletMovement:
        amount = round_money(amount)
        after = self.balances.get(owner, ZERO) + amount
        if after < 0:
            raise ValueError(f"wallet {owner} would go negative")  # callers check first
        self.balances[owner] = after
        return WalletMovement(now, owner, amount, after, kind, subscription)

    def total(self) -> Decimal:
        return sum(self.balances.values(), ZERO)
