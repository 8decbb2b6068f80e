"""Pending orders after a reconnect (issue 15 item 1): the trader terminal's `orders_snapshot`
reconciled against the orders the engine keeps, idempotently (docs/protocol.md §6.3).

The terminal sends, after each welcome, the hello (its positions: the TraderSnapshot), the
reports the daemon never journaled, then every pending order it has now. For the trader:

* hello: a snapshot position whose ticket is a placed order of the trader is that order's
  **fill** (MT4, MT5 hedging: the position takes the order's ticket) made while the link was
  down: its copy orders are linked to it (TraderOrderFilled), and reconcile.py then knows
  the position: it is not copied a second time at market;
* orders snapshot: an order the engine does not keep is a placement (copied whatever its
  age, pending.py `from_snapshot`); a kept placed order whose price, stops, expiration or
  Limit price differ was modified; a kept placed order missing left the book without a fill
  (the fill would have been in the hello): `expired` if its expiration has passed, else
  `cancelled`. An unchanged order is left alone: a snapshot sent twice sends nothing twice. A
  snapshot of MAX_SNAPSHOT_ORDERS orders may have been cut at that bound: no order is taken
  for removed from it.
"""

from __future__ import annotations

from bridge.copytrading import events as ev
from bridge.copytrading import pending_messages as pm
from bridge.copytrading.pending import PendingOrders
from bridge.copytrading.pending_state import TraderOrder, TraderOrderState
from bridge.protocol.schema import MAX_SNAPSHOT_ORDERS


class PendingSync(PendingOrders):
    def _on_trader_snapshot_and_orders(self, e: ev.TraderSnapshot) -> None:
        t = self.s.traders.get(e.trader)
        if t is not None:
            for p in sorted(e.positions, key=lambda x: x.ticket):
                order = self.s.orders.get(p.ticket)
                if (p.ticket not in t.positions and order is not None and order.trader == t.id
                        and order.state is TraderOrderState.PLACED):
                    self._on_trader_order_filled(pm.TraderOrderFilled(
                        e.now, t.id, p.ticket, p.ticket, p.symbol, p.side, p.volume, p.price, p.opened_at,
                        magic=p.magic if p.magic is not None else order.magic))
        self._on_trader_snapshot(e)  # type: ignore[attr-defined]

    def _on_trader_orders_snapshot(self, e: pm.TraderOrdersSnapshot) -> None:
        t = self.s.traders.get(e.trader)
        if t is None:
            return
        snap = {o.ticket: o for o in e.orders}
        full = len(snap) >= MAX_SNAPSHOT_ORDERS  # maybe cut at the wire's bound: nothing is inferred removed
        kept = sorted(ticket for ticket, o in self.s.orders.items()
                      if o.trader == t.id and o.state is TraderOrderState.PLACED)
        for ticket in kept:
            order = self.s.orders[ticket]
            seen = snap.get(ticket)
            if seen is None:
                if full:
                    continue
                expired = order.expiration is not None and order.expiration <= e.now
                self._on_trader_order_cancelled(pm.TraderOrderCancelled(e.now, t.id, ticket,
                                                                        "expired" if expired else "cancelled"))
            elif _terms(order) != (seen.price, seen.sl, seen.tp, seen.expiration,
                                   seen.stoplimit if order.kind.stop_limit else None):
                self._on_trader_order_modified(pm.TraderOrderModified(e.now, t.id, ticket, seen.price, seen.sl,
                                                                      seen.tp, seen.expiration, seen.stoplimit))
        for ticket in sorted(snap):
            if ticket not in self.s.orders and ticket not in t.positions:
                self._on_trader_order_placed(snap[ticket], from_snapshot=True)


def _terms(order: TraderOrder) -> tuple:
    return order.price, order.sl, order.tp, order.expiration, order.stoplimit


SYNC_HANDLERS = {
    ev.TraderSnapshot: PendingSync._on_trader_snapshot_and_orders,
    pm.TraderOrdersSnapshot: PendingSync._on_trader_orders_snapshot,
}
