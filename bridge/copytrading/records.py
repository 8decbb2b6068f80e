"""Records out of the engine: facts to journal and publish. Money is booked in cents."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bridge.copytrading.events import UNSET


@dataclass(frozen=True, slots=True)
class WalletMovement:
    """kind: deposit | withdrawal | transfer_out | transfer_in | invest | top_up | take_back | return | commission | ib_credit | rebate."""

    now: int
    owner: str
    amount: Decimal  # signed
    balance: Decimal  # after the movement
    kind: str
    subscription: int | None = None


@dataclass(frozen=True, slots=True)
class TraderStatusChanged:
    """The desk disabled (or enabled again) copying of a trader (event TraderDisabled)."""

    now: int
    trader: str
    disabled: bool


@dataclass(frozen=True, slots=True)
class DealerAction:
    """The audit trail of the desk: `actor` asked for `action` (the admin op) on a
    subscription, a copy or a trader; `refused` is the refusal's code, None when done."""

    now: int
    action: str
    actor: str
    subscription: int | None = None
    trader: str | None = None
    trader_ticket: int | None = None
    refused: str | None = None


@dataclass(frozen=True, slots=True)
class Refused:
    """A back-office request turned down (subscribe, edit, stop, withdraw, ...)."""

    now: int
    request: str
    code: str
    detail: str
    subscription: int | None = None


@dataclass(frozen=True, slots=True)
class SubscriptionStarted:
    now: int
    subscription: int
    investor: str
    trader: str
    account: int
    amount: Decimal
    mode: str
    protection_pct: Decimal | None
    commission_pct: Decimal  # locked (§10)


@dataclass(frozen=True, slots=True)
class SubscriptionEdited:
    now: int
    subscription: int
    mode: str
    protection_pct: Decimal | None
    state: str


@dataclass(frozen=True, slots=True)
class CopySettingsChanged:
    """A subscription's copy settings after an edit (every field, plain: settings.to_dict);
    they apply to trades opened after it (docs/copy-trading.md, "Copy settings")."""

    now: int
    subscription: int
    settings: dict


@dataclass(frozen=True, slots=True)
class InvestmentChanged:
    """Funds added to (+) or taken back from (-) a running subscription; `invested` after."""

    now: int
    subscription: int
    amount: Decimal
    invested: Decimal


@dataclass(frozen=True, slots=True)
class SubscriptionStopping:
    now: int
    subscription: int
    open_copies: int


@dataclass(frozen=True, slots=True)
class SubscriptionStopped:
    now: int
    subscription: int
    returned: Decimal
    commission: Decimal


@dataclass(frozen=True, slots=True)
class CopyRefused:
    """A copy that was not opened, with its reason code (below_min_volume, above_max_volume,
    no_money, protection_suspended, subscription_stopped, terminal_offline,
    trader_not_eligible, server_refused, expired, trader_closed_before_copy, ...)."""

    now: int
    subscription: int
    trader: str
    trader_ticket: int
    code: str
    detail: str
    retcode: int | None = None
    # The figures behind the refusal (plain text values: the volume before rounding, the limit
    # hit, the price difference, equity against margin, ...): "why not copied", for every
    # subscription. UNSET (none: journals written before issue 15) is left out of the journal.
    details: object = UNSET


@dataclass(frozen=True, slots=True)
class CopyOpened:
    now: int
    subscription: int
    trader_ticket: int
    ticket: int
    volume: Decimal
    price: Decimal


@dataclass(frozen=True, slots=True)
class CopyClosed:
    now: int
    subscription: int
    trader_ticket: int
    ticket: int
    volume: Decimal  # closed by this deal
    remaining: Decimal
    price: Decimal
    profit: Decimal
    reason: str
    # True for a copy that vanished from the investor account with no closing deal reported
    # (reason "vanished"): the profit (0) is the engine's estimate, not the server's figure.
    estimated: bool = False


