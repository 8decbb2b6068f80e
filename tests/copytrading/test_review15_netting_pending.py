"""Review of issue 15 (adversarial): a netting trader's pending order that fills *against* its
open position. The terminal reports the fill as `order_filled` with the netting position's id;
the daemon feeds it to the engine as a new trader position (bypassing the netting book), so
the copies open a second, opposite position instead of following the net."""

from __future__ import annotations

from decimal import Decimal as D

from simulator.prices import Tick
from simulator.server import TradeRequest
from simulator.server import retcodes as rc
from tests.simulator.test_cross_platform_e2e import _copies, _netting_world
from tests.simulator.test_terminals_daemon_core import MASTER, trade


def _net(server, login):
    return sum((p.volume if p.type == 0 else -p.volume for p in server.positions(login)), D(0))


def test_a_netting_sell_limit_filling_against_the_position_shrinks_the_copies():
    server, daemon, wire, logins, _ = _netting_world()
    wire.run()
    trade(server, logins["trader"], "buy", "1.00")
    wire.poll()
    for investor in ("mt4", "mt5"):
        assert _copies(server, logins[investor]) == [("buy", D("1.00"))]
    session = server.login(logins["trader"], MASTER)
    placed = server.order_send(session, TradeRequest(rc.TRADE_ACTION_PENDING, "EURUSD", D("0.40"),
                                                     rc.ORDER_TYPE_SELL_LIMIT, price=D("1.10100")))
    assert placed.ok, placed
    wire.poll()
    server.on_tick(Tick("EURUSD", server.now_ms + 1000, D("1.10120"), D("1.10130")))  # the sell limit fills
    wire.poll()
    assert _net(server, logins["trader"]) == D("0.60")
    for investor in ("mt4", "mt5"):
        # the copies net what the trader nets, and no opposite copy is opened
        assert _net(server, logins[investor]) == D("0.60"), _copies(server, logins[investor])
        assert all(p.type == 0 for p in server.positions(logins[investor])), _copies(server, logins[investor])
    trade(server, logins["trader"], "sell", "0.60")  # flat
    wire.poll()
    assert server.positions(logins["trader"]) == []
    for investor in ("mt4", "mt5"):
        assert server.positions(logins[investor]) == [], _copies(server, logins[investor])  # no copy outlives


def _copy_pending(daemon, server, subscription):
    reply = daemon.on_admin({"op": "set_copy_settings", "args": {"subscription": subscription, "requester": None, "copy_pending": True}},
                            None, server.now_ms)
    assert reply["ok"], reply


def test_a_netting_buy_limit_adding_to_the_position_is_copied_once_for_a_copy_pending_follower():
    """Issue 15 item 6 + 9: "fill -> the copy becomes a position linked to the trader's position".
    On a netting account a limit that fills on an open position is an addition: the terminal
    reports `position_opened` again (no `order_filled`), so the engine never learns the order
    filled: the follower gets the addition at market AND its copy order fills too."""
    server, daemon, wire, logins, _ = _netting_world()
    subs = {daemon.engine.subscriptions[s].account: s for s in daemon.engine.subscriptions}
    _copy_pending(daemon, server, subs[logins["mt5"]])
    wire.run()
    trade(server, logins["trader"], "buy", "1.00")
    wire.poll()
    session = server.login(logins["trader"], MASTER)
    placed = server.order_send(session, TradeRequest(rc.TRADE_ACTION_PENDING, "EURUSD", D("0.50"),
                                                     rc.ORDER_TYPE_BUY_LIMIT, price=D("1.09900")))
    assert placed.ok, placed
    wire.poll()
    assert len(server.orders(logins["mt5"])) == 1  # the copy order is placed
    server.on_tick(Tick("EURUSD", server.now_ms + 1000, D("1.09880"), D("1.09890")))  # both limits fill
    wire.poll()
    wire.poll()
    assert _net(server, logins["trader"]) == D("1.50")
    for investor in ("mt4", "mt5"):
        assert _net(server, logins[investor]) == D("1.50"), (investor, _copies(server, logins[investor]))
    trade(server, logins["trader"], "sell", "1.50")  # flat
    wire.poll()
    wire.poll()
    for investor in ("mt4", "mt5"):
        assert server.positions(logins[investor]) == [], (investor, _copies(server, logins[investor]))


def test_a_netting_sell_limit_reducing_the_position_leaves_no_extra_copy_for_a_copy_pending_follower():
    """The same with a sell limit that fills against the position (DEAL_ENTRY_OUT): the terminal
    reports `position_closed` only; the engine's order stays placed, the follower's copy sell
    limit fills into a sell position that nothing ever closes."""
    server, daemon, wire, logins, _ = _netting_world()
    subs = {daemon.engine.subscriptions[s].account: s for s in daemon.engine.subscriptions}
    _copy_pending(daemon, server, subs[logins["mt5"]])
    wire.run()
    trade(server, logins["trader"], "buy", "1.00")
    wire.poll()
    session = server.login(logins["trader"], MASTER)
    placed = server.order_send(session, TradeRequest(rc.TRADE_ACTION_PENDING, "EURUSD", D("0.40"),
                                                     rc.ORDER_TYPE_SELL_LIMIT, price=D("1.10100")))
    assert placed.ok, placed
    wire.poll()
    server.on_tick(Tick("EURUSD", server.now_ms + 1000, D("1.10120"), D("1.10130")))  # both sell limits fill
    wire.poll()
    wire.poll()
    assert _net(server, logins["trader"]) == D("0.60")
    trade(server, logins["trader"], "sell", "0.60")  # flat
    wire.poll()
    wire.poll()
    for investor in ("mt4", "mt5"):
        assert server.positions(logins[investor]) == [], (investor, _copies(server, logins[investor]))


def _set(daemon, server, subscription, **settings):
    reply = daemon.on_admin({"op": "set_copy_settings",
                             "args": {"subscription": subscription, "requester": None, **settings}},
                            None, server.now_ms)
    assert reply["ok"] and not reply["refused"], reply


def test_a_netting_traders_blocked_magic_is_not_copied():
    """Issue 15 item 3: "Filters: ... magic numbers ... A filtered trade is recorded as refused
    with its reason." bridge/daemon/netting.py builds the legs' TraderPositionOpened without the
    report's `magic`, so a netting trader's EA deals pass every `magics_blocked` list (and every
    `magics_allowed` list refuses them as magic unknown)."""
    server, daemon, wire, logins, _ = _netting_world()
    subs = {daemon.engine.subscriptions[s].account: s for s in daemon.engine.subscriptions}
    _set(daemon, server, subs[logins["mt4"]], magics_blocked="7")
    _set(daemon, server, subs[logins["mt5"]], magics_allowed="7")
    wire.run()
    trade(server, logins["trader"], "buy", "0.30", magic=7)  # EA 7
    wire.poll()
    wire.poll()
    assert server.positions(logins["mt4"]) == [], _copies(server, logins["mt4"])  # blocked: not copied
    assert _copies(server, logins["mt5"]) == [("buy", D("0.30"))]  # allowed: copied
