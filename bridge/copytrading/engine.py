"""The copy-trading engine: events in (each with `now`), commands and records out.

Pure: no sockets, no clock, no global random. `Engine.handle(event)` returns a `Step` with
the commands to send to investor accounts and the records to journal, in a deterministic
order (fan-outs by subscription id). `to_state()` / `from_state()` persist everything as
plain JSON-able data. See docs/copy-trading.md for every rule and interpretation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from bridge.copytrading import commission as cm
from bridge.copytrading import events as ev
from bridge.copytrading import protection
from bridge.copytrading.commands import (BalanceOperation, CloseCopy, Command, ModifyCopy, OpenCopy,
                                         idempotency_key)
from bridge.copytrading.config import EngineConfig
from bridge.copytrading.partners import PartnerBook
from bridge.copytrading.records import (CloseFailed, CloseSkipped, CommissionAccrued, CommissionPaid,
                                        CopyClosed, CopyOpened, CopyRefused, ProtectionTriggered, Record,
                                        Refused, StopOutTriggered, SubscriptionEdited, SubscriptionStarted,
                                        SubscriptionStopped, SubscriptionStopping)
from bridge.copytrading.state import STATE_VERSION, dump, load, pack, unpack
from bridge.copytrading.statistics import (InvestorStatistics, SubscriptionView, TraderStatistics, authorise,
                                           trader_view)
from bridge.copytrading.subscription import Copy, CopyState, Subscription, SubState
from bridge.copytrading.trader import TraderPosition, TraderRecord
from bridge.copytrading.wallet import Wallets
from bridge.domain.account import PositionRisk, at_or_below, margin_level, stop_out, trading_refusal
from bridge.domain.currency import Rates
from bridge.domain.errors import DomainError, Refusal
from bridge.domain.margin import NOTIONAL_QUANTUM, AccountMargin, MarginBook, position_notional
from bridge.domain.money import CENT, round_money
from bridge.domain.rules import Rules, default_rules
from bridge.domain.sizing import VolumeMode, copy_volume, normalise
from bridge.domain.trading import profit as position_profit

ZERO = Decimal(0)
ONE = Decimal(1)
_EQUAL = VolumeMode.EQUAL
_PROPORTIONAL = VolumeMode.PROPORTIONAL
_ACTIVE = SubState.ACTIVE
POSITION_CLOSED = 10036  # MT5 TRADE_RETCODE_POSITION_CLOSED: the server closed it first
_OPENING = CopyState.OPENING
_OPEN = CopyState.OPEN


@dataclass(frozen=True, slots=True)
class Step:
    """What one event produced."""

    commands: tuple[Command, ...] = ()
    records: tuple[Record, ...] = ()


@dataclass(slots=True)
class Pending:
    """A command sent and not yet answered, by idempotency key."""

    subscription: int
    trader_ticket: int
    action: str  # open | close | modify | balance
    volume: Decimal
    reason: str


@dataclass(slots=True)
class _Persisted:
    """Everything `to_state` stores (the rest is derived on load)."""

    seq: int = 0
    now: int | None = None
    next_subscription: int = 1
    next_command: int = 1
    deposits: Decimal = ZERO
    withdrawals: Decimal = ZERO
    wallets: dict[str, Decimal] = field(default_factory=dict)
    traders: dict[str, TraderRecord] = field(default_factory=dict)
    subscriptions: dict[int, Subscription] = field(default_factory=dict)
    partners: PartnerBook = field(default_factory=PartnerBook)
    pending: dict[str, Pending] = field(default_factory=dict)
    prices: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    terminals: dict[int, bool] = field(default_factory=dict)
    next_ib_credit: int | None = None
    next_payout: int | None = None


class Engine:
    """One engine per trade server. Feed it events with `handle`; query statistics."""

    def __init__(self, config: EngineConfig | None = None, rules: Rules | None = None) -> None:
        self.config = config or EngineConfig()
        self.rules = rules or default_rules()
        for type_id in self.config.eligible_trader_types:
            self.rules.account_types.get(type_id)  # DomainError for an unknown id
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
        self._calcs: dict[tuple[str, str, int], AccountMargin] = {}
        self._books: dict[int, MarginBook] = {}
        self._trader_by_account = {t.account: t.id for t in s.traders.values()}
        self._sub_by_account: dict[int, Subscription] = {}
        self._trader_subs: dict[str, list[Subscription]] = {t: [] for t in s.traders}
        self._by_symbol: dict[str, dict[int, Subscription]] = {}
        self._rates_cache: Rates | None = None
        for sub in sorted(s.subscriptions.values(), key=lambda x: x.id):
            if sub.state is SubState.STOPPED:
                continue
            self._sub_by_account[sub.account] = sub
            self._trader_subs.setdefault(sub.trader, []).append(sub)
            book = self._books[sub.id] = MarginBook(self._calc(sub))
            for copy in sub.copies.values():
                book.open(copy.trader_ticket, copy.group, copy.notional)
                self._by_symbol.setdefault(copy.symbol, {})[sub.id] = sub

    def _calc(self, sub: Subscription) -> AccountMargin:
        key = (sub.account_type, sub.currency, sub.leverage)
        calc = self._calcs.get(key)
        if calc is None:
            calc = self._calcs[key] = self.rules.margin_for(*key)
        return calc

    # ------------------------------------------------------------------ the one entry point
    def handle(self, event: ev.Event) -> Step:
        s = self.s
        s.seq += 1
        self._commands: list[Command] = []
        self._records: list[Record] = []
        now = event.now
        if s.now is None or now > s.now:
            self._advance(now)
            s.now = now
        handler = _HANDLERS.get(type(event))
        if handler is None:
            raise DomainError("unknown_event", f"unknown event type {type(event).__name__}")
        handler(self, event)
        return Step(tuple(self._commands), tuple(self._records))

    # ------------------------------------------------------------------ time
    def _advance(self, now: int) -> None:
        s, c = self.s, self.config
        if s.next_payout is None or s.next_ib_credit is None:
            s.next_payout = cm.next_weekly(now, c.payout_weekday, c.server_utc_offset_ms)
            s.next_ib_credit = cm.next_period(now, c.ib_credit_period_ms, c.server_utc_offset_ms)
            return
        while min(s.next_payout, s.next_ib_credit) <= now:
            if s.next_payout <= s.next_ib_credit:
                self._weekly_payout(s.next_payout)
                s.next_payout = cm.next_weekly(s.next_payout, c.payout_weekday, c.server_utc_offset_ms)
            else:
                self._records.extend(s.partners.credit(s.next_ib_credit, self.wallets))
                s.next_ib_credit += c.ib_credit_period_ms

    def _weekly_payout(self, at: int) -> None:
        for sub in self._live():
            amount = round_money(sub.accrued)
            if amount > 0:
                self._pay_commission(sub, amount, "weekly", at)

    def _pay_commission(self, sub: Subscription, amount: Decimal, reason: str, at: int) -> Decimal:
        pay = min(amount, max(sub.balance, ZERO))
        sub.accrued -= pay
        if pay <= 0:
            return ZERO
        sub.balance -= pay
        sub.commission_paid += pay
        self._balance_command(sub, -pay, "commission")
        self._records.append(CommissionPaid(at, sub.id, sub.trader, pay, reason))
        self._records.append(self.wallets.move(at, sub.trader, pay, "commission", sub.id))
        return pay

    def _live(self) -> list[Subscription]:
        return sorted((x for subs in self._trader_subs.values() for x in subs), key=lambda x: x.id)

    # ------------------------------------------------------------------ helpers
    def _refuse(self, request: str, code: str, detail: str, subscription: int | None = None) -> None:
        self._records.append(Refused(self.s.now or 0, request, code, detail, subscription))

    def _next_id(self) -> int:
        cid = self.s.next_command
        self.s.next_command = cid + 1
        return cid

    def _balance_command(self, sub: Subscription, amount: Decimal, reason: str) -> None:
        sub.balance_seq += 1
        key = idempotency_key(sub.id, 0, reason, sub.balance_seq)
        self.s.pending[key] = Pending(sub.id, 0, "balance", amount, reason)
        self._commands.append(BalanceOperation(self._next_id(), key, sub.id, sub.account, amount, reason))

    def _rates(self) -> Rates:
        if self._rates_cache is None:
            self._rates_cache = Rates({sym: (bid + ask) / 2 for sym, (bid, ask) in self.s.prices.items()
                                       if len(sym) == 6 and sym.isalpha()})
        return self._rates_cache

    def _sub_for(self, request: str, sub_id: int, requester: str | None) -> Subscription | None:
        sub = self.s.subscriptions.get(sub_id)
        if sub is None:
            self._refuse(request, "unknown_subscription", f"no subscription {sub_id}", sub_id)
            return None
        if requester is not None and requester != sub.investor:
            self._refuse(request, "forbidden", f"subscription {sub_id} belongs to another investor", sub_id)
            return None
        if sub.state in (SubState.STOPPED, SubState.STOPPING):
            self._refuse(request, "subscription_stopped", f"subscription {sub_id} is {sub.state.value}", sub_id)
            return None
        return sub

    def _check_pct(self, request: str, value: object, maximum: Decimal, what: str) -> bool:
        if not isinstance(value, Decimal) or not value.is_finite() or not ZERO <= value <= maximum:
            self._refuse(request, f"invalid_{what}", f"{what} {value} must be within 0..{maximum} %")
            return False
        return True

    # ------------------------------------------------------------------ wallets and parties
    def _on_wallet_deposited(self, e: ev.WalletDeposited) -> None:
        if e.amount <= 0 or e.amount != round_money(e.amount):
            return self._refuse("deposit", "invalid_amount", f"amount {e.amount} must be positive whole cents")
        self.s.deposits += e.amount
        self._records.append(self.wallets.move(e.now, e.owner, e.amount, "deposit"))

    def _on_wallet_withdrawn(self, e: ev.WalletWithdrawn) -> None:
        if e.amount <= 0 or e.amount != round_money(e.amount):
            return self._refuse("withdraw", "invalid_amount", f"amount {e.amount} must be positive whole cents")
        if e.amount > self.wallets.balance(e.owner):
            return self._refuse("withdraw", "insufficient_funds",
                                f"wallet {self.wallets.balance(e.owner)} < {e.amount}")
        self.s.withdrawals += e.amount
        self._records.append(self.wallets.move(e.now, e.owner, -e.amount, "withdrawal"))

    def _on_trader_registered(self, e: ev.TraderRegistered) -> None:
        if e.trader in self.s.traders:
            return self._refuse("register_trader", "duplicate_trader", f"trader {e.trader} exists")
        if e.account in self._trader_by_account or e.account in self._sub_by_account:
            return self._refuse("register_trader", "account_in_use", f"account {e.account} is in use")
        if not self._check_pct("register_trader", e.commission_pct, self.config.max_commission_pct, "commission"):
            return None
        try:
            self.rules.margin_for(e.account_type, e.currency, e.leverage)
        except DomainError as err:
            return self._refuse("register_trader", err.code, err.detail)
        t = TraderRecord(e.trader, e.account, self.rules.account_types.get(e.account_type).id, e.currency,
                         e.leverage, e.commission_pct, self.s.seq)
        self.s.traders[e.trader] = t
        self._trader_by_account[e.account] = e.trader
        self._trader_subs.setdefault(e.trader, [])

    def _on_trader_commission_changed(self, e: ev.TraderCommissionChanged) -> None:
        t = self.s.traders.get(e.trader)
        if t is None:
            return self._refuse("set_commission", "unknown_trader", f"no trader {e.trader}")
        if self._check_pct("set_commission", e.commission_pct, self.config.max_commission_pct, "commission"):
            t.commission_pct = e.commission_pct  # §10: only new subscriptions lock this

    def _on_commission_cap_set(self, e: ev.CommissionCapSet) -> None:
        t = self.s.traders.get(e.trader)
        if t is None:
            return self._refuse("cap_commission", "unknown_trader", f"no trader {e.trader}")
        if e.cap_pct is None or self._check_pct("cap_commission", e.cap_pct, self.config.max_commission_pct,
                                                "commission"):
            t.cap_pct = e.cap_pct

    def _on_partner_registered(self, e: ev.PartnerRegistered) -> None:
        if e.partner in self.s.partners.partners:
            return self._refuse("register_partner", "duplicate_partner", f"partner {e.partner} exists")
        code = self.s.partners.register(e.partner, e.referrer, e.trader_rate_per_lot)
        if code is not None:
            self._refuse("register_partner", code, f"partner {e.partner}: {code}")

    def _on_client_assigned(self, e: ev.ClientAssigned) -> None:
        book = self.s.partners
        if e.partner not in book.partners:
            return self._refuse("assign_client", "unknown_partner", f"no partner {e.partner}")
        if e.client in book.clients:
            return self._refuse("assign_client", "already_assigned", f"{e.client} already has an IB")
        if e.client == e.partner:
            return self._refuse("assign_client", "self_referral", f"{e.client} cannot refer itself")
        book.clients[e.client] = e.partner

    # ------------------------------------------------------------------ subscriptions
    def _on_subscribe(self, e: ev.Subscribe) -> None:
        s, c, req = self.s, self.config, "subscribe"
        t = s.traders.get(e.trader)
        if t is None:
            return self._refuse(req, "unknown_trader", f"no trader {e.trader}")
        if t.account_type not in c.eligible_trader_types:
            return self._refuse(req, "trader_not_eligible",
                                f"trader account type {t.account_type} is not one of {c.eligible_trader_types}")
        if e.investor == e.trader:
            return self._refuse(req, "self_copy", "an investor cannot copy their own trader account")
        if e.amount <= 0 or e.amount != round_money(e.amount):
            return self._refuse(req, "invalid_amount", f"amount {e.amount} must be positive whole cents")
        if e.amount > self.wallets.balance(e.investor):
            return self._refuse(req, "insufficient_funds", f"wallet {self.wallets.balance(e.investor)} < {e.amount}")
        if e.protection_pct is not None and not self._check_pct(req, e.protection_pct, c.max_protection_pct,
                                                                "protection"):
            return None
        try:
            mode = VolumeMode(e.mode)
        except ValueError:
            return self._refuse(req, "invalid_mode", f"unknown volume mode {e.mode!r}")
        if e.account in self._trader_by_account or e.account in self._sub_by_account:
            return self._refuse(req, "account_in_use", f"account {e.account} is in use")
        if e.currency != "USD":
            return self._refuse(req, "invalid_currency", "investor accounts are funded from the USD wallet")
        try:
            account_type = self.rules.account_types.get(e.account_type or c.investor_account_type)
            self.rules.margin_for(account_type, e.currency, e.leverage)
        except DomainError as err:
            return self._refuse(req, err.code, err.detail)
        if e.leverage not in account_type.leverages:
            return self._refuse(req, "invalid_leverage", f"1:{e.leverage} is not offered on {account_type.title}")
        low = trading_refusal(account_type, e.currency, e.amount, Rates())
        if low is not None:
            return self._refuse(req, "below_min_deposit", low.detail)
        sub = Subscription(s.next_subscription, e.investor, e.trader, e.account, account_type.id, e.currency,
                           e.leverage, mode, e.protection_pct, t.commission_pct, e.amount, e.now, s.seq,
                           balance=e.amount, online=s.terminals.get(e.account, True))
        s.next_subscription += 1
        s.subscriptions[sub.id] = sub
        self._sub_by_account[sub.account] = sub
        self._trader_subs[sub.trader].append(sub)  # ids ascend: the list stays sorted
        self._books[sub.id] = MarginBook(self._calc(sub))
        self._records.append(self.wallets.move(e.now, e.investor, -e.amount, "invest", sub.id))
        self._balance_command(sub, e.amount, "invest")
        self._records.append(SubscriptionStarted(e.now, sub.id, sub.investor, sub.trader, sub.account, e.amount,
                                                 mode.value, sub.protection_pct, sub.commission_pct))

    def _on_edit_settings(self, e: ev.EditSettings) -> None:
        sub = self._sub_for("edit", e.subscription, e.requester)
        if sub is None:
            return
        mode, prot = sub.mode, sub.protection_pct
        if e.mode is not ev.UNSET:
            try:
                mode = VolumeMode(e.mode)  # type: ignore[arg-type]
            except ValueError:
                return self._refuse("edit", "invalid_mode", f"unknown volume mode {e.mode!r}", sub.id)
        if e.protection_pct is not ev.UNSET:
            if e.protection_pct is not None and not self._check_pct(
                    "edit", e.protection_pct, self.config.max_protection_pct, "protection"):
                return
            prot = e.protection_pct  # type: ignore[assignment]
        sub.mode, sub.protection_pct = mode, prot
        self._resume(sub)

    def _on_resume(self, e: ev.Resume) -> None:
        sub = self._sub_for("resume", e.subscription, e.requester)
        if sub is not None:
            self._resume(sub)

    def _resume(self, sub: Subscription) -> None:
        sub.state = _ACTIVE
        self._records.append(SubscriptionEdited(self.s.now or 0, sub.id, sub.mode.value, sub.protection_pct,
                                                sub.state.value))

    def _on_stop_copying(self, e: ev.StopCopying) -> None:
        sub = self._sub_for("stop", e.subscription, e.requester)
        if sub is None:
            return
        close_open = e.close_open or e.requester is None  # §8.2: the service may always unsubscribe
        if sub.copies and not close_open:
            return self._refuse("stop", "copies_open",
                                f"{len(sub.copies)} copied trades are open: close them first (§2.3)", sub.id)
        sub.state = SubState.STOPPING
        sub.stop_by = e.requester if e.requester is not None else "service"
        self._records.append(SubscriptionStopping(e.now, sub.id, len(sub.copies)))
        for ticket in sorted(sub.copies):
            self._close_copy(sub, sub.copies[ticket], "stop_copying")
        self._maybe_finish(sub)

    def _maybe_finish(self, sub: Subscription) -> None:
        if sub.state is not SubState.STOPPING or sub.copies:
            return
        now = self.s.now or 0
        due = round_money(sub.accrued)
        paid = self._pay_commission(sub, due, "stop", now) if due > 0 else ZERO
        sub.accrued = ZERO  # a sub-cent remainder (or what the balance could not cover) is dropped
        sub.floating = ZERO
        returned = sub.balance
        if returned > 0:
            self._balance_command(sub, -returned, "return")
            self._records.append(self.wallets.move(now, sub.investor, returned, "return", sub.id))
        sub.balance = ZERO
        sub.state = SubState.STOPPED
        self._trader_subs[sub.trader].remove(sub)
        self._sub_by_account.pop(sub.account, None)
        self._books.pop(sub.id, None)
        self._records.append(SubscriptionStopped(now, sub.id, returned, paid))

    # ------------------------------------------------------------------ copying
    def _on_trader_position_opened(self, e: ev.TraderPositionOpened) -> None:
        t = self.s.traders.get(e.trader)
        if t is None or e.ticket in t.positions:
            return  # not a trader of the service, or a duplicate report
        pos = TraderPosition(e.ticket, e.symbol, e.side, e.volume, e.price,
                             e.opened_at if e.opened_at is not None else e.now, self.s.seq, e.sl, e.tp)
        t.positions[e.ticket] = pos
        self._fan_out(t, pos, self._trader_subs.get(t.id, ()))

    def _fan_out(self, t: TraderRecord, pos: TraderPosition, subs: list[Subscription] | tuple) -> None:
        if not subs:
            return
        now = self.s.now or 0
        try:
            spec = self.rules.symbols.get(pos.symbol)
        except DomainError as err:
            for sub in subs:
                self._records.append(CopyRefused(now, sub.id, t.id, pos.ticket, err.code, err.detail))
            return
        eligible = t.account_type in self.config.eligible_trader_types
        limits = self.config.limits
        equal = copy_volume(_EQUAL, pos.volume, limits=limits)
        # Investor accounts are USD (Subscribe refuses others), so the notional depends on the volume only.
        notionals: dict[Decimal, Decimal] = {}
        rates = self._rates()
        records, commands = self._records, self._commands
        group, symbol, ticket, side, price, trader_volume = (spec.group, pos.symbol, pos.ticket, pos.side,
                                                             pos.price, pos.volume)
        opened_at, trader_id = pos.opened_at, t.id
        trader_equity, trader_leverage = t.equity, t.leverage
        proportional_fast = trader_equity > 0 and trader_leverage > 0 and trader_volume > 0
        denominator = trader_equity * trader_leverage
        # The copy limits of §5 are the service's; a symbol may be stricter (indices trade in 0.1 lots).
        symbol_checks = (spec.volume_step != limits.step or spec.volume_min > limits.minimum
                         or spec.volume_max < limits.maximum)
        books, by_symbol = self._books, self._by_symbol.setdefault(symbol, {})
        active, suspended, equal_mode, opening = _ACTIVE, SubState.SUSPENDED, _EQUAL, _OPENING
        next_id = self.s.next_command
        for sub in subs:
            if sub.state is not active:
                code = "protection_suspended" if sub.state is suspended else "subscription_stopped"
                records.append(CopyRefused(now, sub.id, trader_id, ticket, code, f"subscription is {sub.state.value}"))
                continue
            if not eligible:
                records.append(CopyRefused(now, sub.id, trader_id, ticket, "trader_not_eligible",
                                           f"trader account type {t.account_type} is not eligible (§7)"))
                continue
            if not sub.online:
                records.append(CopyRefused(now, sub.id, trader_id, ticket, "terminal_offline",
                                           f"terminal of account {sub.account} is offline"))
                continue
            if opened_at < sub.started_at:
                records.append(CopyRefused(now, sub.id, trader_id, ticket, "opened_before_subscription",
                                           "only trades opened after the subscription are copied (§4.1)"))
                continue
            equity = sub.balance + sub.floating
            if sub.mode is equal_mode:
                decision = equal
            elif equity > 0 and proportional_fast:
                # §4.5.2 from the current equities: the domain's formula with the trader's side
                # precomputed once per deal - (ie x il x tv) / (te x tl), one division, same
                # operands as `copy_volume` (a property test pins them equal) - then the
                # domain's §5 normalisation.
                decision = normalise(equity * sub.leverage * trader_volume / denominator, limits)
            else:
                decision = copy_volume(_PROPORTIONAL, trader_volume, investor_equity=equity,
                                       trader_equity=trader_equity, investor_leverage=sub.leverage,
                                       trader_leverage=trader_leverage, limits=limits)
            volume = decision.volume
            if volume is None:
                records.append(CopyRefused(now, sub.id, trader_id, ticket, decision.reason or "volume",
                                           f"copy volume {decision.raw} lots"))
                continue
            if symbol_checks:
                problem = spec.volume_problem(volume)
                if problem is not None:
                    records.append(CopyRefused(now, sub.id, trader_id, ticket, "invalid_volume", problem))
                    continue
            notional = notionals.get(volume)
            if notional is None:  # one conversion per distinct volume in a deal
                notional = notionals[volume] = position_notional(spec, volume, price, sub.currency, rates)
            # Pre-trade check under the tiered model: the book takes the copy (reserving its
            # margin until the fill) and answers the account's total margin with it; equal to
            # `total_if_opened` by construction, one tier look-up instead of two.
            book = books[sub.id]
            try:
                required = book.open(ticket, group, notional)
            except DomainError as err:
                records.append(CopyRefused(now, sub.id, trader_id, ticket, err.code, err.detail))
                continue
            if equity < required:
                book.close(ticket)
                records.append(CopyRefused(now, sub.id, trader_id, ticket, "no_money",
                                           f"{volume} lots: equity {equity} < margin {required} after the copy"))
                continue
            sub.copies[ticket] = Copy(ticket, symbol, group, side, volume, opening, 1, None, price, notional)
            by_symbol[sub.id] = sub
            # = idempotency_key(sub.id, ticket, "open", 1), inlined; opens need no Pending entry:
            # the key names the subscription and the trader position, the copy is OPENING.
            commands.append(OpenCopy(next_id, f"s{sub.id}-t{ticket}-open-1", sub.id, sub.account, ticket, symbol,
                                     side, volume, price))
            next_id += 1
        self.s.next_command = next_id

    def _on_trader_position_modified(self, e: ev.TraderPositionModified) -> None:
        t = self.s.traders.get(e.trader)
        pos = t.positions.get(e.ticket) if t else None
        if t is None or pos is None:
            return
        pos.sl, pos.tp = e.sl, e.tp
        if not self.config.mirror_stops:
            return  # §4.2: stops stay on the trader account; its trigger closes the copies
        for sub in self._trader_subs.get(t.id, ()):
            copy = sub.copies.get(e.ticket)
            if copy is None or copy.state is not _OPEN or copy.close_reason:
                continue
            copy.seq += 1
            key = idempotency_key(sub.id, e.ticket, "modify", copy.seq)
            self.s.pending[key] = Pending(sub.id, e.ticket, "modify", ZERO, "mirror_stops")
            assert copy.ticket is not None
            self._commands.append(ModifyCopy(self._next_id(), key, sub.id, sub.account, e.ticket, copy.ticket,
                                             e.sl, e.tp))

    def _on_trader_position_closed(self, e: ev.TraderPositionClosed) -> None:
        t = self.s.traders.get(e.trader)
        pos = t.positions.get(e.ticket) if t else None
        if t is None or pos is None or e.volume <= 0:
            return
        closed = min(e.volume, pos.volume)
        full = closed >= pos.volume
        t.record_close(closed, e.profit, full)
        self._records.extend(self.s.partners.trader_volume(e.now, t.id, closed, self.config))
        self._trader_closed(t, pos, closed, "trader_" + e.reason)

    def _trader_closed(self, t: TraderRecord, pos: TraderPosition, closed: Decimal, reason: str) -> None:
        fraction = closed / pos.volume
        full = closed >= pos.volume
        if full:
            del t.positions[pos.ticket]
        else:
            pos.volume -= closed
        for sub in self._trader_subs.get(t.id, ()):
            copy = sub.copies.get(pos.ticket)
            if copy is None:
                continue
            if full:
                self._close_copy(sub, copy, reason)
            else:
                self._partial(sub, copy, fraction, reason)

    def _close_copy(self, sub: Subscription, copy: Copy, reason: str) -> None:
        """The whole copy must go; an opening copy is closed as soon as it fills."""
        if copy.close_reason is None:
            copy.close_reason = reason
        if copy.state is _OPEN:
            self._request_close(sub, copy, copy.volume - copy.closing, copy.close_reason)

    def _partial(self, sub: Subscription, copy: Copy, fraction: Decimal, reason: str) -> None:
        if copy.close_reason is not None:
            return
        if copy.state is _OPENING:
            copy.scale *= ONE - fraction
            return
        available = copy.volume - copy.closing
        limits = self.config.limits
        decision = normalise(available * fraction, limits)
        if decision.volume is None:
            self._records.append(CloseSkipped(self.s.now or 0, sub.id, copy.trader_ticket, decision.reason or "",
                                              f"{available} x {fraction} = {decision.raw} lots"))
            return
        volume = min(decision.volume, available)
        if available - volume < limits.minimum:  # the remainder would be below the minimum
            self._close_copy(sub, copy, reason)
        else:
            self._request_close(sub, copy, volume, reason.replace("trader_", "trader_partial_", 1))

    def _request_close(self, sub: Subscription, copy: Copy, volume: Decimal, reason: str) -> None:
        if volume <= 0 or copy.ticket is None:
            return
        copy.seq += 1
        copy.closing += volume
        key = idempotency_key(sub.id, copy.trader_ticket, "close", copy.seq)
        self.s.pending[key] = Pending(sub.id, copy.trader_ticket, "close", volume, reason)
        self._commands.append(CloseCopy(self._next_id(), key, sub.id, sub.account, copy.trader_ticket,
                                        copy.ticket, volume, reason))

    # ------------------------------------------------------------------ command results
    def _opening(self, key: str) -> tuple[Subscription, Copy] | None:
        """The copy an open key names, while it waits for its fill."""
        parts = key.split("-")
        if len(parts) != 4 or parts[2] != "open" or parts[3] != "1":
            return None
        try:
            sub = self.s.subscriptions.get(int(parts[0][1:]))
            ticket = int(parts[1][1:])
        except ValueError:
            return None
        copy = sub.copies.get(ticket) if sub is not None else None
        if copy is None or copy.state is not _OPENING:
            return None
        return sub, copy

    def _on_command_filled(self, e: ev.CommandFilled) -> None:
        p = self.s.pending.pop(e.key, None)
        if p is None:
            found = self._opening(e.key)
            if found is not None:
                self._opened(*found, e)
            return  # otherwise unknown or already answered: idempotent
        sub = self.s.subscriptions[p.subscription]
        copy = sub.copies.get(p.trader_ticket)
        if p.action == "close" and copy is not None:
            copy.closing = max(copy.closing - p.volume, ZERO)
            self._closed(sub, copy, e.now, e.volume if e.volume > 0 else p.volume, e.price, e.profit, p.reason)

    def _on_copy_closed_by_server(self, e: ev.CopyClosedByServer) -> None:
        """The server closed (part of) a copy by itself: book it like a filled close, so the
        engine never retries a close of a position that is gone."""
        sub = self._sub_by_account.get(e.account)
        if sub is None:
            return
        copy = next((c for c in sub.copies.values() if c.ticket == e.ticket), None)
        if copy is None or e.volume <= 0:
            return  # unknown or already booked: idempotent
        self._closed(sub, copy, e.now, e.volume, e.price, e.profit, f"server_{e.reason}")

    def _opened(self, sub: Subscription, copy: Copy, e: ev.CommandFilled) -> None:
        copy.state = _OPEN
        copy.ticket = e.ticket
        if e.volume > 0:
            copy.volume = e.volume
        if e.price > 0:
            copy.price = e.price
        spec = self.rules.symbols.get(copy.symbol)
        copy.notional = position_notional(spec, copy.volume, copy.price, sub.currency, self._rates())
        self._books[sub.id].resize(copy.trader_ticket, copy.notional)
        assert e.ticket is not None
        self._records.append(CopyOpened(e.now, sub.id, copy.trader_ticket, e.ticket, copy.volume, copy.price))
        if copy.close_reason is not None:
            self._close_copy(sub, copy, copy.close_reason)
        elif copy.scale < ONE:
            fraction, copy.scale = ONE - copy.scale, ONE
            self._partial(sub, copy, fraction, "trader_client")

    def _closed(self, sub: Subscription, copy: Copy, now: int, volume: Decimal, price: Decimal,
                profit: Decimal, reason: str) -> None:
        """Book `volume` of `copy` closed at `price` with the server's realised `profit`."""
        volume = min(volume, copy.volume)
        profit = round_money(profit)
        before = copy.volume
        share = copy.floating * volume / before
        copy.floating -= share
        sub.floating -= share
        copy.volume = before - volume
        sub.balance += profit
        sub.realised += profit
        sub.volume += volume
        records = self._records
        t = self.s.traders[sub.trader]
        rate = cm.effective_rate(sub.commission_pct, t.cap_pct)
        amount, sub.high_water_mark = cm.accrue(sub.realised, sub.high_water_mark, rate)
        if amount > 0:
            sub.accrued += amount
            records.append(CommissionAccrued(now, sub.id, sub.trader, amount, sub.high_water_mark, rate))
        records.extend(self.s.partners.investor_volume(now, sub.investor, copy.group, volume, self.config))
        assert copy.ticket is not None
        records.append(CopyClosed(now, sub.id, copy.trader_ticket, copy.ticket, volume, copy.volume,
                                  price, profit, reason))
        book = self._books[sub.id]
        if copy.volume <= 0:
            sub.trades += 1
            del sub.copies[copy.trader_ticket]
            book.close(copy.trader_ticket)
            if not sub.copies:
                sub.floating = ZERO
                self._by_symbol.get(copy.symbol, {}).pop(sub.id, None)
            elif not any(c.symbol == copy.symbol for c in sub.copies.values()):
                self._by_symbol.get(copy.symbol, {}).pop(sub.id, None)
        else:
            copy.notional = (copy.notional * copy.volume / before).quantize(NOTIONAL_QUANTUM)
            book.resize(copy.trader_ticket, copy.notional)
            if copy.close_reason is not None and copy.closing == 0:
                self._request_close(sub, copy, copy.volume, copy.close_reason)
        self._maybe_finish(sub)

    def _on_command_refused(self, e: ev.CommandRefused) -> None:
        p = self.s.pending.pop(e.key, None)
        if p is None:
            found = self._opening(e.key)
            if found is not None:
                sub, copy = found
                del sub.copies[copy.trader_ticket]
                self._books[sub.id].close(copy.trader_ticket)
                if not any(c.symbol == copy.symbol for c in sub.copies.values()):
                    self._by_symbol.get(copy.symbol, {}).pop(sub.id, None)
                self._records.append(CopyRefused(e.now, sub.id, sub.trader, copy.trader_ticket, "server_refused",
                                                 e.detail or f"retcode {e.retcode}", e.retcode))
                self._maybe_finish(sub)
            return
        sub = self.s.subscriptions[p.subscription]
        copy = sub.copies.get(p.trader_ticket)
        if p.action == "close" and copy is not None:
            copy.closing = max(copy.closing - p.volume, ZERO)
            # Retried on the next TimePassed / TerminalOnline - except when the position is
            # already gone: the server's own close arrives as CopyClosedByServer.
            copy.retry_close = e.retcode != POSITION_CLOSED
            self._records.append(CloseFailed(e.now, sub.id, p.trader_ticket, e.retcode,
                                             e.detail or f"retcode {e.retcode}"))
        elif p.action == "balance":
            self._refuse("balance_operation", "server_refused",
                         f"{p.reason} {p.volume} refused with retcode {e.retcode}; resend key {e.key}", sub.id)

    def _retry_closes(self, subs: list[Subscription]) -> None:
        for sub in subs:
            for ticket in sorted(sub.copies):
                copy = sub.copies[ticket]
                if copy.retry_close and copy.state is _OPEN:
                    copy.retry_close = False
                    if copy.close_reason is not None:
                        self._request_close(sub, copy, copy.volume - copy.closing, copy.close_reason)

    # ------------------------------------------------------------------ accounts, market, time
    def _on_account_updated(self, e: ev.AccountUpdated) -> None:
        trader = self._trader_by_account.get(e.account)
        if trader is not None:
            t = self.s.traders[trader]
            t.balance, t.equity = e.balance, e.equity  # §6: existing copies are never resized
            return
        sub = self._sub_by_account.get(e.account)
        if sub is not None:
            sub.floating = e.equity - e.balance  # the server's floating result over our ledger balance
            self._check_risk(sub)

    def _on_price_tick(self, e: ev.PriceTick) -> None:
        self.s.prices[e.symbol] = (e.bid, e.ask)
        self._rates_cache = None
        holders = self._by_symbol.get(e.symbol)
        if not holders:
            return
        spec = self.rules.symbols.get(e.symbol)
        rates = self._rates()
        for sub_id in sorted(holders):
            sub = holders[sub_id]
            total = ZERO
            for copy in sub.copies.values():
                if copy.symbol == e.symbol and copy.state is _OPEN:
                    close_price = e.bid if copy.side.sign > 0 else e.ask
                    copy.floating = position_profit(spec, copy.side, copy.volume, copy.price, close_price,
                                                    sub.currency, rates)
                total += copy.floating
            sub.floating = total
            self._check_risk(sub)

    def _check_risk(self, sub: Subscription) -> None:
        now = self.s.now or 0
        equity = sub.balance + sub.floating
        if sub.state is _ACTIVE and protection.triggered(equity, sub.balance, sub.protection_pct):
            assert sub.protection_pct is not None
            sub.state = SubState.SUSPENDED
            self._records.append(ProtectionTriggered(now, sub.id, equity, sub.balance,
                                                     protection.threshold(sub.balance, sub.protection_pct),
                                                     sub.protection_pct))
            for ticket in sorted(sub.copies):
                self._close_copy(sub, sub.copies[ticket], "protection")
            return
        book = self._books.get(sub.id)
        if book is None or not book.total:
            return
        level_limit = self.rules.account_types.get(sub.account_type).stop_out_level
        level = margin_level(equity, book.total)
        if not at_or_below(level, level_limit):
            return
        open_copies = [c for c in sub.copies.values() if c.state is _OPEN and c.close_reason is None]
        if not open_copies:
            return
        risks = [PositionRisk(c.ticket, c.group, c.notional, c.floating) for c in open_copies]  # type: ignore[arg-type]
        balance = equity - sum((c.floating for c in open_copies), ZERO)
        closes = stop_out(balance, risks, book.calc, level_limit)
        if not closes:
            return
        assert level is not None
        self._records.append(StopOutTriggered(now, sub.id, sub.account, level, len(closes)))
        by_ticket = {c.ticket: c for c in open_copies}
        for close in closes:
            self._close_copy(sub, by_ticket[close.ticket], "stop_out")

    def _on_time_passed(self, e: ev.TimePassed) -> None:
        self._retry_closes([sub for sub in self._live() if sub.copies])

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

    # ------------------------------------------------------------------ reconciliation
    def _on_trader_snapshot(self, e: ev.TraderSnapshot) -> None:
        """After a reconnect: close copies of positions that closed meanwhile, shrink copies of
        positions partially closed, and never copy a position opened before a subscription."""
        t = self.s.traders.get(e.trader)
        if t is None:
            return
        snap = {p.ticket: p for p in e.positions}
        for ticket in sorted(t.positions):
            pos = t.positions[ticket]
            seen = snap.get(ticket)
            if seen is None:
                self._trader_closed(t, pos, pos.volume, "reconcile")
            elif seen.volume < pos.volume:
                self._trader_closed(t, pos, pos.volume - seen.volume, "reconcile")
        for ticket in sorted(snap):
            if ticket in t.positions:
                continue
            p = snap[ticket]
            pos = TraderPosition(p.ticket, p.symbol, p.side, p.volume, p.price, p.opened_at, self.s.seq)
            t.positions[ticket] = pos
            late, never = [], []
            for sub in self._trader_subs.get(t.id, ()):
                if p.opened_at < sub.started_at:
                    never.append(sub)
                elif e.now - p.opened_at <= self.config.late_copy_window_ms:
                    late.append(sub)
                else:
                    self._records.append(CopyRefused(e.now, sub.id, t.id, ticket, "missed_while_disconnected",
                                                     f"opened at {p.opened_at}, seen at {e.now}"))
            for sub in never:
                self._records.append(CopyRefused(e.now, sub.id, t.id, ticket, "opened_before_subscription",
                                                 "only trades opened after the subscription are copied (§4.1)"))
            if late:
                pos.seen_seq = max(sub.started_seq for sub in late) + 1
                self._fan_out(t, pos, late)
        # A copy whose trader position the engine no longer knows must not stay open.
        for sub in self._trader_subs.get(t.id, ()):
            for ticket in sorted(sub.copies):
                if ticket not in t.positions:
                    self._close_copy(sub, sub.copies[ticket], "reconcile")

    # ------------------------------------------------------------------ queries
    def wallet(self, requester: str, owner: str) -> Decimal | Refusal:
        """A wallet's balance, visible to its owner only."""
        if requester != owner:
            return Refusal("forbidden", f"{requester!r} may not read the wallet of {owner!r}")
        return self.wallets.balance(owner)

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
        t = self.s.traders[sub.trader]
        return SubscriptionView(sub.id, sub.trader, sub.state.value, sub.mode.value, sub.protection_pct,
                                cm.effective_rate(sub.commission_pct, t.cap_pct), sub.invested, sub.balance,
                                sub.equity, sub.realised, sub.accrued.quantize(CENT), sub.commission_paid,
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
        """(sources, holdings): deposits - withdrawals + realised P/L + IB credits, and wallets +
        balances of live subscriptions. Equal to the cent at all times."""
        s = self.s
        realised = sum((x.realised for x in s.subscriptions.values()), ZERO)
        sources = s.deposits - s.withdrawals + realised + s.partners.credited
        holdings = self.wallets.total() + sum((x.balance for x in s.subscriptions.values()), ZERO)
        return sources, holdings


_HANDLERS: dict[type, Callable[[Engine, object], None]] = {
    ev.WalletDeposited: Engine._on_wallet_deposited,
    ev.WalletWithdrawn: Engine._on_wallet_withdrawn,
    ev.TraderRegistered: Engine._on_trader_registered,
    ev.TraderCommissionChanged: Engine._on_trader_commission_changed,
    ev.CommissionCapSet: Engine._on_commission_cap_set,
    ev.PartnerRegistered: Engine._on_partner_registered,
    ev.ClientAssigned: Engine._on_client_assigned,
    ev.Subscribe: Engine._on_subscribe,
    ev.EditSettings: Engine._on_edit_settings,
    ev.Resume: Engine._on_resume,
    ev.StopCopying: Engine._on_stop_copying,
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
}  # type: ignore[dict-item]
