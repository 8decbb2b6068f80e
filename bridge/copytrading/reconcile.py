"""Reconciliation after a reconnect: the trader's snapshot (closes and late-seen positions)."""

from __future__ import annotations

from bridge.copytrading import events as ev
from bridge.copytrading.base import EngineBase
from bridge.copytrading.records import CopyRefused
from bridge.copytrading.trader import TraderPosition


class Reconciling(EngineBase):
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

