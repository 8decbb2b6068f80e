"""Copying the trader's pending orders (issue 15 item 6): "copy the trader's limit and stop
orders (placement, modification, cancellation, expiry, fill -> the copy becomes a position
linked to the trader's position), or not."

Only subscriptions with `CopySettings.copy_pending` copy orders; the others (the default, the
seed's terms) see nothing until the order fills, and then copy the position at market exactly
as any other trader position. The lifecycle (docs/copy-trading.md, "Pending orders"):

* placed: each copying subscription passes the fan-out's checks (state, trader, terminal,
  subscribed before the order, filters, the open validity on the placement) and gets a copy
  order sized by its volume mode at placement (seed §5 limits and the symbol's after it), the
  same price, SL/TP and expiration; reversed copies take the kind that triggers at the same
  price on the other side (buy limit <-> sell stop) and SL/TP swapped. No margin is reserved
  (the servers reserve none for pending orders); the margin is booked at the fill.
* modified: every placed copy gets the new price, stops and expiration.
* cancelled or expired: every copy is cancelled; a copy that had already filled is closed.
* filled: the trader position is linked to every copy order: the copy becomes the copy of
  that position (CopyOpened at the investor's fill) and from then on follows it like any copy
  (partial closes, stops, close). The open validity of the link contract applies to the fill:
  an investor fill more than `open_validity_ms` from the trader's is closed (`expired`), and a
  copy order still unfilled that long after the trader's fill is cancelled.
"""

from __future__ import annotations

import heapq
from decimal import Decimal

from bridge.copytrading import events as ev
from bridge.copytrading import pending_messages as pm
from bridge.copytrading.base import _ACTIVE, _OPENING, EngineBase
from bridge.copytrading.commands import CloseCopy, idempotency_key
from bridge.copytrading.pending_state import EarlyFill, OrderCopy, OrderCopyState, OrderKind, TraderOrder, TraderOrderState
from bridge.copytrading.records import CopyRefused
from bridge.copytrading.settings import filter_refusal, map_symbol
from bridge.copytrading.subscription import Copy, Subscription
from bridge.copytrading.trader import TraderPosition, TraderRecord
from bridge.domain.errors import DomainError
from bridge.domain.margin import position_notional
from bridge.domain.sizing import VolumeDecision, copy_volume
from bridge.domain.trading import Side

_PLACING, _PLACED = OrderCopyState.PLACING, OrderCopyState.PLACED
_CANCELLING, _FILLED = OrderCopyState.CANCELLING, OrderCopyState.FILLED
ONE = Decimal(1)


MAX_EARLY_FILLS = 100  # investor fills kept per account until their placement's result names them
MAX_ORDERS_PER_TRADER = 1000  # trader orders kept (copied) at once; one more is refused, copied at market at its fill


