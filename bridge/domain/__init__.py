"""The pure domain core: instruments, tier tables and margin, account state and stop-out,
account types, copy volume sizing and the password policy. No I/O beyond loading rule
tables once, no clock, no global random."""

from bridge.domain.account import (AccountSnapshot, PositionRisk, StopOutClose, at_or_below,
                                   leverage_change_refusal, margin_level, snapshot, stop_out,
                                   trading_refusal)
from bridge.domain.account_types import AccountType, AccountTypes, load_account_types
from bridge.domain.currency import Rates
from bridge.domain.errors import DomainError, Refusal
from bridge.domain.instruments import SymbolCatalog, SymbolSpec, load_symbols
from bridge.domain.margin import AccountMargin, GroupTiers, MarginBook, position_notional
from bridge.domain.money import round_money, to_decimal
from bridge.domain.passwords import password_problems
from bridge.domain.rules import Rules, default_rules, load_rules
from bridge.domain.sizing import CopyLimits, VolumeDecision, VolumeMode, copy_volume, normalise
from bridge.domain.tiers import TierFamily, TierSchedule, TierTable, load_tier_schedule
from bridge.domain.trading import Side, commission, profit, swap, swap_nights

__all__ = [
    "AccountMargin", "AccountSnapshot", "AccountType", "AccountTypes", "CopyLimits", "DomainError",
    "GroupTiers", "MarginBook", "PositionRisk", "Rates", "Refusal", "Rules", "Side", "StopOutClose",
    "SymbolCatalog", "SymbolSpec", "TierFamily", "TierSchedule", "TierTable", "VolumeDecision",
    "VolumeMode", "at_or_below", "commission", "copy_volume", "default_rules", "leverage_change_refusal",
    "load_account_types", "load_rules", "load_symbols", "load_tier_schedule", "margin_level", "normalise",
    "password_problems", "position_notional", "profit", "round_money", "snapshot", "stop_out", "swap",
    "swap_nights", "to_decimal", "trading_refusal",
]
