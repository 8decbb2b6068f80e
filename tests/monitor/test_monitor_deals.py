"""A trader account's own closed deals (issue 13; review desk-and-ops user 2 #2: "`/accounts/12716506`
... shows one row of figures, a chart and an empty "Events" list, for a trader with 14 trades";
feature table: "trade / deal history export: partial ... no per-account trade list in dashboard
or CLI"): the daemon's feed carries every close, the desk journal keeps it, the account page
lists it with its P/L, and the CSV comes from the dashboard and from `mtbridge history`."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

from bridge.cli import main
from bridge.monitor.history import HistoryStore, history_rows
from bridge.monitor.hub import MonitorHub
from bridge.monitor.state import FeedEvent
from bridge.monitor.web import Dashboard, DashboardConfig
from bridge.protocol import PositionClosed, PositionOpened
from tests.daemon.test_daemon_feed_core import Desk, Hello, H, S, T0, opened
from tests.monitor.test_monitor_web import SECRET, client_as, creds


def _trader_round_trip(tmp: Path) -> Desk:
    d = Desk(tmp)
    for login in (1001, 2001, 2002):
        d.send(login, Hello, 0, **H)
    d.send(1001, PositionOpened, S, **opened(55, "0.5", "sell", "GBPUSD"))
    d.send(1001, PositionClosed, 2 * S, ticket=55, volume=Decimal("0.2"), remaining=Decimal("0.3"),
           price=Decimal("1.09"), time=T0, reason="tp", profit=Decimal("20.00"))
    d.send(1001, PositionClosed, 3 * S, ticket=55, volume=Decimal("0.3"), remaining=Decimal(0),
           price=Decimal("1.12"), time=T0, reason="client", profit=Decimal("-60.00"))
    return d


def _hub(d: Desk, db: Path) -> MonitorHub:
    hub = MonitorHub(history=HistoryStore(db))
    for topic, body in d.items:
        hub.apply(FeedEvent(topic, body))
    return hub


def test_the_feed_carries_a_traders_own_close_and_the_journal_keeps_it(tmp_path):
    d = _trader_round_trip(tmp_path)
    closes = [b for t, b in d.items if t == "account.position_closed" and b["login"] == 1001]
    assert [(c["ticket"], Decimal(c["volume"]), Decimal(c["profit"]), Decimal(c["price"]), c["reason"])
            for c in closes] == [(55, Decimal("0.2"), 20, Decimal("1.09"), "tp"),
                                 (55, Decimal("0.3"), -60, Decimal("1.12"), "client")]
    hub = _hub(d, tmp_path / "desk.sqlite")
    deals = hub.history.deals(account=1001)
    assert [(r["symbol"], r["side"], Decimal(r["volume"]), Decimal(r["open_price"]), Decimal(r["close_price"]),
             Decimal(r["profit"]), Decimal(r["remaining"])) for r in deals] == [
        ("GBPUSD", "sell", Decimal("0.2"), Decimal("1.1"), Decimal("1.09"), 20, Decimal("0.3")),
        ("GBPUSD", "sell", Decimal("0.3"), Decimal("1.1"), Decimal("1.12"), -60, 0)]
    # a feed item seen twice (a replay after a reconnect) is one row
    again = next(FeedEvent(t, b) for t, b in d.items if t == "account.position_closed")
    hub.history.write(*history_rows(again, hub.state))
    assert len(hub.history.deals(account=1001)) == 2
    hub.history.close()


def test_account_page_lists_closed_deals_with_pl_and_csv(tmp_path):
    d = _trader_round_trip(tmp_path)
    hub = _hub(d, tmp_path / "desk.sqlite")
    dash = Dashboard(hub, creds(), DashboardConfig(session_secret=SECRET), wall=lambda: hub.state.health.last_ts)
    c = client_as(dash, "dealer")
    page = c.get("/accounts/1001").text
    table = page.split('id="deals-table"', 1)[1].split("</table>", 1)[0]
    assert table.count('class="deal"') == 2
    assert "-60.00" in table and "+20.00" in table and "take profit (partial)" in table and "by hand" in table
    assert '<td class="num pl" id="deals-total">-40.00</td>' in table  # 20.00 - 60.00
    rows = list(csv.DictReader(io.StringIO(c.get("/accounts/1001/deals.csv").text)))
    assert [(r["ticket"], r["symbol"], r["side"], Decimal(r["profit"])) for r in rows] == [
        ("55", "GBPUSD", "sell", 20), ("55", "GBPUSD", "sell", -60)]
    assert c.get("/history.csv?what=deals").text.splitlines()[1:] == c.get("/accounts/1001/deals.csv").text.splitlines()[1:]
    inv = client_as(dash, "investor")  # investor 2001 may not see trader 1001's deals
    assert inv.get("/accounts/1001/deals.csv", follow_redirects=False).status_code == 403
    assert inv.get("/history.csv?what=deals", follow_redirects=False).status_code == 403
    hub.history.close()


def test_cli_exports_the_same_csv(tmp_path, capsys):
    d = _trader_round_trip(tmp_path)
    db = tmp_path / "desk.sqlite"
    hub = _hub(d, db)
    want = hub.history.deals(account=1001)
    hub.history.close()
    assert main(["history", "--desk-db", str(db), "deals", "--account", "1001"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["profit"] for r in rows] == [w["profit"] for w in want] and [Decimal(w["profit"]) for w in want] == [20, -60]
    assert main(["history", "--desk-db", str(tmp_path / "typo.sqlite"), "deals"]) == 2
    assert "no such file" in capsys.readouterr().err and not (tmp_path / "typo.sqlite").exists()
