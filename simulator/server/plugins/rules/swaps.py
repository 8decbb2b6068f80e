"""Swaps and swap-free accounts (seed 000) as a plugin.

Seed 000: positions held over the rollover (server midnight) are charged the symbol's swap,
three nights on its triple-swap day (`bridge.domain.trading.swap`, `swap_nights`), none on a
day its market was closed; swap-free accounts are never charged, and accounts of clients
from the listed countries are swap-free by default ("swap-free accounts for clients from
Muslim countries by default": `bridge.domain.countries`, bridge/data/swap_free_countries.toml).

Two hooks: ``hook_user_add`` decides ``swap_free`` when the account opening did not ask
(MT5: ``IMTUserSink::HookUserAdd``), ``hook_trade_rollover`` gives the swap of one position
(MT5: ``IMTTradeSink::HookTradeRollover``). The core charges no swap of its own: without this
plugin positions carry no swap.

Worked example (tests/simulator/server/plugins/test_rule_plugins.py): a client registered
with country "SA" gets a swap-free account when none is asked, one with country "GB" does
not; over one night the GB account's EURUSD position carries a swap, the SA one's none.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from bridge.domain.countries import SwapFreeCountries, default_swap_free_countries
from bridge.domain.money import round_money
from bridge.domain.trading import Side, swap
from simulator.server import retcodes as rc
from simulator.server.plugins.api import AccountOpening, Adjust, RolloverEvent, ServerPlugin, Verdict


class Swaps(ServerPlugin):
    """Seed 000 swaps at rollover; swap-free accounts by choice or by the client's country."""

    name = "swaps"

    def __init__(self, countries: SwapFreeCountries | None = None) -> None:
        #: the countries whose clients are swap-free by default; assign another list to change it
        self.countries = countries if countries is not None else default_swap_free_countries()

    def on_load(self, api) -> None:
        self._api = api

    def hook_user_add(self, opening: AccountOpening) -> Verdict:
        decided = self.countries.swap_free(opening.country, opening.swap_free)
        return None if decided is opening.swap_free else Adjust(replace(opening, swap_free=decided))

    def hook_trade_rollover(self, event: RolloverEvent, value: Decimal) -> Decimal:
        if event.swap_free:
            return value
        spec = self._api.rules.symbols.get(event.symbol)
        side = Side.BUY if event.type == rc.POSITION_TYPE_BUY else Side.SELL
        return value + round_money(swap(spec, side, event.volume, event.nights, event.currency, self._api.rates()))
