"""Investor history that survives (issue 13 §1): "Keep closed subscriptions, their trades,
realised P/L and commission paid; CSV export of one's own history for an investor and of
everything for the desk." An investor must never see another investor's data.
"""

from __future__ import annotations

import csv
import io
import re

from starlette.testclient import TestClient
from test_monitor_web import DEALER_PW, INV2_PW, INV_PW, SECRET, creds, login

from bridge.monitor.alertstore import AlertStore
from bridge.monitor.history import HistoryStore
from bridge.monitor.hub import MonitorHub
from bridge.monitor.state import FeedEvent
from bridge.monitor.web import Dashboard, DashboardConfig

T0 = 1_704_697_200_000


def run(hub: MonitorHub) -> None:
    """Two investors (2001, 2002) copy trader T; 2001's subscription ends with a loss."""
    n = 0

    def send(topic: str, **body) -> None:
        nonlocal n
        n += 1
        hub.apply(FeedEvent(topic, {"ts": T0 + n * 1000, "instance": "h-1", "fseq": n, **body}))

    send("snapshot", accounts=[], subscriptions=[], traders=[{"trader": "T", "account": 1001}])
    for sid, acc, inv in ((1, 2001, "inv-001"), (2, 2002, "inv-002")):
        send("record.subscription_started", subscription=sid, investor=inv, trader="T", account=acc, amount="1000",
             mode="proportional")
        send("record.copy_opened", subscription=sid, trader_ticket=55, ticket=900 + sid, volume="0.29",
             price="1.25388", symbol="GBPUSD", side="buy")
        send("record.copy_closed", subscription=sid, trader_ticket=55, ticket=900 + sid, volume="0.29",
             remaining="0", price="1.20000", profit=f"-{979 + sid}.43", reason="trader_client", symbol="GBPUSD",
             side="buy")
        send("subscription.update", subscription=sid, investor=inv, trader="T", account=acc, state="active",
             invested="1000", balance=f"{21 - sid}.57", equity=f"{21 - sid}.57", realised=f"-{979 + sid}.43",
             commission_paid="0", trades=1, open_copies=0)
    send("record.subscription_stopped", subscription=1, returned="20.57")
    # the daemon's next snapshot leaves the stopped subscription out (F4)
    send("snapshot", accounts=[], traders=[{"trader": "T", "account": 1001}], subscriptions=[
        {"subscription": 2, "investor": "inv-002", "trader": "T", "account": 2002, "state": "active",
         "invested": "1000", "realised": "-981.43", "commission_paid": "0", "trades": 1}])


def dash_on(db) -> Dashboard:
    hub = MonitorHub(alerts=AlertStore(db), history=HistoryStore(db))
    return Dashboard(hub, creds(), DashboardConfig(session_secret=SECRET), wall=lambda: T0)


def test_closed_subscription_keeps_trades_realised_and_commission(tmp_path):
    db = tmp_path / "desk.sqlite"
    dash = dash_on(db)
    run(dash.hub)
    assert 1 not in dash.hub.state.subscriptions  # gone from the live state ...
    [row] = dash.hub.history.subscriptions(account=2001)  # ... kept in the journal
    assert (row.state, row.realised, row.trades, row.returned) == ("stopped", "-980.43", 1, "20.57")
    assert row.stopped > row.started > 0
    dash.hub.history.close()
    again = dash_on(db)  # a dashboard restart: nothing replayed, the history is read back
    c = TestClient(again.app)
    assert login(c, "2001", INV_PW).status_code == 303
    page = c.get("/investors/2001").text
    assert 'id="realised-total">-980.43<' in page
    assert 'data-subscription="1"' in page and "GBPUSD" in page and "trader closed (by hand)" in page
    for other in ("inv-002", "981.43", 'data-subscription="2"'):
        assert other not in page, other


def test_csv_exports_own_history_only_and_everything_for_the_desk(tmp_path):
    dash = dash_on(tmp_path / "desk.sqlite")
    run(dash.hub)
    inv = TestClient(dash.app)
    assert login(inv, "2001", INV_PW).status_code == 303
    r = inv.get("/investors/2001/history.csv?what=trades")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(x["event"], x["symbol"], x["side"], x["profit"]) for x in rows] == [
        ("open", "GBPUSD", "buy", ""), ("close", "GBPUSD", "buy", "-980.43")]
    assert {x["investor"] for x in rows} == {"inv-001"} and rows[0]["server_time_utc"].endswith("Z")
    subs = list(csv.DictReader(io.StringIO(inv.get("/investors/2001/history.csv?what=subscriptions").text)))
    assert [(x["subscription"], x["state"], x["realised"]) for x in subs] == [("1", "stopped", "-980.43")]
    # never another investor's data
    assert inv.get("/investors/2002/history.csv?what=trades").status_code == 403
    assert inv.get("/history.csv?what=trades").status_code == 403
    inv2 = TestClient(dash.app)
    assert login(inv2, "2002", INV2_PW).status_code == 303
    assert "inv-001" not in inv2.get("/investors/2002/history.csv?what=subscriptions").text
    assert inv2.get("/investors/2001").status_code == 403
    desk = TestClient(dash.app)
    assert login(desk, "desk", DEALER_PW).status_code == 303
    all_rows = list(csv.DictReader(io.StringIO(desk.get("/history.csv?what=trades").text)))
    assert sorted({x["investor"] for x in all_rows}) == ["inv-001", "inv-002"] and len(all_rows) == 4
    assert desk.get("/history.csv?what=nope").status_code == 400
    assert re.search(r'href="/history.csv\?what=trades"', desk.get("/").text)
