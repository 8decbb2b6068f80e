"""Pending orders in the simulated terminal (issue 15 item 6), as the EAs do them.

Reporting: each login's limit and stop orders are watched like its positions. A new order
is reported `order_placed`, a change of price or stops `order_modified`, an order gone from
the book without a fill `order_removed` (`expired` when the server expired it, else
`cancelled`), and the deal that fills a watched order `order_filled` - instead of
`position_opened` (TerminalCore._scan asks `take_fill`). Orders present when the watch
starts, and orders this terminal placed, modified or cancelled by a daemon command (their
`command_result` is the report), are tracked silently. After every welcome the terminal sends
`orders_snapshot` (`snapshot`): every order there now, so the daemon learns the orders that
were there before the watch and reconciles what changed while the link was down (issue 15
item 1). Each report carries the order's magic (item 4).

Commands: `place_order`, `modify_order`, `cancel_order` are TRADE_ACTION_PENDING / MODIFY /
REMOVE requests on the addressed login's session; `command_result.ticket` is the order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from bridge.protocol import (CancelOrder, ModifyOrder, Order, OrderFilled, OrderModified, OrderPlaced, OrderRemoved,
                             OrdersSnapshot, PlaceOrder)
from bridge.protocol.orders import OrderKind
from bridge.protocol.schema import MAX_SNAPSHOT_ORDERS
from simulator.server import DealInfo, Session, TradeRequest
from simulator.server import retcodes as rc

ZERO = Decimal(0)
# the wire's order types by the server's ORDER_TYPE_* number (bridge.protocol.orders, the one list)
KINDS = {k.code: k.value for k in OrderKind}
ORDER_COMMANDS = (PlaceOrder, ModifyOrder, CancelOrder)
ORDER_REPORTS = (OrderPlaced, OrderModified, OrderRemoved, OrderFilled)


def _wire(value: Decimal) -> Decimal:
    return ZERO if value.is_zero() else Decimal(repr(float(value)))


def _stoplimit(order) -> Decimal:
    """A stop-limit's Limit price; the simulated server runs no stop-limit (its OrderInfo has none)."""
    return _wire(getattr(order, "price_stoplimit", ZERO))


@dataclass(slots=True)
class _Order:
    price: Decimal
    sl: Decimal
    tp: Decimal


