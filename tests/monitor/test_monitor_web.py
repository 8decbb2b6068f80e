"""Dashboard access control, login security and metrics (Starlette TestClient, no browser)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
import structlog
from starlette.testclient import TestClient

from bridge.monitor.auth import LoginThrottle, MemoryCredentialStore, User, hash_password
from bridge.monitor.feed import load_recording
from bridge.monitor.hub import MonitorHub
from bridge.monitor.state import FeedEvent
from bridge.monitor.views import DEALER, INVESTOR, Principal
from bridge.monitor.web import Dashboard, DashboardConfig

FEED = Path(__file__).parent / "data" / "feed.jsonl"
SECRET = "s" * 48
DEALER_PW = "Desk-Pa55word!"
INV_PW = "R3adOnly9-2001"
INV2_PW = "R3adOnly9-2002"
N = 2**4  # cheap scrypt for tests


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def creds() -> MemoryCredentialStore:
    return MemoryCredentialStore([
        User(Principal(DEALER, "desk"), hash_password(DEALER_PW, n=N)),
        User(Principal(INVESTOR, "2001", 2001, "inv-001"), hash_password(INV_PW, n=N)),
        User(Principal(INVESTOR, "2002", 2002, "inv-002"), hash_password(INV2_PW, n=N)),
    ])


@pytest.fixture
def env():
    hub = MonitorHub()
    for e in load_recording(FEED):
        hub.apply(e)
    clock = Clock()
    dash = Dashboard(hub, creds(), DashboardConfig(session_secret=SECRET, metrics_token="tok-123"),
                     throttle=LoginThrottle(clock=clock), wall=lambda: hub.state.health.last_ts)
    return dash, clock


def csrf(client: TestClient, path: str = "/login") -> str:
    r = client.get(path)
    m = re.search(r'name="csrf" value="([^"]+)"', r.text)
    assert m, r.text
    return m.group(1)


def login(client: TestClient, user: str, pw: str, **extra) -> object:
    token = csrf(client)
    return client.post("/login", data={"csrf": token, "username": user, "password": pw, **extra},
                       follow_redirects=False)


def client_as(dash: Dashboard, who: str | None) -> TestClient:
    c = TestClient(dash.app, base_url="http://testserver")
    if who == "dealer":
        assert login(c, "desk", DEALER_PW).status_code == 303
    elif who == "investor":
        assert login(c, "2001", INV_PW).status_code == 303
    return c


# route -> expected status for anonymous / investor 2001 / dealer
MATRIX = [
    ("/", 303, 200, 200),
    ("/login", 200, 200, 200),
    ("/healthz", 200, 200, 200),
    ("/traders", 200, 200, 200),
    ("/traders/trader-1", 200, 200, 200),
    ("/traders/nobody", 404, 404, 404),
    ("/investors/2001", 303, 200, 200),
    ("/investors/2002", 303, 403, 200),
    ("/accounts/2001", 303, 200, 200),
    ("/accounts/2003", 303, 403, 200),
    ("/accounts/1001", 303, 403, 200),
    ("/api/state", 401, 200, 200),
    ("/metrics", 401, 403, 200),
    ("/subscriptions/1/settings", 303, 403, 409),  # the copy-settings form; 409: this dashboard has no admin link
    ("/static/dashboard.js", 200, 200, 200),
    ("/static/dashboard.css", 200, 200, 200),
    ("/nope", 404, 404, 404),
]


@pytest.mark.parametrize("who,col", [(None, 1), ("investor", 2), ("dealer", 3)])
def test_access_matrix(env, who, col):
    dash, _ = env
    c = client_as(dash, who)
    for row in MATRIX:
        r = c.get(row[0], follow_redirects=False)
        assert r.status_code == row[col], (who, row[0], r.status_code)
        if r.status_code == 303:
            assert r.headers["location"].startswith("/login")
    dash.stop()  # SSE streams end at once
    r = c.get("/events")
    assert r.status_code == (401 if who is None else 200)
    if who:
        assert r.headers["content-type"].startswith("text/event-stream")


def test_post_routes_need_csrf(env):
    dash, _ = env
    c = client_as(dash, "dealer")
    assert c.post("/logout", data={"csrf": "wrong"}, follow_redirects=False).status_code == 403
    assert c.get("/api/state").status_code == 200  # still logged in
    anon = TestClient(dash.app)
    assert anon.post("/login", data={"username": "desk", "password": DEALER_PW},
                     follow_redirects=False).status_code == 403
    assert anon.post("/login", content=b"{}", headers={"content-type": "application/json"}).status_code == 415
    tok = csrf(c, "/")
    r = c.post("/logout", data={"csrf": tok}, follow_redirects=False)
    assert r.status_code == 303 and c.get("/api/state").status_code == 401


def test_investor_sees_only_their_own(env):
    dash, _ = env
    c = client_as(dash, "investor")
    js = c.get("/api/state").json()
    assert [a["login"] for a in js["accounts"]] == [2001]
    assert [s["subscription"] for s in js["subscriptions"]] == [1]
    assert "exposure" not in js and "latency_ms" not in js
    page = c.get("/").text
    for other in ("2002", "2003", "2004", "inv-002", "inv-003", "inv-004", "GBPUSD"):
        assert other not in page, other
    assert "inv-001" in page
    me = c.get("/investors/2001").text
    assert "inv-001" in me and "inv-002" not in me
    dealer = client_as(dash, "dealer").get("/api/state").json()
    assert [a["login"] for a in dealer["accounts"]] == [2003, 2002, 1002, 2001, 1001, 2004]
    assert {a["login"]: a["status"] for a in dealer["accounts"]}[2003] == "stop_out"


def test_public_trader_page(env):
    dash, _ = env
    r = TestClient(dash.app).get("/traders/trader-2")
    assert r.status_code == 200
    for text in ("-36.10%", "57.20%", "<dd>10</dd>", "followers", "<svg", "polyline"):
        assert text in r.text, text
    assert "inv-00" not in r.text  # followers are counted, not named


def test_session_cookie_flags():
    hub = MonitorHub()
    # issue 13 §3: "the cookie is `Secure` whenever the dashboard is served over TLS"
    for https, scheme, secure in ((False, "http", False), (True, "http", True), (False, "https", True)):
        dash = Dashboard(hub, creds(), DashboardConfig(session_secret=SECRET, https_only=https))
        c = TestClient(dash.app, base_url=f"{scheme}://testserver")
        r = c.get("/login")
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and ("secure" in cookie) == secure
        assert r.headers["content-security-policy"].startswith("default-src 'self'")
    with pytest.raises(ValueError):
        DashboardConfig(session_secret="short")


def test_tampered_session_is_anonymous(env):
    dash, _ = env
    c = client_as(dash, "investor")
    value = c.cookies.get("mtbridge_session")
    c.cookies.set("mtbridge_session", value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB"))
    assert c.get("/api/state").status_code == 401


def test_login_rate_limit_per_login_with_backoff(env):
    dash, clock = env
    c = TestClient(dash.app)
    for _ in range(3):
        assert login(c, "desk", "wrong").status_code == 401
    assert login(c, "desk", "wrong").status_code == 401  # 4th failure: now locked for 1 s
    r = login(c, "desk", DEALER_PW)
    assert r.status_code == 429 and r.headers["retry-after"] == "2"  # even the right password waits
    clock.t += 1.5
    assert login(c, "desk", "wrong").status_code == 401  # 5th failure: 2 s
    clock.t += 1.0
    assert login(c, "desk", DEALER_PW).status_code == 429
    clock.t += 1.5
    assert login(c, "desk", DEALER_PW).status_code == 303
    assert login(TestClient(dash.app), "desk", "wrong").status_code == 401  # success reset the login's record


def test_login_rate_limit_per_address(env):
    dash, clock = env
    c = TestClient(dash.app)
    for i in range(10):  # ten different logins from one address
        assert login(c, f"user{i}", "wrong").status_code == 401
    assert login(c, "user99", "wrong").status_code == 401  # 11th: locks the address
    assert login(c, "2001", INV_PW).status_code == 429
    clock.t += 2
    assert login(c, "2001", INV_PW).status_code == 303


def test_open_redirect_refused(env):
    dash, _ = env
    c = TestClient(dash.app)
    r = login(c, "desk", DEALER_PW, next="//evil.example/x")
    assert r.headers["location"] == "/"
    c2 = TestClient(dash.app)
    assert login(c2, "2001", INV_PW, next="/investors/2001").headers["location"] == "/investors/2001"


def test_passwords_never_logged(env, caplog, capsys):
    dash, _ = env
    caplog.set_level(logging.DEBUG)
    c = TestClient(dash.app)
    with structlog.testing.capture_logs() as logs:
        assert login(c, "desk", "Wr0ng-Secret-Guess").status_code == 401
        assert login(c, "desk", DEALER_PW).status_code == 303
    events = [e["event"] for e in logs]
    assert "dashboard.login_failed" in events and "dashboard.login" in events
    blob = repr(logs) + caplog.text + "".join(capsys.readouterr())
    assert "desk" in blob
    for secret in ("Wr0ng-Secret-Guess", DEALER_PW):
        assert secret not in blob


def test_metrics_endpoint_dedicated_registry(env):
    dash, _ = env
    c = TestClient(dash.app)
    r = c.get("/metrics", headers={"Authorization": "Bearer tok-123"})
    assert r.status_code == 200
    body = r.text
    for line in ('mtbridge_copies_total{outcome="opened",reason="none"} 2.0',
                 'mtbridge_copies_total{outcome="refused",reason="terminal_offline"} 1.0',
                 'mtbridge_copies_total{outcome="closed",reason="stop_out"} 1.0',
                 "mtbridge_copy_latency_seconds_count 5.0", "mtbridge_terminals_online 5.0",
                 "mtbridge_margin_calls_total 1.0", 'mtbridge_stop_outs_total{source="engine"} 1.0',
                 'mtbridge_stop_outs_total{source="account"} 1.0', "mtbridge_journal_lag_seconds 0.004",
                 "mtbridge_fanout_duration_seconds_count 1.0", 'mtbridge_accounts_at_risk{level="stop_out"} 1.0'):
        assert line in body, line
    assert "python_gc_objects_collected_total" not in body  # not the global registry
    assert c.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_snapshot_does_not_bump_counters(env):
    dash, _ = env
    before = dash.hub.metrics.copies.labels("opened", "none")._value.get()
    dash.hub.apply(FeedEvent("snapshot", {"ts": 1, "accounts": []}))
    assert dash.hub.metrics.copies.labels("opened", "none")._value.get() == before
    assert dash.hub.metrics.terminals_online._value.get() == 0


def test_access_log_writes_one_line_per_request_without_the_query_string():
    # review (desk-and-ops, user 3 #12): "The dashboard has no access log"
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from bridge.monitor.commands import AccessLog

    app = Starlette(routes=[Route("/x", lambda request: PlainTextResponse("ok", status_code=201))])
    with structlog.testing.capture_logs() as logs, TestClient(AccessLog(app)) as client:
        assert client.get("/x?token=secret").status_code == 201
        assert client.get("/nope").status_code == 404
    lines = [e for e in logs if e["event"] == "dashboard.request"]
    assert [(e["method"], e["path"], e["status"], e["log_level"]) for e in lines] == [
        ("GET", "/x", 201, "info"), ("GET", "/nope", 404, "info")]
    assert all("secret" not in str(e) for e in lines)


def test_unknown_address_gets_a_styled_404_and_pages_ask_for_no_favicon(env):
    # review (desk-and-ops, user 2 #12): `/nope` returned a bare "Not Found"; every page made the
    # browser fetch /favicon.ico, a 404 in the console
    dash, _ = env
    for who in (None, "dealer"):
        r = client_as(dash, who).get("/nope")
        assert r.status_code == 404
        assert '<link rel="stylesheet" href="/static/dashboard.css">' in r.text and "<h1>Not found</h1>" in r.text
        assert '<a href="/">' in r.text
    assert '<link rel="icon" href="data:,">' in client_as(dash, None).get("/traders").text


def test_event_times_are_labelled_server_time(env):
    # review (desk-and-ops, user 2 #10): event rows show simulated server time with no label
    dash, _ = env
    assert "<h2>Latest events <small>(server time)</small></h2>" in client_as(dash, "dealer").get("/").text
