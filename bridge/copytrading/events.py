"""Events into the engine (h11 style: plain values, each with an explicit `now`).

`now` is an int of milliseconds since the Unix epoch, UTC (as every time on the wire). Money,
prices and lots are Decimal. Back-office requests (subscribe, edit, stop, wallet operations) are events too:
the engine answers them with records (and refusals as records), never with exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bridge.domain.errors import DomainError
from bridge.domain.sizing import VolumeMode
from bridge.domain.trading import Side


class _Unset:
    """Marker for "leave this setting as it is" in EditSettings."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNSET"


UNSET = _Unset()


# --- wallets, parties ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class WalletDeposited:
    now: int
    owner: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class WalletWithdrawn:
    now: int
    owner: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class WalletTransferred:
    """Back office: move `amount` from `from_owner`'s wallet to `to_owner`'s in one step (both
    movements or neither)."""

    now: int
    from_owner: str
    to_owner: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class TraderRegistered:
    """A trader account offered for copying (§7 eligibility is checked against its type)."""

    now: int
    trader: str
    account: int
    account_type: str
    leverage: int
    commission_pct: Decimal  # §9: 0-50 % of the investor's gain
    currency: str = "USD"


@dataclass(frozen=True, slots=True)
class TraderCommissionChanged:
    """§10: affects only subscriptions started after it."""

    now: int
    trader: str
    commission_pct: Decimal


@dataclass(frozen=True, slots=True)
class CommissionCapSet:
    """§8.3: the service limits the commission of all of a trader's subscriptions (None lifts it)."""

    now: int
    trader: str
    cap_pct: Decimal | None


@dataclass(frozen=True, slots=True)
class TraderDisabled:
    """The desk stops (`disabled`) or allows again new copies of a trader's deals. Open copies
    still follow the trader's closes and modifications: disabling never strands a position."""

    now: int
    trader: str
    disabled: bool = True
    actor: str | None = None  # the dealer who asked (journaled; record.dealer_action)


@dataclass(frozen=True, slots=True)
class PartnerRegistered:
    """An IB partner; `referrer` is the partner who referred them (multi-level program);
    `trader_rate_per_lot` is their IB agreement for trader volume (None: the config default)."""

    now: int
    partner: str
    referrer: str | None = None
    trader_rate_per_lot: Decimal | None = None


@dataclass(frozen=True, slots=True)
class RebateSet:
    """Seed 000: "the rebate level can be set by partners": the share (0-100 %) of the
    partner's revenue from each referred client's volume that is credited to that client."""

    now: int
    partner: str
    rebate_pct: Decimal


@dataclass(frozen=True, slots=True)
class ClientAssigned:
    """An investor or trader registered through a partner's link."""

    now: int
    client: str
    partner: str


# --- subscriptions (Investor Area) -----------------------------------------------------
@dataclass(frozen=True, slots=True)
class Subscribe:
    """§2.2, §4.4: invest `amount` from the wallet into a new investor account `account`."""

    now: int
    investor: str
    trader: str
    account: int
    amount: Decimal
    mode: VolumeMode = VolumeMode.EQUAL
    protection_pct: Decimal | None = None  # None: protection off
    leverage: int = 100
    account_type: str | None = None  # None: config.investor_account_type
    currency: str = "USD"


@dataclass(frozen=True, slots=True)
class EditSettings:
    """§2.1: change mode / protection while copying; also resumes a protection suspension."""

    now: int
    subscription: int
    requester: str
    mode: object = UNSET  # VolumeMode | UNSET
    protection_pct: object = UNSET  # Decimal | None | UNSET


