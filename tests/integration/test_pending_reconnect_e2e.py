"""Pending orders across terminal restarts, end to end over loopback sockets (issue 15 item 6,
the gaps: orders there before the watch, orders changed while the terminal was away).

The real daemon (`DaemonThread`: ROUTER, CURVE, SQLite journal) and simulated terminals on the
test's loop, backed by one simulated trade server (tests/integration/test_terminals_e2e.py's
World). A restarted trader terminal knows nothing of what it reported before: its hello and its
`orders_snapshot` are all the daemon hears of what changed meanwhile."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal as D
from pathlib import Path

import pytest

from bridge.daemon.client import AdminClient
from simulator.prices import Tick
from simulator.server import TradeRequest
from simulator.server import retcodes as rc
from simulator.terminals import TerminalCore, login_sessions
from tests.integration.test_terminals_e2e import MASTER, World, until

pytestmark = pytest.mark.integration

ITEM_6 = ("**Pending orders**: copy the trader's limit and stop orders (placement, modification, cancellation, "
          "expiry, fill → the copy becomes a position linked to the trader's position), or not.")


def pending(w: World, kind: int, price: str, volume: str = "0.3") -> int:
    t = w.server.symbol_tick("EURUSD")  # server time catches up with the daemon's, the quote unchanged
    w.server.on_tick(Tick("EURUSD", max(w.clock(), w.server.now_ms), t.bid, t.ask))
    session = w.server.login(w.logins["trader"], MASTER)
    res = w.server.order_send(session, TradeRequest(rc.TRADE_ACTION_PENDING, "EURUSD", D(volume), kind,
                                                    price=D(price)))
    assert res.ok, res
    return res.order


def orders(w: World, inv: str) -> list[tuple[int, D]]:
    return sorted((o.type, o.price_open) for o in w.server.orders(w.logins[inv]))


def fresh_core(w: World) -> TerminalCore:
    return TerminalCore(w.server, login_sessions(w.server, [(w.logins["trader"], MASTER)]),
                        next_id=time.time_ns() // 1000, role="trader")


def test_orders_are_reported_on_connect_and_reconciled_after_a_terminal_restart(tmp_path: Path) -> None:
    async def main() -> None:
        w = World(tmp_path)
        w.start_daemon()
        try:
            w.back_office()
            admin = AdminClient(w.daemon.endpoints["admin"], w.setup.curve("ops"))
            assert admin("set_copy_settings", subscription=1, requester=None, copy_pending=True)["ok"]
            # orders already on the trader's account before its terminal ever connects
            a = pending(w, rc.ORDER_TYPE_BUY_LIMIT, "1.09900")
            c = pending(w, rc.ORDER_TYPE_SELL_LIMIT, "1.10500")
            trader = w.terminal("trader", [w.logins["trader"]])
            investors = w.terminal("investors", [w.logins["inv1"], w.logins["inv2"]])
            for client in (investors, trader):
                await client.start()
                await client.wait_welcomed(timeout=20)
            # the first orders_snapshot: inv1 (copy_pending) gets both copy orders, inv2 nothing
            await until(lambda: len(orders(w, "inv1")) == 2, what="copy orders of the orders found on connect")
            assert orders(w, "inv1") == [(rc.ORDER_TYPE_BUY_LIMIT, D("1.09900")),
                                         (rc.ORDER_TYPE_SELL_LIMIT, D("1.10500"))]
            assert orders(w, "inv2") == []

            # the trader's terminal goes away; meanwhile A fills, C is cancelled, B is placed
            await trader.stop()
            w.quote("1.09880", "1.09890")  # A's level: A fills, and so does inv1's copy of it
            session = w.server.login(w.logins["trader"], MASTER)
            assert w.server.order_send(session, TradeRequest(rc.TRADE_ACTION_REMOVE, order=c)).ok
            b = pending(w, rc.ORDER_TYPE_BUY_LIMIT, "1.09500", volume="0.2")
            assert [p.ticket for p in w.server.positions(w.logins["trader"])] == [a]
            # a new terminal process: its watch starts from the server, it has nothing to re-send
            trader.core = fresh_core(w)
            await trader.start()
            await trader.wait_welcomed(timeout=20)

            # hello: position A is A's fill (inv1's copy order is linked, not copied again);
            # orders_snapshot: B is new (copied), C is gone without a fill (its copy cancelled)
            await until(lambda: orders(w, "inv1") == [(rc.ORDER_TYPE_BUY_LIMIT, D("1.09500"))],
                        what="C's copy cancelled and B's copy placed")
            await until(lambda: len(w.copies("inv2")) == 1, what="inv2 copies A's position at market")
            assert [(p.volume, p.price_open) for p in w.copies("inv1")] == [(D("0.3"), D("1.09900"))]
            copies = admin("copies")["copies"]
            assert {sub: {t: x["state"] for t, x in m.items()} for sub, m in copies.items()} == {
                "1": {str(a): "open"}, "2": {str(a): "open"}}

            # the same again (another restart, nothing changed): nothing placed, opened or
            # cancelled twice. Then D is placed on the new connection: once its copy is there, the
            # snapshot sent before it on the same connection was handled too.
            before = len(w.server.history_orders(w.logins["inv1"])) + len(w.server.orders(w.logins["inv1"]))
            await trader.stop()
            trader.core = fresh_core(w)
            await trader.start()
            await trader.wait_welcomed(timeout=20)
            pending(w, rc.ORDER_TYPE_BUY_LIMIT, "1.09400", volume="0.1")
            await until(lambda: len(orders(w, "inv1")) == 2, what="D's copy order")
            assert orders(w, "inv1") == [(rc.ORDER_TYPE_BUY_LIMIT, D("1.09400")),
                                         (rc.ORDER_TYPE_BUY_LIMIT, D("1.09500"))]
            assert len(w.server.history_orders(w.logins["inv1"])) + len(w.server.orders(w.logins["inv1"])) == before + 1
            assert len(w.copies("inv1")) == 1 and len(w.copies("inv2")) == 1
        finally:
            await w.close()

    asyncio.run(main())
