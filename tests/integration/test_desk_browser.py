"""Issue 13 §1 ("See") in a real browser (Playwright, headless Debian Chromium).

Checks, each with a screenshot under artifacts/desk-*.png:
* positions: every account's open positions with open / current price and floating P/L, a
  copy naming the trader position it follows;
* exposure in money: per symbol, per trader and in total, in USD;
* an alert raised, then acknowledged by a named dealer, still there after a dashboard restart;
* investor history and CSV after the subscription ends (and not another investor's);
* a 390 px wide viewport: document.documentElement.scrollWidth <= 390.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from bridge.monitor.alertstore import AlertStore
from bridge.monitor.auth import FileCredentialStore, users_toml
from bridge.monitor.commands import DashboardServer
from bridge.monitor.feed import FeedSubscriber, load_recording
from bridge.monitor.history import HistoryStore
from bridge.monitor.hub import MonitorHub
from bridge.monitor.replay import FeedReplayServer
from bridge.monitor.state import FeedEvent
from bridge.monitor.web import Dashboard, DashboardConfig
from tests.integration.browserkit import ARGS, CHROMIUM, TIMEOUT_MS, login, need_chromium, wait_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
FEED = ROOT / "tests" / "monitor" / "data" / "feed.jsonl"
ART = ROOT / "artifacts"
DEALER_PW, INV_PW, INV2_PW = "Desk-Pa55word!", "R3adOnly9-a", "R3adOnly9-b"
TS = 1_704_697_210_000



def desk_events() -> list[FeedEvent]:
    """Positions and prices (F14, F15) on top of the recorded feed: trader-1 (1001) long 1 lot
    EURUSD, investor 2001 follows it with 0.30; trader-2 (1002) short GBPUSD, followed by 2002."""
    def e(topic: str, **body) -> FeedEvent:
        return FeedEvent(topic, {"ts": TS, **body})

    return [
        e("positions", login=1001, positions=[{"ticket": 70020, "symbol": "EURUSD", "side": "buy", "volume": "1",
                                                "price": "1.09500"}]),
        e("positions", login=2001, positions=[{"ticket": 424242, "symbol": "EURUSD", "side": "buy", "volume": "0.30",
                                                "price": "1.09600", "trader": "trader-1", "trader_ticket": 70020}]),
        e("positions", login=1002, positions=[{"ticket": 70021, "symbol": "GBPUSD", "side": "sell", "volume": "0.5",
                                                "price": "1.26100"}]),
        e("positions", login=2002, positions=[{"ticket": 535353, "symbol": "GBPUSD", "side": "sell", "volume": "0.10",
                                                "price": "1.26100", "trader": "trader-2", "trader_ticket": 70021}]),
        e("prices", symbols=[{"symbol": "EURUSD", "bid": "1.09700", "ask": "1.09710"},
                             {"symbol": "GBPUSD", "bid": "1.26000", "ask": "1.26010"}]),
        e("record.copy_opened", subscription=1, trader_ticket=70020, ticket=424242, volume="0.30", price="1.09600",
          symbol="EURUSD", side="buy", latency_ms=37),
        e("record.copy_refused", subscription=2, trader="trader-2", trader_ticket=70030, code="below_min_volume",
          detail="copy volume 0.003841678168510377537194240211 lots", symbol="GBPUSD", side="sell"),
    ]


class Stack:
    def __init__(self, tmp: Path, users: Path, db: Path, feed: FeedReplayServer) -> None:
        self.hub = MonitorHub(alerts=AlertStore(db), history=HistoryStore(db))
        self.sub = FeedSubscriber(feed.endpoint, self.hub.apply).start()
        dash = Dashboard(self.hub, FileCredentialStore(users), DashboardConfig(session_secret="x" * 40,
                                                                               sse_poll_s=0.1))
        self.server = DashboardServer(dash).start()

    def stop(self) -> None:
        self.server.stop()
        self.sub.stop()
        self.hub.alerts.close()
        self.hub.history.close()


@pytest.fixture
def env(tmp_path):
    need_chromium()
    users = tmp_path / "users.toml"
    users.write_text(users_toml([("desk", DEALER_PW)], [(2001, INV_PW, "inv-001"), (2002, INV2_PW, "inv-002")],
                                n=2**10))
    feed = FeedReplayServer(instance="desk-1", initial=[*load_recording(FEED), *desk_events()]).start()
    stacks: list[Stack] = []

    def start() -> Stack:
        st = Stack(tmp_path, users, tmp_path / "desk.sqlite", feed)
        stacks.append(st)
        wait_for(lambda: st.hub.state.health.synced and len(st.hub.state.positions) >= 3, what="the feed")
        return st

    try:
        yield start, feed
    finally:
        for st in stacks:
            st.stop()
        feed.stop()



def _shot(page, name: str) -> Path:
    ART.mkdir(exist_ok=True)
    out = ART / f"desk-{name}.png"
    page.screenshot(path=str(out), full_page=True)
    assert out.stat().st_size > 5_000
    return out


def test_desk_sees_positions_exposure_alerts_history_on_any_screen(env):
    from playwright.sync_api import sync_playwright

    start, feed = env
    st = start()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            dealer = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            dealer.set_default_timeout(TIMEOUT_MS)
            base = st.server.url
            login(dealer, base, "desk", DEALER_PW)

            # ---- exposure in money: EURUSD 1.30 lots long at the mid 1.09705 = 142,616.50 USD net
            row = dealer.locator("#exposure-table tr[data-symbol='EURUSD']").inner_text()
            assert "+1.30" in row and "+142,616.50" in row
            # floating: (1.09700-1.09500) x 1 x 100 000 + (1.09700-1.09600) x 0.3 x 100 000 = 200 + 30
            assert "+230.00" in row
            total = dealer.locator("#exposure-table tr.total").inner_text()
            assert total.split()[-1] == "4"  # positions
            assert dealer.locator("#exposure-traders tr[data-trader='trader-1']").count() == 1
            assert "0.003841678" not in dealer.inner_text("body")  # no unrounded decimal reaches the page
            assert "copy below the minimum volume" in dealer.inner_text("#sec-events")
            assert "EURUSD buy 0.30 lots" in dealer.inner_text("#sec-events")
            _shot(dealer, "dealer-home")

            # ---- positions: all accounts, a copy names the trader position it follows
            dealer.goto(f"{base}/positions")
            copy = dealer.locator("#positions-table tr[data-ticket='424242']").inner_text()
            assert "EURUSD" in copy and "buy" in copy and "0.30" in copy and "1.096" in copy and "1.097" in copy
            assert "+30.00" in copy and "trader-1 #70020" in copy
            assert dealer.locator("#positions-table tr.position").count() == 4
            dealer.goto(f"{base}/accounts/2002")
            assert "trader-2 #70021" in dealer.inner_text("#positions-table")
            assert "USD" in dealer.inner_text("#account-facts")
            _shot(dealer, "dealer-account")

            # ---- alerts: raised by the recorded feed (margin call 2002, stop-outs, protection, 2004 offline)
            dealer.goto(f"{base}/")
            banner = dealer.locator("#alerts-open")
            assert banner.get_attribute("data-open") == "5"
            dealer.check("#alert-sound")  # the sound toggle is kept in localStorage
            assert dealer.evaluate("localStorage.getItem('mtbridge.alertSound')") == "1"
            feed.publish(FeedEvent("account.margin_call", {"ts": TS + 5000, "login": 2001, "margin_level": "30.5",
                                                           "margin_call_level": "40"}))
            dealer.wait_for_function("() => document.querySelector('#alerts-open').dataset.open === '6'")
            dealer.wait_for_function("() => Number(document.body.dataset.beeps || '0') >= 1")  # the sound cue fired
            dealer.goto(f"{base}/alerts?kind=margin_call&status=open")
            rows = dealer.locator("#alerts-table tr.alert")
            assert rows.count() == 2
            target = dealer.locator("#alerts-table tr.alert", has_text="account 2001")
            alert_id = target.get_attribute("data-id")
            target.locator("button.ack-button").click()
            dealer.wait_for_url(f"{base}/alerts?kind=margin_call&status=open")
            assert dealer.locator(f"#alerts-table tr[data-id='{alert_id}']").count() == 0
            _shot(dealer, "alerts")

            # ---- investor 2001's subscription ends; the history stays
            feed.publish(FeedEvent("record.copy_closed", {
                "ts": TS + 6000, "subscription": 1, "trader_ticket": 70020, "ticket": 424242, "volume": "0.30",
                "remaining": "0", "price": "1.09700", "profit": "30.00", "reason": "trader_client",
                "symbol": "EURUSD", "side": "buy"}))
            feed.publish(FeedEvent("positions", {"ts": TS + 6000, "login": 2001, "positions": []}))
            feed.publish(FeedEvent("subscription.update", {
                "ts": TS + 6000, "subscription": 1, "investor": "inv-001", "trader": "trader-1", "account": 2001,
                "state": "active", "realised": "-949.43", "commission_paid": "6.00", "trades": 3}))
            feed.publish(FeedEvent("record.subscription_stopped", {"ts": TS + 7000, "subscription": 1,
                                                                   "returned": "50.57"}))
            wait_for(lambda: st.hub.history.subscriptions(account=2001)[0].state == "stopped", what="the stop")
            inv = browser.new_context().new_page()
            inv.set_default_timeout(TIMEOUT_MS)
            login(inv, base, "2001", INV_PW)
            inv.goto(f"{base}/investors/2001")
            assert inv.inner_text("#realised-total") == "-949.43"
            assert inv.inner_text("#commission-total") == "6.00"
            closed = inv.locator("#closed-subscriptions tr.closed-sub[data-subscription='1']").inner_text()
            assert "trader-1" in closed and "-949.43" in closed and "50.57" in closed
            assert "trader closed (by hand)" in inv.inner_text("#trades-table")
            with inv.expect_download() as dl:
                inv.click("#csv-trades")
            rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text())))
            assert rows and {r["account"] for r in rows} == {"2001"} and rows[-1]["profit"] == "30.00"
            body = inv.inner_text("body")
            for other in ("inv-002", "535353", "2002"):
                assert other not in body, other
            _shot(inv, "investor-history")
            assert inv.goto(f"{base}/investors/2002/history.csv?what=trades").status == 403

            # ---- a phone: 390 px wide, no sideways scrolling
            phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1).new_page()
            phone.set_default_timeout(TIMEOUT_MS)
            login(phone, base, "desk", DEALER_PW)
            for url in ("/", "/positions", "/alerts", "/accounts/2003", "/traders/trader-2"):
                phone.goto(f"{base}{url}")
                width = phone.evaluate("document.documentElement.scrollWidth")
                assert width <= 390, (url, width)
            phone.goto(f"{base}/")
            _shot(phone, "phone-dealer-home")
        finally:
            browser.close()

    # ---- the dashboard restarts on the same --desk-db: the acknowledged alert is still there
    st.stop()
    st2 = start()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
            page.set_default_timeout(TIMEOUT_MS)
            login(page, st2.server.url, "desk", DEALER_PW)
            page.goto(f"{st2.server.url}/alerts?status=acked")
            acked = page.locator(f"#alerts-table tr[data-id='{alert_id}']").inner_text()
            assert "acknowledged by desk" in acked and "MARGIN CALL: account 2001" in acked
            assert page.locator("#alerts-table tr.alert").count() == 1
            _shot(page, "alerts-after-restart")
        finally:
            browser.close()


def test_desk_tables_sort_and_search_by_click_and_on_a_phone(env):
    """Review desk-and-ops user 2 #12: "The 50-row subscription table comes before the events, with
    no sort, filter or search" and "On a phone (390 px) the page is 1064 px wide"."""
    from playwright.sync_api import sync_playwright

    start, _ = env
    st = start()
    equity = {a.login: a.equity for a in st.hub.state.accounts.values()}
    owners = {a.login: a.owner for a in st.hub.state.accounts.values()}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            for width in (1200, 390):
                page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
                page.set_default_timeout(TIMEOUT_MS)
                base = st.server.url
                login(page, base, "desk", DEALER_PW)
                # Both tops in one script turn: the live feed replaces a section's HTML at every
                # update, so two bounding_box() calls could each meet a table being replaced (None,
                # seen twice on loaded fresh clones). The section, not its list: an empty list (no
                # event yet on a loaded machine) has no box, its heading always has one.
                events_y, accounts_y = page.wait_for_function("""() => {
                    const ev = document.querySelector("#sec-events"), acc = document.querySelector("#accounts-table");
                    return ev && acc ? [ev.parentElement.getBoundingClientRect().y, acc.getBoundingClientRect().y] : null;
                }""").json_value()
                assert events_y < accounts_y  # events first
                page.click("#accounts-table th[data-col=equity] a")  # ascending
                page.click("#accounts-table th[data-col=equity] a")  # a second click reverses
                page.wait_for_url(lambda u: "dir=desc" in u)
                got = [int(x) for x in page.locator("#accounts-table tbody tr").evaluate_all(
                    "rows => rows.map(r => r.dataset.login)")]
                assert got == sorted(equity, key=lambda k: equity[k], reverse=True)
                page.fill("#desk-search input[name=q]", "trader-1")
                page.click("#desk-search button")
                page.wait_for_url(lambda u: "q=trader-1" in u and "sort=equity" in u)
                shown = page.locator("#accounts-table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.login)")
                assert [owners[int(x)] for x in shown] == ["trader-1"]
                subs = page.locator("#subscriptions-table tbody tr").all_inner_texts()
                assert subs and all("trader-1" in r for r in subs)
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                _shot(page, f"sorted-searched-{width}")
        finally:
            browser.close()