class PendingOrders(EngineBase):
    # derived indexes, built from `s.orders` at first use (a restored engine starts with None)
    _expiry_heap: list[tuple[int, int]] | None = None
    _orders_per_trader: dict[str, int] | None = None

    # ------------------------------------------------------------------ the trader's orders
    def _on_trader_order_placed(self, e: pm.TraderOrderPlaced, from_snapshot: bool = False) -> None:
        """`from_snapshot`: found pending in an orders snapshot (pending_sync.py), not reported
        as it was placed: copied whatever its age (its price has not been reached yet)."""
        t = self.s.traders.get(e.trader)
        if t is None or e.ticket in self.s.orders or e.ticket in t.positions:
            return  # not a trader of the service, or a duplicate report
        if (not isinstance(e.kind, OrderKind) or e.volume <= 0 or e.price <= 0
                or e.kind.stop_limit and (e.stoplimit is None or e.stoplimit <= 0)):
            return self._refuse("trader_order", "invalid_order", f"order {e.ticket}: {e.kind} {e.volume} @ {e.price}")
        copying = [sub for sub in self._trader_subs.get(t.id, ()) if sub.settings is not None and sub.settings.copy_pending]
        if not copying:
            return  # nobody copies orders: each follower copies the position at market if it fills
        counts = self._order_counts()
        if counts.get(t.id, 0) >= MAX_ORDERS_PER_TRADER:
            return self._refuse("trader_order", "too_many_orders",
                                f"trader {t.id} has {MAX_ORDERS_PER_TRADER} orders copied: order {e.ticket} is not "
                                "(copied at market if it fills)")
        order = TraderOrder(e.ticket, t.id, e.symbol, e.kind, e.volume, e.price,
                            e.placed_at if e.placed_at is not None else e.now, e.sl, e.tp, e.expiration,
                            stoplimit=e.stoplimit if e.kind.stop_limit else None, magic=e.magic)
        self.s.orders[e.ticket] = order
        counts[t.id] = counts.get(t.id, 0) + 1
        now = self.s.now or 0
        for sub in copying:
            refusal = self._order_refusal(t, sub, order, now, from_snapshot)
            if refusal is not None:
                code, detail, details = refusal
                self._records.append(CopyRefused(now, sub.id, t.id, order.ticket, code, detail, None, details))
                continue
            decision = self._order_volume(t, sub, order.volume)
            volume = decision.volume
            problem = (self.rules.symbols.get(order.symbol).volume_problem(volume) if volume is not None
                       else f"copy volume {decision.raw} lots")
            if volume is None or problem is not None:
                code = decision.reason or "volume" if volume is None else "invalid_volume"
                self._records.append(CopyRefused(now, sub.id, t.id, order.ticket, code, problem or "", None,
                                                 {"mode": sub.mode.value, "trader_volume": str(order.volume),
                                                  "raw_volume": "" if decision.raw is None else str(decision.raw)}))
                continue
            reverse = sub.settings.reverse
            kind = order.kind.reversed if reverse else order.kind
            assert kind is not None  # a reversed stop-limit is refused by _order_refusal
            sl, tp = (order.tp, order.sl) if reverse else (order.sl, order.tp)
            if not self._stops_flag(sub, "copy_stops"):
                sl = tp = None  # item 5: the copy order carries no stops (the engine default)
            copy = order.copies[sub.id] = OrderCopy(sub.id, kind, volume, order.price, _PLACING, sl=sl, tp=tp,
                                                    expiration=order.expiration, stoplimit=order.stoplimit)
            # the investor's name of the symbol (item 2's mapping), as an OpenCopy carries it
            name = map_symbol(sub.settings, order.symbol) if sub.settings.mapping else order.symbol
            self._commands.append(pm.PlaceOrder(self._next_id(), pm.order_key(sub.id, order.ticket, "place", 1),
                                                sub.id, sub.account, order.ticket, name, kind, volume,
                                                copy.price, sl, tp, order.expiration, order.stoplimit))

    def _order_refusal(self, t: TraderRecord, sub: Subscription, order: TraderOrder, now: int,
                       from_snapshot: bool = False) -> tuple[str, str, dict[str, str]] | None:
        """The fan-out's eligibility (copying.py, the one check), then the symbol and filters.
        The open validity of the placement holds for a live report only: an order a snapshot
        finds still pending waits at the trader's price, as fresh as the trader's own."""
        validity = self.config.open_validity_ms
        late = now - order.placed_at
        expired = (f"seen {late} ms after its placement (validity {validity} ms)"
                   if late > validity and not from_snapshot else None)
        refusal = self._eligibility_refusal(sub, t, self._trader_ineligible(t), order.placed_at,  # type: ignore[attr-defined]
                                            now, expired, True)
        if refusal is not None:
            return refusal
        try:
            self.rules.symbols.get(order.symbol)
        except DomainError as err:
            return err.code, err.detail, {"symbol": order.symbol}
        assert sub.settings is not None
        if sub.settings.filtering:
            filtered = filter_refusal(sub.settings, order.symbol, Side(order.kind.side), order.volume, order.magic)
            if filtered is not None:
                return filtered
        return self._kind_refusal(sub, order)

    def _kind_refusal(self, sub: Subscription, order: TraderOrder) -> tuple[str, str, dict[str, str]] | None:
        """An MT5 stop-limit (issue 15 item 3) has no copy on an MT4 account (MT4 has no such
        type) nor a reversed one (its mirror triggers on the other side of the market): refused
        `order_type_unsupported`; the position is copied at market if the order fills."""
        if not order.kind.stop_limit:
            return None
        platform = self.rules.account_types.get(sub.account_type).platform
        why = (f"{platform} has no stop-limit orders" if platform == "MT4"
               else "a stop-limit has no reversed order at the same prices" if sub.settings and sub.settings.reverse
               else None)
        if why is None:
            return None
        reverse = "true" if sub.settings and sub.settings.reverse else "false"
        return ("order_type_unsupported",
                f"{why}: {order.kind.value} {order.price}/{order.stoplimit} not copied (copied at market if it fills)",
                {"order_type": order.kind.value, "platform": platform, "price": str(order.price),
                 "stoplimit": str(order.stoplimit), "reverse": reverse})

    def _order_volume(self, t: TraderRecord, sub: Subscription, trader_volume: Decimal) -> VolumeDecision:
        """The subscription's volume mode at placement (the one formula, domain.sizing)."""
        settings = sub.copy_settings
        try:
            return copy_volume(sub.mode, trader_volume, investor_equity=sub.equity, trader_equity=t.equity,
                               investor_leverage=sub.leverage, trader_leverage=t.leverage,
                               limits=self.config.limits, investor_currency=sub.currency,
                               trader_currency=t.currency, rates=self._rates(), fixed_volume=settings.fixed_volume,
                               multiplier=settings.multiplier, investor_balance=sub.balance,
                               trader_balance=t.balance)
        except DomainError as err:
            return VolumeDecision(None, err.code, None)

    def _on_trader_order_modified(self, e: pm.TraderOrderModified) -> None:
        order = self._trader_order(e.trader, e.ticket)
        if order is None or order.state is not TraderOrderState.PLACED or e.price <= 0:
            return
        order.price, order.sl, order.tp, order.expiration = e.price, e.sl, e.tp, e.expiration
        if order.kind.stop_limit and e.stoplimit is not None:
            order.stoplimit = e.stoplimit
        for sub_id in sorted(order.copies):
            copy = order.copies[sub_id]
            # a copy still placing is brought up to date at its placement; one that already carries
            # what it should (only unmirrored stops changed) gets nothing
            if copy.state is _PLACED and self._carried(copy) != self._wanted(order, copy):
                self._modify_order(order, copy)

    def _stops_flag(self, sub: Subscription, name: str) -> bool:
        """Item 5's `copy_stops` / `mirror_stop_changes`, None: the engine's `mirror_stops`."""
        value = getattr(sub.settings, name) if sub.settings is not None else None
        return self.config.mirror_stops if value is None else bool(value)

    def _wanted(self, order: TraderOrder, copy: OrderCopy) -> tuple[Decimal, Decimal | None, Decimal | None,
                                                                   int | None, Decimal | None]:
        """What the copy order should carry now: the trader's price, expiry and a stop-limit's
        Limit price; the trader's stops (swapped when reversed) only when the subscription
        mirrors stop changes (item 5), else the stops it carries."""
        sl, tp = copy.sl, copy.tp
        if self._stops_flag(self.s.subscriptions[copy.subscription], "mirror_stop_changes"):
            sl, tp = (order.sl, order.tp) if copy.kind is order.kind else (order.tp, order.sl)
        return order.price, sl, tp, order.expiration, order.stoplimit

    @staticmethod
    def _carried(copy: OrderCopy) -> tuple[Decimal, Decimal | None, Decimal | None, int | None, Decimal | None]:
        return copy.price, copy.sl, copy.tp, copy.expiration, copy.stoplimit

    def _modify_order(self, order: TraderOrder, copy: OrderCopy) -> None:
        """The copy keeps what its server has until the server accepts the change (_order_result)."""
        sub = self.s.subscriptions[copy.subscription]
        assert copy.order is not None
        copy.seq += 1
        price, sl, tp, expiration, stoplimit = self._wanted(order, copy)
        self._commands.append(pm.ModifyOrder(self._next_id(), pm.order_key(sub.id, order.ticket, "modify", copy.seq),
                                             sub.id, sub.account, order.ticket, copy.order, price, sl, tp,
                                             expiration, stoplimit))

    def _on_trader_order_cancelled(self, e: pm.TraderOrderCancelled) -> None:
        order = self._trader_order(e.trader, e.ticket)
        if order is None or order.state is not TraderOrderState.PLACED:
            return
        order.state = TraderOrderState.CANCELLED
        reason = "trader_expired" if e.reason == "expired" else "trader_cancelled"
        for sub_id in sorted(order.copies):
            self._cancel_copy(order, order.copies[sub_id], reason)
        self._settle_order(order)

    def _cancel_copy(self, order: TraderOrder, copy: OrderCopy, reason: str) -> None:
        """The copy order must go: cancelled if placed, at its placement if placing, closed as a
        position if it already filled."""
        if copy.cancel_reason is None:
            copy.cancel_reason = reason
        sub = self.s.subscriptions[copy.subscription]
        if copy.state is _PLACED:
            assert copy.order is not None
            copy.state = _CANCELLING
            copy.seq += 1
            self._commands.append(pm.CancelOrder(self._next_id(), pm.order_key(sub.id, order.ticket, "cancel", copy.seq),
                                                 sub.id, sub.account, order.ticket, copy.order, copy.cancel_reason))
        elif copy.state is _FILLED:
            del order.copies[sub.id]
            position = sub.copies.get(order.ticket)
            if position is not None:
                self._close_copy(sub, position, copy.cancel_reason)  # type: ignore[attr-defined]

    def _cancel_orders_of(self, sub: Subscription, reason: str) -> None:
        """The subscription no longer copies orders (stopped, suspended, a limit tripped,
        copy_pending off): every copy order of it not filled goes, so none fills into an
        unmanaged position. One that filled is a position, a copy like any other: it keeps
        following the trader (a stop or suspension that closes the copies closes it with them)."""
        for ticket in sorted(self.s.orders):
            order = self.s.orders[ticket]
            copy = order.copies.get(sub.id)
            if copy is not None and copy.state is not _FILLED:
                self._cancel_copy(order, copy, reason)
                self._settle_order(order)

    def _refilter_orders_of(self, sub: Subscription) -> None:
        """The subscription's settings changed: "a change applies to the trader's deals opened
        after it", and a waiting copy order is a deal not opened yet. Each copy order not filled
        of a trader order still pending is checked against the new filters; one they refuse is
        cancelled (`CancelOrder` with the filter's code) and recorded `CopyRefused` with the
        figures. Copy orders that filled are positions and stay (docs/copy-trading.md)."""
        settings = sub.settings
        if settings is None or not settings.filtering:
            return
        now = self.s.now or 0
        for ticket in sorted(self.s.orders):
            order = self.s.orders[ticket]
            copy = order.copies.get(sub.id)
            if (copy is None or copy.cancel_reason is not None or order.state is not TraderOrderState.PLACED
                    or copy.state not in (_PLACING, _PLACED)):
                continue
            refusal = filter_refusal(settings, order.symbol, Side(order.kind.side), order.volume, order.magic)
            if refusal is not None:
                code, detail, details = refusal
                self._records.append(CopyRefused(now, sub.id, sub.trader, order.ticket, code, detail, None, details))
                self._cancel_copy(order, copy, code)

    def _keeps(self, sub: Subscription, ticket: int) -> bool:
        """A copy order that filled first is still a copy the subscription keeps (not closing)."""
        position = sub.copies.get(ticket)
        return position is not None and position.close_reason is None

    def _linkable(self, sub: Subscription) -> bool:
        """A fill may become a managed copy only on an active subscription that still has its book."""
        return sub.state is _ACTIVE and sub.id in self._books

    def _on_trader_order_filled(self, e: pm.TraderOrderFilled) -> None:
        t = self.s.traders.get(e.trader)
        if t is None or e.position in t.positions:
            return  # duplicate
        order = self.s.orders.get(e.ticket)
        if order is not None and (order.trader != t.id or order.state is not TraderOrderState.PLACED):
            order = None  # another trader's ticket, or already settled: the position is copied at market
        quote = self.s.prices.get(e.symbol)  # the market before this deal: the price guard's
        filled_at = e.filled_at if e.filled_at is not None else e.now
        self._observe_price(e.symbol, e.price)
        magic = e.magic if e.magic is not None else order.magic if order is not None else None
        pos = TraderPosition(e.position, e.symbol, e.side, e.volume, e.price, filled_at, self.s.seq, e.sl, e.tp, magic)
        t.positions[e.position] = pos
        if order is None:  # an order the engine never saw: every subscription copies at market
            self._fan_out(t, pos, self._trader_subs.get(t.id, ()), quote=quote)  # type: ignore[attr-defined]
            return
        order.state, order.position, order.filled_at = TraderOrderState.FILLED, e.position, filled_at
        heapq.heappush(self._expiries(), (filled_at + self.config.open_validity_ms, order.ticket))
        linked = set()
        validity = self.config.open_validity_ms
        # The position may be smaller than the order (filled, then partly closed while the link
        # was down: the hello's volume): each copy keeps this share, as `_opened` scales a copy
        # partly closed while it opened (the seed's rounding on the close).
        share = e.volume / order.volume if e.volume < order.volume else ONE
        for sub_id in sorted(order.copies):
            copy = order.copies[sub_id]
            sub = self.s.subscriptions[sub_id]
            if copy.cancel_reason is not None:
                continue
            kept = copy.state is _FILLED and self._keeps(sub, order.ticket)
            if not self._linkable(sub) and not kept:  # its orders are cancelled when it stops copying
                self._cancel_copy(order, copy, f"subscription_{sub.state.value}")
                continue
            linked.add(sub_id)
            if copy.state is _FILLED:  # the investor's order filled first: the copy is a position already
                del order.copies[sub_id]
                position = sub.copies.get(order.ticket)
                if position is not None and e.position != order.ticket:
                    self._rekey(sub, position, e.position)
                if position is not None and filled_at - (copy.filled_at or filled_at) > validity:
                    self._close_copy(sub, position, "expired")  # type: ignore[attr-defined]
                elif position is not None and share < ONE:
                    self._partial(sub, position, ONE - share, "trader_client")  # type: ignore[attr-defined]
            else:  # placing or placed: the copy is the position's, opening until the investor's fill
                self._book_opening(sub, order, copy, pos)
                sub.copies[pos.ticket].scale = share
        others = [sub for sub in self._trader_subs.get(t.id, ()) if sub.id not in linked]
        self._fan_out(t, pos, others, quote=quote)  # type: ignore[attr-defined]
        self._settle_order(order)

    def _on_trader_position_opened_or_fill(self, e: ev.TraderPositionOpened) -> None:
        """A position whose ticket is a placed order of the same trader is that order's fill
        (MT4 and MT5 hedging: the position takes the order's ticket): a terminal that reports
        the fill as `position_opened` (as the EAs' position watch does) links the copies all
        the same, and a later `order_filled` is the duplicate."""
        order = self.s.orders.get(e.ticket)
        if order is None or order.trader != e.trader or order.state is not TraderOrderState.PLACED:
            return self._on_trader_position_opened(e)  # type: ignore[attr-defined]
        self._on_trader_order_filled(pm.TraderOrderFilled(e.now, e.trader, e.ticket, e.ticket, e.symbol, e.side,
                                                          e.volume, e.price, e.opened_at, e.sl, e.tp, e.magic))

    def _book_opening(self, sub: Subscription, order: TraderOrder, copy: OrderCopy, pos: TraderPosition) -> None:
        spec = self.rules.symbols.get(pos.symbol)
        try:
            notional = position_notional(spec, copy.volume, copy.price, sub.currency, self._rates())
            self._books[sub.id].open(pos.ticket, spec.group, notional)
        except DomainError:
            notional = Decimal(0)  # booked at the fill (_opened resizes)
            self._books[sub.id].open(pos.ticket, spec.group, notional)
        sub.copies[pos.ticket] = Copy(pos.ticket, pos.symbol, spec.group, Side(copy.kind.side), copy.volume,
                                      _OPENING, 1,
                                      None, copy.price, notional)
        self._by_symbol.setdefault(pos.symbol, {})[sub.id] = sub

    def _rekey(self, sub: Subscription, copy: Copy, ticket: int) -> None:
        """A netting or exotic server gave the position another ticket than the order's."""
        book = self._books[sub.id]
        book.close(copy.trader_ticket)
        del sub.copies[copy.trader_ticket]
        copy.trader_ticket = ticket
        sub.copies[ticket] = copy
        book.open(ticket, copy.group, copy.notional)

    # ------------------------------------------------------------------ the investors' orders
    def _on_copy_order_filled(self, e: pm.CopyOrderFilled) -> None:
        found = self._copy_order(e.account, e.order)
        if found is None:
            return self._early_fill(e)  # unknown or already booked: idempotent
        sub, order, copy = found
        filled_at = e.filled_at if e.filled_at is not None else e.now
        del order.copies[sub.id]
        linked = sub.copies.get(order.position) if order.position is not None else None
        if (linked is None or linked.state is not _OPENING) and (
                not self._linkable(sub) or order.state is TraderOrderState.FILLED):
            # stopped or no longer copying, or the trader's fill found it being cancelled (a filter
            # set meanwhile): no copy booked for it, so closed at once, never booked
            reason = copy.cancel_reason or (f"subscription_{sub.state.value}" if not self._linkable(sub) else "not_linked")
            self._commands.append(CloseCopy(self._next_id(), idempotency_key(sub.id, order.ticket, "close_order", 1),
                                            sub.id, sub.account, order.position or order.ticket, e.position,
                                            e.volume, reason))
            self._records.append(pm.OrderCopied(e.now, sub.id, order.ticket, "filled", e.order, e.volume, e.price,
                                                reason))
            return self._settle_order(order)
        if order.state is TraderOrderState.FILLED:
            assert order.position is not None and order.filled_at is not None
            position = sub.copies.get(order.position)
            if position is None or position.state is not _OPENING:
                return self._settle_order(order)
            if filled_at - order.filled_at > self.config.open_validity_ms:
                position.close_reason = "expired"  # the link contract: closed at its fill
            elif copy.cancel_reason is not None and position.close_reason is None:
                position.close_reason = copy.cancel_reason  # its cancel came too late: closed at its fill
            self._opened(sub, position, ev.CommandFilled(e.now, "", e.position, e.volume, e.price))  # type: ignore[attr-defined]
        else:  # before the trader's fill (or after its cancel): a position keyed by the order
            self._book_opening(sub, order, copy, TraderPosition(order.ticket, order.symbol, Side(copy.kind.side),
                                                                copy.volume, copy.price, filled_at, self.s.seq))
            position = sub.copies[order.ticket]
            if order.state is TraderOrderState.CANCELLED or copy.cancel_reason is not None:
                position.close_reason = copy.cancel_reason or "trader_cancelled"
            else:
                copy.state, copy.filled_at = _FILLED, filled_at
                order.copies[sub.id] = copy
            self._opened(sub, position, ev.CommandFilled(e.now, "", e.position, e.volume, e.price))  # type: ignore[attr-defined]
        self._records.append(pm.OrderCopied(e.now, sub.id, order.ticket, "filled", e.order, e.volume, e.price))
        self._settle_order(order)

    def _early_fill(self, e: pm.CopyOrderFilled) -> None:
        """Keep the fill of an order not known yet while a copy order of that account is placing:
        a stop at its trigger, or results re-sent after a reconnect, may report the fill before
        the placement's result names the ticket. Bounded: MAX_EARLY_FILLS per account, and all
        dropped once no copy order of the account is placing."""
        if e.volume <= 0 or not self._placing_on(e.account):
            return
        fills = self.s.early_fills.setdefault(e.account, {})
        if e.order in fills or len(fills) < MAX_EARLY_FILLS:
            fills[e.order] = EarlyFill(e.position, e.volume, e.price, e.filled_at if e.filled_at is not None else e.now)

    def _placing_on(self, account: int) -> bool:
        return any(copy.state is _PLACING and self.s.subscriptions[sub_id].account == account
                   for order in self.s.orders.values() for sub_id, copy in order.copies.items())

    def _apply_early_fill(self, sub: Subscription, ticket: int, now: int) -> bool:
        """The placement's result named `ticket`: its fill, if it came first, applies now."""
        fills = self.s.early_fills.get(sub.account)
        fill = fills.pop(ticket, None) if fills is not None else None
        self._drop_early_fills(sub.account)
        if fill is not None:
            self._on_copy_order_filled(pm.CopyOrderFilled(now, sub.account, ticket, fill.position, fill.volume,
                                                          fill.price, fill.filled_at))
        return fill is not None

    def _drop_early_fills(self, account: int) -> None:
        """No copy order of `account` placing any more: no placement result can claim its fills."""
        fills = self.s.early_fills.get(account)
        if fills is not None and (not fills or not self._placing_on(account)):
            del self.s.early_fills[account]

    def _on_copy_order_removed(self, e: pm.CopyOrderRemoved) -> None:
        found = self._copy_order(e.account, e.order)
        if found is None:
            return
        sub, order, copy = found
        if copy.state is _FILLED:
            return  # a position now, not an order
        del order.copies[sub.id]
        self._forget_opening(sub, order, e.now, e.reason)
        self._records.append(pm.OrderCopied(e.now, sub.id, order.ticket, "removed", e.order, detail=e.reason))
        self._settle_order(order)

    def _forget_opening(self, sub: Subscription, order: TraderOrder, now: int, reason: str) -> None:
        """A copy order that will never fill: the position it was linked to is not copied."""
        if order.position is None:
            return
        position = sub.copies.get(order.position)
        if position is not None and position.state is _OPENING:
            code = "expired" if reason == "expired" else f"order_{reason}"
            self._drop_opening(sub, position, now, code, f"the copy order was {reason} before it filled")  # type: ignore[attr-defined]

    def _order_result(self, key: str, now: int, ticket: int | None, refused: str | None) -> bool:
        """A CommandFilled / CommandRefused of an order command: True when `key` is one."""
        parsed = _parse_key(key)
        if parsed is None:
            return False
        sub_id, ticket_of_order, action, seq = parsed
        order = self.s.orders.get(ticket_of_order)
        copy = order.copies.get(sub_id) if order is not None else None
        if order is None or copy is None:
            return True  # settled meanwhile: nothing to do
        sub = self.s.subscriptions[sub_id]
        if action == "place" and copy.state is _PLACING:
            if refused is not None or ticket is None:
                del order.copies[sub_id]
                self._forget_opening(sub, order, now, "refused")
                self._records.append(CopyRefused(now, sub_id, sub.trader, order.ticket, "server_refused",
                                                 refused or "no order ticket", None))
                self._drop_early_fills(sub.account)
            else:
                copy.state, copy.order = _PLACED, ticket
                self._records.append(pm.OrderCopied(now, sub_id, order.ticket, "placed", ticket, copy.volume, copy.price))
                if self._apply_early_fill(sub, ticket, now):
                    pass  # it filled already: a position now (cancelled or linked by the fill's rules)
                elif copy.cancel_reason is not None or order.state is TraderOrderState.CANCELLED:
                    self._cancel_copy(order, copy, copy.cancel_reason or "trader_cancelled")
                elif order.state is TraderOrderState.PLACED and self._carried(copy) != self._wanted(order, copy):
                    self._modify_order(order, copy)  # the trader changed it while the copy was placing
        elif action == "modify" and seq == copy.seq:
            if refused is None:  # the last modification sent: it carried the order as it is now
                copy.price, copy.sl, copy.tp, copy.expiration, copy.stoplimit = self._wanted(order, copy)
            self._records.append(pm.OrderCopied(now, sub_id, order.ticket, "refused" if refused else "modified",
                                                copy.order, copy.volume, copy.price, refused or ""))
        elif action == "cancel" and copy.state is _CANCELLING:
            if refused is None:
                del order.copies[sub_id]
                self._forget_opening(sub, order, now, copy.cancel_reason or "cancelled")
                self._records.append(pm.OrderCopied(now, sub_id, order.ticket, "cancelled", copy.order,
                                                    detail=copy.cancel_reason or ""))
            else:  # filled meanwhile, most likely: CopyOrderFilled settles it
                self._records.append(pm.OrderCopied(now, sub_id, order.ticket, "refused", copy.order, detail=refused))
        self._settle_order(order)
        return True

    def _on_command_filled_or_order(self, e: ev.CommandFilled) -> None:
        if not self._order_result(e.key, e.now, e.ticket, None):
            self._on_command_filled(e)  # type: ignore[attr-defined]

    def _on_command_refused_or_order(self, e: ev.CommandRefused) -> None:
        if not self._order_result(e.key, e.now, None, e.detail or f"retcode {e.retcode}"):
            self._on_command_refused(e)  # type: ignore[attr-defined]

    def _on_time_passed_and_orders(self, e: ev.TimePassed) -> None:
        self._expire_unfilled(e.now)
        self._on_time_passed(e)  # type: ignore[attr-defined]

    def _expire_unfilled(self, now: int) -> None:
        """The link contract on fills: a copy order still unfilled `open_validity_ms` after the
        trader's fill is cancelled (its position is not copied). The fills' deadlines wait in a
        heap: a TimePassed looks at the due ones only."""
        heap = self._expiries()
        due = []
        while heap and heap[0][0] < now:
            due.append(heapq.heappop(heap)[1])
        for ticket in sorted(due):
            order = self.s.orders.get(ticket)
            if order is None or order.state is not TraderOrderState.FILLED:
                continue
            for sub_id in sorted(order.copies):
                copy = order.copies[sub_id]
                if copy.state is _PLACED or copy.state is _PLACING:
                    self._cancel_copy(order, copy, "expired")

    def _expiries(self) -> list[tuple[int, int]]:
        """(trader fill + validity, order ticket) of the filled orders: derived, rebuilt after a restart."""
        if self._expiry_heap is None:
            validity = self.config.open_validity_ms
            self._expiry_heap = [(o.filled_at + validity, o.ticket) for o in self.s.orders.values()
                                 if o.state is TraderOrderState.FILLED and o.filled_at is not None]
            heapq.heapify(self._expiry_heap)
        return self._expiry_heap

    def _order_counts(self) -> dict[str, int]:
        """Orders kept per trader (MAX_ORDERS_PER_TRADER): derived, rebuilt after a restart."""
        if self._orders_per_trader is None:
            self._orders_per_trader = {}
            for o in self.s.orders.values():
                self._orders_per_trader[o.trader] = self._orders_per_trader.get(o.trader, 0) + 1
        return self._orders_per_trader

    # ------------------------------------------------------------------ helpers
    def _trader_order(self, trader: str, ticket: int) -> TraderOrder | None:
        order = self.s.orders.get(ticket)
        return order if order is not None and order.trader == trader else None

    def _copy_order(self, account: int, order_ticket: int) -> tuple[Subscription, TraderOrder, OrderCopy] | None:
        """The copy order `order_ticket` of `account`, of any subscription (a stopped one's too)."""
        for ticket in sorted(self.s.orders):
            order = self.s.orders[ticket]
            for sub_id in sorted(order.copies):
                copy = order.copies[sub_id]
                sub = self.s.subscriptions[sub_id]
                if copy.order == order_ticket and sub.account == account:
                    return sub, order, copy
        return None

    def _settle_order(self, order: TraderOrder) -> None:
        """A trader order is forgotten once it is no longer placed and no copy order remains."""
        if order.state is not TraderOrderState.PLACED and not order.copies:
            counts = self._order_counts()  # built (if need be) before the order goes
            if self.s.orders.pop(order.ticket, None) is not None:
                counts[order.trader] -= 1


def _parse_key(key: str) -> tuple[int, int, str, int] | None:
    parts = key.split("-")
    if len(parts) != 4 or not parts[1].startswith("o") or parts[2] not in ("place", "modify", "cancel"):
        return None
    try:
        return int(parts[0][1:]), int(parts[1][1:]), parts[2], int(parts[3])
    except ValueError:
        return None


PENDING_HANDLERS = {
    pm.TraderOrderPlaced: PendingOrders._on_trader_order_placed,
    pm.TraderOrderModified: PendingOrders._on_trader_order_modified,
    pm.TraderOrderCancelled: PendingOrders._on_trader_order_cancelled,
    pm.TraderOrderFilled: PendingOrders._on_trader_order_filled,
    pm.CopyOrderFilled: PendingOrders._on_copy_order_filled,
    pm.CopyOrderRemoved: PendingOrders._on_copy_order_removed,
    ev.CommandFilled: PendingOrders._on_command_filled_or_order,
    ev.CommandRefused: PendingOrders._on_command_refused_or_order,
    ev.TimePassed: PendingOrders._on_time_passed_and_orders,
    ev.TraderPositionOpened: PendingOrders._on_trader_position_opened_or_fill,
}
