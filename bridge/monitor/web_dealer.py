"""Dealer actions on the dashboard, the shell: the buttons on account and trader pages, the
confirmation page (`GET /dealer/confirm`), and `POST /dealer/action`, which checks the CSRF
token, the dealer and the typed confirmation, sends the admin request through the shared admin
client (`bridge.daemon.adminclient`, the one `mtbridge admin` uses) and shows its result after
the redirect (a one-time flash message). The daemon journals the event and its
`record.dealer_action` (who, what, result): the audit trail.

Dealers only; an investor never sees the buttons and gets 403 on the POST. Without an admin
link (`--admin-endpoint`, `--admin-key`) the buttons are hidden and a note says why.
"""

from __future__ import annotations

import asyncio
import threading
from html import escape
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import structlog
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bridge.monitor import dealer
from bridge.monitor.dealer import SUBSCRIPTION_ACTIONS, TRADER_ACTIONS, Outcome, Request as Action

if TYPE_CHECKING:
    from bridge.daemon.adminclient import CurveKeys
    from bridge.monitor.state import MonitorState
    from bridge.monitor.web import Dashboard

log = structlog.get_logger("mtbridge.dashboard")
OFF_NOTE = ('<p class="note" id="dealer-off">Dealer actions are off: start the dashboard with '
            "<code>--admin-endpoint</code> and <code>--admin-key</code> (a key of role <code>admin</code> on the "
            "daemon's allow-list).</p>")
FLASH_KEY = "flash"


class DealerLink:
    """The dashboard's link to the daemon's admin endpoint: one request at a time, each on a
    fresh socket of one context (a late reply never meets the next request).

    A cluster desk passes `shard` (subscription ids are per shard): the request goes to that
    shard's owner, as the lease table names it now (`owners`, re-read for each request, so a
    failover or hand-over is followed), else to `endpoint` (any daemon: it routes by the
    shard and the client follows its `moved` reply)."""

    def __init__(self, endpoint: str, keys: CurveKeys | None, timeout_s: float = 10.0, *,
                 owners: Callable[[], dict[str, str]] | None = None) -> None:
        import zmq

        self.endpoint = endpoint
        self.keys = keys
        self.timeout_s = timeout_s
        self.owners = owners
        self._ctx = zmq.Context()
        self._lock = threading.Lock()

    def target(self, shard: str | None) -> str:
        """The admin endpoint a request for `shard` goes to first."""
        if self.owners is not None:
            admins = self.owners()
            if shard and admins.get(shard):
                return admins[shard]
            if not self.endpoint and admins:
                return admins[sorted(admins)[0]]  # any owner routes it (`moved`)
        if not self.endpoint:
            raise ConnectionError(f"no admin endpoint for shard {shard or '?'} in the lease table")
        return self.endpoint

    def call(self, op: str, shard: str | None = None, **args: Any) -> dict:
        """Blocking; TimeoutError when the daemon does not answer, AdminArgsError for a request
        the admin table refuses (nothing sent)."""
        from bridge.daemon.adminclient import AdminClient

        with self._lock, AdminClient(self.target(shard), self.keys, ctx=self._ctx) as client:
            return client(op, timeout=self.timeout_s, shard=shard or None, **args)

    def close(self) -> None:
        self._ctx.term()


def lease_admins(url: str) -> Callable[[], dict[str, str]]:
    """shard -> its owner's admin endpoint, read from the cluster's lease table on each call."""
    def read() -> dict[str, str]:
        from bridge.daemon.cluster import ClusterDb

        db = ClusterDb(url, "mtbridge dashboard", ddl=False)
        try:
            _, leases = db.view()
        finally:
            db.close()
        return {shard: lease.admin for shard, lease in leases.items() if lease.owner and lease.admin}
    return read


