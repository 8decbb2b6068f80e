"""The investor page and the history CSV exports (issue 13 §1, "Investor history that survives").

`/investors/{login}`: live subscriptions from the feed, closed ones from the dashboard's own
journal (`HistoryStore`), trades, totals; `/investors/{login}/history.csv?what=trades|subscriptions`
(the investor's own account only, same access rule as the page: an investor gets 403 for any
other login) and `/history.csv?what=...` (dealers: everything).
"""

from __future__ import annotations

from decimal import Decimal
from html import escape
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from bridge.monitor.book import position_rows
from bridge.monitor.fmt import lots, money, pct
from bridge.monitor.fmt import price
from bridge.monitor.history import SubRow, deals_csv, subscriptions_csv, trades_csv
from bridge.monitor.labels import close_label, deal_reason_label, settings_text
from bridge.monitor.render import margin_chart, positions_html, subs_html
from bridge.monitor.state import MonitorState
from bridge.monitor.views import can_see_account, investor_stats

if TYPE_CHECKING:
    from bridge.monitor.web import Dashboard

TRADES_SHOWN = 200
WHY_SHOWN = 20  # the newest refusals, limit trips and settings changes of the account
_WHY_KINDS = ("copy_refused", "risk_limit", "copy_settings")
ZERO = Decimal(0)


def _d(text: str) -> Decimal:
    try:
        return Decimal(text) if text else ZERO
    except ArithmeticError:
        return ZERO


