"""`TradeServer`: a deterministic simulated MetaTrader 4/5 trade server.

Design notes
------------
**Time.** The server's time is the `VirtualClock`; it moves only with `on_tick` (to the
tick's time) and `advance_to`. Before a quote is applied, every event due in between is run
in time order: rollovers (swaps, at server midnight) and pending-order expirations. The clock
and every time the server keeps or returns is UTC ms; `timezone` (default `BROKER_DEFAULT`,
UTC+2/UTC+3 with US summer time) places server midnight, the triple-swap day and market hours.

**Prices and markup.** The feed's bid/ask are the raw (interbank) quote. An account type's
``spread_markup_points`` is *added to the ask*: every account sees the feed bid, and
``ask + markup x point``. Buys fill at that ask, sells at the bid; a buy closes at the bid, a
sell at the marked-up ask. (Adding it to the ask keeps prices on the symbol's point grid for
odd markups, which a symmetric split around the mid would not.)

**Plugins** (`simulator.server.plugins`, docs/deployment-modes.md). The core holds no business
rule of the seeds: the margin model (tiered margin, seed 004), the trading lock below the
minimum deposit, swaps and swap-free accounts, margin call and stop-out are plugins in
`plugins/rules/`, loaded by default. Hooks run in the MT5 server's order (request -> checks
-> deal -> position -> account/margin); the margin model and the risk engine are resolved
once at construction and called directly (`self._margin_model`, `self._refresh_risk`,
`self._bands_fired`). A plugin hook that raises rejects its request with ERROR 10011.

**Retcodes** (real MT5 values, `simulator.server.retcodes`): investor (read-only) session or
a plugin's `check_trade_allowed` veto (the minimum deposit: TRADE_DISABLED 10017); unknown
symbol, unknown action/type, malformed request, unknown pending order, CLOSE_BY (not
simulated) -> INVALID 10013 (MT5 has no dedicated "unknown symbol" trade retcode);
`SymbolSpec.volume_problem` or a non-finite volume -> INVALID_VOLUME 10014; non-finite, non
positive or off-grid price (`SymbolSpec.price_problem`), or a pending price on the wrong side
of the market -> INVALID_PRICE 10015; SL/TP off-grid, on the wrong side or closer than the
stops level -> INVALID_STOPS 10016; calendar closure -> MARKET_CLOSED 10018; free margin
after the order < 0 -> NO_MONEY 10019; no quote yet -> PRICE_OFF 10021; unsupported
time-in-force or past expiration -> INVALID_EXPIRATION 10022; unknown filling mode ->
INVALID_FILL 10030; position not open (never existed, closed, other account or symbol)
-> POSITION_CLOSED 10036; close volume above the position -> INVALID_CLOSE_VOLUME 10038;
SL/TP modification that changes nothing -> NO_CHANGES 10025. Market orders ignore
``price``/``deviation`` except for validity (no requotes: the fill is at the current quote).
A refused request changes nothing: only its ``request``/``answer`` journal records are
written.

**Indices.** SL/TP, pending orders and per-account risk bands (kept by the risk engine,
`plugins/rules/margin_call.py`) live in one
`TriggerIndex` (sorted integer keys per symbol and side, bisect), so a quote costs O(log n)
plus what it fires. **Risk bands:** margin only changes with trades (notional is fixed at
open), so between trades an account's margin-call/stop-out threshold is a fixed equity.
Its slack above that threshold is split evenly among its (symbol, side) exposures; each
exposure gets one price edge (a buy's bid falling by ``share / units``, a sell's ask rising
by ``share / units``) registered in the index. Only when an edge is crossed is the account
evaluated exactly (domain `profit` per position, `margin_level`, `stop_out`) and its bands
re-set. That is the rule for an account in margin call (its clearing is seen only at such a
re-check, so the re-checks keep running at the same quotes). An account not in margin call
gets `bands.MarginBands` instead: the same kind of edges from an integer bound of its equity,
sized by each symbol's tick size, moved one at a time with hysteresis; the exact evaluation
runs only when the bound can no longer exclude the margin call, at the same quote as the
even split would have run it, so the journal is the same (`reference=True` keeps the even
split for every account and journals ticks through `Journal.append`: tests and benchmarks
compare the two). Accounts whose profit needs a currency conversion (quote != account
currency) move with other symbols' rates, so they are evaluated exactly on every quote
instead ("volatile"). `margin_level(login)` is always computed exactly on read.

**Money.** Commission (`trading.commission`, per side), realised profit (`trading.profit`)
and swaps (the `Swaps` plugin: `trading.swap` x `swap_nights`) are rounded half up to the
cent when booked.
Commission is booked to the balance at each deal; swaps accrue on the position and are
realised with the closing deal (pro rata on a partial close). Floating profit counts per
position rounded to the cent. Margin is the margin model's book (the `TieredMargin` plugin:
the domain's tiered `MarginBook`), notional fixed at
open with `position_notional`; a partial close keeps the remaining volume's share of the
notional (quantised like the domain does). Conversion rates are the mids of the latest
quotes of currency-pair symbols layered over the `rates` given at construction.

**Netting** (MT5 only): one position per symbol, ticket = first order's ticket; a same-side
deal increases it (volume-weighted open price, notional added), an opposite one reduces,
closes or reverses it (one INOUT deal; the remainder re-opens at the deal price).
"""

