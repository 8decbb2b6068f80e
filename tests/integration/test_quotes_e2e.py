"""Issue 12 item 1.3, on real sockets: "make sure it does get them [conversion rates] in the
normal flow: EURJPY on a USD account". Nobody runs the admin `price` op: the daemon's welcome
asks the terminals for its conversion pairs, the simulated terminals report their trade
server's quotes, and a trader's EURJPY deal is copied to the USD investors.

Waits are conditions with a timeout derived from the configured timers (the terminals'
quote interval and poll, the daemon's heartbeat), never sleeps."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from decimal import Decimal as D
from pathlib import Path

import pytest
from test_terminals_e2e import MASTER, World, until

from bridge.domain.rules import default_rules
from simulator.prices import Tick
from simulator.server import TradeRequest
from simulator.server import retcodes as rc
from simulator.terminals.quotes import QUOTE_EVERY_MS

pytestmark = pytest.mark.integration

HEARTBEAT_MS = 200  # World's daemon heartbeat
# a quote reaches the daemon within one terminal report interval plus a poll and a daemon turn;
# a loaded 2-core machine gets 20 times that
WAIT_S = 20 * (QUOTE_EVERY_MS + HEARTBEAT_MS) / 1000


def _price_ticks(journal: Path) -> dict[str, tuple[D, D]]:
    """The latest journaled PriceTick of each symbol (what the engine's rates are)."""
    db = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT body FROM events WHERE type = 'PriceTick' ORDER BY seq").fetchall()
    except sqlite3.OperationalError:  # not created yet
        return {}
    finally:
        db.close()
    return {b["symbol"]: (D(b["bid"]), D(b["ask"])) for b in (json.loads(body) for (body,) in rows)}


def test_a_eurjpy_deal_is_copied_with_rates_the_terminals_reported(tmp_path: Path) -> None:
    async def main() -> None:
        w = World(tmp_path)
        t = max(w.clock(), w.server.now_ms)
        w.server.on_tick(Tick("USDJPY", t, D("150.100"), D("150.120")))
        w.server.on_tick(Tick("EURJPY", t, D("162.500"), D("162.530")))
        w.start_daemon()
        try:
            w.back_office()  # traders and subscriptions only: no `price` op anywhere
            trader = w.terminal("trader", [w.logins["trader"]])
            investors = w.terminal("investors", [w.logins["inv1"], w.logins["inv2"]])
            for c in (trader, investors):
                await c.start()
                await c.wait_welcomed(timeout=WAIT_S)
            wanted = default_rules().conversion_symbols()
            assert all(link.quote_symbols == wanted for c in (trader, investors) for link in c.core.links.values())
            # the terminals' quotes become the engine's rates: USDJPY as an account sees it
            usdjpy = w.server.symbol_tick("USDJPY", w.logins["trader"])
            await until(lambda: _price_ticks(w.setup.journal).get("USDJPY") == (usdjpy.bid, usdjpy.ask),
                        timeout=WAIT_S, what="USDJPY from a terminal's quotes in the journal")
            # server time catches up with the daemon's (the deal is after the subscriptions)
            w.server.on_tick(Tick("EURJPY", max(w.clock(), w.server.now_ms), D("162.500"), D("162.530")))
            session = w.server.login(w.logins["trader"], MASTER)
            res = w.server.order_send(session, TradeRequest(rc.TRADE_ACTION_DEAL, "EURJPY", D("0.1"),
                                                            rc.ORDER_TYPE_BUY), reason=rc.DEAL_REASON_CLIENT)
            assert res.ok, res
            await until(lambda: w.copies("inv1") and w.copies("inv2"), timeout=WAIT_S,
                        what="the EURJPY copies on both USD investor accounts")
            assert [p.symbol for p in w.copies("inv1") + w.copies("inv2")] == ["EURJPY", "EURJPY"]
            assert set(_price_ticks(w.setup.journal)) <= set(wanted)  # only the asked pairs were fed
        finally:
            await w.close()

    asyncio.run(main())
