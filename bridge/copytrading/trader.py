"""Trader accounts as the engine sees them: positions, rates, and the public statistics'
accumulators (seed 003 §13, see statistics.py for the definitions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from bridge.domain.trading import Side

ZERO = Decimal(0)
ONE = Decimal(1)
INDEX_QUANTUM = Decimal("1e-12")


@dataclass(slots=True)
class TraderRecord:
    """Per trader: account, rates, positions, and the public statistics' accumulators."""

    id: str
    account: int
    account_type: str
    currency: str
    leverage: int
    commission_pct: Decimal
    registered_seq: int
    cap_pct: Decimal | None = None
    disabled: bool = False  # by the desk (TraderDisabled): no new copies, no new subscriptions
    balance: Decimal = ZERO
    equity: Decimal = ZERO
    positions: dict[int, TraderPosition] = field(default_factory=dict)
    trades: int = 0
    deals: int = 0
    volume: Decimal = ZERO
    realised: Decimal = ZERO
    index: Decimal = ONE
    peak: Decimal = ONE
    max_drawdown: Decimal = ZERO

    def record_close(self, lots: Decimal, profit: Decimal, full: bool) -> None:
        self.deals += 1
        self.volume += lots
        self.realised += profit
        if full:
            self.trades += 1
        before = self.balance
        if before > 0:
            self.index = (self.index * (ONE + profit / before)).quantize(INDEX_QUANTUM)
            if self.index > self.peak:
                self.peak = self.index
            elif self.peak > 0:
                self.max_drawdown = max(self.max_drawdown, (self.peak - self.index) / self.peak)
        self.balance = before + profit


@dataclass(slots=True)
class TraderPosition:
    ticket: int
    symbol: str
    side: Side
    volume: Decimal
    price: Decimal
    opened_at: int
    seen_seq: int
    sl: Decimal | None = None
    tp: Decimal | None = None
    magic: int | None = None  # the trader's magic number, when the terminal said it (the filters')
