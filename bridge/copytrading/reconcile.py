"""Reconciliation after a reconnect.

* Trader snapshot: copies of positions that closed meanwhile are closed, of positions partly
  closed shrunk; positions never seen are copied by the open-validity rule (copying.py).
* Investor snapshot: a filled copy missing from the account is marked vanished (part of it,
  if the position is there with less volume). Nothing goes to the wire: the server already
  closed it. It is settled exactly once, by its closing deal (CopyClosedByServer, or the fill
  of a close of ours) or, when none comes, by the daemon's CopyVanished: booked closed at
  profit 0, flagged estimated.
"""

from __future__ import annotations

from bridge.copytrading import events as ev
from bridge.copytrading.base import _OPEN, _OPENING, _VANISHED, ZERO, EngineBase
from bridge.copytrading.subscription import Copy, Subscription
from bridge.copytrading.trader import TraderPosition


class Reconciling(EngineBase):
    def _on_trader_snapshot(self, e: ev.TraderSnapshot) -> None:
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
        subs = self._trader_subs.get(t.id, ())
        for ticket in sorted(snap):
            if ticket in t.positions:
                continue
            p = snap[ticket]
            pos = TraderPosition(p.ticket, p.symbol, p.side, p.volume, p.price, p.opened_at, self.s.seq,
                                 magic=p.magic)
            t.positions[ticket] = pos  # known from now on: never copied twice, whatever the outcome
            self._fan_out(t, pos, subs, from_snapshot=True)
        # A copy whose trader position the engine no longer knows must not stay open.
        for sub in subs:
            for ticket in sorted(sub.copies):
                copy = sub.copies[ticket]
                if ticket in t.positions or ticket in self.s.orders:  # (a copy order that filled first)
                    continue
                if copy.state is _OPENING and copy.close_reason is None:  # first heard of: withdraw once
                    self._withdraw(sub, copy)
                self._close_copy(sub, copy, "reconcile")  # asks only for what is not being closed

    def _on_investor_snapshot(self, e: ev.InvestorSnapshot) -> None:
        sub = self._sub_by_account.get(e.account)
        if sub is None:
            return
        present = {p.ticket: p.volume for p in e.positions}
        trader = self.s.traders[sub.trader]
        for ticket in sorted(sub.copies):
            copy = sub.copies[ticket]
            if copy.state is _OPENING:
                continue  # its result follows (the daemon resends the open with the same key)
            volume = present.get(copy.ticket)  # type: ignore[arg-type]
            if volume is None:
                self._vanish(sub, copy, e.now)
                continue
            if copy.state is _VANISHED:  # back in a later snapshot: alive after all
                copy.state = _OPEN
            # Less volume than booked: what closes of ours in flight do not explain went without us.
            missing = max(copy.volume - copy.closing - volume, ZERO)
            copy.vanished = missing
            if not missing:
                copy.vanished_at = None
            elif copy.vanished_at is None:
                copy.vanished_at = e.now
            if copy.close_reason is not None or ticket not in trader.positions:
                self._close_copy(sub, copy, "reconcile")  # asks only for what is not being closed

    def _vanish(self, sub: Subscription, copy: Copy, now: int) -> None:
        if copy.state is not _VANISHED:
            copy.state = _VANISHED
            sub.floating -= copy.floating  # gone from the server's equity too
            copy.floating = ZERO
        if copy.vanished_at is None:
            copy.vanished_at = now
        copy.vanished = copy.volume

    def _on_copy_vanished(self, e: ev.CopyVanished) -> None:
        found = self._by_ticket(e.account, e.ticket)
        if found is None or not found[1].vanished:
            return  # settled already, or never vanished: idempotent
        sub, copy = found
        volume, copy.vanished = copy.vanished, ZERO
        gone = volume >= copy.volume
        if gone and copy.closing:
            # Its closes in flight can only be refused now (the position is gone): forget them.
            for key in [k for k, p in self.s.pending.items()
                        if p.subscription == sub.id and p.trader_ticket == copy.trader_ticket]:
                del self.s.pending[key]
            copy.closing = ZERO
        # Profit 0 is the estimate: closed at its open price, flagged so nobody takes it for the server's.
        self._closed(sub, copy, e.now, volume, copy.price, ZERO, "vanished", estimated=True)
