"""The simulated MetaTrader 4/5 trade server: back office, trading, risk, swaps.

Pure core on virtual time: the server never reads the wall clock or the global random
generator. Time moves only through `TradeServer.on_tick` (tick times) and
`TradeServer.advance_to`; every request, answer, tick, fill, close, swap, balance operation,
margin call and stop-out is appended, in order, to one `simulator.journal.Journal`, so the
same scenario + seed gives a byte-identical journal (`TradeServer.digest()`).

Public API (stable; all money/prices/lots are ``Decimal``, all times ``int`` ms)::

    server = TradeServer(rules=None, *, seed=0, start_ms=0, rates=None, calendar=None,
                         journal=None, clock=None, stops_level_points=0,
                         scrypt_n=2**14, journal_ticks=True, server_name="mtbridge-sim",
                         timezone=None, reference=False,   # reference: plain paths, same journal
                         plugins=None)   # None: the seeds' rules (plugins.rules.default_plugins())
    server.plugins -> PluginHost   # loaded plugins; server.plugins.apis[name]: a plugin's ServerAPI

    # --- back office (seed 000); refusals are returned as bridge.domain.errors.Refusal ---
    server.register_client(email, name="", country=None) -> ClientInfo | Refusal  # one per email
    server.open_account(email, account_type, currency, leverage, *, master_password,
                        investor_password, demo=False, margin_mode=None, swap_free=None,
                        name=None) -> int (login) | Refusal  # swap_free None: the country's default
    server.swap_free_countries = bridge.domain.countries.load_swap_free_countries(path)  # optional
    server.login(login, password) -> Session | Refusal                        # investor => read_only
    server.deposit(login, amount, *, payer_email, payer_name=None) -> DealInfo | Refusal
    server.withdraw(login, amount) -> DealInfo | Refusal
    server.transfer(from_login, to_login, amount) -> tuple[DealInfo, DealInfo] | Refusal
    server.set_leverage(login, leverage) -> None | Refusal
    server.client(email) -> ClientInfo | None

    # --- market / time ---
    server.on_tick(tick: simulator.prices.Tick) -> None        # one quote (time-ordered)
    server.run(ticks: Iterable[Tick]) -> int                   # feed many; returns count
    server.advance_to(time_ms) -> None                         # move time with no quote
    server.now_ms -> int

    # --- trading (MT5 semantics, real retcodes) ---
    server.order_send(session: Session, request: TradeRequest, *, reason=DEAL_REASON_EXPERT)
        -> TradeResult
    server.order_check(session, request) -> TradeResult        # validation only, no journal

    # --- queries (snapshots; never change state) ---
    server.account_info(login) -> AccountInfo
    server.margin_level(login) -> Decimal | None               # exact, at current prices
    server.positions(login, symbol=None) -> list[PositionInfo] # by ticket
    server.orders(login, symbol=None) -> list[OrderInfo]       # active pending orders
    server.history_orders(login, from_ms=0, to_ms=None) -> list[OrderInfo]
    server.history_deals(login, from_ms=0, to_ms=None) -> list[DealInfo]
    server.symbol_tick(symbol, login=None) -> TickInfo | None  # with the login's markup
    server.symbols() -> list[str]
    server.copy_ticks_range(symbol, from_ms, to_ms) -> list[TickInfo]
    server.copy_ticks_from(symbol, from_ms, count) -> list[TickInfo]
    server.bars(symbol, timeframe_ms, from_ms, to_ms) -> list[Bar]
    server.journal -> Journal ; server.digest() -> str

Plugins (`simulator.server.plugins`, docs/deployment-modes.md): hooks modelled on the MT5
Server API, dealer actions on any account; the seeds' rules (tiered margin, minimum deposit,
swaps, margin call / stop-out) are plugins in `simulator.server.plugins.rules`.

See `simulator/server/server.py` for the design notes (spread markup, retcodes, indices).
"""

from simulator.server.records import (
                                      AccountInfo,
                                      Bar,
                                      ClientInfo,
                                      DealInfo,
                                      OrderInfo,
                                      PositionInfo,
                                      Session,
                                      TickInfo,
                                      TradeRequest,
                                      TradeResult,
)
from simulator.server.server import TradeServer

__all__ = ["AccountInfo", "Bar", "ClientInfo", "DealInfo", "OrderInfo", "PositionInfo", "Session",
           "TickInfo", "TradeRequest", "TradeResult", "TradeServer"]