@dataclass(frozen=True, slots=True)
class CloseSkipped:
    """A partial close whose share of the copy is below the minimum volume: the copy keeps it."""

    now: int
    subscription: int
    trader_ticket: int
    code: str
    detail: str


@dataclass(frozen=True, slots=True)
class CloseFailed:
    now: int
    subscription: int
    trader_ticket: int
    retcode: int
    detail: str


@dataclass(frozen=True, slots=True)
class ProtectionTriggered:
    now: int
    subscription: int
    equity: Decimal
    balance: Decimal
    threshold: Decimal  # (100 % - protection_pct) x invested (§4.3)
    protection_pct: Decimal
    invested: Decimal = Decimal(0)  # the base of the threshold: the invested funds


@dataclass(frozen=True, slots=True)
class RiskLimitTriggered:
    """A subscription's daily loss limit or maximum drawdown was hit (issue 15 item 8, limits.py):
    `loss` = `base` - `equity` reached `allowed`; `action` is what the engine did."""

    now: int
    subscription: int
    limit: str  # daily_loss_limit | max_drawdown
    action: str  # stop_opening | close_and_suspend | close_and_stop
    equity: Decimal
    base: Decimal  # the day base (daily loss) or the peak (drawdown)
    loss: Decimal
    allowed: Decimal  # in money
    value: Decimal  # the setting
    unit: str  # money | percent
    state: str  # the subscription's state after it


@dataclass(frozen=True, slots=True)
class RiskLimitReset:
    """A daily loss limit's trip lifted at the server-day rollover (`now`: the server midnight,
    UTC ms); `day_base` is the new day's base."""

    now: int
    subscription: int
    limit: str
    day_base: Decimal
    state: str


@dataclass(frozen=True, slots=True)
class StopOutTriggered:
    now: int
    subscription: int
    account: int
    margin_level: Decimal
    closes: int


@dataclass(frozen=True, slots=True)
class CommissionAccrued:
    """The fee of one settlement (§9: weekly, or `stop` for the partial week at a stop):
    `rate_pct` % of `gain` above `previous_mark`, exact; the mark is now `high_water_mark`.
    Only settlements with a fee are recorded; `CommissionPaid` books the cents."""

    now: int
    subscription: int
    trader: str
    amount: Decimal  # exact, not yet booked
    high_water_mark: Decimal  # after the settlement
    rate_pct: Decimal
    gain: Decimal  # the cumulative closed result at the settlement
    previous_mark: Decimal
    reason: str  # weekly | stop


@dataclass(frozen=True, slots=True)
class CommissionPaid:
    """reason: weekly (Sunday 00:00 server time) | stop (settled when copying stops)."""

    now: int
    subscription: int
    trader: str
    amount: Decimal
    reason: str


@dataclass(frozen=True, slots=True)
class PartnerAccrued:
    """Remuneration earned by a deal; credited at the next hourly credit."""

    now: int
    partner: str
    source: str  # investor_volume | trader_volume
    client: str
    lots: Decimal
    amount: Decimal
    level: int  # 0 = the client's own IB, 1 = the partner who referred that IB, ...


@dataclass(frozen=True, slots=True)
class IBCredited:
    now: int
    partner: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class RebateCredited:
    """Seed 000 rebate: the partner's share for a referred client, credited to the client
    with the hourly partner credit (the partner's `IBCredited` is net of it)."""

    now: int
    partner: str
    client: str
    amount: Decimal


Record = (WalletMovement | Refused | SubscriptionStarted | SubscriptionEdited | SubscriptionStopping
          | SubscriptionStopped | CopyRefused | CopyOpened | CopyClosed | CloseSkipped | CloseFailed
          | ProtectionTriggered | StopOutTriggered | CommissionAccrued | CommissionPaid | PartnerAccrued
          | IBCredited | InvestmentChanged | RebateCredited | TraderStatusChanged | DealerAction
          | CopySettingsChanged | RiskLimitTriggered | RiskLimitReset)
