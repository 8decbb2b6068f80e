"""Pending orders end to end (issue 15 item 6): the simulated trade server, the simulated
terminals and the daemon core in memory, frames through the codec both ways."""

from __future__ import annotations

from decimal import Decimal as D

from simulator.prices import Tick
from simulator.server import TradeRequest
from simulator.server import retcodes as rc
from tests.simulator.test_terminals_daemon_core import MASTER, setup

ITEM_6 = ("**Pending orders**: copy the trader's limit and stop orders (placement, modification, cancellation, "
          "expiry, fill → the copy becomes a position linked to the trader's position), or not.")


def orders(server, login):
    return [(o.type, o.volume_current, o.price_open) for o in server.orders(login)]


def test_a_buy_limit_placed_modified_filled_and_another_cancelled():
    assert "placement, modification, cancellation" in ITEM_6
    server, daemon, wire, logins, _ = setup()
    reply = daemon.on_admin({"op": "set_copy_settings", "args": {"subscription": 1, "requester": None,
                                                                 "copy_pending": True}}, None, server.now_ms)
    assert reply["ok"], reply
    trader = server.login(logins["trader"], MASTER)
    inv1, inv2 = logins["inv1"], logins["inv2"]  # subscription 1 copies orders, 2 does not

    # placed: the copy order appears on inv1's account only, same type, volume and price
    res = server.order_send(trader, TradeRequest(rc.TRADE_ACTION_PENDING, "EURUSD", D("0.5"),
                                                 rc.ORDER_TYPE_BUY_LIMIT, price=D("1.09900")))
    assert res.ok, res
    wire.poll()
    assert orders(server, inv1) == [(rc.ORDER_TYPE_BUY_LIMIT, D("0.5"), D("1.09900"))]
    assert orders(server, inv2) == []
    copy_order = server.orders(inv1)[0].ticket

    # modified: the copy order follows
    assert server.order_send(trader, TradeRequest(rc.TRADE_ACTION_MODIFY, order=res.order, price=D("1.09950"))).ok
    wire.poll()
    assert orders(server, inv1) == [(rc.ORDER_TYPE_BUY_LIMIT, D("0.5"), D("1.09950"))]

    # filled: the market reaches the level; both orders fill on the server; inv2 copies the
    # position at market, inv1's filled order becomes the copy linked to the trader's position
    server.on_tick(Tick("EURUSD", server.now_ms + 1000, D("1.09930"), D("1.09940")))
    wire.poll()
    wire.poll()
    trader_positions = server.positions(logins["trader"])
    assert [(p.ticket, p.volume) for p in trader_positions] == [(res.order, D("0.5"))]
    assert [p.volume for p in server.positions(inv1)] == [D("0.5")]
    assert [p.volume for p in server.positions(inv2)] == [D("0.5")]
    assert orders(server, inv1) == []
    copies = daemon.copy_map()
    assert {sub: {t: c["state"] for t, c in m.items()} for sub, m in copies.items()} == {
        "1": {str(res.order): "open"}, "2": {str(res.order): "open"}}
    linked = daemon.engine.subscriptions[1].copies[res.order]
    assert linked.ticket == server.positions(inv1)[0].ticket
    assert server.history_orders(inv1)[-1].ticket == copy_order
    assert ("down", "open", inv1) not in wire.log and ("down", "open", inv2) in wire.log  # inv1: no market copy
    assert ("up", "order_filled", inv1) in wire.log and ("up", "order_filled", logins["trader"]) in wire.log

    # the trader closes: both copies close
    pos = trader_positions[0]
    assert server.order_send(trader, TradeRequest(rc.TRADE_ACTION_DEAL, "EURUSD", D("0.5"), rc.ORDER_TYPE_SELL,
                                                  position=pos.ticket)).ok
    wire.poll()
    assert not server.positions(inv1) and not server.positions(inv2)

    # another order, cancelled by the trader: the copy order is cancelled
    res = server.order_send(trader, TradeRequest(rc.TRADE_ACTION_PENDING, "EURUSD", D("0.3"),
                                                 rc.ORDER_TYPE_SELL_LIMIT, price=D("1.10500")))
    assert res.ok, res
    wire.poll()
    assert orders(server, inv1) == [(rc.ORDER_TYPE_SELL_LIMIT, D("0.3"), D("1.10500"))]
    assert server.order_send(trader, TradeRequest(rc.TRADE_ACTION_REMOVE, order=res.order)).ok
    wire.poll()
    assert orders(server, inv1) == [] and orders(server, inv2) == []
    assert not daemon.pending and daemon.engine.s.orders == {}
