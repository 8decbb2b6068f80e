"""Loading plugins, calling their hooks in order, isolating their failures, running their actions.

`PluginHost` is the server's side of `simulator.server.plugins.api`: at load it resolves, once,
which plugins override which hook (a hook nobody overrides costs the server one falsy check),
and which plugin provides each engine. `ServerAPI` is the plugin's side: queries and dealer
actions on any account.

Failure isolation: every call into a plugin goes through `PluginHost`; an exception becomes a
``plugin_error`` journal line (plugin, hook, exception type and message). In a request hook it
also rejects the request with TRADE_RETCODE_ERROR 10011; in an event it changes nothing else.
A ``DomainError`` raised by a request hook is a refusal in the core's own terms, not a failure (the
core maps it: ``no_rate`` -> PRICE_OFF, others -> INVALID), so a rule moved into a plugin
answers exactly as it did inside the core.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bridge.domain.errors import DomainError, Refusal
from bridge.domain.money import round_money
from simulator.server import retcodes as rc
from simulator.server.plugins.api import (
    AccountOpening,
    Adjust,
    BalanceOperation,
    ClosePosition,
    DealerAction,
    ModifyPosition,
    OpenPosition,
    SendRequest,
    ServerPlugin,
    TradeRequestEvent,
    Veto,
)
from simulator.server.records import AccountInfo, DealInfo, OrderInfo, PositionInfo, Session, TickInfo, TradeRequest, \
    TradeResult

if TYPE_CHECKING:  # pragma: no cover
    from bridge.domain.servertime import ServerTimeZone
    from simulator.server.server import TradeServer

#: dealer actions one server operation may trigger through returned actions (a plugin that
#: answers its own deals with new deals would otherwise never stop)
MAX_ACTIONS_PER_OPERATION = 10_000

_SUCCESS = (rc.TRADE_RETCODE_PLACED, rc.TRADE_RETCODE_DONE, rc.TRADE_RETCODE_DONE_PARTIAL)

#: hooks and events a plugin may override, in the order the server calls them for a request
HOOKS = ("hook_user_add", "on_user_login", "on_user_update", "check_trade_allowed", "hook_trade_request_add",
         "hook_trade_request_process", "on_deal_perform", "on_position_add", "on_position_update",
         "on_position_delete", "on_margin_call", "on_margin_call_cleared", "on_stop_out",
         "on_trade_request_process", "on_trade_request_refuse", "on_eod_start", "hook_trade_rollover",
         "on_eod_finish", "on_dealer_result")


class PluginFailure(Exception):
    """Internal: a plugin raised inside a request hook (already journaled)."""

    def __init__(self, plugin: str, hook: str, error: BaseException) -> None:
        super().__init__(f"plugin {plugin!r} failed in {hook}: {type(error).__name__}: {error}")
        self.plugin = plugin
        self.hook = hook


_ACTIONS = (BalanceOperation, OpenPosition, ClosePosition, ModifyPosition, SendRequest)  # = DealerAction


def _overrides(plugin: ServerPlugin, name: str) -> bool:
    return getattr(type(plugin), name, None) is not getattr(ServerPlugin, name)


class PluginHost:
    """The loaded plugins of one server, in load order (which is also call order)."""

    def __init__(self, server: TradeServer, plugins: Sequence[ServerPlugin]) -> None:
        self.server = server
        server._plugins = self  # engines built below reach the host through the server
        self.plugins = tuple(plugins)
        for p in self.plugins:
            if not isinstance(p, ServerPlugin):
                raise TypeError(f"{p!r} is not a ServerPlugin")
        names = [p.name for p in self.plugins]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"plugin names must be unique (journal lines name them): {', '.join(dup)}")
        self.depth = 0  # > 0 while a plugin's hook runs: direct dealer actions are refused then
        self.draining = False  # a drain runs: an operation it starts leaves the queue to it
        self.pending: list[tuple[ServerPlugin, DealerAction]] = []
        self.apis = {p.name: ServerAPI(self, p.name) for p in self.plugins}
        for p in self.plugins:
            p.on_load(self.apis[p.name])
        # hook name -> [(plugin, bound method)] for the plugins overriding it; empty lists are
        # falsy, so the server's "anyone listening?" test is one attribute read
        self.table: dict[str, list[tuple[ServerPlugin, Any]]] = {
            name: [(p, getattr(p, name)) for p in self.plugins if _overrides(p, name)] for name in HOOKS}
        for name, entries in self.table.items():
            setattr(self, name, entries)
        self.margin = self._engine("margin_model", lambda p: p.margin_model())
        self.risk = self._engine("risk_engine", lambda p: p.risk_engine(server))

    def _engine(self, what: str, get) -> Any:
        found = [(p.name, e) for p in self.plugins if (e := get(p)) is not None]
        if len(found) > 1:
            raise ValueError(f"more than one plugin provides the {what}: {', '.join(n for n, _ in found)}")
        return found[0][1] if found else None

    def plugin(self, name: str) -> ServerPlugin | None:
        return next((p for p in self.plugins if p.name == name), None)

    # --- failures ------------------------------------------------------------------------------
    def failed(self, plugin: ServerPlugin, hook: str, error: BaseException) -> None:
        self.server._j("plugin_error", plugin=plugin.name, hook=hook,
                       error=f"{type(error).__name__}: {error}"[:500])

    def _call(self, plugin: ServerPlugin, hook: str, fn, *args) -> Any:
        self.depth += 1
        try:
            return fn(*args)
        finally:
            self.depth -= 1

    # --- events: observe, maybe return actions ---------------------------------------------------
    def emit(self, hook: str, event: Any) -> None:
        for plugin, fn in self.table[hook]:
            try:
                actions = self._call(plugin, hook, fn, event)
            except Exception as err:  # noqa: BLE001 - isolation is the point
                self.failed(plugin, hook, err)
                continue
            if actions:
                self.queue(plugin, actions, hook)

    def queue(self, plugin: ServerPlugin, actions: Iterable[DealerAction], hook: str = "dealer_action") -> None:
        """Queue what a hook returned; anything that is not a dealer action is that plugin's
        failure (journaled, dropped), never the server's."""
        try:
            items = list(actions)
        except Exception as err:  # noqa: BLE001 - a plugin's value, isolation is the point
            self.failed(plugin, hook, TypeError(f"returned actions are not iterable: {err}"))
            return
        for action in items:
            if isinstance(action, _ACTIONS):
                self.pending.append((plugin, action))
            else:
                self.failed(plugin, hook, TypeError(f"{action!r} is not a dealer action"))

    def drain(self) -> None:
        """Run the actions events returned, in order (called when a server operation ends)."""
        if self.draining or not self.pending:
            return
        self.draining = True
        try:
            self._drain()
        finally:
            self.draining = False
            self.pending.clear()  # nothing of this operation may run in a later, unrelated one

    def _drain(self) -> None:
        done = 0
        while self.pending:
            plugin, action = self.pending.pop(0)
            if done >= MAX_ACTIONS_PER_OPERATION:
                self.failed(plugin, "dealer_action", RuntimeError(
                    f"more than {MAX_ACTIONS_PER_OPERATION} dealer actions in one operation; "
                    f"{len(self.pending) + 1} dropped"))
                self.pending.clear()
                return
            done += 1
            try:
                result = self.apis[plugin.name].run(action)
            except Exception as err:  # noqa: BLE001 - the plugin's action, not the server's operation
                self.failed(plugin, "dealer_action", err)
                continue
            if self.table["on_dealer_result"] and _overrides(plugin, "on_dealer_result"):
                try:
                    more = self._call(plugin, "on_dealer_result", plugin.on_dealer_result, action, result)
                except Exception as err:  # noqa: BLE001
                    self.failed(plugin, "on_dealer_result", err)
                    continue
                if more:
                    self.queue(plugin, more, "on_dealer_result")

    # --- hooks: verdicts -------------------------------------------------------------------------
    def trade_allowed(self, account) -> Veto | None:
        """First veto of `check_trade_allowed` (DomainError passes through: a core refusal)."""
        for plugin, fn in self.table["check_trade_allowed"]:
            verdict = self._verdict(plugin, "check_trade_allowed", fn, account)
            if isinstance(verdict, Adjust):
                err = TypeError("check_trade_allowed returns a Veto or None")
                self.failed(plugin, "check_trade_allowed", err)
                raise PluginFailure(plugin.name, "check_trade_allowed", err)
            if verdict is not None:
                return verdict
        return None

    def request_add(self, event: TradeRequestEvent) -> tuple[Veto | None, TradeRequest, list[str]]:
        """``HookTradeRequestAdd`` through every plugin: (veto or None, the request as adjusted,
        names of the plugins that adjusted it)."""
        request = event.request
        adjusted_by: list[str] = []
        for plugin, fn in self.table["hook_trade_request_add"]:
            if request is not event.request:
                event = _with_request(event, request)
            verdict = self._verdict(plugin, "hook_trade_request_add", fn, event)
            if isinstance(verdict, Veto):
                return _named(plugin, verdict), request, adjusted_by
            if isinstance(verdict, Adjust):
                if not isinstance(verdict.replacement, TradeRequest):
                    err = TypeError(f"Adjust needs a TradeRequest here, not {type(verdict.replacement).__name__}")
                    self.failed(plugin, "hook_trade_request_add", err)
                    raise PluginFailure(plugin.name, "hook_trade_request_add", err)
                request = verdict.replacement
                adjusted_by.append(plugin.name)
        return None, request, adjusted_by

    def request_process(self, event: TradeRequestEvent) -> Veto | None:
        for plugin, fn in self.table["hook_trade_request_process"]:
            verdict = self._verdict(plugin, "hook_trade_request_process", fn, event)
            if isinstance(verdict, Veto):
                return _named(plugin, verdict)
        return None

    def _verdict(self, plugin: ServerPlugin, hook: str, fn, event) -> Any:
        try:
            verdict = self._call(plugin, hook, fn, event)
        except DomainError:
            raise
        except Exception as err:  # noqa: BLE001
            self.failed(plugin, hook, err)
            raise PluginFailure(plugin.name, hook, err) from None
        bad_veto = isinstance(verdict, Veto) and (type(verdict.retcode) is not int or verdict.retcode in _SUCCESS)
        if bad_veto or (verdict is not None and not isinstance(verdict, (Veto, Adjust))):
            err = TypeError(f"a hook returns Veto (with a refusing retcode), Adjust or None, not {verdict!r}")
            self.failed(plugin, hook, err)
            raise PluginFailure(plugin.name, hook, err)
        return verdict

    def user_add(self, opening: AccountOpening) -> AccountOpening | Refusal:
        for plugin, fn in self.table["hook_user_add"]:
            try:
                verdict = self._verdict(plugin, "hook_user_add", fn, opening)
            except PluginFailure as failure:
                return Refusal("plugin_error", str(failure))
            if isinstance(verdict, Veto):
                return Refusal("refused_by_plugin", f"{plugin.name}: {verdict.detail}")
            if isinstance(verdict, Adjust):
                if not isinstance(verdict.replacement, AccountOpening):
                    return Refusal("plugin_error", f"plugin {plugin.name!r}: Adjust needs an AccountOpening")
                opening = verdict.replacement
        return opening

    def rollover(self, event, value: Decimal) -> Decimal:
        """The position's swap through every plugin. A plugin that raises (a DomainError too,
        e.g. ``no_rate``: nobody's request is refused here, the day must still end) fails for
        this position only and leaves the value as it found it; what it returns is money,
        rounded to the cent as the core rounds every amount it books."""
        for plugin, fn in self.table["hook_trade_rollover"]:
            try:
                new = self._call(plugin, "hook_trade_rollover", fn, event, value)
            except Exception as err:  # noqa: BLE001
                self.failed(plugin, "hook_trade_rollover", err)
                continue
            if not isinstance(new, Decimal) or not new.is_finite():
                self.failed(plugin, "hook_trade_rollover", TypeError(f"swap {new!r} is not a finite Decimal"))
                continue
            value = round_money(new)
        return value


