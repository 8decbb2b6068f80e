"""Commands out of the engine: what the shell must do on an investor account.

Every command carries `id` (a counter) and `key`, a deterministic idempotency key derived
from (subscription, trader position, action, sequence): replaying the same events yields the
same keys, and the shell (or the server) drops a key it has already executed. Results come
back as `CommandFilled` / `CommandRefused` events naming the key.

Commands are NamedTuples: immutable like frozen dataclasses, and about four times cheaper to
build (a fan-out builds 10 000 `OpenCopy` at a time). Dispatch on `type(cmd)`, never on
tuple equality across command types.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from bridge.domain.trading import Side


def idempotency_key(subscription: int, trader_ticket: int, action: str, seq: int) -> str:
    """`s<sub>-t<trader ticket>-<action>-<seq>`; trader_ticket 0 for balance operations."""
    return f"s{subscription}-t{trader_ticket}-{action}-{seq}"


class OpenCopy(NamedTuple):
    """§4.7: a market order on the investor account."""

    id: int
    key: str
    subscription: int
    account: int
    trader_ticket: int
    symbol: str
    side: Side
    volume: Decimal
    reference_price: Decimal  # the trader's price, used for the pre-trade margin check
    # UTC ms: the trader position's open time + EngineConfig.open_validity_ms. Nobody may open
    # the copy later (the daemon withdraws it, the terminal refuses it with RETCODE_EXPIRED).
    expires_at: int


class CloseCopy(NamedTuple):
    """Close `volume` of the copy position `ticket` at market. `reason`: trader_closed,
    trader_partial, protection, stop_out, stop_copying, reconcile."""

    id: int
    key: str
    subscription: int
    account: int
    trader_ticket: int
    ticket: int
    volume: Decimal
    reason: str


class ModifyCopy(NamedTuple):
    """The trader's SL/TP on a copy: at its fill (`copy_stops`) and when the trader changes them
    (`mirror_stop_changes`); both default to `EngineConfig.mirror_stops` (§4.2 reading: copies
    carry no stops by default)."""

    id: int
    key: str
    subscription: int
    account: int
    trader_ticket: int
    ticket: int
    sl: Decimal | None
    tp: Decimal | None


class BalanceOperation(NamedTuple):
    """Money into (+) or out of (-) the investor account: invest, commission, return."""

    id: int
    key: str
    subscription: int
    account: int
    amount: Decimal
    reason: str


class WithdrawOpen(NamedTuple):
    """A request to the daemon, not a wire command (so it travels in `Step.withdrawals`, not
    in `Step.commands`: nothing to journal as a command row or to send): the trader position of
    an open still in flight closed fully, so the open (`key`, the OpenCopy's key) should not
    run. If the open was never put on the wire, the daemon drops it and answers
    `OpenWithdrawn(key, reason)`; if it may be on the wire, the daemon lets it run and the
    engine closes the copy at its fill."""

    id: int
    key: str
    subscription: int
    account: int
    trader_ticket: int
    reason: str = "trader_closed_before_copy"


Command = OpenCopy | CloseCopy | ModifyCopy | BalanceOperation