@dataclass(slots=True)
class OrderWatch:
    """One login's pending orders as last reported."""

    orders: dict[int, _Order] = field(default_factory=dict)

    def sync(self, server, login: int) -> None:
        """Start watching: the orders there now are known, not reported. A server view without
        pending orders (the gateway's dealer accounts) has none to watch."""
        if not hasattr(server, "orders"):
            return
        self.orders = {o.ticket: _Order(o.price_open, o.sl, o.tp) for o in server.orders(login) if o.type in KINDS}

    def snapshot(self, server, login: int, envelope, resume: bool) -> OrdersSnapshot | None:
        """Every pending order of `login` now, sent after each welcome; None (nothing sent) when
        there is none and the daemon never knew the login (`resume` false: it keeps no order of
        it), or for a server view without pending orders."""
        if not hasattr(server, "orders"):
            return None
        current = [o for o in server.orders(login) if o.type in KINDS][:MAX_SNAPSHOT_ORDERS]
        if not current and not resume:
            return None
        return OrdersSnapshot(**envelope(), orders=tuple(
            Order(ticket=o.ticket, symbol=o.symbol, order_type=KINDS[o.type], volume=_wire(o.volume_current),
                  price=_wire(o.price_open), sl=_wire(o.sl), tp=_wire(o.tp), expiration=0, time=o.time_setup_msc,
                  stoplimit=_stoplimit(o), magic=o.magic) for o in current))

    def take_fill(self, deal: DealInfo) -> bool:
        """True (and forgotten) when `deal` fills a watched order: report it as order_filled."""
        return self.orders.pop(deal.order, None) is not None if deal.order else False

    def scan(self, server, login: int, envelope, out: list) -> None:
        """order_placed / order_modified / order_removed since the last scan (`envelope()`:
        the next message's envelope fields)."""
        if not hasattr(server, "orders"):
            return
        current = {o.ticket: o for o in server.orders(login) if o.type in KINDS}
        for ticket, o in current.items():
            seen = self.orders.get(ticket)
            if seen is None:
                self.orders[ticket] = _Order(o.price_open, o.sl, o.tp)
                out.append(OrderPlaced(**envelope(), ticket=ticket, symbol=o.symbol, order_type=KINDS[o.type],
                                       volume=_wire(o.volume_current), price=_wire(o.price_open), sl=_wire(o.sl),
                                       tp=_wire(o.tp), expiration=0, time=o.time_setup_msc,
                                       stoplimit=_stoplimit(o), magic=o.magic))
            elif (seen.price, seen.sl, seen.tp) != (o.price_open, o.sl, o.tp):
                seen.price, seen.sl, seen.tp = o.price_open, o.sl, o.tp
                out.append(OrderModified(**envelope(), ticket=ticket, price=_wire(o.price_open), sl=_wire(o.sl),
                                         tp=_wire(o.tp), expiration=0, time=server.now_ms))
        gone = [t for t in self.orders if t not in current]
        if not gone:
            return
        done = {o.ticket: o for o in server.history_orders(login) if o.ticket in gone}
        for ticket in gone:
            del self.orders[ticket]
            o = done.get(ticket)
            if o is not None and o.state == rc.ORDER_STATE_FILLED:
                # a fill the deal scan did not take (a netting reconnect skipped its deal, or it
                # reduced a netting position): as the EA's order watch, the position it went into
                # as it is now, if still open (docs/protocol.md `order_filled`)
                pos = next((p for p in server.positions(login) if p.ticket == o.position_id), None)
                if pos is not None:
                    out.append(OrderFilled(**envelope(), ticket=ticket, position=pos.ticket, symbol=pos.symbol,
                                           side="buy" if pos.type == rc.POSITION_TYPE_BUY else "sell",
                                           volume=_wire(pos.volume), price=_wire(o.price_open), sl=_wire(pos.sl),
                                           tp=_wire(pos.tp), time=o.time_done_msc))
                continue
            removal = "expired" if o is not None and o.state == rc.ORDER_STATE_EXPIRED else "cancelled"
            out.append(OrderRemoved(**envelope(), ticket=ticket, removal=removal,
                                    time=o.time_done_msc if o is not None else server.now_ms))

    def filled_report(self, deal: DealInfo, position, envelope, volume: Decimal) -> OrderFilled:
        """`volume`: the position's after the fill (the deal's, but on a netting account its
        net: the rest of a reversal, or the grown position, docs/protocol.md `order_filled`)."""
        return OrderFilled(**envelope(), ticket=deal.order, position=deal.position_id, symbol=deal.symbol,
                           side="buy" if deal.type == rc.DEAL_TYPE_BUY else "sell", volume=_wire(volume),
                           price=_wire(deal.price), sl=_wire(position.sl if position is not None else ZERO),
                           tp=_wire(position.tp if position is not None else ZERO), time=deal.time_msc,
                           magic=deal.magic)

    # ------------------------------------------------------------------ commands
    def execute(self, server, session: Session, cmd: PlaceOrder | ModifyOrder | CancelOrder):
        """The server's result of one order command, and the order ticket it names."""
        if isinstance(cmd, PlaceOrder):
            request = TradeRequest(
                action=rc.TRADE_ACTION_PENDING, symbol=cmd.symbol, volume=cmd.volume,
                type=OrderKind(cmd.order_type).code, price=cmd.price, stoplimit=cmd.stoplimit, sl=cmd.sl, tp=cmd.tp,
                magic=cmd.magic, comment=cmd.comment,
                type_time=rc.ORDER_TIME_SPECIFIED if cmd.expiration else rc.ORDER_TIME_GTC,
                expiration_ms=cmd.expiration,
            )  # fmt: skip
            res = server.order_send(session, request)
            if res.ok:
                self.orders[res.order] = _Order(cmd.price, cmd.sl, cmd.tp)
            return res, res.order if res.ok else 0
        if isinstance(cmd, ModifyOrder):
            request = TradeRequest(action=rc.TRADE_ACTION_MODIFY, order=cmd.ticket, price=cmd.price,
                                   stoplimit=cmd.stoplimit, sl=cmd.sl, tp=cmd.tp,
                                   type_time=rc.ORDER_TIME_SPECIFIED if cmd.expiration else rc.ORDER_TIME_GTC,
                                   expiration_ms=cmd.expiration)
            res = server.order_send(session, request)
            if res.ok and cmd.ticket in self.orders:
                self.orders[cmd.ticket] = _Order(cmd.price, cmd.sl, cmd.tp)
            return res, cmd.ticket
        res = server.order_send(session, TradeRequest(action=rc.TRADE_ACTION_REMOVE, order=cmd.ticket))
        if res.ok:
            self.orders.pop(cmd.ticket, None)
        return res, cmd.ticket