def _run(link: DealerLink, req: Action, actor: str) -> Outcome:
    from bridge.daemon.adminclient import AdminArgsError

    try:
        where = {"shard": req.shard} if req.shard else {}  # one daemon: the request exactly as before
        reply = link.call(req.action.op, **where, **req.admin_args(actor))
    except TimeoutError:
        return dealer.outcome(req, None, f"the daemon did not answer in {link.timeout_s:g} s")
    except AdminArgsError as exc:
        return dealer.outcome(req, None, str(exc))
    except Exception as exc:  # noqa: BLE001 - a socket error is shown, never a traceback on the page
        return dealer.outcome(req, None, f"{type(exc).__name__}: {exc}")
    return dealer.outcome(req, reply)


# ------------------------------------------------------------------------------ page parts
def _button(action: dealer.Action, back: str, **target: object) -> str:
    fields = "".join(f'<input type="hidden" name="{k}" value="{escape(str(v))}">' for k, v in target.items())
    return (f'<form method="get" action="/dealer/confirm" class="inline dealer-action">'
            f'<input type="hidden" name="action" value="{action.name}">{fields}'
            f'<input type="hidden" name="next" value="{escape(back)}">'
            f'<button type="submit" data-action="{action.name}">{escape(action.label)}</button></form>')


def account_section(dash: Dashboard, s: MonitorState, login: int) -> str:
    """The dealer's actions on an investor account: its subscription, and each open copy."""
    sub = next((x for x in sorted(s.subscriptions.values(), key=lambda x: -x.subscription)
                if x.account == login and x.state != "stopped"), None)
    if sub is None:
        return ""
    if dash.admin is None:
        return f'<section id="dealer-actions"><h2>Dealer actions</h2>{OFF_NOTE}</section>'
    back = f"/accounts/{login}"
    shard = {"shard": sub.shard} if sub.shard else {}  # a cluster desk: ids are per shard
    subs = " ".join(_button(a, back, subscription=sub.subscription, **shard) for a in SUBSCRIPTION_ACTIONS)
    subs += f' <a href="{escape(settings_url(sub.shard, sub.subscription))}" id="settings-link">copy settings</a>'
    copies = []
    for ticket, p in sorted(s.positions.get(login, {}).items()):
        if p.trader_ticket is None:
            continue
        copies.append(f'<li data-trader-ticket="{p.trader_ticket}">{escape(p.symbol)} {escape(p.side)} '
                      f"{p.volume} lots, ticket {ticket}, follows {escape(p.trader)} ticket {p.trader_ticket} "
                      + _button(dealer.ACTIONS["close_copy"], back, subscription=sub.subscription,
                                trader_ticket=p.trader_ticket, **shard) + "</li>")
    copies_html = f'<ul class="copies">{"".join(copies)}</ul>' if copies else '<p class="empty">no open copy</p>'
    of_shard = f" (shard {escape(sub.shard)})" if sub.shard else ""
    return (f'<section id="dealer-actions"><h2>Dealer actions</h2><p>Subscription {sub.subscription}{of_shard} of '
            f"{escape(sub.investor)} copying {escape(sub.trader)}: <b>{escape(sub.state.replace('_', ' '))}</b>, "
            f"{sub.open_copies} open cop{'y' if sub.open_copies == 1 else 'ies'}.</p><p>{subs}</p>"
            f"<h3>Open copies</h3>{copies_html}</section>")


def settings_url(shard: str, sub: int) -> str:
    """The copy-settings page of a subscription: /subscriptions/{sub}/settings for one daemon,
    /subscriptions/{shard}/{sub}/settings on a cluster desk (ids are per shard)."""
    return f"/subscriptions/{shard}/{sub}/settings" if shard else f"/subscriptions/{sub}/settings"


def trader_section(dash: Dashboard, trader: str, shard: str = "") -> str:
    if dash.admin is None:
        return f'<section id="dealer-actions"><h2>Dealer actions</h2>{OFF_NOTE}</section>'
    back = f"/traders/{trader}"
    where = {"shard": shard} if shard else {}
    return ('<section id="dealer-actions"><h2>Dealer actions</h2><p>'
            + " ".join(_button(a, back, trader=trader, **where) for a in TRADER_ACTIONS) + "</p></section>")


