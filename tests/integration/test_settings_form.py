"""The dashboard's copy-settings form against a real daemon (issue 15: settings "settable from the
admin API, the `mtbridge admin` CLI and the dashboard").

A real daemon in a thread (CURVE, its own journal), the dashboard on its feed with an admin key
of its own (the dealer actions' stack, tests/integration/test_dealer_browser.py). A dealer's POST
goes over the admin socket as `set_copy_settings`; the daemon journals it, `get_copy_settings`
answers the new values, and the settings-change row and the audit line reach the desk over the
feed. An investor's POST, a POST without the CSRF token and a bad value change nothing. Then the
same form in headless Chromium (skipped without /usr/bin/chromium). Waits are on conditions only.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from bridge.daemon.adminclient import AdminClient, AdminKeys
from bridge.daemon.config import load_config
from bridge.daemon.running import DaemonThread
from bridge.daemon.testing import journal_records, make_setup
from bridge.monitor.auth import FileCredentialStore, users_toml
from bridge.monitor.feed import CurveClient, FeedSubscriber
from bridge.monitor.hub import MonitorHub
from bridge.monitor.web import Dashboard, DashboardConfig
from bridge.monitor.web_dealer import DealerLink
from tests.integration.browserkit import wait_for
from tests.monitor.test_monitor_settings_form import Controls

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ART = ROOT / "artifacts"
DEALER_PW, INV_PW = "Desk-Pa55word!", "R3adOnly9-a"
TRADER, INV = 1001, 2001
ISSUE = "settable from the admin API, the `mtbridge admin` CLI and the dashboard"


@pytest.fixture
def stack(tmp_path):
    setup = make_setup(tmp_path / "daemon", {
        "ops": ([], "admin"), "dashboard-admin": ([], "admin"), "dashboard-feed": ([], "monitor")})
    daemon = DaemonThread(load_config(setup.config_path)).start()
    ep = daemon.endpoints
    ops = AdminClient(ep["admin"], setup.curve("ops"))
    users = tmp_path / "users.toml"
    users.write_text(users_toml([("desk", DEALER_PW)], [(INV, INV_PW, "I1")], n=2**10))
    hub = MonitorHub()
    feed_key, admin_key = setup.keys["dashboard-feed"], setup.keys["dashboard-admin"]
    sub = FeedSubscriber(ep["pub"], hub.apply, curve=CurveClient(setup.server.public, feed_key.public,
                                                                  feed_key.secret or "")).start()
    link = DealerLink(ep["admin"], AdminKeys(setup.server.public, admin_key.public, admin_key.secret or ""))
    dash = Dashboard(hub, FileCredentialStore(users), DashboardConfig(session_secret="x" * 40, sse_poll_s=0.1),
                     admin=link)
    assert ops("register_trader", trader="T", account=TRADER, account_type="mt4_standard", leverage=100,
               commission_pct="20")["ok"]
    assert ops("deposit", owner="I1", amount="1000")["ok"]
    sid = ops("subscribe", investor="I1", trader="T", account=INV, amount="1000")["records"][-1]["subscription"]
    wait_for(lambda: hub.read(lambda s: sid in s.subscriptions), what="the subscription on the feed")
    try:
        yield setup, ops, dash, hub, sid
    finally:
        sub.stop()
        link.close()
        ops.close()
        daemon.stop()


def _client(dash: Dashboard, user: str, pw: str) -> TestClient:
    c = TestClient(dash.app, base_url="http://testserver")
    token = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)
    assert c.post("/login", data={"csrf": token, "username": user, "password": pw},
                  follow_redirects=False).status_code == 303
    return c


def _desk_lines(hub: MonitorHub, start: str) -> list[str]:
    return [e.text for e in hub.read(lambda s: list(s.events)) if e.text.startswith(start)]


def test_the_form_changes_settings_through_the_daemon(stack):
    assert "and the dashboard" in ISSUE
    setup, ops, dash, hub, sid = stack
    page = f"/subscriptions/{sid}/settings"
    desk = _client(dash, "desk", DEALER_PW)
    form = Controls(desk.get(page).text).values
    assert form["mode"] == "equal" and form["symbol_suffix"] == "" and "reverse" not in form
    # an investor (its own valid token) and a token-less POST: 403, nothing sent
    inv = _client(dash, str(INV), INV_PW)
    token = re.search(r'name="csrf" value="([^"]+)"', inv.get("/").text).group(1)
    assert inv.post(page, data={**form, "csrf": token, "reverse": "on"}, follow_redirects=False).status_code == 403
    assert desk.post(page, data={**form, "csrf": "", "reverse": "on"}, follow_redirects=False).status_code == 403
    # a bad value: the daemon's words next to the field, nothing journaled
    bad = desk.post(page, data={**form, "mode": "multiplier", "multiplier": "1000"}, follow_redirects=False)
    assert bad.status_code == 400 and 'id="error-multiplier"' in bad.text and "args.multiplier: must be" in bad.text
    assert ops("get_copy_settings", subscription=sid)["changed"] == {}
    # the change
    done = desk.post(page, data={**form, "mode": "multiplier", "multiplier": "1.5", "reverse": "on",
                                 "symbol_suffix": "c"}, follow_redirects=False)
    assert done.status_code == 303
    assert ops("get_copy_settings", subscription=sid)["changed"] == {
        "mode": "multiplier", "multiplier": "1.5", "reverse": True, "symbol_suffix": "c"}
    wait_for(lambda: _desk_lines(hub, f"copy settings: sub {sid}") and _desk_lines(hub, "dealer desk: set copy"),
             what="the settings row and the audit line on the desk")
    assert _desk_lines(hub, f"copy settings: sub {sid}") == [
        f"copy settings: sub {sid} mode multiplier, multiplier 1.5, reverse, symbol suffix c"]
    changed = journal_records(setup.journal, "record.copy_settings_changed")
    assert [(r["subscription"], r["settings"]["multiplier"]) for r in changed] == [(sid, "1.5")]
    audit = journal_records(setup.journal, "record.dealer_action")
    assert [(a["action"], a["actor"], a["refused"]) for a in audit] == [("set_copy_settings", "desk", None)]
    shown = Controls(desk.get(page).text).values
    assert (shown["mode"], shown["multiplier"], shown["reverse"]) == ("multiplier", "1.5", "on")


def test_the_form_in_a_browser(stack):
    from tests.integration.browserkit import ARGS, CHROMIUM, TIMEOUT_MS, login, need_chromium

    need_chromium()
    from playwright.sync_api import sync_playwright

    from bridge.monitor.commands import DashboardServer

    setup, ops, dash, hub, sid = stack
    server = DashboardServer(dash).start()
    ART.mkdir(exist_ok=True)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
            try:
                page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
                page.set_default_timeout(TIMEOUT_MS)
                login(page, server.url, "desk", DEALER_PW, landing=None)
                page.goto(f"{server.url}/subscriptions/{sid}/settings")
                page.select_option("#set-mode", "fixed")
                page.fill("#set-fixed_volume", "0.25")
                page.check("#set-copy_pending")
                page.click("#settings-submit")
                page.wait_for_selector("#flash")
                assert page.inner_text("#flash").startswith(f"copy settings, subscription {sid}: done")
                assert page.input_value("#set-fixed_volume") == "0.25" and page.is_checked("#set-copy_pending")
                page.screenshot(path=str(ART / "settings-form.png"), full_page=True)
            finally:
                browser.close()
    finally:
        server.stop()
    assert ops("get_copy_settings", subscription=sid)["changed"] == {
        "mode": "fixed", "fixed_volume": "0.25", "copy_pending": True}
