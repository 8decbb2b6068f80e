"""The simulated terminal's pending orders on (re)connect (issue 15, pending orders gaps 1, 4):
`orders_snapshot` after each welcome, the orders' magic on every report."""

from __future__ import annotations

from decimal import Decimal as D

from bridge.protocol import OrderPlaced, OrdersSnapshot, Welcome
from simulator.server import TradeRequest
from simulator.server import retcodes as rc
from simulator.terminals import TerminalCore, login_sessions
from tests.simulator.test_terminals_core import MASTER, NOW, Daemon, account, new_server, quote, roundtrip


def place(server, session, price: str, magic: int) -> int:
    res = server.order_send(session, TradeRequest(rc.TRADE_ACTION_PENDING, "EURUSD", D("0.2"),
                                                  rc.ORDER_TYPE_BUY_LIMIT, price=D(price), magic=magic))
    assert res.ok, res
    return res.order


def welcome(core: TerminalCore, login: int, resume: bool, last_id: int = 0):
    return roundtrip(core.receive(Daemon().msg(Welcome, login, server_time=NOW, heartbeat_ms=1000, resume=resume,
                                               last_id=last_id), NOW))


def test_orders_there_before_the_watch_are_in_the_first_snapshot_with_their_magic():
    server = new_server()
    quote(server, "1.10000", "1.10010")
    login = account(server)
    session = server.login(login, MASTER)
    before = place(server, session, "1.09000", 4242)
    core = TerminalCore(server, login_sessions(server, [(login, MASTER)]))
    core.connect(NOW)
    (snap,) = welcome(core, login, resume=False)  # first contact, but there is an order to tell of
    assert isinstance(snap, OrdersSnapshot)
    assert [(o.ticket, o.order_type, o.price, o.magic, o.stoplimit) for o in snap.orders] == [
        (before, "buy_limit", D("1.09"), 4242, 0)]
    # a new order is reported live, with its magic; the next welcome's snapshot has both
    later = place(server, session, "1.08500", 7)
    (placed,) = [m for m in roundtrip(core.poll(NOW + 1)) if isinstance(m, OrderPlaced)]
    assert (placed.ticket, placed.magic) == (later, 7)
    (hello,) = core.connect(NOW + 2)
    again = welcome(core, login, resume=True, last_id=placed.id)
    assert [type(m).__name__ for m in again] == ["OrdersSnapshot"]
    assert sorted(o.ticket for o in again[0].orders) == [before, later]


def test_no_snapshot_for_a_login_without_orders_the_daemon_never_knew():
    server = new_server()
    quote(server, "1.10000", "1.10010")
    login = account(server)
    core = TerminalCore(server, login_sessions(server, [(login, MASTER)]))
    core.connect(NOW)
    assert welcome(core, login, resume=False) == []
    core.connect(NOW + 1)
    (snap,) = welcome(core, login, resume=True)  # the daemon knew it: "no orders" is news
    assert isinstance(snap, OrdersSnapshot) and snap.orders == ()
