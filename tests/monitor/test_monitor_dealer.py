"""Dealer actions on the dashboard (issue 13 §2), without a browser: permission checks, CSRF,
the typed confirmation, the request sent through the admin link, the flash message, and the
audit record's line in the account's events.

Issue 13 §2: "Dealer actions with confirmation, permission checks, CSRF protection and an audit
trail in the journal: stop copying, suspend and resume a subscription, close one copy, close all
copies of a subscription, disable a trader. Each goes through the daemon's admin API and shows
its result."
"""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from bridge.daemon import admin
from bridge.monitor import dealer
from bridge.monitor.auth import LoginThrottle
from bridge.monitor.feed import load_recording
from bridge.monitor.hub import MonitorHub
from bridge.monitor.state import FeedEvent
from bridge.monitor.web import Dashboard, DashboardConfig
from tests.monitor.test_monitor_web import DEALER_PW, FEED, INV_PW, SECRET, Clock, creds, login

TS = 1_704_697_210_000


class FakeLink:
    """Stands for the daemon's admin endpoint: checks each request against the admin table and
    answers with `reply` (the engine's refusal when `refuse` is set)."""

    timeout_s = 1.0

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.refuse: str | None = None

    def call(self, op: str, **args: object) -> dict:
        parsed = admin.parse_request({"id": 1, "op": op, "args": args})
        assert isinstance(parsed, admin.AdminRequest), parsed
        self.calls.append((op, args))
        refused = {"code": self.refuse, "detail": "x"} if self.refuse else None
        return {"id": 1, "ok": True, "records": [], "refused": refused}


def make(link: FakeLink | None) -> Dashboard:
    hub = MonitorHub()
    for e in load_recording(FEED):
        hub.apply(e)
    hub.apply(FeedEvent("positions", {"ts": TS, "login": 2001, "positions": [
        {"ticket": 424242, "symbol": "EURUSD", "side": "buy", "volume": "0.30", "price": "1.09600",
         "trader": "trader-1", "trader_ticket": 70020}]}))
    return Dashboard(hub, creds(), DashboardConfig(session_secret=SECRET), throttle=LoginThrottle(clock=Clock()),
                     admin=link)  # type: ignore[arg-type]


def client(dash: Dashboard, user: str, pw: str) -> TestClient:
    c = TestClient(dash.app, base_url="http://testserver")
    assert login(c, user, pw).status_code == 303
    return c


