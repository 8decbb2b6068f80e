"""What pending-order copying (issue 15 item 6, pending.py) adds to the engine's language:
events in (the trader's orders, the investor's order fills and removals), commands out
(place, modify, cancel an order on an investor account) and one record kind.

Keys follow commands.idempotency_key with `o<trader order>` in place of `t<trader position>`:
`s<sub>-o<order>-place-1`, `s<sub>-o<order>-modify-<n>`, `s<sub>-o<order>-cancel-<n>`. Results
come back as the usual CommandFilled (ticket: the investor's order) / CommandRefused.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from bridge.copytrading.events import UNSET
from bridge.copytrading.pending_state import OrderKind
from bridge.domain.trading import Side


def order_key(subscription: int, order: int, action: str, seq: int) -> str:
    return f"s{subscription}-o{order}-{action}-{seq}"


# ---------------------------------------------------------------------- events
@dataclass(frozen=True, slots=True)
class TraderOrderPlaced:
    """The trader placed a limit or stop order (MT5 TRADE_TRANSACTION_ORDER_ADD; MT4 a new
    ticket of type OP_BUYLIMIT..OP_SELLSTOP in the OrdersTotal scan)."""

    now: int
    trader: str
    ticket: int
    symbol: str
    kind: OrderKind
    volume: Decimal
    price: Decimal
    sl: Decimal | None = None
    tp: Decimal | None = None
    expiration: int | None = None  # UTC ms; None: good till cancelled
    placed_at: int | None = None  # default `now`
    stoplimit: Decimal | None = None  # a stop-limit's Limit price (MT5 only, issue 15 item 3)
    magic: int | None = None  # the order's magic number (the filters'); None: not reported


@dataclass(frozen=True, slots=True)
class TraderOrderModified:
    now: int
    trader: str
    ticket: int
    price: Decimal
    sl: Decimal | None = None
    tp: Decimal | None = None
    expiration: int | None = None
    stoplimit: Decimal | None = None


@dataclass(frozen=True, slots=True)
class TraderOrderCancelled:
    """The order left the trader's book without a fill. reason: cancelled | expired."""

    now: int
    trader: str
    ticket: int
    reason: str = "cancelled"


@dataclass(frozen=True, slots=True)
class TraderOrderFilled:
    """The order filled and made trader position `position` (MT4 and MT5 hedging: the order's
    own ticket). A terminal reports such a position this way, not as TraderPositionOpened;
    `symbol` and `side` let the engine copy it at market even if it never saw the order."""

    now: int
    trader: str
    ticket: int
    position: int
    symbol: str
    side: Side
    volume: Decimal
    price: Decimal
    filled_at: int | None = None  # default `now`
    sl: Decimal | None = None
    tp: Decimal | None = None
    magic: int | None = None


@dataclass(frozen=True, slots=True)
class TraderOrdersSnapshot:
    """After a reconnect (the terminal's `orders_snapshot`): every pending order of the trader
    now. Reconciled by pending_sync.py against the orders the engine keeps and the positions
    it knows (the hello's TraderSnapshot comes first)."""

    now: int
    trader: str
    orders: tuple[TraderOrderPlaced, ...]  # each as its placement (now = the snapshot's)


@dataclass(frozen=True, slots=True)
class CopyOrderFilled:
    """An investor's copy order filled on its server and made investor position `position`."""

    now: int
    account: int
    order: int
    position: int
    volume: Decimal
    price: Decimal
    filled_at: int | None = None


@dataclass(frozen=True, slots=True)
class CopyOrderRemoved:
    """An investor's copy order left its book without a fill, by the server itself (expired)
    or by hand. reason: expired | cancelled."""

    now: int
    account: int
    order: int
    reason: str = "expired"


PENDING_EVENTS = (TraderOrderPlaced, TraderOrderModified, TraderOrderCancelled, TraderOrderFilled, CopyOrderFilled,
                  CopyOrderRemoved, TraderOrdersSnapshot)


# ---------------------------------------------------------------------- commands
class PlaceOrder(NamedTuple):
    """A limit or stop order on the investor account, copying trader order `trader_order`."""

    id: int
    key: str
    subscription: int
    account: int
    trader_order: int
    symbol: str
    kind: OrderKind
    volume: Decimal
    price: Decimal
    sl: Decimal | None
    tp: Decimal | None
    expiration: int | None  # the trader's: the investor's server expires it at the same moment
    stoplimit: Decimal | None = None  # a stop-limit's Limit price


class ModifyOrder(NamedTuple):
    id: int
    key: str
    subscription: int
    account: int
    trader_order: int
    order: int
    price: Decimal
    sl: Decimal | None
    tp: Decimal | None
    expiration: int | None
    stoplimit: Decimal | None = None


class CancelOrder(NamedTuple):
    """reason: trader_cancelled | trader_expired | expired (no fill within the open validity of
    the trader's fill) | stop_copying."""

    id: int
    key: str
    subscription: int
    account: int
    trader_order: int
    order: int
    reason: str


# ---------------------------------------------------------------------- records
@dataclass(frozen=True, slots=True)
class OrderCopied:
    """A step of a copy order's life. action: placed | modified | cancelled | filled | removed
    | refused (the server refused a modify or cancel: `detail` says why)."""

    now: int
    subscription: int
    trader_order: int
    action: str
    order: int | None = None
    volume: Decimal | None = None
    price: Decimal | None = None
    detail: str = ""
    details: object = UNSET
