"""The copy-trading engine: events in (each with `now`), commands and records out.

Pure: no sockets, no clock, no global random. `Engine.handle(event)` returns a `Step` with
the commands to send to investor accounts and the records to journal, in a deterministic
order (fan-outs by subscription id). `to_state()` / `from_state()` persist everything as
plain JSON-able data. See docs/copy-trading.md for every rule and interpretation.

This module holds the entry point, persistence and queries; each concern lives in its own
mixin module (see base.py).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from bridge.copytrading import commission as cm
from bridge.copytrading import events as ev
from bridge.copytrading.base import ZERO, Pending, Step, _Persisted
from bridge.copytrading.closing import Closing
from bridge.copytrading.config import EngineConfig
from bridge.copytrading.copying import Copying
from bridge.copytrading.desk import Desk
from bridge.copytrading.money import Money
from bridge.copytrading.parties import Parties
from bridge.copytrading.pending import PENDING_HANDLERS
from bridge.copytrading.pending_sync import SYNC_HANDLERS, PendingSync
from bridge.copytrading.reconcile import Reconciling
from bridge.copytrading.risk import Risk
from bridge.copytrading.state import STATE_VERSION, dump, load, pack, unpack
from bridge.copytrading.statistics import (InvestorStatistics, SubscriptionView, TraderStatistics, authorise,
                                           trader_view)
from bridge.copytrading.subscription import Subscription, SubState
from bridge.copytrading.trader import TraderRecord
from bridge.copytrading.wallet import Wallets
from bridge.domain.errors import DomainError, Refusal
from bridge.domain.margin import MarginBook
from bridge.domain.rules import Rules, default_rules

__all__ = ["Engine", "Pending", "Step"]


class Engine(Parties, Copying, Closing, Reconciling, Risk, Money, Desk, PendingSync):
    """One engine per trade server. Feed it events with `handle`; query statistics."""

    def __init__(self, config: EngineConfig | None = None, rules: Rules | None = None) -> None:
        self.config = config or EngineConfig()
        self.rules = rules or default_rules()
        self.config.check(self.rules.account_types)  # DomainError for unknown types, disallowed platforms
        self.s = _Persisted()
        self.wallets = Wallets()
        self._rebuild()

    # ------------------------------------------------------------------ persistence
    def to_state(self) -> dict:
        self.s.wallets = dict(self.wallets.balances)
        data = dump(self.s)
        assert isinstance(data, dict)
        return {"version": STATE_VERSION, **data}

    @classmethod
    def from_state(cls, state: dict, config: EngineConfig | None = None, rules: Rules | None = None) -> Engine:
        if state.get("version") != STATE_VERSION:
            raise DomainError("invalid_state", f"state version {state.get('version')!r} != {STATE_VERSION}")
        engine = cls(config, rules)
        body = {k: v for k, v in state.items() if k != "version"}
        engine.s = load(_Persisted, body)  # type: ignore[assignment]
        engine.wallets = Wallets(engine.s.wallets)
        engine._rebuild()
        return engine

    def to_bytes(self) -> bytes:
        """The journal's snapshot: the same state as `to_state`, compact (state.pack)."""
        self.s.wallets = dict(self.wallets.balances)
        return pack(self.s)

    @classmethod
    def from_bytes(cls, data: bytes, config: EngineConfig | None = None, rules: Rules | None = None) -> Engine:
        engine = cls(config, rules)
        engine.s = unpack(_Persisted, data)  # type: ignore[assignment]
        engine.wallets = Wallets(engine.s.wallets)
        engine._rebuild()
        return engine

    def _rebuild(self) -> None:
        """Derived indexes: accounts, live subscriptions per trader, margin books, symbols."""
        s = self.s
        self._calcs = {}
        self._books = {}
        self._trader_by_account = {t.account: t.id for t in s.traders.values()}
        self._sub_by_account = {}
        self._trader_subs = {t: [] for t in s.traders}
        self._by_symbol = {}
        self._rates_cache = None
        self._retry_subs = set()
        for sub in sorted(s.subscriptions.values(), key=lambda x: x.id):
            if sub.state is SubState.STOPPED:
                continue
            if any(c.retry_close for c in sub.copies.values()):
                self._retry_subs.add(sub.id)
            self._sub_by_account[sub.account] = sub
            self._trader_subs.setdefault(sub.trader, []).append(sub)
            book = self._books[sub.id] = MarginBook(self._calc(sub))
            for copy in sub.copies.values():
                book.open(copy.trader_ticket, copy.group, copy.notional)
                self._by_symbol.setdefault(copy.symbol, {})[sub.id] = sub

    # ------------------------------------------------------------------ the one entry point
    def handle(self, event: ev.Event) -> Step:
        s = self.s
        s.seq += 1
        self._commands = []
        self._records = []
        self._withdrawals = []
        now = event.now
        if s.now is None or now > s.now:
            self._advance(now)
            s.now = now
        handler = _HANDLERS.get(type(event))
        if handler is None:
            raise DomainError("unknown_event", f"unknown event type {type(event).__name__}")
        handler(self, event)
        if getattr(event, "actor", None) is not None:
            self._audit(event)
        return Step(tuple(self._commands), tuple(self._records), tuple(self._withdrawals))

    def _on_time_passed(self, e: ev.TimePassed) -> None:
        self._retry_closes(self._retry_due())

    def _on_terminal_online(self, e: ev.TerminalOnline) -> None:
        self.s.terminals[e.account] = True
        sub = self._sub_by_account.get(e.account)
        if sub is not None:
            sub.online = True
            self._retry_closes([sub])

    def _on_terminal_offline(self, e: ev.TerminalOffline) -> None:
        self.s.terminals[e.account] = False
        sub = self._sub_by_account.get(e.account)
        if sub is not None:
            sub.online = False

    # ------------------------------------------------------------------ queries
    def wallet(self, requester: str, owner: str) -> Decimal | Refusal:
        """A wallet's balance, visible to its owner only."""
        if requester != owner:
            return Refusal("forbidden", f"{requester!r} may not read the wallet of {owner!r}")
        return self.wallets.balance(owner)

    def followers(self, trader: str) -> int:
        """`trader_statistics(trader).followers` (0 for an unknown trader), without building the view."""
        return len(self._trader_subs.get(trader, ())) if trader in self.s.traders else 0

    def trader_statistics(self, trader: str) -> TraderStatistics | Refusal:
        """Public (§13): anyone may ask."""
        t = self.s.traders.get(trader)
        if t is None:
            return Refusal("unknown_trader", f"no trader {trader}")
        return trader_view(t, len(self._trader_subs.get(trader, ())))

    def subscription_view(self, requester: str, subscription: int) -> SubscriptionView | Refusal:
        sub = self.s.subscriptions.get(subscription)
        if sub is None:
            return Refusal("unknown_subscription", f"no subscription {subscription}")
        denied = authorise(requester, sub.investor)
        return denied or self._view(sub)

    def investor_statistics(self, requester: str, investor: str) -> InvestorStatistics | Refusal:
        """Private (§12): only the investor may read them."""
        denied = authorise(requester, investor)
        if denied is not None:
            return denied
        subs = sorted((x for x in self.s.subscriptions.values() if x.investor == investor), key=lambda x: x.id)
        views = tuple(self._view(x) for x in subs)
        live = [x for x in subs if x.state is not SubState.STOPPED]
        return InvestorStatistics(investor, self.wallets.balance(investor),
                                  sum((x.invested for x in live), ZERO), sum((x.equity for x in live), ZERO),
                                  sum((x.realised for x in subs), ZERO),
                                  sum((x.commission_paid for x in subs), ZERO), views)

    def _view(self, sub: Subscription) -> SubscriptionView:
        rate = cm.effective_rate(sub.commission_pct, self.s.traders[sub.trader].cap_pct)
        # "accrued": what a settlement now would charge (the mark moves at settlements only)
        accrued = cm.provisional(sub.realised, sub.high_water_mark, rate, sub.accrued)
        return SubscriptionView(sub.id, sub.trader, sub.state.value, sub.mode.value, sub.protection_pct, rate,
                                sub.invested, sub.balance, sub.equity, sub.realised, accrued, sub.commission_paid,
                                len(sub.copies), sub.trades, sub.volume)

    # ------------------------------------------------------------------ read-only access for tests and the shell
    @property
    def subscriptions(self) -> dict[int, Subscription]:
        return self.s.subscriptions

    @property
    def traders(self) -> dict[str, TraderRecord]:
        return self.s.traders

    @property
    def pending(self) -> dict[str, Pending]:
        return self.s.pending

    def ledger(self) -> tuple[Decimal, Decimal]:
        """(sources, holdings): deposits - withdrawals + realised P/L + IB credits + negative
        balances written off at a stop, and wallets + balances of live subscriptions. Equal to
        the cent at all times."""
        s = self.s
        subs = s.subscriptions.values()  # in USD: a cent account's figures / 100
        realised = sum((x.realised / self._units(x) for x in subs), ZERO)
        sources = s.deposits - s.withdrawals + realised + s.partners.credited + s.written_off
        holdings = self.wallets.total() + sum((x.balance / self._units(x) for x in subs), ZERO)
        return sources, holdings


