"""Dashboard alerts: the desk's open-alerts section, the `/alerts` page (filter by kind and
status) and `POST /alerts/{id}/ack` (a named dealer acknowledges; who and when are journaled).

Dealers only: investors see their own events, never the desk's alert list.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

import structlog
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bridge.monitor.alerts import KIND_LABEL, KINDS, Alert
from bridge.monitor.labels import (
    ENGINE_STOP_OUTS, ENGINE_STOP_OUTS_HELP, STOP_OUT_ALERTS, STOP_OUT_ALERTS_HELP, STOP_OUT_EVENTS, STOP_OUT_EVENTS_HELP,
)
from bridge.monitor.alertstore import AlertStore
from bridge.monitor.console import clock_text

if TYPE_CHECKING:
    from bridge.monitor.web import Dashboard

DESK_ALERTS = 10
log = structlog.get_logger("mtbridge.dashboard")


def _wall_text(ms: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _server_time(ms: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%m-%d ") + clock_text(ms)


def alert_rows(alerts: list[Alert], csrf: str, back: str) -> str:
    rows = []
    for a in alerts:
        if a.acked:
            act = (f'<span class="acked">acknowledged by <b>{escape(a.acked_by)}</b> at '
                   f"{_wall_text(a.acked_at)}</span>")
        else:
            act = (f'<form method="post" action="/alerts/{a.id}/ack" class="inline ack">'
                   f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
                   f'<input type="hidden" name="next" value="{escape(back)}">'
                   f'<button type="submit" class="ack-button">acknowledge</button></form>')
        where = f'<a href="/accounts/{a.login}">{a.login}</a>' if a.login is not None else ""
        rows.append(f'<tr class="alert sev-{a.severity} {"acked" if a.acked else "open"}" data-id="{a.id}" '
                    f'data-kind="{a.kind}"><td><time>{_server_time(a.ts)}</time></td>'
                    f"<td>{escape(KIND_LABEL.get(a.kind, a.kind))}</td><td>{where}</td>"
                    f"<td class=text>{escape(a.text)}</td><td>{act}</td></tr>")
    return ('<table class="grid alerts" id="alerts-table"><thead><tr><th>server time</th><th>kind</th>'
            "<th>account</th><th>what</th><th>acknowledged</th></tr></thead><tbody>" + "".join(rows)
            + "</tbody></table>" + ("" if rows else '<p class="empty">no alerts</p>'))


def desk_section(store: AlertStore, csrf: str) -> str:
    """Open alerts, newest first (live over SSE); `data-newest` drives the sound cue."""
    counts = store.open_counts()
    total = sum(counts.values())
    newest = store.newest_open_id()
    summary = ", ".join(f"{KIND_LABEL.get(k, k)} {n}" for k, n in sorted(counts.items()))
    head = (f'<p class="alert-banner {"has-open" if total else "none-open"}" id="alerts-open" data-open="{total}" '
            f'data-newest="{newest}">{total} open alert{"" if total == 1 else "s"}'
            f'{": " + escape(summary) if summary else ""} · <a href="/alerts">all alerts</a></p>')
    return head + (alert_rows(store.list(status="open", limit=DESK_ALERTS), csrf, "/") if total else "")


def sound_toggle() -> str:
    return ('<label class="sound"><input type="checkbox" id="alert-sound"> sound on new alerts</label>')


async def alerts_page(dash: Dashboard, request: Request) -> Response:
    p = dash.principal(request)
    if p is None or not p.is_dealer:
        return dash.deny(request, p)
    kind = request.query_params.get("kind", "")
    status = request.query_params.get("status", "all")
    if kind and kind not in KINDS:
        return dash.page(request, "Alerts", f"<p class=error>Unknown alert kind {escape(kind)!s}.</p>", status=400)
    if status not in ("open", "acked", "all"):
        status = "all"
    opts = "".join(f'<option value="{k}"{" selected" if k == kind else ""}>{escape(KIND_LABEL[k])}</option>'
                   for k in KINDS)
    sts = "".join(f'<option value="{s}"{" selected" if s == status else ""}>{s}</option>'
                  for s in ("all", "open", "acked"))
    store = dash.hub.alerts
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    body = (f'<form method="get" action="/alerts" class="filter" id="alerts-filter"><label>kind <select name="kind">'
            f'<option value="">all kinds</option>{opts}</select></label> <label>status <select name="status">{sts}'
            f'</select></label> <button type="submit">filter</button></form>'
            f"<p>Kept: the newest {store.keep} alerts{' (journal ' + escape(store.path) + ')' if store.path != ':memory:' else ' (not journaled: no --desk-db)'}."
            f" Times are the daemon's server time (UTC).</p>"
            f'<p class="note" id="stop-out-legend">{escape(STOP_OUT_ALERTS)}: {escape(STOP_OUT_ALERTS_HELP)} '
            f"({escape(STOP_OUT_EVENTS)}: {escape(STOP_OUT_EVENTS_HELP)}; {escape(ENGINE_STOP_OUTS)}: "
            f"{escape(ENGINE_STOP_OUTS_HELP)}).</p>"
            + alert_rows(store.list(kind=kind or None, status=status, limit=500), dash.csrf_token(request), back))
    return dash.page(request, "Alerts", body)


async def acknowledge(dash: Dashboard, request: Request) -> Response:
    form = await dash.form(request)
    if isinstance(form, Response):
        return form
    if not dash.csrf_ok(request, form):
        return dash.page(request, "Forbidden", "<p>The form expired; reload the page and try again.</p>", status=403)
    p = dash.principal(request)
    if p is None or not p.is_dealer:
        return dash.deny(request, p)
    alert_id = int(request.path_params["alert"])
    done = dash.hub.acknowledge(alert_id, p.name, dash.wall())
    if done is None:
        return dash.page(request, "Alert", f"<p class=error>Alert {alert_id} is unknown or already acknowledged."
                         '</p><p><a href="/alerts">all alerts</a></p>', status=409)
    log.info("dashboard.alert_acknowledged", alert=alert_id, kind=done.kind, username=p.name)
    nxt = form.get("next", "")
    target = nxt if nxt.startswith("/") and not nxt.startswith("//") and "\\" not in nxt else "/alerts"
    return RedirectResponse(target, status_code=303)
