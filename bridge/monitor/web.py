"""`mtbridge dashboard`: the web dashboard (Starlette, served by uvicorn).

Pages are rendered on the server from the same view models as the console
(`bridge.monitor.views`); live updates arrive over Server-Sent Events (`/events`) as HTML
fragments per section, swapped in by a small same-origin script. No CDN, no inline
script or style: the page runs under `Content-Security-Policy: default-src 'self'`.

Access model and routes: docs/monitoring.md. Security: signed session cookie
(SessionMiddleware / itsdangerous; HttpOnly, SameSite=Lax; Secure when served over TLS, when
`https_only`, or when the configured `trusted_proto_header` of a TLS proxy says https),
holding a session id that must be live server side (`SessionRegistry`: logout ends it),
CSRF token in the session for every POST form, login throttling per client address and
per login (`LoginThrottle`, clock injected), passwords never logged.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from functools import partial
from html import escape
from typing import Any
from urllib.parse import parse_qs

import structlog
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from bridge.monitor import assets, web_alerts, web_dealer, web_investor, web_settings
from bridge.monitor.auth import CredentialStore, LoginThrottle, SessionRegistry
from bridge.monitor.console import STALE_AFTER_MS, feed_status
from bridge.monitor.feed import wall_ms
from bridge.monitor.fmt import lots
from bridge.monitor.hub import MonitorHub
from bridge.monitor.metrics import CONTENT_TYPE
from bridge.monitor.state import Account, MonitorState
from bridge.monitor.book import position_rows
from bridge.monitor.render import account_facts, positions_html
from bridge.monitor.listing import Listing, search_form
from bridge.monitor.render import _m, _pct, _time, accounts_html, margin_chart, sections
from bridge.monitor.svg import drawdown, line_chart
from bridge.monitor.views import (
    DEALER,
    INVESTOR,
    Principal,
    can_see_account,
    desk_view,

    public_traders,
    with_followers,
)

MAX_FORM = 8 * 1024
POSITIONS_MAX = 1000
DEALS_SHOWN = 200  # closed deals on an account page; its CSV has them all
EXPORTS = (' <span class="more">history: <a href="/history.csv?what=trades">trades CSV</a> · '
           '<a href="/history.csv?what=subscriptions">subscriptions CSV</a> · '
           '<a href="/history.csv?what=deals">closed deals CSV</a></span>')
log = structlog.get_logger("mtbridge.dashboard")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
                    "Referrer-Policy": "same-origin", "Cache-Control": "no-store"}


@dataclass(frozen=True, slots=True)
class DashboardConfig:
    session_secret: str
    https_only: bool = False
    session_max_age: int = 8 * 3600
    metrics_token: str | None = None  # Prometheus: `Authorization: Bearer <token>` (dealers may always read)
    # behind a TLS proxy: the request header that carries the original scheme ("X-Forwarded-Proto");
    # trusted only when set, so only set it when the dashboard is reachable through that proxy alone
    trusted_proto_header: str | None = None
    feed_required: bool = True  # /healthz is red unless the feed is LIVE (False: a --replay dashboard)
    sse_poll_s: float = 0.25
    sse_keepalive_s: float = 15.0
    title: str = "mtbridge dealing desk"

    def __post_init__(self) -> None:
        if len(self.session_secret) < 32:
            raise ValueError("the session secret must be at least 32 characters (e.g. `openssl rand -hex 32`)")


# ------------------------------------------------------------------------------ the app
class Dashboard:
    def __init__(self, hub: MonitorHub, credentials: CredentialStore, config: DashboardConfig, *,
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], int] = wall_ms,
                 throttle: LoginThrottle | None = None, admin: web_dealer.DealerLink | None = None) -> None:
        self.hub = hub
        self.admin = admin  # the daemon's admin endpoint, for dealer actions (None: the buttons are hidden)
        self.credentials = credentials
        self.config = config
        self.wall = wall
        self.throttle = throttle or LoginThrottle(clock=clock)
        self.sessions = SessionRegistry(clock, config.session_max_age)
        self._stop_flag = False
        routes = [
            Route("/", self.desk), Route("/login", self.login_form, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]), Route("/logout", self.logout, methods=["POST"]),
            Route("/traders", self.traders), Route("/traders/{trader}", self.trader),
            Route("/investors/{login:int}", partial(web_investor.investor_page, self)),
            Route("/investors/{login:int}/history.csv", partial(web_investor.investor_csv, self)),
            Route("/history.csv", partial(web_investor.desk_csv, self)), Route("/accounts/{login:int}", self.account),
            Route("/accounts/{login:int}/deals.csv", partial(web_investor.account_deals_csv, self)),
            Route("/api/state", self.api_state), Route("/events", self.events), Route("/metrics", self.metrics),
            Route("/healthz", self.healthz), Route("/static/dashboard.js", self.static_js),
            Route("/static/dashboard.css", self.static_css),
            Route("/alerts", partial(web_alerts.alerts_page, self)),
            Route("/positions", self.positions),
            Route("/alerts/{alert:int}/ack", partial(web_alerts.acknowledge, self), methods=["POST"]),
            Route("/dealer/confirm", partial(web_dealer.confirm_page, self)),
            Route("/dealer/action", partial(web_dealer.act, self), methods=["POST"]),
            Route("/subscriptions/{sub:int}/settings", partial(web_settings.settings_page, self)),
            Route("/subscriptions/{sub:int}/settings", partial(web_settings.save, self), methods=["POST"]),
            # a cluster desk: subscription ids are numbered per shard
            Route("/subscriptions/{shard}/{sub:int}/settings", partial(web_settings.settings_page, self)),
            Route("/subscriptions/{shard}/{sub:int}/settings", partial(web_settings.save, self), methods=["POST"]),
        ]  # fmt: skip
        self.app = Starlette(routes=routes, exception_handlers={404: self.not_found}, middleware=[Middleware(
            SessionMiddleware, secret_key=config.session_secret, session_cookie="mtbridge_session",
            max_age=config.session_max_age, same_site="lax", https_only=config.https_only)])
        self.app.add_middleware(_SecurityHeaders, https_only=config.https_only,
                                proto_header=config.trusted_proto_header)

    def stop(self) -> None:
        """Ends open SSE streams (called before the server shuts down)."""
        self._stop_flag = True

    # ------------------------------------------------------------------ session helpers
    def principal(self, request: Request) -> Principal | None:
        u = request.session.get("user")
        if not isinstance(u, dict) or u.get("role") not in (DEALER, INVESTOR):
            return None
        if not self.sessions.alive(request.session.get("sid")):  # logged out (or before a restart)
            return None
        return Principal(u["role"], str(u.get("name", "")), u.get("login"), u.get("investor"))

    @staticmethod
    def csrf_token(request: Request) -> str:
        tok = request.session.get("csrf")
        if not isinstance(tok, str) or len(tok) < 32:
            tok = secrets.token_urlsafe(32)
            request.session["csrf"] = tok
        return tok

    @staticmethod
    async def form(request: Request, *, max_fields: int = 10, max_bytes: int = MAX_FORM) -> dict[str, str] | Response:
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
            return PlainTextResponse("expected a form", status_code=415)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_bytes:
                return PlainTextResponse("form too large", status_code=413)
        try:
            pairs = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=max_fields, strict_parsing=False)
        except (UnicodeDecodeError, ValueError):
            return PlainTextResponse("bad form", status_code=400)
        return {k: v[0] for k, v in pairs.items()}

    def csrf_ok(self, request: Request, form: dict[str, str]) -> bool:
        want = request.session.get("csrf")
        got = form.get("csrf", "")
        return isinstance(want, str) and len(want) >= 32 and hmac.compare_digest(want.encode(), got.encode())

    def page(self, request: Request, title: str, body: str, *, status: int = 200, live: bool = False) -> HTMLResponse:
        p = self.principal(request)
        if p is None:
            who = '<a href="/login">log in</a>'
        else:
            label = f"dealer {escape(p.name)}" if p.is_dealer else f"investor {escape(p.name)}"
            mine = "" if p.is_dealer else f' <a href="/investors/{p.login}">my statistics</a>'
            who = (f'<span id="whoami">{label}</span>{mine} <form method="post" action="/logout" class="inline">'
                   f'<input type="hidden" name="csrf" value="{escape(self.csrf_token(request))}">'
                   '<button type="submit">log out</button></form>')
        home = "desk" if p is None or p.is_dealer else "my account"
        extra = ' <a href="/alerts" id="nav-alerts">alerts</a>' if p is not None and p.is_dealer else ""
        nav = (f'<nav><a href="/">{home}</a>{extra} <a href="/traders">traders</a> <span class="who">{who}</span>'
               "</nav>")
        script = '<script src="/static/dashboard.js" defer></script>' if live else ""
        html = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">'
                f'<link rel="icon" href="data:,"><link rel="stylesheet" href="/static/dashboard.css">{script}</head>'
                f'<body data-live="{"1" if live else "0"}" data-version="0">{nav}<h1>{escape(title)}</h1>'
                f"{web_dealer.flash_html(request) if p is not None else ''}{body}"
                "</body></html>")
        return HTMLResponse(html, status_code=status)

    async def not_found(self, request: Request, exc: Exception) -> Response:
        """A 404 in the dashboard's own layout, with the way back (not Starlette's bare "Not Found")."""
        return self.page(request, "Not found", '<p>There is no page at this address. <a href="/">Back to the start'
                                               "</a>.</p>", status=404)

    def deny(self, request: Request, p: Principal | None) -> Response:
        if p is None:
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return self.page(request, "Forbidden", "<p>You may not see this page.</p>", status=403)

    def _sections(self, request: Request, p: Principal, now: int) -> dict[str, str]:
        lst = Listing.parse(request.query_params)  # the page's sort and search (the SSE stream carries them too)
        secs = self.hub.read(lambda s: sections(s, p, now, lst))
        if p.is_dealer:
            secs["alerts"] = web_alerts.desk_section(self.hub.alerts, self.csrf_token(request))
        return secs

    # ------------------------------------------------------------------ pages
    async def desk(self, request: Request) -> Response:
        p = self.principal(request)
        if p is None:
            return RedirectResponse("/login", status_code=303)
        now = self.wall()
        secs = self._sections(request, p, now)
        parts = [f'<p class="status" id="sec-status">{secs["status"]}</p>']
        if "alerts" in secs:
            parts.append(f'<section class="alerts-box"><h2>Alerts {web_alerts.sound_toggle()}</h2>'
                         f'<div id="sec-alerts">{secs["alerts"]}</div></section>')
        # the events first: on a phone they would sit below two 50-row tables
        parts.append(f'<section><h2>Latest events <small>(server time)</small></h2><div id="sec-events">'
                     f'{secs["events"]}</div></section>')
        if p.is_dealer:
            parts.append(search_form(Listing.parse(request.query_params)))
        parts.append(f'<section><h2>Accounts by margin level</h2><div id="sec-accounts">{secs["accounts"]}</div>'
                     "</section>")
        if "exposure" in secs:
            parts.append(f'<section><h2>Exposure per symbol <a href="/positions" class="more">all positions</a></h2>'
                         f'<div id="sec-exposure">{secs["exposure"]}</div></section>')
        if "positions" in secs:
            parts.append(f'<section><h2>Open positions</h2><div id="sec-positions">{secs["positions"]}</div></section>')
        parts += [(f'<section><h2>Margin level over time</h2><div id="sec-charts" class="charts">{secs["charts"]}'
                   "</div></section>"),
                  (f'<section><h2>Subscriptions{EXPORTS if p.is_dealer else ""}</h2>'
                   f'<div id="sec-subscriptions">{secs["subscriptions"]}</div></section>')]
        title = self.config.title if p.is_dealer else f"Investor area: account {p.login}"
        return self.page(request, title, "".join(parts), live=True)

    async def login_form(self, request: Request) -> Response:
        return self._login_page(request)

    def _login_page(self, request: Request, error: str = "", status: int = 200, username: str = "") -> Response:
        nxt = request.query_params.get("next", "")
        err = f'<p class="error" id="login-error">{escape(error)}</p>' if error else ""
        body = (f'{err}<form method="post" action="/login" class="login">'
                f'<input type="hidden" name="csrf" value="{escape(self.csrf_token(request))}">'
                f'<input type="hidden" name="next" value="{escape(nxt)}">'
                f'<label>Dealer username or account login <input name="username" autocomplete="username" '
                f'value="{escape(username)}" required></label>'
                '<label>Password (investors: the investor password) <input name="password" type="password" '
                'autocomplete="current-password" required></label><button type="submit" id="login-submit">Log in'
                '</button></form><p><a href="/traders">Public trader statistics</a> need no login.</p>')
        return self.page(request, "Log in", body, status=status)

    async def login(self, request: Request) -> Response:
        form = await self.form(request)
        if isinstance(form, Response):
            return form
        if not self.csrf_ok(request, form):
            log.warning("dashboard.csrf_rejected", path="/login", client=_client(request))
            return self.page(request, "Forbidden", "<p>The form expired; reload the page and try again.</p>",
                             status=403)
        username = form.get("username", "").strip()[:64]
        password = form.get("password", "")
        keys = (f"ip:{_client(request)}", f"login:{username.lower()}")
        wait = self.throttle.retry_after(keys)
        if wait > 0:
            log.warning("dashboard.login_throttled", username=username, client=_client(request),
                        retry_after_s=round(wait, 1))
            resp = self._login_page(request, f"Too many failed attempts; try again in {int(wait) + 1} s.", 429,
                                    username)
            resp.headers["Retry-After"] = str(int(wait) + 1)
            return resp
        principal = self.credentials.authenticate(username, password) if username and password else None
        if principal is None:
            self.throttle.failure(keys)
            log.warning("dashboard.login_failed", username=username, client=_client(request))
            return self._login_page(request, "Wrong username or password.", 401, username)
        self.throttle.success(keys[1])
        self.sessions.close(request.session.get("sid"))
        request.session.clear()  # fresh session: new CSRF token, nothing carried over from before the login
        request.session["sid"] = self.sessions.open()
        request.session["user"] = {"role": principal.role, "name": principal.name, "login": principal.login,
                                   "investor": principal.investor}
        request.session["csrf"] = secrets.token_urlsafe(32)
        log.info("dashboard.login", username=username, role=principal.role, client=_client(request))
        nxt = form.get("next", "")
        target = nxt if nxt.startswith("/") and not nxt.startswith("//") and "\\" not in nxt else "/"
        return RedirectResponse(target, status_code=303)

    async def logout(self, request: Request) -> Response:
        form = await self.form(request)
        if isinstance(form, Response):
            return form
        if not self.csrf_ok(request, form):
            return self.page(request, "Forbidden", "<p>The form expired; reload the page and try again.</p>",
                             status=403)
        p = self.principal(request)
        self.sessions.close(request.session.get("sid"))  # a copy of the cookie is worthless from now on
        request.session.clear()
        if p is not None:
            log.info("dashboard.logout", username=p.name, client=_client(request))
        return RedirectResponse("/login", status_code=303)

    async def traders(self, request: Request) -> Response:
        cluster = self.hub.read(lambda s: bool(s.sources))  # a cluster desk: each trader's shard
        rows = self.hub.read(lambda s: "".join(
            f'<tr data-trader="{escape(t.id)}">' + (f'<td class="shard">{escape(t.shard)}</td>' if cluster else "")
            + f'<td><a href="/traders/{escape(t.id)}">{escape(t.id)}</a></td>'
            f"<td class=num>{_pct(t.return_pct)}</td><td class=num>{_pct(t.max_drawdown_pct)}</td>"
            f"<td class=num>{t.trades}</td><td class=num>{t.followers}</td><td class=num>{lots(t.volume)}</td></tr>"
            for t in public_traders(s)))
        body = ('<p>Public statistics of every trader: return, worst drawdown, trades, followers, volume.</p><table class="grid" id="traders-table">'
                f"<thead><tr>{'<th>shard</th>' if cluster else ''}<th>trader</th><th>return</th><th>max drawdown</th><th>trades</th><th>followers</th>"
                f"<th>volume (lots)</th></tr></thead><tbody>{rows}</tbody></table>")
        return self.page(request, "Traders", body)

    async def trader(self, request: Request) -> Response:
        tid = request.path_params["trader"]
        p = self.principal(request)
        shard = self.hub.read(lambda s: s.traders[tid].shard if tid in s.traders else "")
        acts = web_dealer.trader_section(self, tid, shard) if p is not None and p.is_dealer else ""

        def build(s: MonitorState) -> str | None:
            t = s.traders.get(tid)
            if t is None:
                return None
            t = with_followers(s, t)
            curve = line_chart(list(s.equity_curves.get(tid, ())), title=f"{tid} equity", width=640, height=200)
            return (f'<dl class="stats" id="trader-stats"><dt>return</dt><dd id="ret">{_pct(t.return_pct)}</dd>'
                    f"<dt>max drawdown</dt><dd>{_pct(t.max_drawdown_pct)}</dd><dt>trades</dt><dd>{t.trades}</dd>"
                    f"<dt>followers</dt><dd>{t.followers}</dd><dt>volume</dt><dd>{lots(t.volume)} lots</dd>"
                    f"<dt>commission</dt><dd>{_pct(t.commission_pct)}</dd></dl>"
                    f'{acts}<section><h2>Equity curve</h2><div id="equity-curve">{curve}</div></section>'
                    f'<section><h2>Drawdown from the peak</h2><div id="drawdown-curve">'
                    f'{line_chart(drawdown(list(s.equity_curves.get(tid, ()))), title=f"{tid} drawdown", unit="%", width=640, height=160)}'
                    "</div></section>")

        body = self.hub.read(build)
        if body is None:
            return self.page(request, "Unknown trader", f"<p>No trader {escape(tid)}.</p>", status=404)
        return self.page(request, f"Trader {tid}", body)

    async def account(self, request: Request) -> Response:
        login = request.path_params["login"]
        p = self.principal(request)
        if p is None or not self.hub.read(lambda s: can_see_account(s, p, login)):
            return self.deny(request, p)

        deals = web_investor.deals_html(self.hub.history.deals(account=login, limit=DEALS_SHOWN), login)

        def build(s: MonitorState) -> str | None:
            a = s.accounts.get(login)
            if a is None:
                return None
            evs = list(s.events_by_login.get(login, ()))[-30:]
            pos = positions_html(position_rows(s, {login}), owner=False)
            acts = web_dealer.account_section(self, s, login) if p.is_dealer else ""
            return (accounts_html([a], link=False) + account_facts(a) + acts
                    + f'<section><h2>Open positions</h2>{pos}</section>'
                    f'<section><h2>Closed deals <small>(its own, with P/L)</small></h2>{deals}</section>'
                    '<section><h2>Margin level over time</h2>'
                    f"{margin_chart(s, a, 640)}</section><section><h2>Events</h2><ol class=events>" + "".join(
                        f'<li class="sev-{e.severity}"><time>{_time(e.ts)}</time> {escape(e.text)}</li>'
                        for e in reversed(evs)) + "</ol></section>")

        body = self.hub.read(build)
        if body is None:
            return self.page(request, "Unknown account", f"<p>No account {login}.</p>", status=404)
        return self.page(request, f"Account {login}", body)

    async def positions(self, request: Request) -> Response:
        """Every account's open positions (dealers), filtered by symbol or login; bounded."""
        p = self.principal(request)
        if p is None or not p.is_dealer:
            return self.deny(request, p)
        sym = request.query_params.get("symbol", "").strip().upper()[:20]
        login_q = request.query_params.get("login", "").strip()

        def build(s: MonitorState) -> str:
            logins = {int(login_q)} if login_q.isdigit() else None
            rows = [r for r in position_rows(s, logins) if not sym or r.position.symbol == sym]
            shown = rows[:POSITIONS_MAX]
            more = f"<p>Showing {len(shown)} of {len(rows)}; filter by symbol or login.</p>" if len(rows) > len(shown) else ""
            return (f'<form method="get" action="/positions" class="filter"><label>symbol <input name="symbol" '
                    f'value="{escape(sym)}" size="8"></label> <label>login <input name="login" value="{escape(login_q)}"'
                    f' size="10"></label> <button type="submit">filter</button></form>{more}{positions_html(shown)}')

        return self.page(request, "Open positions", self.hub.read(build))

    # ------------------------------------------------------------------ data endpoints
    async def api_state(self, request: Request) -> Response:
        p = self.principal(request)
        if p is None:
            return JSONResponse({"error": "login required"}, status_code=401)
        now = self.wall()
        return JSONResponse(self.hub.read(lambda s: state_json(s, p, now)), headers={"Cache-Control": "no-store"})

    async def events(self, request: Request) -> Response:
        p = self.principal(request)
        if p is None:
            return JSONResponse({"error": "login required"}, status_code=401)
        return StreamingResponse(self._stream(request, p), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    async def _stream(self, request: Request, p: Principal) -> AsyncIterator[str]:
        sent_version = -1
        last_label = ""
        last_send = time.monotonic()
        yield "retry: 1000\n\n"
        while not self._stop_flag:
            version = self.hub.version
            now = self.wall()
            label = self.hub.read(lambda s, now=now: feed_status(s, now)[0])
            if version != sent_version or label != last_label:
                secs = self._sections(request, p, now)
                data = json.dumps({"version": version, "sections": secs}, separators=(",", ":"))
                yield f"event: update\nid: {version}\ndata: {data}\n\n"
                sent_version, last_label, last_send = version, label, time.monotonic()
            elif time.monotonic() - last_send > self.config.sse_keepalive_s:
                yield ": keepalive\n\n"
                last_send = time.monotonic()
            await asyncio.sleep(self.config.sse_poll_s)
            if await request.is_disconnected():
                break

    async def metrics(self, request: Request) -> Response:
        p = self.principal(request)
        token = self.config.metrics_token
        auth = request.headers.get("authorization", "")
        bearer_ok = bool(token) and auth.startswith("Bearer ") and hmac.compare_digest(
            auth[7:].strip().encode(), token.encode())  # type: ignore[union-attr]
        if not bearer_ok and (p is None or not p.is_dealer):
            if p is None:
                return PlainTextResponse("authentication required", status_code=401,
                                         headers={"WWW-Authenticate": 'Bearer realm="mtbridge-metrics"'})
            return PlainTextResponse("forbidden", status_code=403)
        body = self.hub.read(lambda s: self.hub.metrics.render())
        return Response(body, media_type=CONTENT_TYPE)

    async def healthz(self, request: Request) -> Response:
        """200 while the feed is LIVE (synced from a snapshot, heard from within
        STALE_AFTER_MS); 503 with the reason otherwise, e.g. while the CURVE handshake fails."""
        now = self.wall()
        def read(s: MonitorState) -> tuple[str, int, str | None]:
            last = next((e for e in reversed(s.events) if e.kind == "monitor"), None)  # the feed's own news
            return feed_status(s, now)[0], s.health.last_rx or s.health.last_ts, \
                last.text if last is not None and last.severity == "alert" else None

        label, seen, alert = self.hub.read(read)
        reasons = []
        if self.config.feed_required and label != "LIVE":
            reasons.append("feed: " + {
                "CONNECTING": "not connected to the daemon (unreachable, or the CURVE handshake fails: check "
                              "--server-key and that --client-key is on the daemon's allow-list)",
                "OFFLINE": "disconnected from the daemon",
                "SYNCING": "connected, waiting for the daemon's snapshot",
                "STALE": f"nothing received for {(now - seen) // 1000} s (limit {STALE_AFTER_MS // 1000} s)",
            }.get(label, label))
            if alert:
                reasons.append("feed: " + alert)
        return JSONResponse({"ok": not reasons, "feed": label, "reasons": reasons},
                            status_code=503 if reasons else 200)

    async def static_js(self, request: Request) -> Response:
        return Response(assets.JS, media_type="text/javascript", headers={"Cache-Control": "max-age=300"})

    async def static_css(self, request: Request) -> Response:
        return Response(assets.CSS, media_type="text/css", headers={"Cache-Control": "max-age=300"})


def state_json(s: MonitorState, p: Principal, now: int) -> dict:
    v = desk_view(s, p)
    label, _ = feed_status(s, now)

    def acct(a: Account) -> dict:
        return {"login": a.login, "role": a.role, "owner": a.owner, "currency": a.currency, "balance": str(a.balance),
                "equity": str(a.equity), "margin": str(a.margin), "free_margin": str(a.free_margin),
                "margin_level": None if a.margin_level is None else str(a.margin_level),
                "margin_call_level": str(a.margin_call_level), "stop_out_level": str(a.stop_out_level),
                "status": a.status, "online": a.online}

    out: dict[str, Any] = {
        "feed": label, "version": s.version, "accounts": [acct(a) for a in v.accounts],
        "subscriptions": [{"subscription": x.subscription, "investor": x.investor, "trader": x.trader,
                           "account": x.account, "state": x.state, "invested": str(x.invested),
                           "equity": str(x.equity), "realised": str(x.realised)} for x in v.subscriptions],
        "events": [{"ts": e.ts, "kind": e.kind, "severity": e.severity, "text": e.text} for e in v.events],
    }
    if v.desk:
        out["exposure"] = [{"symbol": e.symbol, "buy": str(e.buy), "sell": str(e.sell), "net": str(e.net)}
                           for e in v.exposure]
        out["latency_ms"] = {"p50": None if v.p50 is None else str(v.p50),
                             "p99": None if v.p99 is None else str(v.p99)}
        out["terminals_online"] = v.terminals_online
    return out


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class _SecurityHeaders:
    """Security headers on every response; the session cookie marked Secure when the request
    came over TLS: directly (scheme https), or through a proxy whose trusted header says so."""

    def __init__(self, app: Any, https_only: bool = False, proto_header: str | None = None) -> None:
        self.app = app
        self.https_only = https_only
        self.proto_header = proto_header.lower().encode() if proto_header else None

    def _over_tls(self, scope: Any) -> bool:
        if self.https_only or scope.get("scheme") == "https":
            return True
        if self.proto_header is None:
            return False
        for k, v in scope.get("headers", ()):
            if k.lower() == self.proto_header:
                return v.split(b",")[0].strip().lower() == b"https"  # the first hop's (the client's) scheme
        return False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        secure = self._over_tls(scope)

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if secure:
                    headers = [(k, v + b"; secure") if k.lower() == b"set-cookie" and b"secure" not in v.lower()
                               else (k, v) for k, v in headers]
                have = {k.lower() for k, _ in headers}
                for k, v in SECURITY_HEADERS.items():
                    if k.lower().encode() not in have:
                        headers.append((k.lower().encode(), v.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


__all__ = ["STALE_AFTER_MS", "Dashboard", "DashboardConfig", "sections", "state_json"]
