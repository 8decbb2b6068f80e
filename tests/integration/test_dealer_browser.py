"""A dealer action end to end in a real browser (Playwright, headless Debian Chromium).

A real daemon (in a thread, CURVE, its own journal), a trader terminal and an investor
terminal (protocol clients; the investor's `Executor` runs the commands it receives), and the
dashboard on the daemon's feed with an admin key of its own. The dealer opens the investor's
account page, asks to close one copy, types the confirmation, and sees the result; the close
reaches the investor terminal, the copy is gone, and the daemon's journal holds the audit record
with the dealer's name. An investor's POST gets 403; a POST without the CSRF token gets 403.
Screenshots: artifacts/dealer-*.png. Waits are on conditions only.

Issue 13 §2: "Dealer actions with confirmation, permission checks, CSRF protection and an audit
trail in the journal [...] Each goes through the daemon's admin API and shows its result."
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from bridge.daemon.adminclient import AdminClient, AdminKeys
from bridge.daemon.client import Executor, TerminalClient, wait_until
from bridge.daemon.config import load_config
from bridge.daemon.running import DaemonThread
from bridge.daemon.testing import journal_records, make_setup
from bridge.monitor.auth import FileCredentialStore, users_toml
from bridge.monitor.commands import DashboardServer
from bridge.monitor.feed import CurveClient, FeedSubscriber
from bridge.monitor.hub import MonitorHub
from bridge.monitor.web import Dashboard, DashboardConfig
from bridge.monitor.web_dealer import DealerLink
from bridge.protocol import Close
from tests.integration.browserkit import ARGS, CHROMIUM, TIMEOUT_MS, login, need_chromium, wait_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ART = ROOT / "artifacts"
DEALER_PW, INV_PW = "Desk-Pa55word!", "R3adOnly9-a"
TRADER, INV = 1001, 2001


class Pump:
    """Keeps the terminals answering (heartbeats, commands) in one thread of their own while the
    browser works: their sockets are used from this thread only."""

    def __init__(self, clients: list[TerminalClient]) -> None:
        self.clients = clients
        self.stop = threading.Event()
        self.thread = threading.Thread(target=lambda: wait_until(self.stop.is_set, clients, 10**6), daemon=True)

    def __enter__(self) -> Pump:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(30)



@pytest.fixture
def stack(tmp_path):
    need_chromium()
    setup = make_setup(tmp_path / "daemon", {
        "trader": ([TRADER], "trader"), "investors": ([INV], "investor"), "ops": ([], "admin"),
        "dashboard-admin": ([], "admin"), "dashboard-feed": ([], "monitor")})
    daemon = DaemonThread(load_config(setup.config_path)).start()
    ep = daemon.endpoints
    ops = AdminClient(ep["admin"], setup.curve("ops"))
    trader = TerminalClient(ep["router"], setup.curve("trader"))
    inv = TerminalClient(ep["router"], setup.curve("investors"))
    ex = Executor(inv)
    users = tmp_path / "users.toml"
    users.write_text(users_toml([("desk", DEALER_PW)], [(INV, INV_PW, "I1")], n=2**10))
    hub = MonitorHub()
    feed_key, admin_key = setup.keys["dashboard-feed"], setup.keys["dashboard-admin"]
    sub = FeedSubscriber(ep["pub"], hub.apply, curve=CurveClient(setup.server.public, feed_key.public,
                                                                  feed_key.secret or "")).start()
    link = DealerLink(ep["admin"], AdminKeys(setup.server.public, admin_key.public, admin_key.secret or ""))
    dash = Dashboard(hub, FileCredentialStore(users), DashboardConfig(session_secret="x" * 40, sse_poll_s=0.1),
                     admin=link)
    server = DashboardServer(dash).start()
    try:
        yield setup, ops, trader, inv, ex, hub, server
    finally:
        server.stop()
        sub.stop()
        link.close()
        for c in (trader, inv, ops):
            c.close()
        daemon.stop()


def test_a_dealer_closes_one_copy_end_to_end(stack):
    from playwright.sync_api import sync_playwright

    setup, ops, trader, inv, ex, hub, server = stack
    assert ops("register_trader", trader="T", account=TRADER, account_type="mt4_standard", leverage=100,
               commission_pct="20")["ok"]
    assert ops("deposit", owner="I1", amount="1000")["ok"]
    sub = ops("subscribe", investor="I1", trader="T", account=INV, amount="1000")["records"][-1]["subscription"]
    trader.hello(TRADER)
    inv.hello(INV)
    assert wait_until(lambda: trader.sessions[TRADER].welcomed and inv.sessions[INV].welcomed, [trader, inv])
    trader.opened(TRADER, 555, volume="0.5")
    trader.opened(TRADER, 556, volume="0.2")
    copies = lambda: ops("copies")["copies"].get(str(sub), {})  # noqa: E731
    assert wait_until(lambda: {k: v["state"] for k, v in copies().items()} == {"555": "open", "556": "open"},
                      [trader, inv])
    base = server.url
    ART.mkdir(exist_ok=True)
    with Pump([trader, inv]), sync_playwright() as pw:
        wait_for(lambda: {p.trader_ticket for p in hub.read(lambda s: list(s.positions.get(INV, {}).values()))}
                 == {555, 556}, what="the investor's copies on the feed")
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
            page.set_default_timeout(TIMEOUT_MS)
            login(page, base, "desk", DEALER_PW, landing=None)
            page.goto(f"{base}/accounts/{INV}")
            page.click('#dealer-actions li[data-trader-ticket="555"] button[data-action="close_copy"]')
            page.wait_for_selector("#confirm-form")
            assert "close this copy" in page.inner_text("#confirm-what")
            page.screenshot(path=str(ART / "dealer-confirm.png"), full_page=True)
            page.fill("#confirm", "556")  # the wrong ticket: refused, nothing sent
            page.click("#confirm-submit")
            page.wait_for_selector("#confirm-error")
            page.fill("#confirm", "555")
            page.click("#confirm-submit")
            page.wait_for_url(f"{base}/accounts/{INV}")
            flash = page.inner_text("#flash")
            assert "close this copy, the copy of trader ticket 555, subscription" in flash and flash.endswith("done")
            assert "flash-ok" in (page.get_attribute("#flash", "class") or "")
            page.screenshot(path=str(ART / "dealer-result.png"), full_page=True)
            # the close reached the investor terminal; the other copy stays
            wait_for(lambda: any(isinstance(m, Close) for m in inv.commands(INV)), what="the close on the terminal")
            wait_for(lambda: set(copies()) == {"556"}, what="the copy closed")
            wait_for(lambda: len(ex.positions[INV]) == 1, what="the investor terminal's position closed")
            closed = journal_records(setup.journal, "record.copy_closed")
            assert [(r["trader_ticket"], r["reason"]) for r in closed] == [(555, "dealer")]
            audit = journal_records(setup.journal, "record.dealer_action")
            assert [(a["action"], a["actor"], a["subscription"], a["trader_ticket"], a["refused"]) for a in audit] \
                == [("close_copy", "desk", sub, 555, None)]
            # the audit record in the account's events, from the feed
            wait_for(lambda: any("dealer desk: close this copy" in e.text
                                 for e in hub.read(lambda s: list(s.events_by_login.get(INV, ())))),
                     what="the audit line on the feed")
            page.goto(f"{base}/accounts/{INV}")
            assert "dealer desk: close this copy, sub" in page.inner_text("ol.events")
            page.screenshot(path=str(ART / "dealer-account-events.png"), full_page=True)
            # a POST without the CSRF token: 403, nothing sent
            form = {"action": "close_copy", "subscription": str(sub), "trader_ticket": "556", "confirm": "556"}
            assert page.context.request.post(f"{base}/dealer/action", form=form).status == 403
            # an investor never sees the buttons, and its POST (with its own CSRF token) is 403
            investor = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
            login(investor, base, str(INV), INV_PW, landing=None)
            investor.goto(f"{base}/accounts/{INV}")
            assert investor.locator("#dealer-actions").count() == 0
            csrf = investor.get_attribute("form[action='/logout'] input[name=csrf]", "value")
            r = investor.context.request.post(f"{base}/dealer/action", form={**form, "csrf": csrf or ""})
            assert r.status == 403
        finally:
            browser.close()
    assert set(copies()) == {"556"}
    assert len(journal_records(setup.journal, "record.dealer_action")) == 1

