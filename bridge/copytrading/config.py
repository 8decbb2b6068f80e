"""Engine configuration: every rate and limit of the copy-trading terms as data.

Defaults follow seed 003 (and the partner program of seed 000); a broker overrides them by
building its own `EngineConfig`. Validated on construction (`DomainError` on bad data).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from bridge.domain.account_types import PLATFORMS, AccountTypes
from bridge.domain.errors import DomainError
from bridge.domain.servertime import BROKER_DEFAULT, ServerTimeZone
from bridge.domain.sizing import CopyLimits

#: Forex and metals pay 1 USD per lot of investor volume (§11); other groups up to 1.5.
DEFAULT_INVESTOR_RATES: tuple[tuple[str, Decimal], ...] = (
    ("forex_majors", Decimal("1")), ("forex_minors", Decimal("1")), ("metals", Decimal("1")),
)

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS


@dataclass(frozen=True, slots=True)
class EngineConfig:
    # §7: trader accounts must be MT4 Standard or Pro (account type ids of bridge/data).
    eligible_trader_types: tuple[str, ...] = ("mt4_standard", "mt4_pro")
    # §3 "The Service is available on the MetaTrader 4 platform": the platforms (the account
    # types' `platform`, bridge/data/account_types.toml) of trader and of investor accounts.
    # A broker offering copy trading on MT5 lists "MT5" here (and MT5 types above for traders).
    trader_platforms: tuple[str, ...] = ("MT4",)
    investor_platforms: tuple[str, ...] = ("MT4",)
    # §5: copy volume limits (the domain's normalisation).
    limits: CopyLimits = field(default_factory=CopyLimits)
    # §9: commission 0-50 % of the investor's gain; §4.3: protection 0-50 %.
    max_commission_pct: Decimal = Decimal("50")
    max_protection_pct: Decimal = Decimal("50")
    # §11: partner remuneration on investor volume, USD per lot (round turn, counted at close).
    investor_rates: tuple[tuple[str, Decimal], ...] = DEFAULT_INVESTOR_RATES
    investor_rate_other: Decimal = Decimal("1.5")
    investor_rate_other_cap: Decimal = Decimal("1.5")  # "a maximum of 1.5 USD per lot"
    # §11: trader volume per the IB agreement; a partner's own agreement overrides this default.
    trader_ib_rate_per_lot: Decimal = Decimal("0")
    # seed 000 multi-level program: share of a partner's remuneration paid to the partner
    # who referred them (level 1), to that partner's referrer (level 2), ...
    multilevel_shares: tuple[Decimal, ...] = (Decimal("0.10"),)
    # seed 000: IB commission is credited every hour; §9: commission paid out on Sundays.
    ib_credit_period_ms: int = HOUR_MS
    payout_weekday: int = 6  # 0=Monday .. 6=Sunday, at 00:00 server time
    # The trade server's clock, for the payout day and IB periods (docs/copy-trading.md).
    server_timezone: ServerTimeZone = BROKER_DEFAULT
    # A copy is a market order at the trader's moment (§4.7): it may be opened until the trader
    # position's open time + this, never later (CopyRefused "expired"). Live opens and positions
    # first seen in a reconnect snapshot follow the same rule; OpenCopy carries the deadline.
    open_validity_ms: int = 5000
    # §4.2: SL/TP are not shown to investors and copies close when the trader's trigger; the
    # copies carry no stops unless a broker turns this on (then Modify commands mirror them).
    mirror_stops: bool = False
    # The account type of investor accounts funded by a subscription, unless the request names one.
    investor_account_type: str = "mt4_standard"

    def __post_init__(self) -> None:
        if not self.eligible_trader_types:
            raise DomainError("invalid_config", "eligible_trader_types must not be empty")
        for name, platforms in (("trader_platforms", self.trader_platforms),
                                ("investor_platforms", self.investor_platforms)):
            if (not isinstance(platforms, tuple) or not platforms
                    or any(p not in PLATFORMS for p in platforms) or len(set(platforms)) != len(platforms)):
                raise DomainError("invalid_config", f"{name} {platforms!r} must be a non-empty tuple of distinct "
                                                    f"platforms from {PLATFORMS}")
        for name, value in (("max_commission_pct", self.max_commission_pct),
                            ("max_protection_pct", self.max_protection_pct)):
            if not Decimal(0) <= value <= Decimal(100):
                raise DomainError("invalid_config", f"{name} {value} must be within 0..100")
        if self.investor_rate_other > self.investor_rate_other_cap:
            raise DomainError("invalid_config", f"investor_rate_other {self.investor_rate_other} exceeds "
                                                f"the cap {self.investor_rate_other_cap} USD per lot (§11)")
        for group, rate in self.investor_rates:
            if rate < 0:
                raise DomainError("invalid_config", f"investor rate for {group} must not be negative")
        if self.trader_ib_rate_per_lot < 0:
            raise DomainError("invalid_config", "trader_ib_rate_per_lot must not be negative")
        if any(not Decimal(0) <= s <= Decimal(1) for s in self.multilevel_shares):
            raise DomainError("invalid_config", "multilevel shares must be fractions within 0..1")
        if self.ib_credit_period_ms <= 0 or not 0 <= self.payout_weekday <= 6:
            raise DomainError("invalid_config", "bad ib_credit_period_ms or payout_weekday")
        if isinstance(self.open_validity_ms, bool) or not isinstance(self.open_validity_ms, int) \
                or self.open_validity_ms <= 0:
            raise DomainError("invalid_config", f"open_validity_ms {self.open_validity_ms!r} must be a positive "
                                                "whole number of milliseconds")

    def check(self, account_types: AccountTypes) -> None:
        """The account types named here exist and sit on the allowed platforms (DomainError)."""
        for type_id in self.eligible_trader_types:
            t = account_types.get(type_id)  # unknown_account_type for an unknown id
            if t.platform not in self.trader_platforms:
                raise DomainError("invalid_config", f"eligible trader type {type_id} is on {t.platform}, not in "
                                                    f"trader_platforms {self.trader_platforms}")
        t = account_types.get(self.investor_account_type)
        if t.platform not in self.investor_platforms:
            raise DomainError("invalid_config", f"investor_account_type {t.id} is on {t.platform}, not in "
                                                f"investor_platforms {self.investor_platforms}")

    def investor_rate(self, group: str) -> Decimal:
        for g, rate in self.investor_rates:
            if g == group:
                return rate
        return self.investor_rate_other
