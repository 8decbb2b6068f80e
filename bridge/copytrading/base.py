"""What every part of the engine shares: the persisted state, the step being built, and the
small helpers. `Engine` (engine.py) is this base plus one mixin per concern: parties.py
(wallets, traders, partners, subscriptions), copying.py (fan-out, open results,
withdrawals), closing.py (closes and their results), reconcile.py (trader and investor
snapshots), risk.py (protection, stop-out), money.py (commission payouts, IB credits).
Mixins call each other through `self`; only this base declares state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from bridge.copytrading.commands import BalanceOperation, Command, WithdrawOpen, idempotency_key
from bridge.copytrading.config import EngineConfig
from bridge.copytrading.partners import PartnerBook
from bridge.copytrading.pending_state import EarlyFill, TraderOrder
from bridge.copytrading.records import Record, Refused
from bridge.copytrading.subscription import Copy, CopyState, EarlyClose, Subscription, SubState
from bridge.copytrading.trader import TraderRecord
from bridge.copytrading.wallet import Wallets
from bridge.domain.currency import Rates, cent_parent
from bridge.domain.margin import AccountMargin, MarginBook
from bridge.domain.rules import Rules

CENT = Decimal("0.01")
ZERO = Decimal(0)
ONE = Decimal(1)
_ACTIVE = SubState.ACTIVE
_OPENING = CopyState.OPENING
_OPEN = CopyState.OPEN
_VANISHED = CopyState.VANISHED


@dataclass(frozen=True, slots=True)
class Step:
    """What one event produced: commands for investor accounts, records to journal and
    publish, and requests to the daemon to withdraw opens it may still hold."""

    commands: tuple[Command, ...] = ()
    records: tuple[Record, ...] = ()
    withdrawals: tuple[WithdrawOpen, ...] = ()


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
    # Losses beyond a subscription's funds (a gap past its stop-out), left at its stop: the
    # investor never owes more than invested, so the broker absorbs them.
    written_off: Decimal = ZERO
    # Server closes of positions not known yet, by investor account and ticket: kept only while
    # that account has an open in flight (nothing else can claim them). Not on Subscription:
    # an empty dict per subscription costs the fan-out cache misses.
    early_closes: dict[int, dict[int, list[EarlyClose]]] = field(default_factory=dict)
    # The trader's pending orders and their copies, by order ticket (pending.py)
    orders: dict[int, TraderOrder] = field(default_factory=dict)
    # Fills of investor orders not known yet, by investor account and order ticket: kept only
    # while that account has a copy order placing (pending.py, as early_closes for opens).
    early_fills: dict[int, dict[int, EarlyFill]] = field(default_factory=dict)


class EngineBase:
    """State and helpers shared by the engine's mixins."""

    config: EngineConfig
    rules: Rules
    s: _Persisted
    wallets: Wallets
    _commands: list[Command]
    _records: list[Record]
    _withdrawals: list[WithdrawOpen]
    _calcs: dict[tuple[str, str, int], AccountMargin]
    _books: dict[int, MarginBook]
    _trader_by_account: dict[int, str]
    _sub_by_account: dict[int, Subscription]
    _trader_subs: dict[str, list[Subscription]]
    _by_symbol: dict[str, dict[int, Subscription]]
    _rates_cache: Rates | None
    _retry_subs: set[int]  # subscriptions that may hold a copy whose close is to be retried

    def _calc(self, sub: Subscription) -> AccountMargin:
        key = (sub.account_type, sub.currency, sub.leverage)
        calc = self._calcs.get(key)
        if calc is None:
            calc = self._calcs[key] = self.rules.margin_for(*key)
        return calc

    def _trader_ineligible(self, t: TraderRecord) -> str | None:
        """Why the trader's account may not be copied (§7 type, §3 platform), or None."""
        c = self.config
        if t.account_type not in c.eligible_trader_types:
            return f"trader account type {t.account_type} is not one of {c.eligible_trader_types} (§7)"
        platform = self.rules.account_types.get(t.account_type).platform
        if platform not in c.trader_platforms:
            return f"trader account is on {platform}: the service is available on {', '.join(c.trader_platforms)} (§3)"
        return None

    def _live(self) -> list[Subscription]:
        return sorted((x for subs in self._trader_subs.values() for x in subs), key=lambda x: x.id)

    def _retry_due(self) -> list[Subscription]:
        """The live subscriptions, in id order, holding a copy whose close is to be retried: what
        a scan of every live subscription finds, at the cost of the few that have one (a tick
        must not sort thousands of subscriptions). Ones with none left leave the set."""
        subs, due = self.s.subscriptions, []
        for sid in sorted(self._retry_subs):
            sub = subs.get(sid)
            if sub is None or sub.state is SubState.STOPPED or not any(c.retry_close for c in sub.copies.values()):
                self._retry_subs.discard(sid)
            else:
                due.append(sub)
        return due

    # ------------------------------------------------------------------ helpers
    def _forget(self, sub: Subscription, copy: Copy) -> None:
        """The copy is over (closed, refused, withdrawn): out of the subscription, its margin
        released, and the symbol index kept to what the subscription still holds."""
        del sub.copies[copy.trader_ticket]
        self._books[sub.id].close(copy.trader_ticket)
        if not any(c.symbol == copy.symbol for c in sub.copies.values()):
            self._by_symbol.get(copy.symbol, {}).pop(sub.id, None)

    def _drop_early_closes(self, sub: Subscription) -> None:
        """No open of `sub` in flight any more: no fill can claim its early closes."""
        if sub.account in self.s.early_closes and not any(c.state is _OPENING for c in sub.copies.values()):
            del self.s.early_closes[sub.account]

    def _by_ticket(self, account: int, ticket: int) -> tuple[Subscription, Copy] | None:
        """The filled copy that is investor position `ticket` of `account`'s live subscription."""
        sub = self._sub_by_account.get(account)
        if sub is None:
            return None
        copy = next((c for c in sub.copies.values() if c.ticket == ticket), None)
        return (sub, copy) if copy is not None else None

    def _refuse(self, request: str, code: str, detail: str, subscription: int | None = None) -> None:
        self._records.append(Refused(self.s.now or 0, request, code, detail, subscription))

    def _next_id(self) -> int:
        cid = self.s.next_command
        self.s.next_command = cid + 1
        return cid

    @staticmethod
    def _units(sub: Subscription) -> Decimal:
        """Account-currency units per wallet USD: 100 on a Standard Cent account (USC, US
        cents), 1 on a USD account. The wallet is USD; the account's ledger is its currency."""
        cent = cent_parent(sub.currency)
        return cent[1] if cent is not None else ONE

    def _to_wallet(self, sub: Subscription, amount: Decimal) -> tuple[Decimal, Decimal]:
        """(USD for the wallet, the account amount it is): whole USD cents, rounded down on a
        cent account (the < 1 USC rest stays behind)."""
        units = self._units(sub)
        if units == ONE:
            return amount, amount
        usd = (amount / units).quantize(CENT, ROUND_DOWN)
        return usd, usd * units

    def _balance_command(self, sub: Subscription, amount: Decimal, reason: str) -> None:
        if sub.day_end:  # risk limits (risk_limits.py): money in or out is no trading result
            sub.day_base += amount
            sub.peak += amount
        sub.balance_seq += 1
        key = idempotency_key(sub.id, 0, reason, sub.balance_seq)
        self.s.pending[key] = Pending(sub.id, 0, "balance", amount, reason)
        self._commands.append(BalanceOperation(self._next_id(), key, sub.id, sub.account, amount, reason))

    def _observe_price(self, symbol: str, price: Decimal) -> None:
        """A deal price a terminal reported (the trader's open or close) is the pair's latest
        market price: kept as its rate until a fresher quote or deal (docs/copy-trading.md,
        "Where conversion rates come from"). A USDJPY deal values its own copies on a USD
        account; with an EURUSD quote, an EURJPY deal values its copies (a cross)."""
        if price > 0 and len(symbol) == 6 and symbol.isalpha() and self.s.prices.get(symbol) != (price, price):
            self.s.prices[symbol] = (price, price)
            self._rates_cache = None  # rebuilt only when a rate moved, not on every deal

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