def test_chart_tick_labels_measured_in_the_browser_stay_inside_and_below_the_title():
    """The desk card chart at 230 px with levels up to 100,000 %: Chromium's own text boxes
    (getBBox) of every y tick label start at x >= 0 and do not overlap the title or `last` boxes."""
    from playwright.sync_api import sync_playwright

    from bridge.monitor.assets import CSS
    from bridge.monitor.svg import line_chart

    need_chromium()
    from decimal import Decimal as D

    pts = [(TS, D("35")), (TS + 60_000, D("2500")), (TS + 120_000, D("100000"))]
    th = ((D(40), "mc", "margin call 40%"), (D(20), "so", "stop-out 20%"))
    svg = line_chart(pts, title="12716509 inv-009 margin level", unit="%", width=230, thresholds=th)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 400, "height": 300})
            page.set_content(f"<!doctype html><style>{CSS}</style>{svg}")
            boxes = page.evaluate("""() => {
                const box = el => { const b = el.getBBox(); return {x: b.x, y: b.y, r: b.x + b.width,
                                                                    b: b.y + b.height, text: el.textContent}; };
                return {ticks: [...document.querySelectorAll('svg text.axis:not(.time)')].map(box),
                        head: [...document.querySelectorAll('svg text.chart-title, svg text.last')].map(box)};
            }""")
            assert any(t["text"] == "100,000%" for t in boxes["ticks"])
            for t in boxes["ticks"]:
                assert t["x"] >= 0, t
                for hd in boxes["head"]:
                    overlap = t["x"] < hd["r"] and hd["x"] < t["r"] and t["y"] < hd["b"] and hd["y"] < t["b"]
                    assert not overlap, (t, hd)
            ART.mkdir(exist_ok=True)
            page.locator("svg").screenshot(path=str(ART / "desk-chart-230.png"))
        finally:
            browser.close()
