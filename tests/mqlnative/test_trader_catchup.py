"""The trader EA, built natively for both branches, loses its daemon and catches up.

- Catch-up (review row 19, protocol §6.3): the daemon process is stopped (SIGSTOP) until the EA
  judges it silent; meanwhile the trader opens and closes positions by hand; when the daemon
  resumes, the EA's next `hello` is welcomed and the deals made while the link was down reach
  the daemon as `position_opened` / `position_closed` (not only in the snapshot), with no
  resynchronising reconnect.
- Re-send (protocol §5 `welcome.last_id`): the daemon is stopped, the trader opens and closes a
  position, the EA reports both into the stopped daemon's socket, the daemon is killed before
  reading them and restarted on the same journal and port: its `welcome.last_id` is below those
  reports, and the EA sends them again, so the daemon learns of a position that no snapshot
  will ever show.

Real libzmq with CURVE, a real `mtbridge daemon`, the simulated trade server behind the
terminal models of mqlnative.host (the same world as `make mql-e2e`).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
from pathlib import Path

import pytest

from bridge.domain.servertime import ServerTimeZone
from mqlnative.host.e2e_sides import EaSide
from mqlnative.host.e2e_world import Market, Role
from simulator.server import retcodes as rc

pytestmark = pytest.mark.integration

WAIT_S = 60.0  # generous: a loaded 2-core machine; every wait ends on a condition
UTC2 = ServerTimeZone.parse("UTC+2")  # the trade server's and the daemon's zone (7 200 000 ms), as brokers run it:
# the EA must convert every time to UTC


def _events(market: Market) -> list[tuple[str, dict]]:
    db = sqlite3.connect(f"file:{market.setup.journal}?mode=ro", uri=True, timeout=5)
    try:
        return [(t, json.loads(b)) for t, b in db.execute("SELECT type, body FROM events ORDER BY seq")]
    except sqlite3.OperationalError:  # the schema is not there yet
        return []
    finally:
        db.close()


def _reported(market: Market, ticket: int) -> list[tuple[str, str]]:
    """(event type, volume) of the daemon's trader events for `ticket`, in journal order."""
    kinds = ("TraderPositionOpened", "TraderPositionClosed")
    return [(t, b["volume"]) for t, b in _events(market) if t in kinds and b.get("ticket") == ticket]


def _side(m: Market, tmp: Path, platform: str, lib: Path, consts) -> EaSide:
    branch = "mql4" if platform == "MT4" else "mql5"
    return EaSide(m, {platform: {"trader": lib}}, {branch: consts}, tmp / "ea")


async def _welcomed_with_c(m: Market, side: EaSide) -> tuple[int, list[str]]:
    """Start the trader EA, wait for its welcome and for position C (0.30 buy) to be reported."""
    await side.start("trader")
    await side.until(lambda: m.logins["trader"] in m.sessions(), "the trader welcomed", WAIT_S)
    c = m.open("trader", "buy", "0.30")
    await side.until(lambda: _reported(m, c) == [("TraderPositionOpened", "0.3")], "C reported", WAIT_S)
    return c, side.eas["trader"].program.log


