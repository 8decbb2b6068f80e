"""The minimum-deposit trading lock (seed 000) as a plugin.

Seed 000: "Trading may be disabled because of non-compliance with minimum deposit". The
account may open trades only while its balance is at least its type's minimum deposit
(converted to the account currency: `bridge.domain.account.trading_refusal`). The server
applies the veto to DEAL and PENDING requests (a market close is a DEAL request too, so it is
refused like an open, as when the rule was built in); SL/TP changes, order modifications and
removals go through.

The server asks `check_trade_allowed` at MT5's primary verification step "if trading is allowed
for that account" (before the symbol, price and margin checks), when a pending order
activates, and for ``AccountInfo.trade_allowed``.

Worked example (tests/simulator/server/plugins/test_rule_plugins.py): an MT5 Standard account
with the type's minimum deposit minus one cent gets TRADE_DISABLED (10017) on a market order;
after a deposit of one cent the same order is done.
"""

from __future__ import annotations

from simulator.server import retcodes as rc
from simulator.server.plugins.api import AccountState, ServerPlugin, Veto

from bridge.domain.account import trading_refusal


class MinimumDeposit(ServerPlugin):
    """Refuses trading below the account type's minimum deposit."""

    name = "minimum_deposit"

    def on_load(self, api) -> None:
        self._api = api

    def check_trade_allowed(self, account: AccountState) -> Veto | None:
        refusal = trading_refusal(account.account_type, account.currency, account.balance, self._api.rates())
        return None if refusal is None else Veto(rc.TRADE_RETCODE_TRADE_DISABLED, refusal.detail)
