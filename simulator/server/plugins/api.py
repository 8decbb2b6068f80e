"""The trade server's plugin interface, modelled on the MetaTrader 5 Server API.

A plugin is a `ServerPlugin` subclass that overrides the hooks and events it needs; the
server calls them in the real server's order (docs/deployment-modes.md has the full mapping
to the MT5 sinks ``IMTTradeSink``, ``IMTDealSink``, ``IMTPositionSink``, ``IMTUserSink``,
``IMTEndOfDaySink``)::

    request   check_trade_allowed       (MT5: primary verification, "trading allowed for the account")
              -- the server's own checks: symbol, prices, volume, stops, margin --
              hook_trade_request_add    (IMTTradeSink::HookTradeRequestAdd: veto / adjust)
              hook_trade_request_process(IMTTradeSink::HookTradeRequestProcess: veto)
    deal      on_deal_perform           (IMTDealSink::OnDealPerform)
    position  on_position_add / _update / _delete (IMTPositionSink)
    account   risk engine: margin call, stop-out -> on_margin_call / on_stop_out
    answer    on_trade_request_process  (IMTTradeSink::OnTradeRequestProcess)
              on_trade_request_refuse   (IMTTradeSink::OnTradeRequestRefuse)

Sans-I/O and deterministic: every hook receives a frozen event (values, never the server's
mutable state) and returns a value - a verdict (`Veto`, `Adjust`, None to accept) from a
hook, dealer actions (`OpenPosition`, `ClosePosition`, ...) from an event. The server runs
returned actions in order once the operation that raised the event has finished, and hands
each result to `on_dealer_result`. Outside the server's operations (a plugin's own shell,
e.g. a gateway answering a daemon command) `ServerAPI.execute` runs an action at once.

A hook that raises rejects the request it was handling with TRADE_RETCODE_ERROR (10011) and a
``plugin_error`` journal line; an event that raises is journaled the same way and the
operation stands (it already happened). The server never goes down for a plugin.

Engines: the rule plugins that sit on the hot path (the margin model, the margin-call /
stop-out risk engine) hand the server an object once, at load (`margin_model`,
`risk_engine`), which the server then calls directly - no per-quote loop over plugins.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, Union

from simulator.server.records import DealInfo, TradeRequest
from simulator.server.retcodes import DEAL_REASON_EXPERT

if TYPE_CHECKING:  # pragma: no cover
    from bridge.domain.account_types import AccountType
    from simulator.server.plugins.host import ServerAPI

ZERO = Decimal(0)

__all__ = [
    "AccountOpening", "AccountState", "Adjust", "BalanceOperation", "ClosePosition", "DealEvent",
    "DealerAction", "EndOfDayEvent", "LoginEvent", "MarginEvent", "MarginModel", "ModifyPosition",
    "OpenPosition", "PositionEvent", "RiskEngine", "RolloverEvent", "SendRequest", "ServerPlugin",
    "TradeRequestEvent", "TradeResultEvent", "Veto", "Verdict",
]


# --- verdicts (what a hook returns; None accepts) ----------------------------------------------

@dataclass(frozen=True, slots=True)
class Veto:
    """Reject the request with `retcode` (a real MT5 trade retcode) and a reason."""

    retcode: int
    detail: str


@dataclass(frozen=True, slots=True)
class Adjust:
    """Go on with `replacement` (the hook's payload changed: a `TradeRequest` for a trade
    request hook, an `AccountOpening` for `hook_user_add`). An adjusted trade request is
    checked again by the server before it is executed."""

    replacement: Any


Verdict = Union[Veto, Adjust, None]


# --- events (frozen values; never the server's state) ------------------------------------------

@dataclass(frozen=True, slots=True)
class AccountState:
    """An account as hooks see it (``IMTUser`` + ``IMTAccount`` essentials)."""

    login: int
    account_type: AccountType
    currency: str
    leverage: int
    balance: Decimal
    credit: Decimal
    swap_free: bool
    demo: bool
    netting: bool


@dataclass(frozen=True, slots=True)
class TradeRequestEvent:
    """A trade request on its way (``IMTRequest`` with its account)."""

    login: int
    session_id: int  # 0: a dealer action
    reason: int  # DEAL_REASON_* recorded on the order and deals
    request: TradeRequest
    account: AccountState


@dataclass(frozen=True, slots=True)
class TradeResultEvent:
    """A request's outcome: executed (OnTradeRequestProcess) or refused (OnTradeRequestRefuse)."""

    login: int
    session_id: int
    reason: int
    request: TradeRequest
    retcode: int
    deal: int
    order: int
    position: int
    comment: str


