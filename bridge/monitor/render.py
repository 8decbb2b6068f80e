"""HTML fragments of the dashboard pages, rendered on the server and escaped (no script)."""

from __future__ import annotations

from decimal import Decimal
from html import escape
from typing import Any

from bridge.monitor.console import feed_status, health_status
from bridge.monitor.fmt import lots, money, pct
from bridge.monitor.labels import ENGINE_STOP_OUTS, ENGINE_STOP_OUTS_HELP, STOP_OUT_EVENTS, STOP_OUT_EVENTS_HELP
from bridge.monitor.listing import (
    ACCOUNT_COLUMNS, ACCOUNT_DEFAULT, SUB_COLUMNS, SUB_DEFAULT, Listing, count_note, header_html, list_accounts,
    list_subscriptions,
)
from bridge.monitor.state import Account, MonitorState
from bridge.monitor.svg import line_chart
from bridge.monitor.views import Principal, desk_view

CHARTS_MAX = 12

# ------------------------------------------------------------------------------ rendering helpers
def _m(d: Decimal | None) -> str:
    return money(d)


def _pct(d: Decimal | None) -> str:
    return pct(d)


def _time(ts: int) -> str:
    from bridge.monitor.console import clock_text

    return clock_text(ts)


STATUS_LABEL = {"ok": "ok", "margin_call": "MARGIN CALL", "stop_out": "STOP-OUT"}


def _shard_attr(shard: str) -> str:
    return f' data-shard="{escape(shard)}"' if shard else ""


def accounts_html(accounts: tuple[Account, ...] | list[Account], *, link: bool = True,
                  listing: Listing | None = None) -> str:
    """The accounts table; with `listing` (the desk) filtered, sorted and with sorting header links."""
    total = len(accounts)
    if listing is not None:
        accounts = list_accounts(accounts, listing)
    rows = []
    cluster = any(a.shard for a in accounts)  # a cluster desk: each row names its shard
    for a in accounts:
        login = f'<a href="/accounts/{a.login}">{a.login}</a>' if link else str(a.login)
        shard = f'<td class="shard">{escape(a.shard)}</td>' if cluster else ""
        rows.append(
            f'<tr class="acct status-{a.status}" data-login="{a.login}" data-status="{a.status}"'
            f'{_shard_attr(a.shard)}>{shard}'
            f"<td>{login}</td><td>{escape(a.owner or a.role)}</td><td>{escape(a.currency or '-')}</td>"
            f"<td class=num>{_m(a.balance)}</td>"
            f"<td class=num>{_m(a.equity)}</td><td class=num>{_m(a.margin)}</td><td class=num>{_m(a.free_margin)}</td>"
            f'<td class="num level">{_pct(a.margin_level)}</td>'
            f"<td class=num>{a.margin_call_level:f}/{a.stop_out_level:f}</td>"
            f'<td class="status">{STATUS_LABEL[a.status]}</td><td>{"on" if a.online else "off"}</td></tr>')
    head = ("<th>shard</th>" if cluster else "") + (
            header_html(ACCOUNT_COLUMNS, listing, ACCOUNT_DEFAULT) if listing is not None else
            "<th>login</th><th>owner</th><th>ccy</th><th>balance</th><th>equity</th><th>margin</th><th>free</th>"
            "<th>margin level</th><th>MC/SO %</th><th>status</th><th>terminal</th>")
    empty = "no account matches" if total and listing is not None else "no accounts yet"
    return ((count_note(len(rows), total, listing, "accounts") if listing is not None else "")
            + f'<table class="grid" id="accounts-table"><thead><tr>{head}</tr></thead><tbody>' + "".join(rows)
            + "</tbody></table>" + ("" if rows else f'<p class="empty">{empty}</p>'))


