"""Pending orders as the engine keeps them (issue 15 item 6): the trader's limit and stop
orders and, per subscription that copies them (`CopySettings.copy_pending`), its copy order.
Plain data, persisted by state.py with the rest of the engine; the lifecycle is pending.py's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from bridge.protocol.orders import OrderKind  # the one definition (the wire's order_type)


class TraderOrderState(str, Enum):
    PLACED = "placed"
    FILLED = "filled"  # the trader position exists; copies not filled yet wait for their fills
    CANCELLED = "cancelled"  # cancelled or expired; copies still being cancelled or closed


class OrderCopyState(str, Enum):
    PLACING = "placing"  # place command sent, no answer yet
    PLACED = "placed"  # on the investor account as `order`
    CANCELLING = "cancelling"  # cancel command sent
    FILLED = "filled"  # the investor's order filled before the trader's: a copy keyed by the order


@dataclass(slots=True)
class OrderCopy:
    """One subscription's copy of a trader order."""

    subscription: int
    kind: OrderKind
    volume: Decimal
    price: Decimal
    state: OrderCopyState
    seq: int = 1  # the last command sequence for (subscription, trader order)
    order: int | None = None  # the investor's order ticket
    cancel_reason: str | None = None  # set: the copy must go (cancelled, expired)
    filled_at: int | None = None  # the investor's fill, when it came before the trader's
    # what the investor's order carries (price above): SL/TP (swapped on a reversed copy) and expiry
    sl: Decimal | None = None
    tp: Decimal | None = None
    expiration: int | None = None
    stoplimit: Decimal | None = None  # a stop-limit's Limit price


@dataclass(slots=True)
class TraderOrder:
    ticket: int
    trader: str
    symbol: str
    kind: OrderKind
    volume: Decimal
    price: Decimal
    placed_at: int
    sl: Decimal | None = None
    tp: Decimal | None = None
    expiration: int | None = None  # UTC ms; None: good till cancelled
    state: TraderOrderState = TraderOrderState.PLACED
    position: int | None = None  # the trader position its fill made
    filled_at: int | None = None
    copies: dict[int, OrderCopy] = field(default_factory=dict)  # by subscription id
    stoplimit: Decimal | None = None  # a stop-limit's Limit price (MT5, issue 15 item 3)
    magic: int | None = None  # the trader's magic number, when reported


@dataclass(slots=True)
class EarlyFill:
    """An investor's `order_filled` for an order ticket the engine does not know yet: the fill
    of a copy order still placing, reported before the placement's result (pending.py)."""

    position: int
    volume: Decimal
    price: Decimal
    filled_at: int
