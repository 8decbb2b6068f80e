"""Sort and search of the desk's long tables, server-side (issue 13; review desk-and-ops user 2
#12: "The 50-row subscription table comes before the events, with no sort, filter or search")."""

from __future__ import annotations

import re
from decimal import Decimal

from starlette.testclient import TestClient

from bridge.monitor.listing import ACCOUNT_COLUMNS, Listing, list_accounts, list_subscriptions
from bridge.monitor.state import Account, Subscription
from tests.monitor.test_monitor_web import client_as, env  # noqa: F401 - the fixture

ACCS = [Account(1001, "trader", "trader-1", equity=Decimal("900"), margin_level=Decimal("150")),
        Account(2001, "investor", "inv-001", equity=Decimal("50"), margin_level=Decimal("30")),
        Account(2002, "investor", "inv-002", equity=Decimal("5000")),  # no margin in use
        Account(1002, "trader", "trader-2", equity=Decimal("700"), margin_level=Decimal("900"))]


def test_parse_falls_back_on_bad_values():
    assert Listing.parse({"sort": "equity", "dir": "desc", "q": "  inv   00 "}) == Listing("equity", "desc", "inv 00")
    assert Listing.parse({"sort": "password", "dir": "sideways", "q": "x" * 99}) == Listing("", "asc", "x" * 40)
    assert Listing("equity", "desc", "a b").query(dir="asc") == "?sort=equity&dir=asc&q=a+b"


def test_sort_any_column_both_ways_none_last():
    by = lambda lst: [a.login for a in list_accounts(ACCS, lst)]  # noqa: E731
    assert by(Listing()) == [1001, 2001, 2002, 1002]  # no sort asked: the order given (by risk)
    assert by(Listing("equity", "desc")) == [2002, 1001, 1002, 2001]
    assert by(Listing("equity")) == [2001, 1002, 1001, 2002]
    assert by(Listing("level")) == [2001, 1001, 1002, 2002]
    assert by(Listing("level", "desc")) == [1002, 1001, 2001, 2002]  # no margin level: last either way
    assert by(Listing("owner", q="trader")) == [1001, 1002]
    assert by(Listing(q="200")) == [2001, 2002]  # login substring
    assert set(ACCOUNT_COLUMNS) >= {"login", "owner", "equity", "level", "status"}
    subs = [Subscription(1, "inv-001", "trader-1", 2001), Subscription(2, "inv-002", "trader-2", 2002),
            Subscription(3, "inv-003", "trader-1", 2003)]
    assert [s.subscription for s in list_subscriptions(subs, Listing("trader", "desc", "trader"))] == [2, 1, 3]
    assert [s.subscription for s in list_subscriptions(subs, Listing(q="TRADER-1"))] == [1, 3]


def _logins(html: str, table: str) -> list[int]:
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    attr = "data-login" if table == "accounts-table" else "data-subscription"
    return [int(x) for x in re.findall(rf'{attr}="(\d+)"', body)]


def test_desk_page_sorts_and_searches_without_script(env):  # noqa: F811
    dash, _ = env
    c: TestClient = client_as(dash, "dealer")
    page = c.get("/").text
    default = _logins(page, "accounts-table")
    assert default == [a.login for a in dash.hub.state.accounts_by_risk()]
    # the header links sort; the active column says so (aria-sort) and its link reverses the order
    assert 'href="?sort=equity&amp;dir=asc"' in page and 'data-col="level" aria-sort="ascending"' in page
    page = c.get("/?sort=equity&dir=desc").text
    eq = {a.login: a.equity for a in dash.hub.state.accounts.values()}
    got = _logins(page, "accounts-table")
    assert got == sorted(eq, key=lambda k: eq[k], reverse=True) and len(got) == len(default)
    assert 'data-col="equity" aria-sort="descending"' in page and 'href="?sort=equity&amp;dir=asc"' in page
    assert _logins(page, "subscriptions-table") == sorted(_logins(page, "subscriptions-table"))  # untouched
    # search: login, trader or owner; the sort is kept in the form
    page = c.get("/?sort=equity&dir=desc&q=trader-2").text
    subs = dash.hub.state.subscriptions.values()
    assert _logins(page, "subscriptions-table") == [s.subscription for s in sorted(subs, key=lambda s: s.subscription)
                                                    if s.trader == "trader-2"]
    owners = {a.login: a.owner for a in dash.hub.state.accounts.values()}
    assert [owners[x] for x in _logins(page, "accounts-table")] == ["trader-2"]
    assert re.search(r"1 of \d+ accounts match “trader-2”", page)
    assert '<input type="hidden" name="sort" value="equity">' in page
    assert "no account matches" in c.get("/?q=nobody").text
    # the latest events come before the long tables
    assert page.index('id="sec-events"') < page.index('id="accounts-table"') < page.index('id="subscriptions-table"')


def test_live_updates_keep_the_sort_and_search(env):  # noqa: F811
    """The SSE stream (/events) renders the sections with the page's own query string."""
    from starlette.requests import Request

    from bridge.monitor.assets import JS
    from bridge.monitor.views import DEALER, Principal

    dash, _ = env
    assert 'new EventSource("/events" + window.location.search)' in JS
    req = Request({"type": "http", "method": "GET", "path": "/events", "query_string": b"sort=login&dir=desc&q=200",
                   "headers": [], "session": {}})
    secs = dash._sections(req, Principal(DEALER, "desk"), 0)
    got = _logins(secs["accounts"], "accounts-table")
    assert got and got == sorted(got, reverse=True) and all("200" in str(x) for x in got)