from __future__ import annotations

import random
from dataclasses import replace
from collections.abc import Mapping, Sequence
from decimal import Decimal

from bridge.domain.currency import Rates
from bridge.domain.rules import Rules, default_rules
from bridge.domain.servertime import BROKER_DEFAULT, ServerTimeZone
from simulator.calendar import TradingCalendar
from simulator.clock import VirtualClock
from simulator.journal import Journal
from simulator.server.fastjournal import reference_tick_appender, tick_appender
from simulator.server.triggers import TriggerIndex
from simulator.server.state import _Account, _Client, _Symbol
from simulator.server.accounts import AccountOps
from simulator.server.market import MarketOps
from simulator.server.equity import EquityOps
from simulator.server.plugins.api import ServerPlugin
from simulator.server.plugins.host import PluginHost
from simulator.server.plugins.rules import default_plugins
from simulator.server.rollover import RolloverOps
from simulator.server.positions import PositionOps
from simulator.server.orders import OrderOps
from simulator.server.history import HistoryOps


class TradeServer(AccountOps, MarketOps, EquityOps, RolloverOps, PositionOps, OrderOps, HistoryOps):
    """The simulated trade server. See the package docstring for the API overview."""

    def __init__(self, rules: Rules | None = None, *, seed: int = 0, start_ms: int = 0,
                 rates: Rates | Mapping[str, Decimal] | None = None, calendar: TradingCalendar | None = None,
                 journal: Journal | None = None, clock: VirtualClock | None = None,
                 stops_level_points: int | Mapping[str, int] = 0, scrypt_n: int = 2 ** 14,
                 journal_ticks: bool = True, server_name: str = "mtbridge-sim",
                 timezone: ServerTimeZone | None = None, reference: bool = False,
                 plugins: Sequence[ServerPlugin] | None = None) -> None:
        self.rules = rules if rules is not None else default_rules()
        self.seed = seed
        # `timezone` wins over the calendar's own; neither given: the usual broker clock
        if timezone is None:
            timezone = calendar.timezone if calendar is not None else BROKER_DEFAULT
        self.calendar = replace(calendar if calendar is not None else TradingCalendar(), timezone=timezone)
        self.clock = clock if clock is not None else VirtualClock(start_ms)
        self.journal = journal if journal is not None else Journal()
        self.server_name = server_name
        self._scrypt_n = scrypt_n
        self._stops = stops_level_points
        if isinstance(rates, Rates):
            self._base_rates = rates.as_dict()
        else:
            self._base_rates = {k: Decimal(v) for k, v in (rates or {}).items()}
        self._rates: Rates | None = None
        self._index = TriggerIndex()
        self._symbols: dict[str, _Symbol] = {}
        currencies = {s.quote for s in self.rules.symbols} | {"USD", "EUR", "GBP", "NGN"}
        for spec in self.rules.symbols:
            src = spec.name == spec.base + spec.quote and spec.base in currencies and spec.quote in currencies
            self._symbols[spec.name] = _Symbol(spec, self._index.levels(spec.name), src)
        self._rate_symbols = [s for s in self._symbols.values() if s.rate_source]
        self._clients: dict[str, _Client] = {}
        self._accounts: dict[int, _Account] = {}
        self._volatile: list[int] = []  # logins evaluated on every quote, sorted
        # identities: a seeded stream (MT5 logins look random; tickets start somewhere)
        rng = random.Random(seed)
        self._next_login = 10_000_000 + rng.randrange(0, 8_000_000)
        self._next_ticket = 1_000_000 * (1 + rng.randrange(0, 50))
        self._next_deal = self._next_ticket + 500_000_000
        self._next_client = 1
        self._next_session = 1
        self._expiry: list[tuple[int, int, int]] = []  # (expires_ms, ticket, login)
        self._next_midnight = self.calendar.next_midnight(self.clock.now_ms)
        self._journal_ticks = journal_ticks
        # reference=True: the plain paths (exact Decimal re-check at every band crossing through
        # `_equity`, ticks through Journal.append); same journal bytes, slower - tests and
        # benchmarks compare the two
        self._fast = not reference
        self._append_tick = reference_tick_appender(self.journal) if reference else tick_appender(self.journal)
        # plugins (simulator.server.plugins): None loads the seeds' rules; engines resolved once
        self._plugins = PluginHost(self, default_plugins() if plugins is None else plugins)
        if self._plugins.margin is None:
            raise ValueError("no plugin provides the margin model (load simulator.server.plugins.rules."
                             "TieredMargin or another margin plugin)")
        self._margin_model = self._plugins.margin
        risk = self._plugins.risk
        # instance attributes: the tick path calls the engine directly (no dispatch per quote)
        self._refresh_risk = risk.refresh if risk is not None else _no_risk
        self._bands_fired = risk.bands_fired if risk is not None else _no_bands
        self.journal.append("server_start", self.clock.now_ms, seed=seed, server=server_name,
                            first_login=self._next_login, first_ticket=self._next_ticket)

    @property
    def plugins(self) -> PluginHost:
        """The loaded plugins (`PluginHost`: ``plugins``, ``plugin(name)``, ``apis[name]``)."""
        return self._plugins

    @property
    def margin_model(self):
        """The loaded margin model (`plugins.api.MarginModel`; default: seed 004 tiers)."""
        return self._margin_model

    @property
    def now_ms(self) -> int:
        """UTC ms: the server keeps UTC; `timezone` gives its wall clock (the MT5 facade's times)."""
        return self.clock.now_ms

    @property
    def timezone(self) -> ServerTimeZone:
        return self.calendar.timezone

    def digest(self) -> str:
        """SHA-256 of the journal so far (see `Journal.digest`)."""
        return self.journal.digest()

    def stops_level(self, symbol: str) -> int:
        """Minimum distance of SL/TP from the price, in points (SYMBOL_TRADE_STOPS_LEVEL)."""
        return self._stops

    def symbols(self) -> list[str]:
        return list(self._symbols)

    def rates(self) -> Rates:
        """Conversion rates now: construction rates overlaid with the latest pair mids."""
        r = self._rates
        if r is None:
            live = dict(self._base_rates)
            for s in self._rate_symbols:
                if s.bid is not None:
                    live[s.name] = (s.bid + s.ask) / 2
            r = self._rates = Rates(live)
        return r

    def _j(self, kind: str, **fields) -> None:
        self.journal.append(kind, self.clock.now_ms, **fields)

    def _ticket(self) -> int:
        t = self._next_ticket
        self._next_ticket += 1
        return t

    def _account(self, login: int) -> _Account:
        acct = self._accounts.get(login)
        if acct is None:
            raise KeyError(f"unknown login {login}")
        return acct


def _no_risk(acct: _Account) -> None:
    """No risk engine loaded: no margin call, no stop-out (and no bands to keep)."""


def _no_bands(acct: _Account, fired: list[int]) -> None:
    """No risk engine loaded: no band was ever placed."""
