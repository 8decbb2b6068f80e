"""Wallets, traders, partners and the subscription lifecycle (subscribe, edit, resume, stop)."""

from __future__ import annotations

from decimal import Decimal

from bridge.copytrading import events as ev
from bridge.copytrading.base import _ACTIVE, ZERO, EngineBase
from bridge.copytrading.records import (CopySettingsChanged, InvestmentChanged, TraderStatusChanged, SubscriptionEdited,
                                        SubscriptionStarted, SubscriptionStopped, SubscriptionStopping)
from bridge.copytrading.settings import FIELDS as SETTING_FIELDS
from bridge.copytrading.settings import CopySettings, catalog_problem, seed_settings
from bridge.copytrading.subscription import Subscription, SubState
from bridge.copytrading.trader import TraderRecord
from bridge.domain.account import trading_refusal
from bridge.domain.currency import Rates, cent_parent
from bridge.domain.errors import DomainError
from bridge.domain.margin import MarginBook
from bridge.domain.money import HUNDRED, round_money
from bridge.domain.sizing import SEED_MODES, VolumeMode


class Parties(EngineBase):
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

    def _on_wallet_transferred(self, e: ev.WalletTransferred) -> None:
        if e.amount <= 0 or e.amount != round_money(e.amount):
            return self._refuse("transfer", "invalid_amount", f"amount {e.amount} must be positive whole cents")
        if e.from_owner == e.to_owner:
            return self._refuse("transfer", "same_owner", f"{e.from_owner} cannot transfer to itself")
        if e.amount > self.wallets.balance(e.from_owner):
            return self._refuse("transfer", "insufficient_funds",
                                f"wallet {self.wallets.balance(e.from_owner)} < {e.amount}")
        # Checked above, so neither move can fail: both movements land in the same step.
        self._records.append(self.wallets.move(e.now, e.from_owner, -e.amount, "transfer_out"))
        self._records.append(self.wallets.move(e.now, e.to_owner, e.amount, "transfer_in"))

    def _on_trader_disabled(self, e: ev.TraderDisabled) -> None:
        t = self.s.traders.get(e.trader)
        if t is None:
            return self._refuse("disable_trader", "unknown_trader", f"no trader {e.trader}")
        if t.disabled != e.disabled:
            t.disabled = e.disabled
            self._records.append(TraderStatusChanged(e.now, e.trader, e.disabled))

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

    def _on_rebate_set(self, e: ev.RebateSet) -> None:
        partner = self.s.partners.partners.get(e.partner)
        if partner is None:
            return self._refuse("set_rebate", "unknown_partner", f"no partner {e.partner}")
        if self._check_pct("set_rebate", e.rebate_pct, HUNDRED, "rebate"):
            partner.rebate_pct = e.rebate_pct  # deals from now on; what has accrued keeps its split

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
        ineligible = self._trader_ineligible(t)
        if ineligible is not None:
            return self._refuse(req, "trader_not_eligible", ineligible)
        if t.disabled:
            return self._refuse(req, "trader_disabled", f"trader {t.id} is disabled by the desk")
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
        try:  # a mode with a parameter (fixed, multiplier) is set with the copy settings
            settings = seed_settings(mode) if mode in SEED_MODES else CopySettings(mode=mode)
        except DomainError as err:
            return self._refuse(req, err.code, f"{err.detail}: subscribe, then set it with the copy settings")
        if e.account in self._trader_by_account or e.account in self._sub_by_account:
            return self._refuse(req, "account_in_use", f"account {e.account} is in use")
        if e.currency != "USD" and cent_parent(e.currency) != ("USD", HUNDRED):
            return self._refuse(req, "invalid_currency", "investor accounts are funded from the USD wallet "
                                                         "(USD, or US cents on a Standard Cent account)")
        try:
            account_type = self.rules.account_types.get(e.account_type or c.investor_account_type)
            self.rules.margin_for(account_type, e.currency, e.leverage)
        except DomainError as err:
            return self._refuse(req, err.code, err.detail)
        if account_type.platform not in c.investor_platforms:  # §3
            return self._refuse(req, "platform_not_allowed",
                                f"investor account type {account_type.id} is on {account_type.platform}: the service "
                                f"is available on {', '.join(c.investor_platforms)} (§3)")
        if e.leverage not in account_type.leverages:
            return self._refuse(req, "invalid_leverage", f"1:{e.leverage} is not offered on {account_type.title}")
        units = HUNDRED if e.currency != "USD" else Decimal(1)
        funded = e.amount * units  # the account's ledger is its currency: USC on a cent account
        low = trading_refusal(account_type, e.currency, funded, Rates())
        if low is not None:
            return self._refuse(req, "below_min_deposit", low.detail)
        sub = Subscription(s.next_subscription, e.investor, e.trader, e.account, account_type.id, e.currency,
                           e.leverage, mode, e.protection_pct, t.commission_pct, funded, e.now, s.seq,
                           balance=funded, online=s.terminals.get(e.account, True))
        sub.configure(settings)
        s.next_subscription += 1
        s.subscriptions[sub.id] = sub
        self._sub_by_account[sub.account] = sub
        self._trader_subs[sub.trader].append(sub)  # ids ascend: the list stays sorted
        self._books[sub.id] = MarginBook(self._calc(sub))
        self._records.append(self.wallets.move(e.now, e.investor, -e.amount, "invest", sub.id))
        self._balance_command(sub, funded, "invest")
        self._records.append(SubscriptionStarted(e.now, sub.id, sub.investor, sub.trader, sub.account, e.amount,
                                                 mode.value, sub.protection_pct, sub.commission_pct))

    def _on_edit_settings(self, e: ev.EditSettings) -> None:
        sub = self._sub_for("edit", e.subscription, e.requester)
        if sub is None:
            return
        settings, prot = sub.copy_settings, sub.protection_pct
        if e.mode is not ev.UNSET:
            try:
                mode = VolumeMode(e.mode)  # type: ignore[arg-type]
            except ValueError:
                return self._refuse("edit", "invalid_mode", f"unknown volume mode {e.mode!r}", sub.id)
            try:
                settings = CopySettings.from_dict({"mode": mode}, settings)
            except DomainError as err:  # fixed or multiplier without its parameter
                return self._refuse("edit", err.code, f"{err.detail}: set it with the copy settings", sub.id)
        if e.protection_pct is not ev.UNSET:
            if e.protection_pct is not None and not self._check_pct(
                    "edit", e.protection_pct, self.config.max_protection_pct, "protection"):
                return
            prot = e.protection_pct  # type: ignore[assignment]
        self._set_settings(sub, settings)
        sub.protection_pct = prot
        self._resume(sub, service=False)

    def _on_set_copy_settings(self, e: ev.SetCopySettings) -> None:
        sub = self._sub_for("set_copy_settings", e.subscription, e.requester)
        if sub is None:
            return
        changes = {name: value for name in SETTING_FIELDS if (value := getattr(e, name)) is not ev.UNSET}
        try:
            settings = CopySettings.from_dict(changes, sub.copy_settings)
        except DomainError as err:
            return self._refuse("set_copy_settings", err.code, err.detail, sub.id)
        problem = catalog_problem(settings, self.rules.symbols)
        if problem is not None:
            return self._refuse("set_copy_settings", "invalid_settings", problem, sub.id)
        self._set_settings(sub, settings)

    def _set_settings(self, sub: Subscription, settings: CopySettings) -> None:
        """From now on: trades opened after this copy by `settings`; open copies keep theirs."""
        before = sub.copy_settings
        sub.configure(settings)
        if settings.limited and not sub.day_end:
            self._start_limits(sub, self.s.now or 0)
        elif not settings.limited and sub.day_end:  # limits removed: a trip of theirs is lifted
            sub.day_end = 0
            if sub.limit_hit is not None and sub.state in (SubState.CLOSE_ONLY, SubState.LIMIT_SUSPENDED):
                sub.state = _ACTIVE
            sub.limit_hit = None
        if before.copy_pending and not settings.copy_pending:
            self._cancel_orders_of(sub, "copy_pending_off")  # type: ignore[attr-defined]
        elif settings.copy_pending:
            self._refilter_orders_of(sub)  # type: ignore[attr-defined]  # waiting copy orders: the new filters
        plain = settings.recorded()
        if plain != before.recorded() and not (settings.is_seed and before.is_seed):  # seed-only edits: as ever
            self._records.append(CopySettingsChanged(self.s.now or 0, sub.id, plain))

    def _on_change_investment(self, e: ev.ChangeInvestment) -> None:
        sub = self._sub_for("change_investment", e.subscription, e.requester)
        if sub is None:
            return None
        amount = e.amount
        if not isinstance(amount, Decimal) or not amount.is_finite() or amount == 0 \
                or amount != round_money(amount):
            return self._refuse("change_investment", "invalid_amount",
                                f"amount {amount} must be non-zero whole cents", sub.id)
        if amount > self.wallets.balance(sub.investor):
            return self._refuse("change_investment", "insufficient_funds",
                                f"wallet {self.wallets.balance(sub.investor)} < {amount}", sub.id)
        wallet = amount  # USD; the account's side is in its currency (x 100 on a cent account)
        amount = amount * self._units(sub)
        free = min(sub.equity - self._books[sub.id].total, sub.balance)
        if -amount > free:
            return self._refuse("change_investment", "insufficient_free_margin",
                                f"{-amount} is more than the {max(free, ZERO)} free to take back", sub.id)
        if sub.invested + amount <= 0:
            return self._refuse("change_investment", "above_invested",
                                f"{-amount} is not less than the {sub.invested} invested: stop copying instead",
                                sub.id)
        sub.invested += amount
        sub.balance += amount
        kind = "top_up" if amount > 0 else "take_back"
        self._records.append(self.wallets.move(e.now, sub.investor, -wallet, kind, sub.id))
        self._balance_command(sub, amount, kind)
        self._records.append(InvestmentChanged(e.now, sub.id, amount, sub.invested))

    def _on_resume(self, e: ev.Resume) -> None:
        sub = self._sub_for("resume", e.subscription, e.requester)
        if sub is None:
            return
        if e.requester is not None and sub.state is SubState.DESK_SUSPENDED:
            return self._refuse("resume", "suspended_by_desk", f"subscription {sub.id} is suspended by the desk: "
                                                               "only the service resumes it", sub.id)
        self._resume(sub, service=e.requester is None)

    def _resume(self, sub: Subscription, service: bool) -> None:
        """Copy again (an edit too resumes a protection suspension); only the service lifts the
        desk's suspension. A risk limit's trip is lifted too: the drawdown's peak restarts at the
        equity now (the day base stays: a daily loss still beyond its limit trips again)."""
        if service or sub.state is not SubState.DESK_SUSPENDED:
            sub.state = _ACTIVE
            if sub.limit_hit is not None:
                sub.limit_hit = None
                sub.peak = sub.balance + sub.floating
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
        self._cancel_orders_of(sub, "stop_copying")  # type: ignore[attr-defined]
        self._maybe_finish(sub)

    def _maybe_finish(self, sub: Subscription) -> None:
        if sub.state is not SubState.STOPPING or sub.copies:
            return
        now = self.s.now or 0
        paid = self._settle_commission(sub, "stop", now)  # the partial week, by the weekly rule
        sub.accrued = ZERO  # a sub-cent remainder (or what the balance could not cover) is dropped
        sub.floating = ZERO
        returned, booked = self._to_wallet(sub, sub.balance)  # USD, and the account amount it is
        if returned > 0:
            self._balance_command(sub, -booked, "return")
            self._records.append(self.wallets.move(now, sub.investor, returned, "return", sub.id))
        if sub.balance != booked or returned < 0:  # a negative balance, or a cent account's < 1 USC rest
            self.s.written_off -= (sub.balance - (booked if returned > 0 else ZERO)) / self._units(sub)
        sub.balance = ZERO
        sub.state = SubState.STOPPED
        self._trader_subs[sub.trader].remove(sub)
        self._sub_by_account.pop(sub.account, None)
        self._books.pop(sub.id, None)
        self._records.append(SubscriptionStopped(now, sub.id, returned, paid / self._units(sub)))  # both USD

