"""The pure reducer: MonitorState.apply(FeedEvent), no sockets."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from bridge.monitor.feed import decode_frames, encode_frames, load_recording
from bridge.monitor.state import FeedEvent, MonitorState, margin_level, percentile
from bridge.monitor.views import DEALER, INVESTOR, Principal, desk_view, investor_stats

FEED = Path(__file__).parent / "data" / "feed.jsonl"
T0 = 1704697200000


def ev(topic: str, ts: int = 0, **body) -> FeedEvent:
    return FeedEvent(topic, {"ts": T0 + ts, **body})


def recorded() -> MonitorState:
    return MonitorState().apply_all(load_recording(FEED))


def test_recorded_feed_folds_into_the_expected_state():
    s = recorded()
    assert s.health.synced and s.health.gaps == 0 and s.health.instance == "d-20240108-1"
    assert [a.login for a in s.accounts_by_risk()] == [2003, 2002, 1002, 2001, 1001, 2004]
    st = {a.login: a.status for a in s.accounts.values()}
    assert st == {2003: "stop_out", 2002: "margin_call", 1002: "ok", 2001: "ok", 1001: "ok", 2004: "ok"}
    assert s.accounts[2002].margin_level == Decimal("38.89")
    assert s.accounts[2004].margin_level is None
    assert [(e.symbol, e.net) for e in s.exposure_rows()] == [("GBPUSD", Decimal("-2.00")), ("EURUSD", Decimal("1.30"))]
    assert s.latency_percentiles() == (Decimal(58), Decimal(120))
    assert s.terminals_online() == 5
    assert s.counts == {"copies_opened": 2, "copies_refused": 1, "margin_calls": 1, "protection_triggers": 1,
                        "engine_stop_outs": 1, "stop_outs": 1, "copies_closed": 2, "fanouts": 1}
    assert s.subscriptions[2].realised == Decimal("-75.50") and s.subscriptions[2].trades == 6
    assert s.traders["trader-2"].return_pct == Decimal("-36.10")
    assert [p[1] for p in s.equity_curves["trader-2"]][-1] == Decimal("1250.00")
    assert s.health.journal_lag_ms == Decimal(4)


def test_margin_level_and_thresholds_are_inclusive():
    assert margin_level(Decimal(40), Decimal(100)) == Decimal("40.00")
    assert margin_level(Decimal(40), Decimal(0)) is None
    s = MonitorState()
    s.apply(ev("terminal.online", login=7, account_type="mt4_standard", role="trader", platform="MT4"))
    for equity, status in (("40.01", "ok"), ("40", "margin_call"), ("20.01", "margin_call"), ("20", "stop_out")):
        s.apply(ev("account.update", login=7, balance="100", equity=equity, margin="100", free_margin="0"))
        assert s.accounts[7].status == status, equity


def test_thresholds_come_from_the_feed_when_given():
    s = MonitorState().apply(ev("account.update", login=9, balance="1000", equity="900", margin="1000",
                                margin_call_level="100", stop_out_level="50"))
    assert s.accounts[9].status == "margin_call" and s.accounts[9].margin_level == Decimal("90.00")


def test_percentiles_nearest_rank():
    vals = [Decimal(i) for i in range(1, 101)]
    assert percentile(vals, 50) == 50 and percentile(vals, 99) == 99
    assert percentile([Decimal(7)], 99) == 7 and percentile([], 50) is None


def test_events_before_a_snapshot_leave_the_state_unsynced_and_a_gap_unsyncs():
    s = MonitorState()
    s.apply(ev("account.update", 0, instance="a", fseq=10, login=1, balance="1", equity="1", margin="0"))
    assert not s.health.synced and s.accounts[1].equity == 1
    s.apply(ev("snapshot", 1, instance="a", fseq=11, accounts=[{"login": 2, "balance": "5", "equity": "5", "margin": "0"}]))
    assert s.health.synced and list(s.accounts) == [2]  # the snapshot replaces the live tables
    s.apply(ev("account.update", 2, instance="a", fseq=12, login=2, balance="5", equity="4", margin="1"))
    assert s.health.synced
    s.apply(ev("account.update", 3, instance="a", fseq=15, login=2, balance="5", equity="3", margin="1"))
    assert not s.health.synced and s.health.gaps == 1
    assert s.accounts[2].equity == 3  # still applied: the best we know until the snapshot
    s.apply(ev("account.update", 4, instance="a", fseq=14, login=2, balance="5", equity="99", margin="1"))
    assert s.accounts[2].equity == 3  # a stale duplicate is ignored
    s.apply(ev("snapshot", 5, instance="a", fseq=16, accounts=[{"login": 2, "balance": "5", "equity": "3", "margin": "1"}]))
    assert s.health.synced


def test_daemon_restart_and_reconnect_require_a_fresh_snapshot():
    s = MonitorState()
    s.apply(ev("monitor.connected", address="tcp://x"))
    s.apply(ev("snapshot", 1, instance="a", fseq=1, accounts=[{"login": 1, "balance": "1", "equity": "1", "margin": "0"}],
               terminals=[{"login": 1, "online": True}]))
    assert s.health.synced and s.terminals_online() == 1
    s.apply(ev("daemon.stopped", 2, instance="a", fseq=2))
    assert not s.health.synced and s.terminals_online() == 0
    s.apply(ev("monitor.disconnected"))
    s.apply(ev("monitor.connected"))
    s.apply(ev("daemon.started", 3, instance="b", fseq=1))  # fseq restarts with the new instance: no gap
    assert s.health.gaps == 0 and not s.health.synced and s.health.instance == "b"
    s.apply(ev("snapshot", 4, instance="b", fseq=2, accounts=[], terminals=[{"login": 1, "online": True}]))
    assert s.health.synced and s.terminals_online() == 1 and s.accounts == {}
    assert any("disconnected" in e.text for e in s.events)


def test_bad_event_is_reported_not_raised():
    s = MonitorState().apply(ev("account.update", login=1, equity="not a number"))
    assert s.events[-1].kind == "bad_event"


def test_investor_view_is_filtered():
    s = recorded()
    me = Principal(INVESTOR, "2001", 2001, "inv-001")
    v = desk_view(s, me)
    assert [a.login for a in v.accounts] == [2001]
    assert [x.subscription for x in v.subscriptions] == [1]
    assert v.exposure == () and v.p50 is None and not v.desk
    assert v.events and all(e.login == 2001 or e.subscription == 1 for e in v.events)
    assert all("inv-002" not in e.text and "2003" not in e.text for e in v.events)
    dealer = desk_view(s, Principal(DEALER, "desk"))
    assert len(dealer.accounts) == 6 and len(dealer.subscriptions) == 4
    st = investor_stats(s, 2002)
    assert st.investor == "inv-002" and st.realised == Decimal("-75.50")


def test_frames_round_trip():
    e = FeedEvent("record.copy_opened", {"ts": 1, "volume": Decimal("0.10"), "subscription": 3})
    back = decode_frames(encode_frames(e))
    assert back == FeedEvent("record.copy_opened", {"ts": 1, "volume": "0.10", "subscription": 3})
    assert decode_frames([b"x"]) is None and decode_frames([b"x", b"\xc1"]) is None
    assert decode_frames([b"x", b"\x93\x01\x02\x03"]) is None  # not a map


def test_todays_daemon_frames_are_understood():
    """Records as the daemon publishes them now (wire.plain + wire.feed_frame, no latency yet)."""
    from bridge.copytrading.records import CopyOpened, CopyRefused, StopOutTriggered, SubscriptionStarted
    from bridge.daemon.wire import feed_frame, plain, record_topic

    s = MonitorState()
    recs = [SubscriptionStarted(5, 7, "inv-9", "trader-1", 3009, Decimal(500), "equal", None, Decimal(10)),
            CopyOpened(6, 7, 70001, 81001, Decimal("0.10"), Decimal("1.0952")),
            CopyRefused(7, 7, "trader-1", 70002, "no_money", "free margin 1.00 < required 9.00"),
            StopOutTriggered(8, 7, 3009, Decimal("18.5"), 2)]
    for r in recs:
        body = plain(r)
        body["ts"] = r.now
        e = decode_frames(feed_frame(record_topic(r), body))
        s.apply(e)
    for topic, body in (("terminal.online", {"login": 3009, "key": "k", "role": "investor", "platform": "MT4",
                                             "account_type": "mt4_standard", "resume": False, "positions": 0}),
                        ("account.update", {"login": 3009, "balance": "500", "equity": "90", "margin": "500",
                                            "free_margin": "-410"})):
        s.apply(decode_frames(feed_frame(topic, {**body, "ts": 9})))
    a = s.accounts[3009]
    assert (a.role, a.owner, a.status, a.margin_level, a.online) == ("investor", "inv-9", "stop_out", Decimal("18.00"), True)
    assert s.subscriptions[7].open_copies == 1
    assert s.counts["copies_refused"] == 1 and s.counts["engine_stop_outs"] == 1
    assert not any(e.kind == "bad_event" for e in s.events)
    assert desk_view(s, Principal(INVESTOR, "3009", 3009)).accounts[0].login == 3009


def test_an_accounts_events_outlive_the_desk_wide_ring():
    """Issue 13 §1: "the investor's own account page shows an empty Events list even mid-run"."""
    from bridge.monitor.state import MAX_EVENTS
    from bridge.monitor.views import INVESTOR, Principal, desk_view

    s = MonitorState()
    s.apply(FeedEvent("account.margin_call", {"ts": 1, "login": 2001, "margin_level": "30",
                                              "margin_call_level": "40"}))
    for i in range(MAX_EVENTS + 10):  # a fan-out to other accounts pushes it out of the desk-wide ring
        s.apply(FeedEvent("terminal.offline", {"ts": 2 + i, "login": 3000 + i}))
    assert all(e.login != 2001 for e in s.events)
    assert [e.kind for e in s.events_by_login[2001]] == ["margin_call"]
    v = desk_view(s, Principal(INVESTOR, "2001", 2001))
    assert [e.kind for e in v.events] == ["margin_call"]


def test_a_failed_handshake_names_the_right_fix_for_an_insecure_viewer():
    # review (desk-and-ops, user 2 #8): `--insecure` against a CURVE feed got the CURVE advice
    # ("check --server-key and that this monitor's key is allowed")
    curve = MonitorState()
    curve.apply(ev("monitor.auth_failed", address="tcp://x", secure=True))
    plain = MonitorState()
    plain.apply(ev("monitor.auth_failed", address="tcp://x", secure=False))
    assert "check --server-key" in curve.events[-1].text
    assert "drop --insecure" in plain.events[-1].text and "--server-key" in plain.events[-1].text
    assert not plain.health.connected


def test_event_lines_round_levels_and_money_like_every_other_view() -> None:
    """Issue 13 §1: "No unrounded decimal reaches the page": the event lines of margin calls
    and protection triggers go through the same rounding as the tables (bridge.monitor.fmt)."""
    s = MonitorState()
    s.apply(FeedEvent("account.margin_call", {"ts": 1, "login": 7, "margin_level": "87.123456",
                                               "margin_call_level": "100", "equity": "450.5", "margin": "517"}))
    s.apply(FeedEvent("record.protection_triggered", {"ts": 2, "subscription": 3, "equity": "799.994",
                                                       "threshold": "800", "protection_pct": "20"}))
    texts = [e.text for e in s.events]
    assert any("87.12% (call at 100.00%)" in t for t in texts), texts
    assert any("equity 799.99 <= threshold 800.00 (20.00%)" in t for t in texts), texts
    assert not any("87.123456" in t or "799.994" in t for t in texts)