@dataclass(frozen=True, slots=True)
class DealEvent:
    """A deal was performed (``IMTDealSink::OnDealPerform``): trades and balance operations."""

    deal: DealInfo
    balance: Decimal  # the account's balance after the deal


@dataclass(frozen=True, slots=True)
class PositionEvent:
    """A position was opened, changed or closed (``IMTPositionSink``); volume 0 once closed."""

    login: int
    position: int
    symbol: str
    type: int  # POSITION_TYPE_BUY / _SELL
    volume: Decimal
    price_open: Decimal
    sl: Decimal
    tp: Decimal
    swap: Decimal
    magic: int
    reason: int
    comment: str
    time_msc: int
    time_update_msc: int


@dataclass(frozen=True, slots=True)
class MarginEvent:
    """An account reached (or left) its margin call, or was stopped out."""

    login: int
    margin_level: Decimal | None
    equity: Decimal
    margin: Decimal
    threshold: Decimal


@dataclass(frozen=True, slots=True)
class RolloverEvent:
    """One position held over server midnight (``HookTradeRollover``)."""

    time_ms: int  # the midnight (UTC ms)
    weekday_ended: int
    login: int
    position: int
    symbol: str
    type: int  # POSITION_TYPE_BUY / _SELL
    volume: Decimal
    nights: int  # 1, or 3 on the symbol's triple-swap day
    currency: str  # the account's
    swap_free: bool


@dataclass(frozen=True, slots=True)
class AccountOpening:
    """An account about to be created (``IMTUserSink::HookUserAdd``); ``swap_free`` None:
    not asked (a hook may decide, e.g. by the client's country; still None afterwards: False)."""

    email: str
    country: str | None
    account_type: str
    currency: str
    leverage: int
    demo: bool
    margin_mode: str
    swap_free: bool | None


@dataclass(frozen=True, slots=True)
class LoginEvent:
    """A successful login (``IMTUserSink::OnUserLogin``)."""

    login: int
    read_only: bool
    session_id: int


@dataclass(frozen=True, slots=True)
class EndOfDayEvent:
    """Server midnight (``IMTEndOfDaySink::OnEODStart`` / ``OnEODFinish``)."""

    time_ms: int
    weekday_ended: int


# --- dealer actions (what an event returns, or what `ServerAPI.execute` runs) --------------------

@dataclass(frozen=True, slots=True)
class OpenPosition:
    """A market order on `login`'s account (``IMTServerAPI::TradeRequest``, action DEAL)."""

    login: int
    symbol: str
    type: int  # ORDER_TYPE_BUY / ORDER_TYPE_SELL
    volume: Decimal
    sl: Decimal = ZERO
    tp: Decimal = ZERO
    magic: int = 0
    comment: str = ""
    reason: int = DEAL_REASON_EXPERT  # what the deals record; EXPERT: like a copier EA's


@dataclass(frozen=True, slots=True)
class ClosePosition:
    """Close `volume` (None: all) of a position at the current quote."""

    login: int
    position: int
    volume: Decimal | None = None
    magic: int = 0
    comment: str = ""
    reason: int = DEAL_REASON_EXPERT


@dataclass(frozen=True, slots=True)
class ModifyPosition:
    """Set a position's SL/TP (action SLTP; 0 removes a level)."""

    login: int
    position: int
    sl: Decimal = ZERO
    tp: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class SendRequest:
    """Any trade request (pending orders, modifications, removals) on `login`'s account."""

    login: int
    request: TradeRequest
    reason: int = DEAL_REASON_EXPERT


@dataclass(frozen=True, slots=True)
class BalanceOperation:
    """Credit (amount > 0) or debit (< 0) the balance (``IMTServerAPI::UserDepositChange``);
    a debit keeps the balance and the free margin >= 0, as a withdrawal does."""

    login: int
    amount: Decimal
    comment: str = "dealer"


DealerAction = Union[OpenPosition, ClosePosition, ModifyPosition, SendRequest, BalanceOperation]


