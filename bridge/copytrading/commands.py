"""Commands out of the engine: what the shell must do on an investor account.

Every command carries `id` (a counter) and `key`, a deterministic idempotency key derived
from (subscription, trader position, action, sequence): replaying the same events yields the
same keys, and the shell (or the server) drops a key it has already executed. Results come
back as `CommandFilled` / `CommandRefused` events naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal

from bridge.domain.trading import Side


def fast_frozen_init(cls: type) -> type:
    """Give a frozen, slotted dataclass a faster `__init__` (the fan-out builds 10 000 at a time).

    The generated frozen `__init__` assigns each field through `object.__setattr__`; this one
    calls each slot's own setter, bound once. Same signature, same fields, still frozen
    (assignment after construction raises `FrozenInstanceError`); no defaults allowed.
    """
    names = [f.name for f in fields(cls)]
    namespace = {f"_set_{n}": cls.__dict__[n].__set__ for n in names}
    body = "".join(f"    _set_{n}(self, {n})\n" for n in names)
    exec(f"def __init__(self, {', '.join(names)}):\n{body}", namespace)  # noqa: S102 - fixed field names
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init  # type: ignore[misc]
    return cls


def idempotency_key(subscription: int, trader_ticket: int, action: str, seq: int) -> str:
    """`s<sub>-t<trader ticket>-<action>-<seq>`; trader_ticket 0 for balance operations."""
    return f"s{subscription}-t{trader_ticket}-{action}-{seq}"


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class OpenCopy:
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


@dataclass(frozen=True, slots=True)
class CloseCopy:
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


@dataclass(frozen=True, slots=True)
class ModifyCopy:
    """Only with `EngineConfig.mirror_stops` (§4.2 reading: copies carry no stops by default)."""

    id: int
    key: str
    subscription: int
    account: int
    trader_ticket: int
    ticket: int
    sl: Decimal | None
    tp: Decimal | None


@dataclass(frozen=True, slots=True)
class BalanceOperation:
    """Money into (+) or out of (-) the investor account: invest, commission, return."""

    id: int
    key: str
    subscription: int
    account: int
    amount: Decimal
    reason: str


Command = OpenCopy | CloseCopy | ModifyCopy | BalanceOperation