async def _catch_up(tmp: Path, platform: str, lib: Path, consts) -> None:
    m = Market(tmp, [Role("trader", platform, "trader")], seed=5, validity_ms=3000, timezone=UTC2)
    side = _side(m, tmp, platform, lib, consts)
    try:
        c, log = await _welcomed_with_c(m, side)
        m.daemon.proc.send_signal(signal.SIGSTOP)
        try:
            # 5 heartbeats (200 ms each) without a frame: the EA closes the link and reconnects
            await side.until(lambda: any("silent" in line for line in log), "the EA to judge the daemon silent",
                             WAIT_S)
            a = m.open("trader", "sell", "0.20")
            await side.pump()
            m.close_part("trader", a, "0.20")  # A opened and closed while the link is down
            m.close_part("trader", c, "0.10")  # C partly closed
            b = m.open("trader", "buy", "0.10")  # B opened, still open
            await side.pump()
        finally:
            m.daemon.proc.send_signal(signal.SIGCONT)
        await side.until(lambda: len(_reported(m, a)) == 2, "A's open and close reported after the welcome", WAIT_S)
        assert _reported(m, a) == [("TraderPositionOpened", "0.2"), ("TraderPositionClosed", "0.2")]
        # times are UTC: A's open time is the server's (UTC) deal time; MT4 keeps whole seconds
        (opened_at,) = [b["opened_at"] for t, b in _events(m) if t == "TraderPositionOpened" and b["ticket"] == a]
        (deal,) = [d for d in m.server.history_deals(m.logins["trader"])
                   if d.position_id == a and d.entry == rc.DEAL_ENTRY_IN]
        assert 0 <= deal.time_msc - opened_at < (1000 if platform == "MT4" else 1)
        daemon_log = (m.setup.dir / "daemon.log").read_text()
        assert "utc_offset_mismatch" not in daemon_log  # hello.utc_offset_ms = 7 200 000
        await side.until(lambda: any(t == "TraderSnapshot" and any(p["ticket"] == b for p in body["positions"])
                                     for t, body in _events(m)), "B in the reconnect hello", WAIT_S)
        snapshot = [body for t, body in _events(m) if t == "TraderSnapshot"][-1]
        volumes = {p["ticket"]: p["volume"] for p in snapshot["positions"]}
        assert volumes == {c: "0.2", b: "0.1"}
        assert sum("welcome" in line for line in log) == 2
        assert not any("resynchronising" in line for line in log), [x for x in log if "resynchronising" in x]
    finally:
        await side.close()
        side.write_logs(tmp / "logs")
        m.close()


@pytest.mark.parametrize("platform", ["MT4", "MT5"])
def test_deals_made_while_the_link_was_down_are_reported_after_the_welcome(traders, tmp_path, platform):
    lib, consts = traders[platform]
    asyncio.run(_catch_up(tmp_path, platform, lib, consts))


def _restart_on_the_same_port(m: Market) -> None:
    """kill -9 the (stopped) daemon, so it never reads what is queued for it, and start it again
    on its journal, bound to the router endpoint the EA knows."""
    router = m.daemon.endpoints["router"]
    m.daemon.kill()
    config = m.setup.config_path.read_text()
    m.setup.config_path.write_text(config.replace('router = "tcp://127.0.0.1:*"', f'router = "{router}"'))
    m.daemon.start()
    assert m.daemon.endpoints["router"] == router


async def _resend(tmp: Path, platform: str, lib: Path, consts) -> None:
    # heartbeat 2 s: the EA judges the stopped daemon silent after 10 s, long after it reported X
    m = Market(tmp, [Role("trader", platform, "trader")], seed=6, validity_ms=3000, heartbeat_ms=2000,
               timezone=UTC2)
    side = _side(m, tmp, platform, lib, consts)
    try:
        c, log = await _welcomed_with_c(m, side)
        m.daemon.proc.send_signal(signal.SIGSTOP)
        try:
            x = m.open("trader", "sell", "0.20")
            for _ in range(20):  # the EA reports X's open (its link is still up)
                await side.pump()
            m.close_part("trader", x, "0.20")
            await side.until(lambda: any("silent" in line for line in log), "the EA to judge the daemon silent",
                             WAIT_S)
            _restart_on_the_same_port(m)  # killed while stopped: it never reads X's reports
        finally:
            if m.daemon.proc.poll() is None:
                m.daemon.proc.send_signal(signal.SIGCONT)
        await side.until(lambda: len(_reported(m, x)) == 2, "X's open and close sent again after the welcome",
                         WAIT_S)
        assert _reported(m, x) == [("TraderPositionOpened", "0.2"), ("TraderPositionClosed", "0.2")]
        resent = [line for line in log if "re-sending" in line]
        assert resent and resent[-1].startswith("MtBridge: re-sending 2 report(s)"), resent
        assert not any("resynchronising" in line for line in log)
    finally:
        await side.close()
        side.write_logs(tmp / "logs")
        m.close()


@pytest.mark.parametrize("platform", ["MT4", "MT5"])
def test_reports_the_daemon_never_journaled_are_sent_again_after_welcome(traders, tmp_path, platform):
    lib, consts = traders[platform]
    asyncio.run(_resend(tmp_path, platform, lib, consts))
