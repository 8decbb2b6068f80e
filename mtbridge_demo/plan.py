"""Who is who in the demo, from the seed alone: traders, investors, partners."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from decimal import Decimal

ZERO = Decimal(0)
MINUTE = 60_000
HOUR = 3_600_000
START_MS = 1705060800000  # Friday 2024-01-12 12:00 UTC (14:00 on the UTC+2/us server clock)
MASTER, INVESTOR_PW = "Tr4derPass", "R3adOnly9"


@dataclass(frozen=True, slots=True)
class DemoConfig:
    seed: int = 7
    traders: int = 3
    investors: int = 50
    hours: int = 64  # Friday 12:00 -> Monday 04:00: a rollover, a weekend, the Sunday payout
    sync_ms: int = 5 * MINUTE
    tick_ms: int = 2000  # one quote per symbol every tick_ms of virtual time
    symbols: tuple[str, ...] = ("EURUSD", "GBPUSD")
    mode: str = "terminal"  # terminal: every account in an EA terminal; plugin: investors served by the gateway
    traders_by: str = "terminal"  # plugin mode: the traders' deals reported by their EA terminal or by the gateway

    def __post_init__(self) -> None:
        if self.mode not in MODES or self.traders_by not in MODES:
            raise ValueError(f"mode and traders_by must be one of {', '.join(MODES)}")
        if self.traders_by == "plugin" and self.mode != "plugin":
            raise ValueError("traders_by plugin needs mode plugin (the gateway plugin)")


MODES = ("terminal", "plugin")


@dataclass(frozen=True, slots=True)
class TraderPlan:
    id: str
    style: str  # steady | scalper | gambler
    symbol: str
    account_type: str
    leverage: int
    deposit: Decimal
    commission_pct: Decimal
    ib: str | None


@dataclass(frozen=True, slots=True)
class InvestorPlan:
    id: str
    trader: str
    amount: Decimal
    mode: str
    protection_pct: Decimal | None
    leverage: int
    ib: str | None
    # issue 15: copy settings set right after Subscribe (`set_copy_settings`), as plain pairs
    settings: tuple[tuple[str, object], ...] = ()
    role: str = ""  # what the settings show (the report's "Copy settings" section)
    cent: bool = False  # a Standard Cent account (balance in US cents, USC)

    @property
    def account_type(self) -> str:
        return "mt4_standard_cent" if self.cent else "mt4_standard"

    @property
    def currency(self) -> str:
        return "USC" if self.cent else "USD"


# The first investors of every demo copy with settings (issue 15): what each did is in the
# report. The rest keep the seed's terms. (role, settings)
SHOWCASE: tuple[tuple[str, tuple[tuple[str, object], ...]], ...] = (
    ("multiplier follower", (("mode", "multiplier"), ("multiplier", "1.5"))),
    ("reverse follower", (("reverse", True),)),
    ("cent account with a suffix map, EURUSD -> EURUSDc", (("symbol_suffix", "c"),)),
    ("daily loss limit", (("daily_loss_limit", "0.5"), ("daily_loss_unit", "percent"),
                          ("daily_loss_action", "stop_opening"))),
)
SUFFIX = "c"  # the suffixed symbols' ending on the demo server (a cent account's EURUSDc)


PARTNERS = (("ib-north", None, Decimal(2)), ("ib-south", "ib-north", None))
_STYLES = ("steady", "scalper", "gambler")
START_BID = {"EURUSD": 110000, "GBPUSD": 127000, "USDCHF": 88000, "AUDUSD": 67000}


def plan(cfg: DemoConfig) -> tuple[list[TraderPlan], list[InvestorPlan]]:
    """Who is who, from the seed alone (integer draws only)."""
    rng = random.Random(f"demo-plan:{cfg.seed}")
    traders = []
    for i in range(cfg.traders):
        style = _STYLES[i % len(_STYLES)]
        gambler = style == "gambler"
        traders.append(TraderPlan(
            id=f"trader-{i + 1}", style=style, symbol=cfg.symbols[i % len(cfg.symbols)],
            account_type="mt4_pro" if i % 2 else "mt4_standard",
            leverage=500 if gambler else (100, 200)[rng.randrange(2)],
            deposit=Decimal(3000 if gambler else 10000 + 1000 * rng.randrange(11)),
            commission_pct=Decimal(5 * rng.randrange(11)),  # 0..50 %
            ib="ib-north" if i == 0 else None,
        ))  # fmt: skip
    investors = []
    for i in range(cfg.investors):
        prot = rng.randrange(10)
        investors.append(InvestorPlan(
            id=f"inv-{i + 1:03d}", trader=traders[rng.randrange(len(traders))].id,
            amount=Decimal((300, 500, 1000, 2000, 5000)[rng.randrange(5)]),
            mode=("equal", "proportional")[rng.randrange(2)],
            protection_pct=None if prot < 4 else Decimal(0 if prot == 4 else 5 * rng.randrange(1, 11)),
            leverage=(100, 200, 500)[rng.randrange(3)],
            ib=(None, None, None, "ib-north", "ib-south")[rng.randrange(5)],
        ))  # fmt: skip
    for i, (role, settings) in enumerate(SHOWCASE[:len(investors)]):  # no draw: the rest of the plan is as before
        investors[i] = replace(investors[i], settings=settings, role=role, cent="cent account" in role)
    return traders, investors