# --- engines (resolved once at load; called directly by the server) ---------------------------

class MarginModel(Protocol):
    """Margin of an account (seed 004 tiers in `rules.tiered_margin`).

    ``account_margin`` returns the account's calculator (``bridge.domain.margin.AccountMargin``
    interface: ``tiers(group).margin(notional)``, ``with_leverage``) and raises
    ``DomainError`` for a currency it cannot serve; ``book`` returns an incremental book
    (``MarginBook`` interface: open / close / resize / total / total_if_opened / group_*)."""

    def account_margin(self, account_type: AccountType, currency: str, leverage: int) -> Any: ...

    def book(self, calc: Any) -> Any: ...


class RiskEngine(Protocol):
    """Margin call and stop-out (seed 000, `rules.margin_call`). A privileged engine: it reads
    the server's internal account state, which the server hands it at load."""

    def refresh(self, acct: Any) -> None:
        """Exact evaluation after anything changed the account (trade, quote crossing its
        band, balance operation, swap): stop-out, margin call, then its price bands."""

    def bands_fired(self, acct: Any, exposures: list[int]) -> None:
        """Some of the account's band edges were crossed by a quote."""


# --- the plugin ---------------------------------------------------------------------------------

class ServerPlugin:
    """Base class: every hook accepts, every event ignores. Override what you need; the host
    calls only the methods a plugin overrides (resolved once at load)."""

    #: shown in journal lines (``plugin_error``, ``request_vetoed``, ``dealer_action``)
    name: str = "plugin"

    def on_load(self, api: ServerAPI) -> None:
        """The server is starting (``MTServerStartup``): keep `api` for queries and actions."""

    # engines
    def margin_model(self) -> MarginModel | None:
        return None

    def risk_engine(self, core: Any) -> RiskEngine | None:
        return None

    # users (IMTUserSink)
    def hook_user_add(self, opening: AccountOpening) -> Verdict:
        return None

    def on_user_login(self, event: LoginEvent) -> list[DealerAction] | None:
        return None

    # trade requests (IMTTradeSink)
    def check_trade_allowed(self, account: AccountState) -> Veto | None:
        """Is the account allowed to open trades now (MT5: the account's trade right)? Also
        answers ``AccountInfo.trade_allowed``. May raise ``DomainError`` like the core."""
        return None

    def hook_trade_request_add(self, event: TradeRequestEvent) -> Verdict:
        return None

    def hook_trade_request_process(self, event: TradeRequestEvent) -> Veto | None:
        return None

    def on_trade_request_process(self, event: TradeResultEvent) -> list[DealerAction] | None:
        return None

    def on_trade_request_refuse(self, event: TradeResultEvent) -> list[DealerAction] | None:
        return None

    def hook_trade_rollover(self, event: RolloverEvent, value: Decimal) -> Decimal:
        """The swap to charge for one position; `value` is what the plugins before this one
        decided (ZERO for the first: the core charges no swap of its own)."""
        return value

    # deals and positions (IMTDealSink, IMTPositionSink)
    def on_deal_perform(self, event: DealEvent) -> list[DealerAction] | None:
        return None

    def on_position_add(self, event: PositionEvent) -> list[DealerAction] | None:
        return None

    def on_position_update(self, event: PositionEvent) -> list[DealerAction] | None:
        return None

    def on_position_delete(self, event: PositionEvent) -> list[DealerAction] | None:
        return None

    # account margin (the server's stop-out processing)
    def on_margin_call(self, event: MarginEvent) -> list[DealerAction] | None:
        return None

    def on_margin_call_cleared(self, event: MarginEvent) -> list[DealerAction] | None:
        return None

    def on_stop_out(self, event: MarginEvent) -> list[DealerAction] | None:
        return None

    # end of day (IMTEndOfDaySink)
    def on_eod_start(self, event: EndOfDayEvent) -> list[DealerAction] | None:
        return None

    def on_eod_finish(self, event: EndOfDayEvent) -> list[DealerAction] | None:
        return None

    # results of the actions this plugin returned
    def on_dealer_result(self, action: DealerAction, result: Any) -> list[DealerAction] | None:
        """`result`: a ``TradeResult`` (trade actions), a ``DealInfo`` or a ``Refusal``
        (balance operations). May return further actions (queued after the pending ones)."""
        return None