def subs_html(subs: Any, listing: Listing | None = None) -> str:
    total = len(subs)
    if listing is not None:
        subs = list_subscriptions(subs, listing)
    cluster = any(s.shard for s in subs)  # a cluster desk: ids are per shard, each row names its shard
    rows = "".join(
        f'<tr class="sub" data-subscription="{s.subscription}"{_shard_attr(s.shard)}>'
        + (f'<td class="shard">{escape(s.shard)}</td>' if cluster else "") + f'<td>{s.subscription}</td>'
        f'<td><a href="/investors/{s.account}">{escape(s.investor)}</a></td>'
        f'<td><a href="/traders/{escape(s.trader)}">{escape(s.trader)}</a></td><td>{s.account}</td>'
        f"<td>{escape(s.state)}</td><td>{escape(s.mode)}</td><td class=num>{_pct(s.protection_pct)}</td>"
        f"<td class=num>{_m(s.invested)}</td><td class=num>{_m(s.equity)}</td><td class=num>{_m(s.realised)}</td>"
        f"<td class=num>{s.open_copies}</td><td class=num>{s.trades}</td></tr>" for s in subs)
    head = ("<th>shard</th>" if cluster else "") + (header_html(SUB_COLUMNS, listing, SUB_DEFAULT) if listing is not None else
            "<th>#</th><th>investor</th><th>trader</th><th>account</th><th>state</th><th>mode</th><th>protection</th>"
            "<th>invested</th><th>equity</th><th>realised</th><th>open</th><th>trades</th>")
    empty = "no subscription matches" if total and listing is not None else "no subscriptions"
    return ((count_note(len(subs), total, listing, "subscriptions") if listing is not None else "")
            + f'<div class="scroll"><table class="grid" id="subscriptions-table"><thead><tr>{head}</tr></thead><tbody>'
            + rows + "</tbody></table></div>" + ("" if rows else f'<p class="empty">{empty}</p>'))


def margin_chart(state: MonitorState, a: Account, width: int = 360) -> str:
    hist = list(state.margin_history.get(a.login, ()))
    return line_chart(hist, title=f"{a.login} {a.owner} margin level", unit="%", width=width,
                      thresholds=((a.margin_call_level, "mc", f"margin call {a.margin_call_level:f}%"),
                                  (a.stop_out_level, "so", f"stop-out {a.stop_out_level:f}%")))


