"""Closing copies: trader closes (full and partial), closes for protection, stop-out and
stop copying, their results, and closes the server made by itself."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from bridge.copytrading import events as ev
from bridge.copytrading.base import _OPEN, _OPENING, _VANISHED, ONE, ZERO, EngineBase, Pending
from bridge.copytrading.commands import CloseCopy, WithdrawOpen, idempotency_key
from bridge.copytrading.records import CloseFailed, CloseSkipped, CopyClosed
from bridge.copytrading.subscription import Copy, EarlyClose, Subscription
from bridge.copytrading.trader import TraderPosition, TraderRecord
from bridge.domain.margin import NOTIONAL_QUANTUM
from bridge.domain.money import round_money
from bridge.domain.sizing import normalise

POSITION_CLOSED = 10036  # MT5 TRADE_RETCODE_POSITION_CLOSED: the server closed it first


def floor_to_step(volume: Decimal, minimum: Decimal, step: Decimal) -> Decimal | None:
    """`volume` down to the symbol's grid (minimum + k x step), or None below the minimum:
    a partial close of 0.25 lots on US30 (min 0.1, step 0.1) asks for 0.2."""
    if volume < minimum:
        return None
    steps = ((volume - minimum) / step).to_integral_value(rounding=ROUND_FLOOR)
    return minimum + steps * step


class Closing(EngineBase):
    def _on_trader_position_closed(self, e: ev.TraderPositionClosed) -> None:
        t = self.s.traders.get(e.trader)
        pos = t.positions.get(e.ticket) if t else None
        if t is None or pos is None or e.volume <= 0:
            return
        self._observe_price(pos.symbol, e.price)
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
                if copy.state is _OPENING:
                    self._withdraw(sub, copy)
                self._close_copy(sub, copy, reason)
            else:
                self._partial(sub, copy, fraction, reason)

    def _withdraw(self, sub: Subscription, copy: Copy) -> None:
        """Ask the daemon not to run an open whose trader position is gone (once: a trader
        position closes fully once). Whatever it decides, the copy stays closable at its fill."""
        key = idempotency_key(sub.id, copy.trader_ticket, "open", 1)
        self._withdrawals.append(WithdrawOpen(self._next_id(), key, sub.id, sub.account, copy.trader_ticket))

    def _close_copy(self, sub: Subscription, copy: Copy, reason: str) -> None:
        """The whole copy must go; an opening copy is closed as soon as it fills, a vanished one
        is settled by its deal or CopyVanished (nothing is left to close on the server)."""
        if copy.close_reason is None:
            copy.close_reason = reason
        if copy.state is _OPEN:
            self._request_close(sub, copy, copy.volume - copy.closing - copy.vanished, copy.close_reason)

    def _partial(self, sub: Subscription, copy: Copy, fraction: Decimal, reason: str) -> None:
        if copy.close_reason is not None:
            return
        if copy.state is _OPENING:
            copy.scale *= ONE - fraction
            return
        if copy.state is _VANISHED:
            return  # nothing left on the server to close
        available = copy.volume - copy.closing - copy.vanished
        limits = self.config.limits
        decision = normalise(available * fraction, limits)
        if decision.volume is None:
            self._records.append(CloseSkipped(self.s.now or 0, sub.id, copy.trader_ticket, decision.reason or "",
                                              f"{available} x {fraction} = {decision.raw} lots"))
            return
        volume = min(decision.volume, available)
        # The symbol's own step (US30 trades in 0.1 lots): a server takes no other volume.
        spec = self.rules.symbols.get(copy.symbol)
        floored = floor_to_step(volume, spec.volume_min, spec.volume_step)
        if floored is None:
            self._records.append(CloseSkipped(self.s.now or 0, sub.id, copy.trader_ticket, "below_symbol_min",
                                              f"{available} x {fraction} = {volume} lots < the {spec.name} "
                                              f"minimum {spec.volume_min}"))
            return
        minimum = max(limits.minimum, spec.volume_min)
        if available - floored < minimum:  # the remainder could never be closed on its own
            self._close_copy(sub, copy, reason)
        else:
            self._request_close(sub, copy, floored, reason.replace("trader_", "trader_partial_", 1))

    def _request_close(self, sub: Subscription, copy: Copy, volume: Decimal, reason: str) -> None:
        if volume <= 0 or copy.state is not _OPEN:
            return
        copy.seq += 1
        copy.closing += volume
        key = idempotency_key(sub.id, copy.trader_ticket, "close", copy.seq)
        self.s.pending[key] = Pending(sub.id, copy.trader_ticket, "close", volume, reason)
        self._commands.append(CloseCopy(self._next_id(), key, sub.id, sub.account, copy.trader_ticket,
                                        copy.ticket, volume, reason))

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
        found = self._by_ticket(e.account, e.ticket)
        if found is None or e.volume <= 0:
            self._early_close(e)
            return  # unknown or already booked: idempotent
        sub, copy = found
        if copy.vanished:  # the deal that explains (part of) what the snapshot lacked
            copy.vanished = max(copy.vanished - e.volume, ZERO)
        self._closed(sub, copy, e.now, e.volume, e.price, e.profit, f"server_{e.reason}")

    def _early_close(self, e: ev.CopyClosedByServer) -> None:
        """Keep the deal of a position not known yet while an open in flight may turn out to be
        it: after a reconnect the closing deal can be reported before the open's result."""
        sub = self._sub_by_account.get(e.account)
        if sub is None or e.volume <= 0 or not any(c.state is _OPENING for c in sub.copies.values()):
            return
        deal = EarlyClose(e.volume, e.price, e.profit, e.reason)
        deals = self.s.early_closes.setdefault(sub.account, {}).setdefault(e.ticket, [])
        if deal not in deals:  # a repeated report
            deals.append(deal)

    def _closed(self, sub: Subscription, copy: Copy, now: int, volume: Decimal, price: Decimal,
                profit: Decimal, reason: str, estimated: bool = False) -> None:
        """Book `volume` of `copy` closed at `price` with the server's realised `profit`."""
        if sub.day_end:  # a new server day's base is the equity before this close's result
            self._roll_day(sub, now)  # type: ignore[attr-defined]
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
        records = self._records  # commission: settled weekly on `realised` (money.py), not per close
        records.extend(self.s.partners.investor_volume(now, sub.investor, copy.group, volume, self.config))
        assert copy.ticket is not None
        records.append(CopyClosed(now, sub.id, copy.trader_ticket, copy.ticket, volume, copy.volume,
                                  price, profit, reason, estimated))
        if copy.volume <= 0:
            sub.trades += 1
            self._forget(sub, copy)
            if not sub.copies:
                sub.floating = ZERO
        else:
            if copy.vanished > copy.volume:  # a close of ours filled part of what vanished
                copy.vanished = copy.volume
            if not copy.vanished:
                copy.vanished_at = None
            copy.notional = (copy.notional * copy.volume / before).quantize(NOTIONAL_QUANTUM)
            self._books[sub.id].resize(copy.trader_ticket, copy.notional)
            if copy.close_reason is not None and copy.closing == 0:
                self._request_close(sub, copy, copy.volume - copy.vanished, copy.close_reason)
        self._maybe_finish(sub)

    def _on_command_refused(self, e: ev.CommandRefused) -> None:
        p = self.s.pending.pop(e.key, None)
        if p is None:
            found = self._opening(e.key)
            if found is not None:
                self._open_refused(*found, e)
            return
        sub = self.s.subscriptions[p.subscription]
        copy = sub.copies.get(p.trader_ticket)
        if p.action == "close" and copy is not None:
            copy.closing = max(copy.closing - p.volume, ZERO)
            # Retried on the next TimePassed / TerminalOnline - except when the position is
            # already gone: the server's own close arrives as CopyClosedByServer.
            copy.retry_close = e.retcode != POSITION_CLOSED
            if copy.retry_close:
                self._retry_subs.add(sub.id)
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
                        self._request_close(sub, copy, copy.volume - copy.closing - copy.vanished,
                                            copy.close_reason)