def token(c: TestClient, path: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', c.get(path).text)
    assert m
    return m.group(1)


def test_a_dealer_closes_one_copy_after_typing_the_confirmation():
    link = FakeLink()
    dash = make(link)
    c = client(dash, "desk", DEALER_PW)
    page = c.get("/accounts/2001").text
    assert 'data-action="close_copy"' in page and 'data-action="suspend"' in page
    confirm = c.get("/dealer/confirm", params={"action": "close_copy", "subscription": 1, "trader_ticket": 70020,
                                               "next": "/accounts/2001"})
    assert confirm.status_code == 200 and "Type <code>70020</code> to confirm" in confirm.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', confirm.text).group(1)
    form = {"csrf": csrf, "action": "close_copy", "subscription": "1", "trader_ticket": "70020",
            "next": "/accounts/2001"}
    wrong = c.post("/dealer/action", data={**form, "confirm": "70021"}, follow_redirects=False)
    assert wrong.status_code == 400 and "nothing was sent" in wrong.text and link.calls == []
    done = c.post("/dealer/action", data={**form, "confirm": "70020"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/accounts/2001"
    assert link.calls == [("close_copy", {"subscription": 1, "trader_ticket": 70020, "actor": "desk"})]
    shown = c.get("/accounts/2001").text
    assert 'class="flash flash-ok"' in shown and "close this copy, the copy of trader ticket 70020, subscription 1: done" in shown
    assert 'id="flash"' not in c.get("/accounts/2001").text  # shown once


@pytest.mark.parametrize(("action", "target", "op", "fixed"), [
    ("stop", {"subscription": "1"}, "stop", {"requester": None, "close_open": True}),
    ("suspend", {"subscription": "1"}, "suspend", {}),
    ("resume", {"subscription": "1"}, "resume", {"requester": None}),
    ("close_copies", {"subscription": "1"}, "close_copies", {}),
    ("disable_trader", {"trader": "trader-1"}, "disable_trader", {"disabled": True}),
    ("enable_trader", {"trader": "trader-1"}, "disable_trader", {"disabled": False}),
])
def test_every_action_becomes_its_admin_request(action, target, op, fixed):
    link = FakeLink()
    c = client(make(link), "desk", DEALER_PW)
    req = dealer.parse({"action": action, **target})
    assert isinstance(req, dealer.Request)
    r = c.post("/dealer/action", data={"csrf": token(c, "/"), "action": action, **target, "confirm": req.expected},
               follow_redirects=False)
    assert r.status_code == 303
    args = {k: (int(v) if k == "subscription" else v) for k, v in target.items()}
    assert link.calls == [(op, {**args, **fixed, "actor": "desk"})]


def test_a_refusal_is_shown_with_its_code_and_label():
    link = FakeLink()
    link.refuse = "unknown_copy"
    c = client(make(link), "desk", DEALER_PW)
    c.post("/dealer/action", data={"csrf": token(c, "/"), "action": "close_copy", "subscription": "1",
                                   "trader_ticket": "5", "confirm": "5", "next": "/accounts/2001"}, follow_redirects=False)
    page = c.get("/accounts/2001").text
    assert 'class="flash flash-refused"' in page and "no such copy (already closed?) (unknown_copy)" in page


def test_an_investor_never_sees_the_buttons_and_gets_403():
    link = FakeLink()
    dash = make(link)
    c = client(dash, "2001", INV_PW)
    assert "dealer-actions" not in c.get("/accounts/2001").text
    assert c.get("/dealer/confirm", params={"action": "suspend", "subscription": 1}).status_code == 403
    r = c.post("/dealer/action", data={"csrf": token(c, "/"), "action": "suspend", "subscription": "1",
                                       "confirm": "1"}, follow_redirects=False)
    assert r.status_code == 403 and link.calls == []


def test_a_post_without_the_csrf_token_is_refused():
    link = FakeLink()
    c = client(make(link), "desk", DEALER_PW)
    for csrf in ("", "x" * 43):
        r = c.post("/dealer/action", data={"csrf": csrf, "action": "suspend", "subscription": "1", "confirm": "1"},
                   follow_redirects=False)
        assert r.status_code == 403
    assert link.calls == []


def test_without_an_admin_link_the_buttons_are_hidden_and_a_note_says_why():
    c = client(make(None), "desk", DEALER_PW)
    page = c.get("/accounts/2001").text
    assert 'id="dealer-off"' in page and "--admin-endpoint" in page and "data-action" not in page
    r = c.post("/dealer/action", data={"csrf": token(c, "/"), "action": "suspend", "subscription": "1",
                                       "confirm": "1"}, follow_redirects=False)
    assert r.status_code == 409


def test_bad_forms_send_nothing():
    assert dealer.parse({"action": "explode"}) == "unknown action 'explode'"
    assert dealer.parse({"action": "suspend", "subscription": "0"}) == "subscription: a whole number >= 1"
    assert dealer.parse({"action": "close_copy", "subscription": "1", "trader_ticket": "-3"}).startswith(
        "trader_ticket")
    assert dealer.parse({"action": "disable_trader", "trader": ""}) == "trader: 1..64 characters"


def test_the_audit_record_is_a_line_in_the_accounts_events():
    dash = make(FakeLink())
    dash.hub.apply(FeedEvent("record.dealer_action", {"ts": TS, "action": "close_copy", "actor": "desk",
                                                      "subscription": 1, "trader_ticket": 70020, "refused": None}))
    dash.hub.apply(FeedEvent("record.dealer_action", {"ts": TS, "action": "disable_trader", "actor": "desk",
                                                      "trader": "trader-1", "refused": "unknown_trader"}))
    c = client(dash, "desk", DEALER_PW)
    assert "dealer desk: close this copy, sub 1 trader ticket 70020: done" in c.get("/accounts/2001").text
    assert "dealer desk: disable trader, trader trader-1: refused, no such trader" in c.get("/accounts/1001").text


def test_admin_link_options_are_all_or_nothing(tmp_path):
    from bridge.daemon.keys import generate_keypair, write_keypair
    from bridge.monitor.commands import _admin_link

    assert _admin_link({}) is None
    with pytest.raises(ValueError, match="--admin-key needs --admin-endpoint"):
        _admin_link({"admin_key": "k"})
    with pytest.raises(ValueError, match="--admin-endpoint needs --admin-key"):
        _admin_link({"admin_endpoint": "tcp://127.0.0.1:5572", "server_key": "s.pub"})
    with pytest.raises(ValueError, match="--admin-key .*no such file"):
        _admin_link({"admin_endpoint": "tcp://127.0.0.1:5572", "admin_key": str(tmp_path / "nope"),
                     "server_key": generate_keypair().public})
    pair = generate_keypair()
    write_keypair(tmp_path / "desk.key", pair)
    link = _admin_link({"admin_endpoint": "tcp://127.0.0.1:5572", "admin_key": str(tmp_path / "desk.key"),
                        "server_key": generate_keypair().public})
    assert link.keys.public == pair.public
    link.close()
    link = _admin_link({"admin_endpoint": "tcp://127.0.0.1:5572", "insecure": True})
    assert link.keys is None
    link.close()