def sections(state: MonitorState, p: Principal, now: int, listing: Listing | None = None) -> dict[str, str]:
    """The live sections of the desk page for principal `p` (HTML fragments, escaped); `listing`:
    the page's sort and search of the accounts and subscriptions tables."""
    v = desk_view(state, p)
    label, _ = feed_status(state, now)
    h = state.health
    status = f'<span class="feed feed-{label.lower().replace(" ", "-")}" id="feed-state">{label}</span>'
    if v.desk:
        counts = dict(v.counts)
        status += (f" daemon <b>{escape(h.instance or '?')}</b> journal #{h.journal_seq}"
                   f" · terminals online <b id=terminals-online>{v.terminals_online}</b>/{v.terminals}"
                   f' · copy latency p50 <b id="p50">{"-" if v.p50 is None else f"{v.p50} ms"}</b>'
                   f' p99 <b id="p99">{"-" if v.p99 is None else f"{v.p99} ms"}</b>'
                   f" · copies opened <b id=copies-opened>{counts.get('copies_opened', 0)}</b>"
                   f" refused {counts.get('copies_refused', 0)} · margin calls {counts.get('margin_calls', 0)}"
                   f' · <abbr id="stop-out-events" title="{STOP_OUT_EVENTS_HELP}">{STOP_OUT_EVENTS}</abbr> '
                   f"{counts.get('stop_outs', 0)}"
                   f' · <abbr id="engine-stop-outs" title="{ENGINE_STOP_OUTS_HELP}">{ENGINE_STOP_OUTS}</abbr> '
                   f"{counts.get('engine_stop_outs', 0)} · feed gaps {h.gaps}")
    if state.sources:  # a cluster desk: each daemon's feed, its shard and node
        status += '<br><span id="desk-sources">shards: ' + " · ".join(
            f'<span class="source" data-shard="{escape(src.shard)}">{escape(src.label)} '
            f'<span class="feed feed-{st.lower().replace(" ", "-")}">{st}</span></span>'
            for src in state.sources for st in (health_status(src.health, now)[0],)) + "</span>"
    lst = listing or Listing()
    out = {"status": status, "accounts": accounts_html(v.accounts, listing=lst),
           "subscriptions": subs_html(v.subscriptions, lst)}
    out["events"] = '<ol class="events">' + "".join(
        f'<li class="sev-{e.severity} kind-{e.kind}" data-seq="{e.seq}"><time>{_time(e.ts)}</time> {escape(e.text)}</li>'
        for e in v.events) + "</ol>"
    if v.desk:
        from bridge.monitor.book import money_exposure

        if state.positions:  # floating P/L of every position: once per feed version, not per reader
            out["exposure"] = state.memo_get("exposure_html", lambda: exposure_html(money_exposure(state))
                                             + "<h3>Per trader</h3>" + exposure_by_trader_html(state))
        else:  # a daemon without the positions topic (F14): lots only, from `exposure` (F7)
            out["exposure"] = ('<table class="grid" id="exposure-table"><thead><tr><th>symbol</th><th>buy</th>'
                               "<th>sell</th><th>net</th><th>positions</th></tr></thead><tbody>" + "".join(
                                   f'<tr data-symbol="{escape(e.symbol)}"><td>{escape(e.symbol)}</td>'
                                   f"<td class=num>{lots(e.buy)}</td><td class=num>{lots(e.sell)}</td>"
                                   f"<td class=num>{lots(e.net, sign=True)}</td><td class=num>{e.positions}</td></tr>"
                                   for e in v.exposure) + "</tbody></table>")
    else:
        from bridge.monitor.book import position_rows

        mine = {a.login for a in v.accounts}
        out["positions"] = positions_html(position_rows(state, mine))
    out["charts"] = "".join(f'<a class="chart-link" href="/accounts/{a.login}">{margin_chart(state, a, 300)}</a>'
                            for a in v.accounts[:CHARTS_MAX] if a.margin_level is not None
                            or a.login in state.margin_history) or '<p class="empty">no margin in use</p>'
    return out




# ------------------------------------------------------------------------------ positions and exposure
def _signed_cls(d: Decimal | None) -> str:
    return "" if d is None or d == 0 else (" pos" if d > 0 else " neg")


def positions_html(rows: list, *, owner: bool = True) -> str:
    """Open positions (book.PositionRow); a copy names the trader position it follows."""
    from bridge.monitor.fmt import price

    body = []
    for r in rows:
        p = r.position
        follows = (f'<a href="/traders/{escape(p.trader)}">{escape(p.trader)}</a> #{p.trader_ticket}'
                   if p.trader else "-")
        body.append(
            f'<tr class="position" data-login="{p.login}" data-ticket="{p.ticket}" data-symbol="{escape(p.symbol)}">'
            + (f'<td><a href="/accounts/{p.login}">{p.login}</a></td><td>{escape(r.owner)}</td>' if owner else "")
            + f"<td>{p.ticket}</td><td>{escape(p.symbol)}</td><td class=side-{p.side}>{p.side}</td>"
            f"<td class=num>{lots(p.volume, step=r.volume_step)}</td><td class=num>{price(p.price)}</td>"
            f"<td class=num>{price(r.current)}</td><td class='num pl{_signed_cls(r.profit)}'>"
            f"{money(r.profit, sign=True)} {escape(r.currency) if r.profit is not None else ''}</td>"
            f"<td class='num swap{_signed_cls(p.swap)}'>{money(p.swap, sign=True)}</td><td>{follows}</td></tr>")
    head = (("<th>login</th><th>owner</th>" if owner else "") + "<th>ticket</th><th>symbol</th><th>side</th>"
            "<th>lots</th><th>open</th><th>current</th><th>floating P/L</th><th>swap</th><th>follows</th>")
    return (f'<div class="scroll"><table class="grid" id="positions-table"><thead><tr>{head}</tr></thead><tbody>'
            + "".join(body) + "</tbody></table></div>" + ("" if body else '<p class="empty">no open positions</p>'))


