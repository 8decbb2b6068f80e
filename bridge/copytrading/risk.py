"""Investor account risk: floating results from account updates and ticks, investment
protection (§4.3) and the tiered stop-out."""

from __future__ import annotations

from bridge.copytrading import events as ev
from bridge.copytrading import protection
from bridge.copytrading.base import _ACTIVE, _OPEN, ZERO
from bridge.copytrading.records import ProtectionTriggered, StopOutTriggered
from bridge.copytrading.risk_limits import RiskLimits
from bridge.copytrading.subscription import Subscription, SubState
from bridge.domain.account import PositionRisk, at_or_below, margin_level, stop_out
from bridge.domain.trading import profit as position_profit


class Risk(RiskLimits):
    # ------------------------------------------------------------------ accounts, market, time
    def _on_account_updated(self, e: ev.AccountUpdated) -> None:
        trader = self._trader_by_account.get(e.account)
        if trader is not None:
            t = self.s.traders[trader]
            t.balance, t.equity = e.balance, e.equity  # §6: existing copies are never resized
            return
        sub = self._sub_by_account.get(e.account)
        if sub is not None:
            if sub.day_end:  # a new server day's base is the equity before this change
                self._roll_day(sub, e.now)
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
            if sub.day_end:  # a new server day's base is the equity before this tick (a gap counts)
                self._roll_day(sub, e.now)
            total = ZERO
            for copy in sub.copies.values():
                if copy.symbol == e.symbol and copy.state is _OPEN:
                    close_price = e.bid if copy.side.sign > 0 else e.ask
                    # a part missing from the investor's snapshot floats no more
                    volume = copy.volume - copy.vanished if copy.vanished else copy.volume
                    copy.floating = position_profit(spec, copy.side, volume, copy.price, close_price,
                                                    sub.currency, rates)
                total += copy.floating
            sub.floating = total
            self._check_risk(sub)

    def _check_risk(self, sub: Subscription) -> None:
        now = self.s.now or 0
        equity = sub.balance + sub.floating
        # §4.3: the base is the invested funds, not the balance (realised losses lower the balance)
        state = sub.state
        # open copies stay protected (desk-suspended, close_only too)
        watched = state is _ACTIVE or state is SubState.DESK_SUSPENDED or state is SubState.CLOSE_ONLY
        if watched and protection.triggered(equity, sub.invested, sub.protection_pct):
            assert sub.protection_pct is not None
            if state is not SubState.DESK_SUSPENDED:  # the desk's suspension stays until the service lifts it
                sub.state = SubState.SUSPENDED
                sub.limit_hit = None  # protection's suspension supersedes a limit's close_only
            self._records.append(ProtectionTriggered(now, sub.id, equity, sub.balance,
                                                     protection.threshold(sub.invested, sub.protection_pct),
                                                     sub.protection_pct, sub.invested))
            for ticket in sorted(sub.copies):
                self._close_copy(sub, sub.copies[ticket], "protection")
            self._cancel_orders_of(sub, "protection")  # type: ignore[attr-defined]
            return
        if sub.day_end and self._check_limits(sub):  # item 8, beside (after) the seed's protection
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

