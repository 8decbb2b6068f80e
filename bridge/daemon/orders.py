"""The daemon's pending-order messages (issue 15 item 6): terminal reports -> engine events.

A trader's `order_placed` / `order_modified` / `order_removed` / `order_filled` become
`TraderOrderPlaced` / `TraderOrderModified` / `TraderOrderCancelled` / `TraderOrderFilled`; an
investor's `order_filled` and `order_removed` (its copy order filled, or removed by its own
server) become `CopyOrderFilled` / `CopyOrderRemoved`. An investor's `order_placed` and
`order_modified` are its own echo of our commands (their `command_result` is what counts):
published on the feed, not fed to the engine. Order commands travel like the others
(wire.command_row / command_wire).

A trader's `orders_snapshot` (sent after each welcome, issue 15 item 1) becomes one
`TraderOrdersSnapshot`: the engine reconciles it (pending_sync.py). An investor's is not fed
to the engine (its copy orders are settled by their fills and removals).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bridge.copytrading import pending_messages as pm
from bridge.daemon import netting
from bridge.domain.trading import Side
from bridge.protocol import OrderFilled, OrderModified, OrderPlaced, OrderRemoved, OrdersSnapshot
from bridge.protocol.orders import OrderKind

if TYPE_CHECKING:
    from bridge.daemon.core import DaemonCore


def _on_order_placed(core: DaemonCore, s: Any, m: OrderPlaced) -> None:
    trader = core.trader_of.get(m.login)
    if trader is None:
        core.publish("account.order_placed", login=m.login, ticket=m.ticket, symbol=m.symbol,
                     order_type=m.order_type, volume=str(m.volume), price=str(m.price))
        return
    core.feed_engine(placed(core.now, trader, m))


def placed(now: int, trader: str, m: Any) -> pm.TraderOrderPlaced:
    """An `order_placed` (or one order of an `orders_snapshot`) as the engine's placement."""
    return pm.TraderOrderPlaced(now, trader, m.ticket, m.symbol, OrderKind(m.order_type), m.volume, m.price,
                                m.sl or None, m.tp or None, m.expiration or None, m.time, m.stoplimit or None, m.magic)


def _on_order_modified(core: DaemonCore, s: Any, m: OrderModified) -> None:
    trader = core.trader_of.get(m.login)
    if trader is not None:
        core.feed_engine(pm.TraderOrderModified(core.now, trader, m.ticket, m.price, m.sl or None, m.tp or None,
                                                m.expiration or None, m.stoplimit or None))


def _on_order_removed(core: DaemonCore, s: Any, m: OrderRemoved) -> None:
    trader = core.trader_of.get(m.login)
    if trader is not None:
        core.feed_engine(pm.TraderOrderCancelled(core.now, trader, m.ticket, m.removal))
    elif m.login in core.investor_accounts:
        core.feed_engine(pm.CopyOrderRemoved(core.now, m.login, m.ticket, m.removal))


def _on_order_filled(core: DaemonCore, s: Any, m: OrderFilled) -> None:
    core.feed.position_opened(m.login, m.position, m.symbol, m.side, m.volume, m.price)
    trader = core.trader_of.get(m.login)
    if m.login in core.netting:  # a netting trader's position: its later reports name only the ticket
        core.netting[m.login][m.position] = m.symbol
        if trader is not None and netting.order_filled(core, trader, m):
            return  # a fill into an open netting position: read as the position's new net
    if trader is not None:
        core.feed_engine(pm.TraderOrderFilled(core.now, trader, m.ticket, m.position, m.symbol, Side(m.side),
                                              m.volume, m.price, m.time, m.sl or None, m.tp or None, m.magic))
    elif m.login in core.investor_accounts:
        core.feed_engine(pm.CopyOrderFilled(core.now, m.login, m.ticket, m.position, m.volume, m.price, m.time))


def _on_orders_snapshot(core: DaemonCore, s: Any, m: OrdersSnapshot) -> None:
    trader = core.trader_of.get(m.login)
    if trader is None:
        core.publish("account.orders_snapshot", login=m.login, orders=len(m.orders))
        return
    now = core.now
    core.feed_engine(pm.TraderOrdersSnapshot(now, trader, tuple(placed(now, trader, o) for o in m.orders)))


ORDER_HANDLERS = {OrderPlaced: _on_order_placed, OrderModified: _on_order_modified, OrderRemoved: _on_order_removed,
                  OrderFilled: _on_order_filled, OrdersSnapshot: _on_orders_snapshot}
