"""The trader EA, built natively for both branches, reports the daemon's conversion pairs (issue
12 item 1.3: "make sure it does get them in the normal flow"): the welcome's `quote_symbols`
that the trade server has are quoted in `quotes` (SymbolSelect + SymbolInfoTick), and the
daemon journals them as PriceTick events; a symbol the server lacks (USDNGN) is logged and
skipped. Real libzmq with CURVE, a real `mtbridge daemon`, the simulated trade server behind the
terminal models of mqlnative.host (the same world as `make mql-e2e`)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from decimal import Decimal as D
from pathlib import Path

import pytest

from bridge.domain.servertime import ServerTimeZone
from mqlnative.host.e2e_sides import EaSide
from mqlnative.host.e2e_world import Market, Role
from simulator.prices import Tick

pytestmark = pytest.mark.integration

WAIT_S = 60.0  # generous: a loaded 2-core machine; every wait ends on a condition


def _ticks(market: Market) -> dict[str, tuple[D, D]]:
    """The latest journaled PriceTick of each symbol."""
    db = sqlite3.connect(f"file:{market.setup.journal}?mode=ro", uri=True, timeout=5)
    try:
        rows = db.execute("SELECT body FROM events WHERE type = 'PriceTick' ORDER BY seq").fetchall()
    except sqlite3.OperationalError:  # the schema is not there yet
        return {}
    finally:
        db.close()
    return {b["symbol"]: (D(b["bid"]), D(b["ask"])) for b in (json.loads(body) for (body,) in rows)}


async def _quotes(tmp: Path, platform: str, lib: Path, consts) -> None:
    m = Market(tmp, [Role("trader", platform, "trader")], seed=7, validity_ms=3000,
               timezone=ServerTimeZone.parse("UTC+2"))
    branch = "mql4" if platform == "MT4" else "mql5"
    side = EaSide(m, {platform: {"trader": lib}}, {branch: consts}, tmp / "ea")
    login = m.logins["trader"]
    try:
        m.server.on_tick(Tick("USDJPY", max(m.clock.now_ms(), m.server.now_ms), D("150.100"), D("150.120")))
        await side.start("trader")
        log = side.eas["trader"].program.log

        def seen(symbol: str) -> tuple[D, D]:
            t = m.server.symbol_tick(symbol, login)  # as the account sees it (ask + markup)
            return t.bid, t.ask

        await side.until(lambda: all(_ticks(m).get(s) == seen(s) for s in ("EURUSD", "USDJPY")),
                         "EURUSD and USDJPY from the EA's quotes in the journal", WAIT_S)
        m.quote("1.10200", "1.10210")  # a change: quoted again (after at most a second)
        await side.until(lambda: _ticks(m).get("EURUSD") == seen("EURUSD"), "the new EURUSD quote", WAIT_S)
        assert any("quotes of USDNGN" in line for line in log), [x for x in log if "quote" in x]
        daemon_log = (m.setup.dir / "daemon.log").read_text()
        assert "quote_refused" not in daemon_log  # times are UTC, symbols the asked ones
    finally:
        await side.close()
        side.write_logs(tmp / "logs")
        m.close()


@pytest.mark.parametrize("platform", ["MT4", "MT5"])
def test_the_ea_quotes_the_daemons_conversion_pairs(traders, tmp_path, platform):
    lib, consts = traders[platform]
    asyncio.run(_quotes(tmp_path, platform, lib, consts))