@dataclass(frozen=True, slots=True)
class SetCopySettings:
    """§2.1 "edit the parameters of copying ... in the course of copying": change a
    subscription's copy settings (bridge/copytrading/settings.py; refused `invalid_settings`).
    Plain values; None resets a setting to its default; UNSET leaves it as it is. They apply to
    trades opened after the edit. `requester` None: the service (the desk)."""

    now: int
    subscription: int
    requester: str | None
    mode: object = UNSET  # equal | proportional | fixed | multiplier | balance_ratio
    fixed_volume: object = UNSET
    multiplier: object = UNSET
    symbols_allowed: object = UNSET  # comma-separated text or a list of symbols
    symbols_blocked: object = UNSET
    side: object = UNSET  # both | buy | sell
    min_trader_volume: object = UNSET
    max_trader_volume: object = UNSET
    magics_allowed: object = UNSET
    magics_blocked: object = UNSET
    reverse: object = UNSET
    max_slippage_points: object = UNSET
    symbol_map: object = UNSET  # {trader symbol: investor symbol} or text "A=B,C=D"
    symbol_prefix: object = UNSET
    symbol_suffix: object = UNSET
    copy_stops: object = UNSET  # true | false | None (the engine's mirror_stops)
    mirror_stop_changes: object = UNSET
    daily_loss_limit: object = UNSET  # money or percent (daily_loss_unit); None: no limit
    daily_loss_unit: object = UNSET  # money | percent
    daily_loss_action: object = UNSET  # stop_opening | close_and_suspend | close_and_stop
    max_drawdown: object = UNSET
    max_drawdown_unit: object = UNSET
    max_drawdown_action: object = UNSET
    copy_pending: object = UNSET  # true: the trader's pending orders are copied as orders
    actor: str | None = None  # the dealer who asked (journaled; record.dealer_action)


@dataclass(frozen=True, slots=True)
class ChangeInvestment:
    """§2.1 Edit while copying: add `amount` (> 0) from the wallet to the invested funds, or
    take it back (< 0, at most the free margin). Never a gain for the commission (§9)."""

    now: int
    subscription: int
    requester: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Resume:
    """The investor resumes a protection suspension; the service (requester None) resumes
    either suspension, the desk's included."""

    now: int
    subscription: int
    requester: str | None
    actor: str | None = None


@dataclass(frozen=True, slots=True)
class StopCopying:
    """§2.3 (investor) or §8.2 (service, requester=None: always closes the copies)."""

    now: int
    subscription: int
    requester: str | None
    close_open: bool = False
    actor: str | None = None


# --- dealer actions (the desk, through the admin API; `actor` is the dealer's name) ----
@dataclass(frozen=True, slots=True)
class SuspendCopying:
    """The desk suspends a subscription: new trader deals are refused `desk_suspended`, open
    copies stay and still follow the trader. Lifted by a service `Resume`."""

    now: int
    subscription: int
    actor: str


@dataclass(frozen=True, slots=True)
class CloseOneCopy:
    """The desk closes the copy of trader position `trader_ticket`, with reason `dealer`; the
    subscription keeps copying the trader's next deals."""

    now: int
    subscription: int
    trader_ticket: int
    actor: str


@dataclass(frozen=True, slots=True)
class CloseAllCopies:
    """The desk closes every copy of a subscription, with reason `dealer`; it keeps copying."""

    now: int
    subscription: int
    actor: str


# --- trader activity -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TraderPositionOpened:
    now: int
    trader: str
    ticket: int
    symbol: str
    side: Side
    volume: Decimal
    price: Decimal
    opened_at: int | None = None  # UTC time of the open; default `now`
    sl: Decimal | None = None
    tp: Decimal | None = None
    magic: int | None = None  # the trader's magic number (the filters'); None: not reported


@dataclass(frozen=True, slots=True)
class TraderPositionModified:
    now: int
    trader: str
    ticket: int
    sl: Decimal | None
    tp: Decimal | None


@dataclass(frozen=True, slots=True)
class TraderPositionClosed:
    """`volume` is the volume closed by this deal (less than the position's: a partial close).
    `reason`: client | sl | tp | stop_out | ... ; `profit`: the trader's realised result."""

    now: int
    trader: str
    ticket: int
    volume: Decimal
    price: Decimal
    reason: str = "client"
    profit: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class SnapshotPosition:
    ticket: int
    symbol: str
    side: Side
    volume: Decimal
    price: Decimal
    opened_at: int
    magic: int | None = None  # None: not reported