_HANDLERS: dict[type, Callable[[Engine, object], None]] = {
    ev.WalletDeposited: Engine._on_wallet_deposited,
    ev.WalletWithdrawn: Engine._on_wallet_withdrawn,
    ev.WalletTransferred: Engine._on_wallet_transferred,
    ev.TraderRegistered: Engine._on_trader_registered,
    ev.TraderDisabled: Engine._on_trader_disabled,
    ev.TraderCommissionChanged: Engine._on_trader_commission_changed,
    ev.CommissionCapSet: Engine._on_commission_cap_set,
    ev.PartnerRegistered: Engine._on_partner_registered,
    ev.RebateSet: Engine._on_rebate_set,
    ev.ClientAssigned: Engine._on_client_assigned,
    ev.Subscribe: Engine._on_subscribe,
    ev.EditSettings: Engine._on_edit_settings,
    ev.SetCopySettings: Engine._on_set_copy_settings,
    ev.ChangeInvestment: Engine._on_change_investment,
    ev.Resume: Engine._on_resume,
    ev.StopCopying: Engine._on_stop_copying,
    ev.SuspendCopying: Engine._on_suspend_copying,
    ev.CloseOneCopy: Engine._on_close_one_copy,
    ev.CloseAllCopies: Engine._on_close_all_copies,
    ev.TraderPositionOpened: Engine._on_trader_position_opened,
    ev.TraderPositionModified: Engine._on_trader_position_modified,
    ev.TraderPositionClosed: Engine._on_trader_position_closed,
    ev.TraderSnapshot: Engine._on_trader_snapshot,
    ev.CommandFilled: Engine._on_command_filled,
    ev.CommandRefused: Engine._on_command_refused,
    ev.CopyClosedByServer: Engine._on_copy_closed_by_server,
    ev.AccountUpdated: Engine._on_account_updated,
    ev.PriceTick: Engine._on_price_tick,
    ev.TimePassed: Engine._on_time_passed,
    ev.TerminalOnline: Engine._on_terminal_online,
    ev.TerminalOffline: Engine._on_terminal_offline,
    ev.OpenWithdrawn: Engine._on_open_withdrawn,
    ev.InvestorSnapshot: Engine._on_investor_snapshot,
    ev.CopyVanished: Engine._on_copy_vanished,
}  # type: ignore[dict-item]
_HANDLERS.update(PENDING_HANDLERS)  # type: ignore[arg-type]  # pending orders (issue 15 item 6)
_HANDLERS.update(SYNC_HANDLERS)  # type: ignore[arg-type]  # and after a reconnect (item 1)
