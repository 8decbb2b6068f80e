"""The seeds' server rules as plugins of `simulator.server.plugins.api`, loaded by default.

* `tiered_margin.TieredMargin` - seed 004 tiered margin (the server's margin model);
* `minimum_deposit.MinimumDeposit` - seed 000 trading lock below the minimum deposit;
* `swaps.Swaps` - seed 000 swaps at rollover, swap-free accounts (by choice or country);
* `margin_call.MarginCallStopOut` - seed 000 margin call and stop-out (the risk engine).
"""

from __future__ import annotations

from simulator.server.plugins.api import ServerPlugin
from simulator.server.plugins.rules.margin_call import MarginCallStopOut
from simulator.server.plugins.rules.minimum_deposit import MinimumDeposit
from simulator.server.plugins.rules.swaps import Swaps
from simulator.server.plugins.rules.tiered_margin import TieredMargin

__all__ = ["MarginCallStopOut", "MinimumDeposit", "Swaps", "TieredMargin", "default_plugins"]


def default_plugins() -> list[ServerPlugin]:
    """Fresh instances of the seeds' rules, in load order (what `TradeServer` loads when no
    ``plugins`` are given)."""
    return [TieredMargin(), MinimumDeposit(), Swaps(), MarginCallStopOut()]
