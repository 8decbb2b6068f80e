"""The dashboard in a real browser (Playwright, headless Debian Chromium).

A real XPUB socket publishes the recorded feed (tests/monitor/data/feed.jsonl) the way the
daemon must; the dashboard's SUB shell joins late, resyncs from the snapshot, and serves
on an ephemeral port. The dealer and an investor log in; the test checks what each sees
and must not see, that a live trade reaches the page over SSE, and saves a screenshot to
artifacts/dashboard.png.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.monitor.auth import FileCredentialStore, users_toml
from bridge.monitor.commands import DashboardServer
from bridge.monitor.feed import FeedSubscriber, load_recording
from bridge.monitor.hub import MonitorHub
from bridge.monitor.replay import FeedReplayServer
from bridge.monitor.state import FeedEvent
from bridge.monitor.web import Dashboard, DashboardConfig
from tests.integration.browserkit import ARGS, CHROMIUM, TIMEOUT_MS, login, need_chromium, wait_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
FEED = ROOT / "tests" / "monitor" / "data" / "feed.jsonl"
DEALER_PW, INV_PW, INV2_PW = "Desk-Pa55word!", "R3adOnly9-a", "R3adOnly9-b"



@pytest.fixture
def stack(tmp_path):
    need_chromium()
    users = tmp_path / "users.toml"
    users.write_text(users_toml([("desk", DEALER_PW)], [(2001, INV_PW, "inv-001"), (2002, INV2_PW, "inv-002")],
                                n=2**10))
    feed = FeedReplayServer(instance="browser-1", initial=load_recording(FEED)).start()
    hub = MonitorHub()
    sub = FeedSubscriber(feed.endpoint, hub.apply).start()
    dash = Dashboard(hub, FileCredentialStore(users), DashboardConfig(session_secret="x" * 40, sse_poll_s=0.1))
    server = DashboardServer(dash).start()
    try:
        wait_for(lambda: hub.state.health.synced and len(hub.state.accounts) == 6, what="the feed snapshot")
        yield server, feed, hub
    finally:
        server.stop()
        sub.stop()
        feed.stop()



def _logins(page) -> list[int]:
    return [int(x) for x in page.eval_on_selector_all("#sec-accounts tr.acct", "rs => rs.map(r => r.dataset.login)")]


def test_dashboard_in_a_browser(stack):
    from playwright.sync_api import sync_playwright

    server, feed, _hub = stack
    base = server.url
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            # ---- public: trader statistics need no login; the desk does
            anon = browser.new_page()
            anon.set_default_timeout(TIMEOUT_MS)
            r = anon.goto(f"{base}/traders/trader-2")
            assert r.status == 200 and "-36.10%" in anon.inner_text("#trader-stats")
            assert anon.locator("#equity-curve svg polyline").count() == 1
            anon.goto(f"{base}/")
            assert anon.url.startswith(f"{base}/login")

            # ---- dealer: everything, live
            dealer = browser.new_context(viewport={"width": 1400, "height": 1100}).new_page()
            dealer.set_default_timeout(TIMEOUT_MS)
            login(dealer, base, "desk", DEALER_PW)
            assert _logins(dealer) == [2003, 2002, 1002, 2001, 1001, 2004]
            assert dealer.get_attribute("tr.acct[data-login='2003']", "data-status") == "stop_out"
            assert dealer.get_attribute("tr.acct[data-login='2002']", "data-status") == "margin_call"
            assert "STOP-OUT" in dealer.inner_text("tr.acct[data-login='2003']")
            assert dealer.locator("#exposure-table tr[data-symbol='GBPUSD']").count() == 1
            assert dealer.locator("#sec-charts svg").count() >= 5
            assert dealer.inner_text("#p50") == "58 ms" and dealer.inner_text("#p99") == "120 ms"
            dealer.wait_for_function("() => document.body.dataset.version !== '0'")  # the SSE stream is up

            # ---- investor 2001: own account and subscription only
            inv = browser.new_context().new_page()
            inv.set_default_timeout(TIMEOUT_MS)
            login(inv, base, "2001", INV_PW)
            assert _logins(inv) == [2001]
            subs = inv.eval_on_selector_all("#sec-subscriptions tr.sub", "rs => rs.map(r => r.dataset.subscription)")
            assert subs == ["1"]
            text = inv.inner_text("body")
            for other in ("inv-002", "inv-003", "inv-004", "2002", "2003", "GBPUSD"):
                assert other not in text, other
            assert inv.locator("#exposure-table").count() == 0
            for url in ("/investors/2002", "/accounts/2003", "/accounts/1001", "/metrics"):
                resp = inv.goto(f"{base}{url}")
                assert resp.status == 403, url
            resp = inv.goto(f"{base}/investors/2001")
            assert resp.status == 200 and "inv-001" in inv.inner_text("#investor-stats")
            inv.goto(f"{base}/")
            inv.wait_for_function("() => document.body.dataset.version !== '0'")

            # ---- a simulated trade: a copy for investor 2001's subscription, one for another investor
            feed.publish(FeedEvent("record.copy_opened", {"ts": 1704697210000, "subscription": 1, "trader_ticket": 70020,
                                                          "ticket": 424242, "volume": "0.30", "price": "1.09600",
                                                          "latency_ms": 37}))
            feed.publish(FeedEvent("record.copy_opened", {"ts": 1704697210000, "subscription": 2, "trader_ticket": 70021,
                                                          "ticket": 535353, "volume": "0.10", "price": "1.26100",
                                                          "latency_ms": 44}))
            feed.publish(FeedEvent("account.update", {"ts": 1704697210000, "login": 2001, "balance": "1000.00",
                                                      "equity": "300.00", "margin": "1000.00",
                                                      "free_margin": "-700.00"}))
            dealer.wait_for_function("() => document.querySelector('#sec-events').innerText.includes('535353')")
            dealer.wait_for_function("() => document.querySelector(\"tr.acct[data-login='2001']\")"
                                     "?.dataset.status === 'margin_call'")
            assert "424242" in dealer.inner_text("#sec-events")
            inv.wait_for_function("() => document.querySelector('#sec-events').innerText.includes('424242')")
            inv.wait_for_function("() => document.querySelector(\"tr.acct[data-login='2001']\")"
                                  "?.dataset.status === 'margin_call'")
            assert "535353" not in inv.inner_text("body")

            # ---- screenshot of the dealer's desk
            out = ROOT / "artifacts" / "dashboard.png"
            out.parent.mkdir(exist_ok=True)
            dealer.screenshot(path=str(out), full_page=True)
            assert out.stat().st_size > 10_000
            print(f"\nscreenshot: {out}")
        finally:
            browser.close()
