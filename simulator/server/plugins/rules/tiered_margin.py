"""Tiered (progressive) margin (seed 004) as a plugin: the server's margin model.

Seed 004: the margin of an instrument group is charged bracket by bracket on the aggregate
notional of its open positions, each bracket at its own leverage capped at the account's.
The arithmetic is the domain's (`bridge.domain.margin`: `AccountMargin`, `MarginBook`); this
plugin hands the server, once at load, the model that builds them from the rule tables
(`Rules.margin_for`). The server's core keeps only the notional of each position (fixed at
open) and asks the book for totals, so another margin rule is another plugin.

Worked example (docs/margin.md, seed 004; tests/simulator/server/plugins/test_rule_plugins.py):
an MT5 Standard USD account at 1:500 opening 1 lot EURUSD at 1.10000 (notional 110 000 USD)
pays the first bracket's margin; the test checks the server's margin equals
``Rules.margin_for(...).tiers("forex").margin(110000)``.
"""

from __future__ import annotations

from typing import Any

from bridge.domain.margin import AccountMargin, MarginBook
from simulator.server.plugins.api import ServerPlugin


class TieredMarginModel:
    """`MarginModel` from the rule tables."""

    def __init__(self, rules: Any) -> None:
        self._rules = rules

    def account_margin(self, account_type: Any, currency: str, leverage: int) -> AccountMargin:
        """`account_type`: an `AccountType` or its id."""
        return self._rules.margin_for(account_type, currency, leverage)

    def book(self, calc: AccountMargin) -> MarginBook:
        return MarginBook(calc)


class TieredMargin(ServerPlugin):
    """Seed 004's tiered margin as the server's margin model."""

    name = "tiered_margin"

    def __init__(self) -> None:
        self._model: TieredMarginModel | None = None

    def on_load(self, api) -> None:
        self._model = TieredMarginModel(api.rules)

    def margin_model(self) -> TieredMarginModel | None:
        return self._model
