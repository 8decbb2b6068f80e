"""Subscriptions and their copies (internal, mutable engine state; persisted by state.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from bridge.copytrading.settings import CopySettings, seed_settings, shared
from bridge.domain.sizing import VolumeMode
from bridge.domain.trading import Side

ZERO = Decimal(0)
ONE = Decimal(1)


class SubState(str, Enum):
    ACTIVE = "active"
    SUSPENDED = "suspended_by_protection"
    DESK_SUSPENDED = "suspended_by_desk"  # a dealer's SuspendCopying: only the service resumes it
    CLOSE_ONLY = "close_only"  # a risk limit's stop_opening: open copies follow the trader, none opens
    LIMIT_SUSPENDED = "suspended_by_limit"  # a risk limit's close_and_suspend
    STOPPING = "stopping"  # closing its copies before the funds return (§2.3)
    STOPPED = "stopped"


class CopyState(str, Enum):
    OPENING = "opening"  # open command sent, no fill yet
    OPEN = "open"
    VANISHED = "vanished"  # filled, then missing from the investor's snapshot: awaiting its settlement


@dataclass(slots=True)
class Copy:
    trader_ticket: int
    symbol: str
    group: str
    side: Side
    volume: Decimal  # requested while opening, filled volume once open
    state: CopyState
    seq: int = 0  # next command sequence for (subscription, trader ticket)
    ticket: int | None = None  # the investor position
    price: Decimal = ZERO
    notional: Decimal = ZERO  # as booked in the margin book
    floating: Decimal = ZERO  # profit at the last price seen
    closing: Decimal = ZERO  # volume in close commands not yet answered
    close_reason: str | None = None  # set when the whole copy must go (trader closed, protection...)
    scale: Decimal = ONE  # trader partial closes that arrived while opening
    retry_close: bool = False  # a close was refused; retried when time passes
    # Volume the investor's snapshot lacks and no deal has booked yet (all of it when VANISHED);
    # closes never ask for it. Settled by the closing deal or CopyVanished.
    vanished: Decimal = ZERO
    vanished_at: int | None = None  # when a snapshot first lacked it
    stops_changed: bool = False  # the trader changed SL/TP while this copy was opening, mirroring on


@dataclass(slots=True)
class EarlyClose:
    """A server close of an investor position the engine does not know yet: after a reconnect
    the closing deal may be reported before the fill of the open that made the position."""

    volume: Decimal
    price: Decimal
    profit: Decimal
    reason: str


@dataclass(slots=True)
class Subscription:
    id: int
    investor: str
    trader: str
    account: int
    account_type: str
    currency: str
    leverage: int
    mode: VolumeMode  # = settings.mode when settings are set (kept: snapshots before settings name it)
    protection_pct: Decimal | None
    commission_pct: Decimal  # locked at Start Copying (§10)
    invested: Decimal
    started_at: int
    started_seq: int
    state: SubState = SubState.ACTIVE
    balance: Decimal = ZERO  # the engine's ledger of the investor account
    floating: Decimal = ZERO  # equity - balance, from ticks or the server's account update
    online: bool = True
    realised: Decimal = ZERO  # cumulative trading result since the start: the commission's gain
    high_water_mark: Decimal = ZERO  # the gain already charged; moves at settlements only (§9)
    accrued: Decimal = ZERO  # commission settled, not paid yet (exact: the sub-cent carry)
    commission_paid: Decimal = ZERO
    trades: int = 0
    volume: Decimal = ZERO  # lots closed (round turns)
    balance_seq: int = 0
    stop_by: str | None = None
    copies: dict[int, Copy] = field(default_factory=dict)
    # How it copies beyond the seed's terms (settings.py); None: exactly the seed's, in `mode`
    # (the fan-out's fast path, and what every state written before settings existed loads as).
    settings: CopySettings | None = None
    # Risk limits (issue 15 item 8, limits.py), kept while the settings have a limit:
    day_end: int = 0  # UTC ms of the next server midnight (0: not started)
    day_base: Decimal = ZERO  # equity at the server day's start, moved by balance operations
    peak: Decimal = ZERO  # highest equity since the limits were set or copying resumed, moved the same way
    limit_hit: str | None = None  # the limit that put it in close_only / suspended_by_limit

    def __post_init__(self) -> None:
        if self.settings is not None:  # loaded: share the instance with equal settings
            self.settings = shared(self.settings)

    @property
    def equity(self) -> Decimal:
        return self.balance + self.floating

    @property
    def copy_settings(self) -> CopySettings:
        """The settings in force, defaults included."""
        return self.settings or seed_settings(self.mode)

    def configure(self, settings: CopySettings) -> None:
        """The one writer of `mode` and `settings`: the seed's terms are stored as None."""
        self.mode = settings.mode
        self.settings = None if settings.is_seed else shared(settings)
