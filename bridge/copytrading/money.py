"""Time-driven money: the weekly commission settlement and the hourly IB credit (§9, §11)."""

from __future__ import annotations

from decimal import Decimal

from bridge.copytrading import commission as cm
from bridge.copytrading.base import ZERO, EngineBase
from bridge.copytrading.records import CommissionAccrued, CommissionPaid
from bridge.copytrading.subscription import Subscription


class Money(EngineBase):
    # ------------------------------------------------------------------ time
    def _advance(self, now: int) -> None:
        s, c = self.s, self.config
        if s.next_payout is None or s.next_ib_credit is None:
            s.next_payout = cm.next_weekly(now, c.payout_weekday, c.server_timezone)
            s.next_ib_credit = cm.next_period(now, c.ib_credit_period_ms, c.server_timezone)
            return
        while min(s.next_payout, s.next_ib_credit) <= now:
            if s.next_payout <= s.next_ib_credit:
                self._weekly_payout(s.next_payout)
                s.next_payout = cm.next_weekly(s.next_payout, c.payout_weekday, c.server_timezone)
            else:
                self._records.extend(s.partners.credit(s.next_ib_credit, self.wallets))
                s.next_ib_credit = cm.next_period(s.next_ib_credit, c.ib_credit_period_ms, c.server_timezone)

    def _weekly_payout(self, at: int) -> None:
        for sub in self._live():
            self._settle_commission(sub, "weekly", at)

    def _settle_commission(self, sub: Subscription, reason: str, at: int) -> Decimal:
        """§9/§10 at a settlement: the fee on the gain above the mark (commission.settle),
        paid from the subscription's balance as far as it goes. Returns what was paid."""
        rate = cm.effective_rate(sub.commission_pct, self.s.traders[sub.trader].cap_pct)
        st = cm.settle(sub.realised, sub.high_water_mark, rate, sub.accrued)
        sub.high_water_mark = st.mark
        sub.accrued = st.owed + st.due
        if st.fee > 0:
            self._records.append(CommissionAccrued(at, sub.id, sub.trader, st.fee, st.mark, rate, st.gain,
                                                   st.previous_mark, reason))
        return self._pay_commission(sub, st.due, reason, at) if st.due > 0 else ZERO

    def _pay_commission(self, sub: Subscription, amount: Decimal, reason: str, at: int) -> Decimal:
        usd, pay = self._to_wallet(sub, min(amount, max(sub.balance, ZERO)))  # whole USD cents to the trader
        if pay <= 0:
            return ZERO
        sub.accrued -= pay
        sub.balance -= pay
        sub.commission_paid += pay
        self._balance_command(sub, -pay, "commission")
        self._records.append(CommissionPaid(at, sub.id, sub.trader, usd, reason))
        self._records.append(self.wallets.move(at, sub.trader, usd, "commission", sub.id))
        return pay