def exposure_html(rows: list, table_id: str = "exposure-table") -> str:
    """Exposure per symbol (book.MoneyExposure): lots, notional and floating P/L in USD, and a total row."""
    from bridge.monitor.book import DESK_CURRENCY, total

    body = "".join(
        f'<tr data-symbol="{escape(e.symbol)}"><td>{escape(e.symbol)}</td>'
        f"<td class=num>{lots(e.buy, step=e.volume_step)}</td><td class=num>{lots(e.sell, step=e.volume_step)}</td>"
        f"<td class=num>{lots(e.net, step=e.volume_step, sign=True)}</td>"
        f"<td class=num>{lots(e.gross, step=e.volume_step)}</td>"
        f"<td class='num notional'>{money(e.notional, sign=True)}</td><td class=num>{money(e.gross_notional)}</td>"
        f"<td class='num pl{_signed_cls(e.profit)}'>{money(e.profit, sign=True)}</td>"
        f"<td class=num>{e.positions}</td></tr>" for e in rows)
    net, gross, pl = total(rows)
    foot = (f'<tfoot><tr class="total"><th colspan=5>total</th><td class="num notional">{money(net, sign=True)}</td>'
            f"<td class=num>{money(gross)}</td><td class='num pl{_signed_cls(pl)}'>{money(pl, sign=True)}</td>"
            f"<td class=num>{sum(e.positions for e in rows)}</td></tr></tfoot>") if rows else ""
    c = DESK_CURRENCY
    return (f'<div class="scroll"><table class="grid exposure" id="{table_id}"><thead><tr><th>symbol</th>'
            f"<th>buy lots</th><th>sell lots</th><th>net lots</th><th>gross lots</th><th>net notional {c}</th>"
            f"<th>gross notional {c}</th><th>floating P/L {c}</th><th>positions</th></tr></thead><tbody>{body}"
            f"</tbody>{foot}</table></div>" + ("" if rows else '<p class="empty">no open positions</p>'))


def exposure_by_trader_html(state: MonitorState) -> str:
    from bridge.monitor.book import exposure_by_trader, total

    rows = []
    for tid, ex in exposure_by_trader(state):
        if not ex:
            continue
        net, gross, pl = total(ex)
        lots_net = ", ".join(f"{escape(e.symbol)} {lots(e.net, step=e.volume_step, sign=True)}" for e in ex)
        rows.append(f'<tr data-trader="{escape(tid)}"><td><a href="/traders/{escape(tid)}">{escape(tid)}</a></td>'
                    f"<td>{lots_net}</td><td class=num>{money(net, sign=True)}</td><td class=num>{money(gross)}</td>"
                    f"<td class='num pl{_signed_cls(pl)}'>{money(pl, sign=True)}</td></tr>")
    return ('<div class="scroll"><table class="grid" id="exposure-traders"><thead><tr><th>trader (own + copies)</th>'
            "<th>net lots</th><th>net notional USD</th><th>gross notional USD</th><th>floating P/L USD</th></tr>"
            "</thead><tbody>" + "".join(rows) + "</tbody></table></div>")


def account_facts(a: Account) -> str:
    """Type, currency, leverage of one account (the review found none anywhere)."""
    return (f'<dl class="stats facts" id="account-facts"><dt>role</dt><dd>{escape(a.role)}</dd>'
            f"<dt>owner</dt><dd>{escape(a.owner or '-')}</dd><dt>account type</dt><dd>{escape(a.account_type or '-')}</dd>"
            f"<dt>currency</dt><dd>{escape(a.currency or '-')}</dd>"
            f"<dt>leverage</dt><dd>{f'1:{a.leverage}' if a.leverage else '-'}</dd></dl>")