def _named(plugin: ServerPlugin, veto: Veto) -> Veto:
    return Veto(veto.retcode, f"{plugin.name}: {veto.detail}")


def _with_request(event: TradeRequestEvent, request: TradeRequest) -> TradeRequestEvent:
    return TradeRequestEvent(event.login, event.session_id, event.reason, request, event.account)


class ServerAPI:
    """What the server gives a plugin (``IMTServerAPI``): read-only queries and dealer actions
    on any account. One per plugin (its journal lines carry the plugin's name)."""

    def __init__(self, host: PluginHost, plugin: str) -> None:
        self._host = host
        self._server = host.server
        self.plugin = plugin

    # --- queries -------------------------------------------------------------------------------
    @property
    def now_ms(self) -> int:
        return self._server.now_ms

    @property
    def timezone(self) -> ServerTimeZone:
        """The server's time zone (MT5: ``IMTConCommon::TimeZone`` of the server configuration):
        its wall clock and midnight; what a terminal reports as ``hello.utc_offset_ms``."""
        return self._server.timezone

    @property
    def rules(self):
        return self._server.rules

    def rates(self):
        return self._server.rates()

    def logins(self) -> list[int]:
        return sorted(self._server._accounts)

    def account(self, login: int) -> AccountInfo:
        return self._server.account_info(login)

    def positions(self, login: int, symbol: str | None = None) -> list[PositionInfo]:
        return self._server.positions(login, symbol)

    def orders(self, login: int, symbol: str | None = None) -> list[OrderInfo]:
        return self._server.orders(login, symbol)

    def history_deals(self, login: int, from_ms: int = 0, to_ms: int | None = None) -> list[DealInfo]:
        return self._server.history_deals(login, from_ms, to_ms)

    def symbol_tick(self, symbol: str, login: int | None = None) -> TickInfo | None:
        return self._server.symbol_tick(symbol, login)

    # --- dealer actions --------------------------------------------------------------------------
    def execute(self, action: DealerAction) -> TradeResult | DealInfo | Refusal:
        """Run one dealer action now (from the plugin's own code between server operations;
        a hook returns its actions instead). Actions the action's events return run before
        this returns."""
        if self._host.depth:
            raise RuntimeError("a dealer action cannot run inside a hook: return it from the event "
                               "(the server runs it when the operation ends)")
        result = self.run(action)
        self._host.drain()
        return result

    def run(self, action: DealerAction) -> TradeResult | DealInfo | Refusal:
        srv = self._server
        if isinstance(action, BalanceOperation):
            srv._j("dealer_action", plugin=self.plugin, action="balance", login=action.login,
                   amount=str(action.amount))
            return srv._dealer_balance(action.login, action.amount, action.comment)
        if isinstance(action, OpenPosition):
            kind = "open"
            request = TradeRequest(rc.TRADE_ACTION_DEAL, action.symbol, action.volume, action.type, sl=action.sl,
                                   tp=action.tp, magic=action.magic, comment=action.comment)
            reason = action.reason
        elif isinstance(action, ClosePosition):
            kind = "close"
            request, reason = self._close_request(action), action.reason
            if request is None:
                srv._j("dealer_action", plugin=self.plugin, action=kind, login=action.login)
                missing = TradeRequest(rc.TRADE_ACTION_DEAL, "", action.volume or Decimal(0), rc.ORDER_TYPE_BUY,
                                       position=action.position)
                return srv._refused_request(Session(action.login, False, 0), missing, reason,
                                            rc.TRADE_RETCODE_POSITION_CLOSED,
                                            f"position {action.position} is not open on {action.login}")
        elif isinstance(action, ModifyPosition):
            kind = "modify"
            request = TradeRequest(rc.TRADE_ACTION_SLTP, position=action.position, sl=action.sl, tp=action.tp)
            reason = rc.DEAL_REASON_EXPERT
        elif isinstance(action, SendRequest):
            kind, request, reason = "request", action.request, action.reason
        else:
            raise TypeError(f"{action!r} is not a dealer action")
        srv._j("dealer_action", plugin=self.plugin, action=kind, login=action.login)
        return srv.order_send(Session(action.login, False, 0), request, reason=reason)

    def _close_request(self, action: ClosePosition) -> TradeRequest | None:
        acct = self._server._accounts.get(action.login)
        pos = acct.positions.get(action.position) if acct is not None else None
        if pos is None:
            return None
        otype = rc.ORDER_TYPE_SELL if pos.side.name == "BUY" else rc.ORDER_TYPE_BUY
        volume = pos.volume if action.volume is None else action.volume
        return TradeRequest(rc.TRADE_ACTION_DEAL, pos.sym.name, volume, otype, position=pos.ticket,
                            magic=action.magic, comment=action.comment)
