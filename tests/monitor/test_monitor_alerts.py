"""Alerts that stay (issue 13 §1): raised from the feed, journaled in SQLite, acknowledged by a
named dealer, filterable, still there after the dashboard restarts.

Issue 13: "Alerts are journaled (they survive a restart), listed apart from the event stream,
acknowledged by a named dealer, filterable, with a visual and optional sound cue."
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from bridge.monitor.alerts import AlertConfig, AlertRules
from bridge.monitor.alertstore import AlertStore
from bridge.monitor.feed import load_recording
from bridge.monitor.hub import MonitorHub
from bridge.monitor.state import FeedEvent, MonitorState
from bridge.monitor.web import Dashboard, DashboardConfig

from test_monitor_web import DEALER_PW, INV_PW, SECRET, creds, login

FEED = Path(__file__).parent / "data" / "feed.jsonl"
T0 = 1_704_697_200_000


def ev(topic: str, fseq: int, ts: int, **body) -> FeedEvent:
    return FeedEvent(topic, {"ts": ts, "instance": "i-1", "fseq": fseq, **body})


def observe(rules: AlertRules, state: MonitorState, e: FeedEvent):
    state.apply(e)
    return rules.observe(e, state)


def test_recorded_feed_raises_margin_call_stop_outs_and_protection():
    state, rules, kinds = MonitorState(), AlertRules(), []
    for e in load_recording(FEED):
        kinds += [a.kind for a in observe(rules, state, e)]
    # 2004 is offline in the snapshot since 60 s before it (a late join still sees it)
    assert sorted(kinds) == ["margin_call", "protection", "stop_out", "stop_out", "terminal_offline"]


def test_margin_call_text_is_rounded_and_keyed_by_feed_position():
    state, rules = MonitorState(), AlertRules()
    [a] = observe(rules, state, ev("account.margin_call", 7, T0, login=2002, margin_level="38.4444444",
                                   margin_call_level="40"))
    assert a.key == "i-1:7" and a.login == 2002 and a.severity == "alert"
    assert "38.44%" in a.text and "38.444" not in a.text and "40.00%" in a.text


def test_terminal_offline_longer_than_threshold_on_feed_time():
    state, rules = MonitorState(), AlertRules(AlertConfig(offline_after_ms=60_000))
    assert observe(rules, state, ev("terminal.offline", 1, T0, login=2001, why="silent")) == []
    assert observe(rules, state, ev("daemon.stats", 2, T0 + 59_999)) == []
    [a] = observe(rules, state, ev("daemon.stats", 3, T0 + 60_000))
    assert a.kind == "terminal_offline" and a.login == 2001 and "60 s" in a.text and "silent" in a.text
    assert observe(rules, state, ev("daemon.stats", 4, T0 + 120_000)) == []  # once per offline spell
    # back online before the threshold: nothing
    observe(rules, state, ev("terminal.offline", 5, T0 + 130_000, login=2002))
    observe(rules, state, ev("terminal.online", 6, T0 + 150_000, login=2002))
    assert observe(rules, state, ev("daemon.stats", 7, T0 + 300_000)) == []


def test_refusals_above_a_rate_raise_once_and_re_arm():
    state, rules = MonitorState(), AlertRules(AlertConfig(refused_per_window=3, refused_window_ms=10_000))
    out = []
    for i in range(6):
        out += observe(rules, state, ev("record.copy_refused", i + 1, T0 + i * 100, subscription=1, code="x"))
    assert [a.kind for a in out] == ["refusals"] and "3 copies refused within 10 s" in out[0].text
    out = observe(rules, state, ev("record.copy_refused", 20, T0 + 60_000, subscription=1))  # window emptied: re-armed
    out += observe(rules, state, ev("record.copy_refused", 21, T0 + 60_001, subscription=1))
    out += observe(rules, state, ev("record.copy_refused", 22, T0 + 60_002, subscription=1))
    assert [a.kind for a in out] == ["refusals"]


def test_failed_commands_and_rate_limited_keys():
    state, rules = MonitorState(), AlertRules()
    a = observe(rules, state, ev("command.result", 1, T0, key="k1", login=2001, ok=False, retcode=10018,
                                 message="market closed"))
    b = observe(rules, state, ev("command.result", 2, T0 + 1, key="k2", login=2001, ok=False, retcode=10018))
    c = observe(rules, state, ev("command.result", 3, T0 + 2, key="k3", login=2001, ok=True, retcode=10009))
    d = observe(rules, state, ev("abuse", 4, T0 + 3, key="term-7", action="rate_limited", rate_per_s=200))
    assert [x.kind for x in a] == ["command_failed"] and "10018 market closed" in a[0].text
    assert b == [] and c == []  # one per login per window
    assert [x.kind for x in d] == ["rate_limited"] and "term-7" in d[0].text


def test_store_is_bounded_unique_and_acknowledged_by_name(tmp_path):
    db = tmp_path / "alerts.sqlite"
    store = AlertStore(db, keep=3)
    state, rules = MonitorState(), AlertRules()
    raised = []
    for i in range(5):
        raised += observe(rules, state, ev("account.margin_call", i + 1, T0 + i, login=2000 + i, margin_level="30",
                                           margin_call_level="40"))
    assert store.add(raised) == 5 and store.add(raised[2:]) == 0  # a kept feed item never twice
    kept = store.list()
    assert [a.login for a in kept] == [2004, 2003, 2002]  # newest 3
    done = store.ack(kept[0].id, "desk", 1_700_000_000_000)
    assert done is not None and done.acked_by == "desk" and done.acked_at == 1_700_000_000_000
    assert store.ack(kept[0].id, "other", 1) is None  # already acknowledged: the first name stays
    with pytest.raises(ValueError):
        store.ack(kept[1].id, "", 1)
    store.close()
    again = AlertStore(db, keep=3)  # a restart: the journal is read back
    assert [(a.login, a.acked_by) for a in again.list()] == [(2004, "desk"), (2003, ""), (2002, "")]
    assert [a.login for a in again.list(status="open")] == [2003, 2002]
    assert again.list(kind="stop_out") == []
    assert again.open_counts() == {"margin_call": 2}


def _dash(db: Path) -> tuple[Dashboard, MonitorHub]:
    hub = MonitorHub(alerts=AlertStore(db))
    for e in load_recording(FEED):
        hub.apply(e)
    return Dashboard(hub, creds(), DashboardConfig(session_secret=SECRET), wall=lambda: 1_704_700_000_000), hub


def test_dashboard_alert_acknowledged_by_dealer_survives_restart(tmp_path):
    db = tmp_path / "alerts.sqlite"
    dash, hub = _dash(db)
    c = TestClient(dash.app)
    assert login(c, "desk", DEALER_PW).status_code == 303
    page = c.get("/").text
    assert 'id="alerts-open"' in page and "5 open alerts" in page
    r = c.get("/alerts?kind=margin_call&status=open")
    ids = re.findall(r'<tr class="alert [^"]*" data-id="(\d+)" data-kind="margin_call"', r.text)
    assert len(ids) == 1 and 'data-kind="stop_out"' not in r.text
    token = re.search(r'name="csrf" value="([^"]+)"', r.text).group(1)
    assert c.post(f"/alerts/{ids[0]}/ack", data={"csrf": "bad"}, follow_redirects=False).status_code == 403
    r = c.post(f"/alerts/{ids[0]}/ack", data={"csrf": token, "next": "/alerts"}, follow_redirects=False)
    assert r.status_code == 303
    assert c.post(f"/alerts/{ids[0]}/ack", data={"csrf": token}).status_code == 409
    hub.alerts.close()
    dash2, _ = _dash(db)  # restart: the same feed again raises nothing new; the acknowledgement stays
    c2 = TestClient(dash2.app)
    assert login(c2, "desk", DEALER_PW).status_code == 303
    r = c2.get("/alerts?status=acked")
    assert "acknowledged by <b>desk</b>" in r.text and f'data-id="{ids[0]}"' in r.text
    assert "4 open alerts" in c2.get("/").text


def test_investors_never_see_the_alert_list(tmp_path):
    dash, _ = _dash(tmp_path / "a.sqlite")
    c = TestClient(dash.app)
    assert login(c, "2001", INV_PW).status_code == 303
    assert c.get("/alerts").status_code == 403
    assert 'id="alerts-open"' not in c.get("/").text
    token = re.search(r'name="csrf" value="([^"]+)"', c.get("/").text).group(1)
    assert c.post("/alerts/1/ack", data={"csrf": token}).status_code == 403


def test_alerts_stay_across_a_daemon_restart():
    """A new daemon instance resyncs the live tables; the alert list is the dashboard's and stays."""
    hub = MonitorHub()
    for e in load_recording(FEED):
        hub.apply(e)
    before = [(a.key, a.kind) for a in hub.alerts.list()]
    hub.apply(FeedEvent("daemon.started", {"ts": T0 + 90_000, "instance": "d-2", "fseq": 1}))
    hub.apply(FeedEvent("snapshot", {"ts": T0 + 90_001, "instance": "d-2", "fseq": 2, "accounts": []}))
    assert hub.state.health.synced and hub.state.health.instance == "d-2"
    assert [(a.key, a.kind) for a in hub.alerts.list()] == before and len(before) == 5


def test_stop_out_text_counts_positions_in_words():
    state, rules = MonitorState(), AlertRules()
    [one] = observe(rules, state, ev("account.stop_out", 8, T0, login=2002, margin_level="19.5", stop_out_level="20",
                                     closes=1))
    [two] = observe(rules, state, ev("account.stop_out", 9, T0, login=2002, margin_level="19.5", stop_out_level="20",
                                     closes=2))
    assert one.text.endswith("19.50% (stop-out at 20.00%), 1 position closed")
    assert two.text.endswith(", 2 positions closed")