def _date(ms: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M") if ms else "-"


def closed_html(rows: list[SubRow]) -> str:
    body = []
    for s in rows:
        inv, real = _d(s.invested), _d(s.realised)
        ret = pct(real / inv * 100) if inv else "-"
        body.append(f'<tr class="closed-sub" data-subscription="{s.subscription}"><td>{s.subscription}</td>'
                    f'<td><a href="/traders/{escape(s.trader)}">{escape(s.trader)}</a></td>'
                    f"<td class=num>{money(inv)}</td><td class=num>{money(real, sign=True)}</td>"
                    f"<td class=num>{ret}</td><td class=num>{money(_d(s.commission_paid))}</td>"
                    f"<td class=num>{s.trades}</td><td>{_date(s.started)}</td><td>{_date(s.stopped)}</td>"
                    f"<td class=num>{money(_d(s.returned)) if s.returned else '-'}</td></tr>")
    return ('<div class="scroll"><table class="grid" id="closed-subscriptions"><thead><tr><th>#</th><th>trader</th>'
            "<th>invested</th><th>realised</th><th>return</th><th>commission paid</th><th>trades</th>"
            "<th>started (UTC)</th><th>stopped (UTC)</th><th>returned</th></tr></thead><tbody>" + "".join(body)
            + "</tbody></table></div>" + ("" if body else '<p class="empty">no closed subscriptions</p>'))


def trades_html(rows: list[dict]) -> str:
    body = "".join(
        f'<tr class="trade" data-subscription="{r["subscription"]}"><td>{_date(r["ts"])}</td><td>{r["subscription"]}</td>'
        f'<td>{r["event"]}</td><td>{escape(r["symbol"])}</td><td class=side-{escape(r["side"])}>{escape(r["side"])}</td>'
        f'<td class=num>{lots(_d(r["volume"]))}</td><td class=num>{escape(r["price"])}</td>'
        f'<td class=num>{money(_d(r["profit"]), sign=True) if r["event"] == "close" else ""}</td>'
        f'<td>{escape(close_label(r["reason"])) if r["reason"] else ""}</td></tr>' for r in reversed(rows))
    return ('<div class="scroll"><table class="grid" id="trades-table"><thead><tr><th>server time (UTC)</th>'
            "<th>sub</th><th>deal</th><th>symbol</th><th>side</th><th>lots</th><th>price</th><th>P/L</th>"
            "<th>why</th></tr></thead><tbody>" + body + "</tbody></table></div>"
            + ("" if body else '<p class="empty">no trades yet</p>'))


def deals_html(rows: list[dict], login: int) -> str:
    """An account's own closed deals, newest first, with their P/L and a total; CSV link."""
    body = "".join(
        f'<tr class="deal" data-ticket="{r["ticket"]}"><td>{_date(r["ts"])}</td><td>{r["ticket"]}</td>'
        f'<td>{escape(r["symbol"]) or "-"}</td><td class=side-{escape(r["side"])}>{escape(r["side"]) or "-"}</td>'
        f'<td class=num>{lots(_d(r["volume"]))}</td><td class=num>{price(_d(r["open_price"])) if r["open_price"] else "-"}'
        f'</td><td class=num>{price(_d(r["close_price"])) if r["close_price"] else "-"}</td>'
        f'<td class="num pl">{money(_d(r["profit"]), sign=True)}</td>'
        f'<td>{escape(deal_reason_label(r["reason"]))}{" (partial)" if _d(r["remaining"]) else ""}</td></tr>'
        for r in reversed(rows))
    total = sum((_d(r["profit"]) for r in rows), ZERO)
    foot = (f'<tfoot><tr class="total"><th colspan=7>{len(rows)} deal(s)</th><td class="num pl" id="deals-total">'
            f"{money(total, sign=True)}</td><td></td></tr></tfoot>") if rows else ""
    return (f'<p class="exports">Export: <a href="/accounts/{login}/deals.csv" id="csv-deals">closed deals (CSV)</a>'
            '</p><div class="scroll"><table class="grid" id="deals-table"><thead><tr><th>server time (UTC)</th>'
            "<th>ticket</th><th>symbol</th><th>side</th><th>lots</th><th>open</th><th>close</th><th>P/L</th>"
            f"<th>why</th></tr></thead><tbody>{body}</tbody>{foot}</table></div>"
            + ("" if body else '<p class="empty">no closed deals yet</p>'))


async def account_deals_csv(dash: Dashboard, request: Request) -> Response:
    login = request.path_params["login"]
    p = dash.principal(request)
    if p is None or not dash.hub.read(lambda s: can_see_account(s, p, login)):
        return dash.deny(request, p)
    return _csv(deals_csv(dash.hub.history.deals(account=login)), f"account-{login}-deals.csv")


async def investor_page(dash: Dashboard, request: Request) -> Response:
    login = request.path_params["login"]
    p = dash.principal(request)
    if p is None or not dash.hub.read(lambda s: can_see_account(s, p, login)):
        return dash.deny(request, p)
    history = dash.hub.history
    journal = history.subscriptions(account=login)
    trades = history.trades(account=login, limit=TRADES_SHOWN)

    def build(s: MonitorState) -> str:
        st = investor_stats(s, login)
        live_ids = {x.subscription for x in st.subscriptions if x.state != "stopped"}
        closed = [r for r in journal if r.subscription not in live_ids and r.state == "stopped"]
        known = {x.subscription for x in st.subscriptions}
        # realised and commission over the whole history: live ones from the feed, closed ones journaled
        realised = st.realised + sum((_d(r.realised) for r in closed if r.subscription not in known), ZERO)
        commission = st.commission_paid + sum((_d(r.commission_paid) for r in closed if r.subscription not in known),
                                              ZERO)
        a = s.accounts.get(login)
        chart = margin_chart(s, a, 640) if a is not None else ""
        live = [x for x in st.subscriptions if x.state != "stopped"]
        owner = st.investor or (closed[0].investor if closed else "")
        pos = positions_html(position_rows(s, {login}), owner=False)
        return (f'<dl class="stats" id="investor-stats"><dt>investor</dt><dd>{escape(owner or "-")}</dd>'
                f"<dt>invested now</dt><dd>{money(st.invested)}</dd><dt>equity</dt><dd>{money(st.equity)}</dd>"
                f'<dt>realised (all time)</dt><dd id="realised-total">{money(realised, sign=True)}</dd>'
                f'<dt>commission paid (all time)</dt><dd id="commission-total">{money(commission)}</dd></dl>'
                f'<p class="exports">Export: <a href="/investors/{login}/history.csv?what=trades" id="csv-trades">'
                f'trades (CSV)</a> · <a href="/investors/{login}/history.csv?what=subscriptions" id="csv-subs">'
                f"subscriptions (CSV)</a></p>"
                f"<section><h2>Active subscriptions</h2>{subs_html(live)}</section>"
                f"<section><h2>Copy settings and why not copied</h2>{why_html(s, login, live)}</section>"
                f"<section><h2>Closed subscriptions</h2>{closed_html(closed)}</section>"
                f"<section><h2>Open positions</h2>{pos}</section>"
                f"<section><h2>Trades (newest {TRADES_SHOWN})</h2>{trades_html(trades)}</section>"
                f"<section><h2>Margin level</h2>{chart}</section>")

    return dash.page(request, f"Investor statistics: account {login}", dash.hub.read(build))


def why_html(s: MonitorState, login: int, live: list) -> str:
    """Issue 15: each live subscription's copy settings (those changed from the seed's terms) and
    the account's newest refusals, limit trips and settings changes, with their figures."""
    from bridge.monitor.desk_state import subscription_key

    rows = "".join(f"<tr><td>{x.subscription}</td><td>"
                   f"{escape(settings_text(s.copy_settings.get(subscription_key(s, x.shard, x.subscription), {})))}"
                   f"</td></tr>" for x in live)
    settings = (f'<table id="copy-settings"><tr><th>subscription</th><th>copy settings</th></tr>{rows}</table>'
                if rows else "")
    lines = [x for x in s.events_by_login.get(login, ()) if x.kind in _WHY_KINDS][-WHY_SHOWN:]
    items = "".join(f"<li>{escape(_date(x.ts))} {escape(x.text)}</li>" for x in reversed(lines))
    return settings + (f'<ul id="why-not-copied">{items}</ul>' if items else "<p>Every trade was copied.</p>")


def _csv(body: str, name: str) -> Response:
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def _export(dash: Dashboard, request: Request, account: int | None, name: str) -> Response:
    what = request.query_params.get("what", "trades")
    history = dash.hub.history
    subs = history.subscriptions(account=account)
    if what == "subscriptions":
        return _csv(subscriptions_csv(subs), f"{name}-subscriptions.csv")
    if what == "deals":  # every account's own closed deals (a trader's included)
        return _csv(deals_csv(history.deals(account=account)), f"{name}-deals.csv")
    if what != "trades":
        return Response("what must be trades, subscriptions or deals", status_code=400, media_type="text/plain")
    return _csv(trades_csv(history.trades(account=account), {s.subscription: s for s in subs}), f"{name}-trades.csv")


async def investor_csv(dash: Dashboard, request: Request) -> Response:
    login = request.path_params["login"]
    p = dash.principal(request)
    if p is None or not dash.hub.read(lambda s: can_see_account(s, p, login)):
        return dash.deny(request, p)
    return _export(dash, request, login, f"account-{login}")


async def desk_csv(dash: Dashboard, request: Request) -> Response:
    p = dash.principal(request)
    if p is None or not p.is_dealer:
        return dash.deny(request, p)
    return _export(dash, request, None, "desk")