@dataclass(frozen=True, slots=True)
class TraderSnapshot:
    """After a reconnect: the trader's complete list of open positions."""

    now: int
    trader: str
    positions: tuple[SnapshotPosition, ...]


# --- investor accounts, market, time ---------------------------------------------------
#: Why an open was withdrawn before it reached the investor terminal (OpenWithdrawn.reason).
WITHDRAW_REASONS = ("expired", "trader_closed_before_copy")


@dataclass(frozen=True, slots=True)
class OpenWithdrawn:
    """The daemon dropped the open `key` without putting it on the wire: it expired before it
    could be sent ("expired"), or the engine asked for it (`WithdrawOpen`) because the trader
    position closed first ("trader_closed_before_copy")."""

    now: int
    key: str
    reason: str

    def __post_init__(self) -> None:
        if self.reason not in WITHDRAW_REASONS:
            raise DomainError("invalid_event", f"OpenWithdrawn reason {self.reason!r} is not one of "
                                               f"{WITHDRAW_REASONS}")


@dataclass(frozen=True, slots=True)
class InvestorSnapshot:
    """After an investor terminal's (re)connect: the account's complete list of open positions
    (its hello). Copies the engine believes open but missing here are marked vanished."""

    now: int
    account: int
    positions: tuple[SnapshotPosition, ...]


@dataclass(frozen=True, slots=True)
class CopyVanished:
    """The daemon's verdict on a vanished copy: no closing deal for investor position `ticket`
    arrived within its wait. The engine books it closed at profit 0, flagged estimated."""

    now: int
    account: int
    ticket: int


@dataclass(frozen=True, slots=True)
class CommandFilled:
    """A command was executed. For opens `ticket` is the new position; for closes `profit` is
    the realised net result of the closed volume (the server's figure, swaps and fees in)."""

    now: int
    key: str
    ticket: int | None = None
    volume: Decimal = Decimal(0)
    price: Decimal = Decimal(0)
    profit: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class CopyClosedByServer:
    """A copy position closed on the investor account without a command of ours: the trade
    server's stop-out (reason "so"), a stop level, or a manual close. `ticket` is the investor
    position; `profit` the realised net result of `volume`."""

    now: int
    account: int
    ticket: int
    volume: Decimal
    price: Decimal
    profit: Decimal
    reason: str  # "so" | "sl" | "tp" | "client"


@dataclass(frozen=True, slots=True)
class CommandRefused:
    now: int
    key: str
    retcode: int
    detail: str = ""


@dataclass(frozen=True, slots=True)
class AccountUpdated:
    """The server's view of an account (trader or investor): balance and equity."""

    now: int
    account: int
    balance: Decimal
    equity: Decimal


@dataclass(frozen=True, slots=True)
class PriceTick:
    now: int
    symbol: str
    bid: Decimal
    ask: Decimal


@dataclass(frozen=True, slots=True)
class TimePassed:
    now: int


@dataclass(frozen=True, slots=True)
class TerminalOnline:
    now: int
    account: int


@dataclass(frozen=True, slots=True)
class TerminalOffline:
    now: int
    account: int


Event = (WalletDeposited | WalletWithdrawn | TraderRegistered | TraderCommissionChanged | CommissionCapSet
         | PartnerRegistered | RebateSet | ClientAssigned | Subscribe | EditSettings | SetCopySettings
         | ChangeInvestment | Resume
         | StopCopying | SuspendCopying | CloseOneCopy | CloseAllCopies | TraderDisabled | WalletTransferred
         | TraderPositionOpened | TraderPositionModified | TraderPositionClosed | TraderSnapshot
         | CommandFilled | CommandRefused | CopyClosedByServer | AccountUpdated | PriceTick | TimePassed | TerminalOnline
         | TerminalOffline | OpenWithdrawn | InvestorSnapshot | CopyVanished)
