"""The copy-trading engine (seed 003): pure, events in, commands and records out.

    engine = Engine(EngineConfig(), rules)
    step = engine.handle(TraderPositionOpened(now=..., ...))
    step.commands  # OpenCopy / CloseCopy / ModifyCopy / BalanceOperation, each with an idempotency key
    step.records   # wallet movements, refusals, commissions, IB credits, protection triggers, ...
    state = engine.to_state(); Engine.from_state(state)   # JSON-able

See docs/copy-trading.md.
"""

from bridge.copytrading.commands import (BalanceOperation, CloseCopy, Command, ModifyCopy, OpenCopy,
                                         WithdrawOpen, idempotency_key)
from bridge.copytrading.config import EngineConfig
from bridge.copytrading.engine import Engine, Pending, Step
from bridge.copytrading.settings import CopySettings, CopySide
from bridge.copytrading.events import (UNSET, WITHDRAW_REASONS, AccountUpdated, ChangeInvestment, ClientAssigned,
                                       CommandFilled, CommandRefused, CommissionCapSet, CopyClosedByServer, CopyVanished,
                                       EditSettings, Event, InvestorSnapshot, OpenWithdrawn, PartnerRegistered,
                                       PriceTick, RebateSet, Resume, SetCopySettings, SnapshotPosition, StopCopying, Subscribe,
                                       TerminalOffline, TerminalOnline, TimePassed, TraderCommissionChanged, TraderPositionClosed,
                                       TraderPositionModified, TraderPositionOpened, TraderRegistered,
                                       TraderSnapshot, WalletDeposited, WalletWithdrawn)
from bridge.copytrading.records import (CloseFailed, CloseSkipped, CommissionAccrued, CommissionPaid, CopyClosed,
                                        CopyOpened, CopyRefused, CopySettingsChanged, IBCredited, InvestmentChanged, PartnerAccrued,
                                        ProtectionTriggered, RebateCredited, RiskLimitReset, RiskLimitTriggered,
                                        Record, Refused, StopOutTriggered, SubscriptionEdited, SubscriptionStarted,
                                        SubscriptionStopped, SubscriptionStopping, WalletMovement)
from bridge.copytrading.statistics import InvestorStatistics, SubscriptionView, TraderStatistics
from bridge.copytrading.subscription import SubState

__all__ = [
    "UNSET", "WITHDRAW_REASONS", "AccountUpdated", "BalanceOperation", "ChangeInvestment", "ClientAssigned",
    "CloseCopy", "CloseFailed", "CloseSkipped",
    "Command", "CommandFilled", "CopySettings", "CopySide", "CommandRefused", "CopyClosedByServer", "CommissionAccrued", "CommissionCapSet", "CommissionPaid",
    "CopyClosed", "CopyOpened", "CopyRefused", "CopySettingsChanged", "CopyVanished", "InvestorSnapshot", "OpenWithdrawn", "WithdrawOpen", "EditSettings", "Engine", "EngineConfig", "Event", "IBCredited",
    "InvestmentChanged",
    "InvestorStatistics", "ModifyCopy", "OpenCopy", "PartnerAccrued", "PartnerRegistered", "Pending", "PriceTick",
    "ProtectionTriggered", "RebateCredited", "RiskLimitReset", "RiskLimitTriggered", "RebateSet", "Record", "Refused", "Resume", "SetCopySettings",
    "SnapshotPosition", "Step",
    "StopCopying",
    "StopOutTriggered", "SubState", "Subscribe", "SubscriptionEdited", "SubscriptionStarted",
    "SubscriptionStopped", "SubscriptionStopping", "SubscriptionView", "TerminalOffline", "TerminalOnline",
    "TimePassed", "TraderCommissionChanged", "TraderPositionClosed", "TraderPositionModified",
    "TraderPositionOpened", "TraderRegistered", "TraderSnapshot", "TraderStatistics", "WalletDeposited",
    "WalletMovement", "WalletWithdrawn", "idempotency_key",
]