def flash_html(request: Request) -> str:
    """The result of the last action, shown once."""
    f = request.session.pop(FLASH_KEY, None)
    if not isinstance(f, dict):
        return ""
    kind = f.get("kind") if f.get("kind") in ("ok", "refused", "error") else "error"
    return f'<p class="flash flash-{kind}" id="flash" role="status">{escape(str(f.get("text", "")))}</p>'


def _back(value: str, default: str = "/") -> str:
    return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else default


# ------------------------------------------------------------------------------ routes
async def confirm_page(dash: Dashboard, request: Request) -> Response:
    p = dash.principal(request)
    if p is None or not p.is_dealer:
        return dash.deny(request, p)
    form = {k: request.query_params.get(k, "") for k in ("action", "subscription", "trader_ticket", "trader", "shard",
                                                         "next")}
    return _confirm(dash, request, form)


def _confirm(dash: Dashboard, request: Request, form: dict[str, str], error: str = "", status: int = 200) -> Response:
    if dash.admin is None:
        return dash.page(request, "Dealer action", OFF_NOTE, status=409)
    req = dealer.parse(form)
    if isinstance(req, str):
        return dash.page(request, "Dealer action", f"<p class=error>{escape(req)}</p>", status=400)
    back = _back(form.get("next", ""))
    target = {**req.args, **({"shard": req.shard} if req.shard else {})}
    fields = "".join(f'<input type="hidden" name="{k}" value="{escape(str(v))}">' for k, v in target.items())
    err = f'<p class="error" id="confirm-error">{escape(error)}</p>' if error else ""
    body = (f'<p id="confirm-what">You are about to <b>{escape(req.action.label)}</b>: {escape(req.subject)}.</p>'
            f"<p>This {escape(req.action.effect)}. The daemon journals it with your name.</p>{err}"
            f'<form method="post" action="/dealer/action" class="login" id="confirm-form">'
            f'<input type="hidden" name="csrf" value="{escape(dash.csrf_token(request))}">'
            f'<input type="hidden" name="action" value="{req.action.name}">{fields}'
            f'<input type="hidden" name="next" value="{escape(back)}">'
            f'<label>Type <code>{escape(req.expected)}</code> to confirm <input name="confirm" id="confirm" '
            f'autocomplete="off" required></label>'
            f'<button type="submit" id="confirm-submit">{escape(req.action.label)}</button></form>'
            f'<p><a href="{escape(back)}">cancel</a></p>')
    return dash.page(request, "Confirm a dealer action", body, status=status)


async def act(dash: Dashboard, request: Request) -> Response:
    form = await dash.form(request)
    if isinstance(form, Response):
        return form
    if not dash.csrf_ok(request, form):
        log.warning("dashboard.csrf_rejected", path="/dealer/action")
        return dash.page(request, "Forbidden", "<p>The form expired; reload the page and try again.</p>", status=403)
    p = dash.principal(request)
    if p is None or not p.is_dealer:
        if p is not None:
            log.warning("dashboard.dealer_action_forbidden", username=p.name, action=form.get("action", "")[:40])
        return dash.deny(request, p)
    if dash.admin is None:
        return dash.page(request, "Dealer action", OFF_NOTE, status=409)
    req = dealer.parse(form)
    if isinstance(req, str):
        return dash.page(request, "Dealer action", f"<p class=error>{escape(req)}</p>", status=400)
    if not dealer.confirmed(req, form.get("confirm", "")):
        return _confirm(dash, request, form, f"Type {req.expected} exactly to confirm; nothing was sent.", 400)
    result = await asyncio.to_thread(_run, dash.admin, req, p.name)
    log.info("dashboard.dealer_action", username=p.name, op=req.action.op, args=req.args, result=result.kind,
             text=result.text)
    request.session[FLASH_KEY] = {"kind": result.kind, "text": result.text}
    return RedirectResponse(_back(form.get("next", "")), status_code=303)
