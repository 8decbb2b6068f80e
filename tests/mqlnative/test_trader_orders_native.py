"""The trader EA, built natively for both branches, reports its pending orders on connect and
sends its order reports again after a daemon restart (issue 15, pending orders: gaps 1 and 2).

- Orders there before the EA starts reach the daemon in the `orders_snapshot` after its welcome
  (a TraderOrdersSnapshot in the daemon's journal), with the order's magic.
- Re-send (protocol §5 `welcome.last_id`): the daemon is stopped, the trader places an order,
  the EA reports it into the stopped daemon's socket, the daemon is killed before reading it and
  restarted on the same journal and port: the EA sends the `order_placed` again (the reporter's
  one re-send buffer), then its `orders_snapshot`.

Real libzmq with CURVE, a real `mtbridge daemon`, the simulated trade server behind the terminal
models of mqlnative.host (tests/mqlnative/test_trader_catchup.py's world).
"""

from __future__ import annotations

import asyncio
import signal
from decimal import Decimal as D
from pathlib import Path

import pytest

from mqlnative.host.e2e_world import SYMBOL, Market, Role
from simulator.server import TradeRequest
from simulator.server import retcodes as rc
from tests.mqlnative.test_trader_catchup import UTC2, WAIT_S, _events, _restart_on_the_same_port, _side

pytestmark = pytest.mark.integration


def _order(m: Market, price: str, magic: int) -> int:
    return m.trade("trader", TradeRequest(rc.TRADE_ACTION_PENDING, SYMBOL, D("0.10"), rc.ORDER_TYPE_BUY_LIMIT,
                                          price=D(price), magic=magic)).order


def _snapshots(m: Market) -> list[dict[int, dict]]:
    return [{o["ticket"]: o for o in body["orders"]} for t, body in _events(m) if t == "TraderOrdersSnapshot"]


def _placed(m: Market, ticket: int) -> list[dict]:
    return [body for t, body in _events(m) if t == "TraderOrderPlaced" and body["ticket"] == ticket]


async def _orders(tmp: Path, platform: str, lib: Path, consts) -> None:
    m = Market(tmp, [Role("trader", platform, "trader")], seed=7, validity_ms=3000, heartbeat_ms=2000,
               timezone=UTC2)
    side = _side(m, tmp, platform, lib, consts)
    try:
        m.quote("1.10000", "1.10010")
        before = _order(m, "1.09000", 4242)  # on the account before the EA starts
        await side.start("trader")
        log = side.eas["trader"].program.log
        await side.until(lambda: any(before in s for s in _snapshots(m)), "the order in the first snapshot", WAIT_S)
        (first,) = _snapshots(m)
        assert (first[before]["kind"], first[before]["price"], first[before]["magic"]) == ("buy_limit", "1.09", 4242)

        m.daemon.proc.send_signal(signal.SIGSTOP)
        try:
            x = _order(m, "1.08500", 77)
            for _ in range(20):  # the EA reports X's placement (its link is still up)
                await side.pump()
            await side.until(lambda: any("silent" in line for line in log), "the EA to judge the daemon silent",
                             WAIT_S)
            _restart_on_the_same_port(m)  # killed while stopped: it never reads X's report
        finally:
            if m.daemon.proc.poll() is None:
                m.daemon.proc.send_signal(signal.SIGCONT)
        await side.until(lambda: _placed(m, x) and len(_snapshots(m)) == 2, "X sent again, then the snapshot",
                         WAIT_S)
        assert [(p["price"], p["magic"]) for p in _placed(m, x)] == [("1.085", 77)]
        resent = [line for line in log if "re-sending" in line]
        assert resent and resent[-1].startswith("MtBridge: re-sending 1 report(s)"), resent
        order = [t for t, _ in _events(m) if t in ("TraderOrderPlaced", "TraderOrdersSnapshot")]
        assert order[-2:] == ["TraderOrderPlaced", "TraderOrdersSnapshot"]  # the re-sent report first
        assert set(_snapshots(m)[-1]) == {before, x}
    finally:
        await side.close()
        side.write_logs(tmp / "logs")
        m.close()


# MT5 only: mqlnative's MT4 terminal model keeps no pending orders (its pool is built from deals);
# the MQL4 branch of the same code is compiled (test_compile_check) but not run against orders.
@pytest.mark.parametrize("platform", ["MT5"])
def test_orders_are_reported_on_connect_and_sent_again_after_a_daemon_restart(traders, tmp_path, platform):
    lib, consts = traders[platform]
    asyncio.run(_orders(tmp_path, platform, lib, consts))
