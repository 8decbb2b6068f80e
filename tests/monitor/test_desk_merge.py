"""The desk over several daemons' feeds (bridge/monitor/hub.py `merge_desk`), pure.

"the monitor and the dashboard aggregate the feeds of all daemons into one desk" (issue 16,
section 2)."""

from __future__ import annotations

from decimal import Decimal as D

from bridge.monitor.hub import DeskHub, merge_desk
from bridge.monitor.model import Account, Exposure, Subscription, Trader
from bridge.monitor.state import FeedEvent, MonitorState


def state(last_ts: int, accounts: dict[int, str], traders: tuple[str, ...], subs: dict[int, str],
          exposure: dict[str, tuple[str, str, int]], counts: dict[str, int]) -> MonitorState:
    s = MonitorState()
    # received by the monitor when sent (one clock here): `last_rx` orders the sources
    s.health.last_ts, s.health.last_rx, s.health.synced, s.health.connected = last_ts, last_ts, True, True
    s.accounts = {login: Account(login, role=role) for login, role in accounts.items()}
    s.traders = {t: Trader(t) for t in traders}
    s.subscriptions = {sid: Subscription(sid, "I", trader, 0) for sid, trader in subs.items()}
    s.exposure = {sym: Exposure(sym, D(b), D(se), n) for sym, (b, se, n) in exposure.items()}
    s.counts = dict(counts)
    return s


def test_rows_are_merged_with_their_source_sums_add_up_and_the_newest_feed_wins_a_shared_row() -> None:
    s1 = state(2_000, {1001: "trader", 3001: "investor"}, ("T1",), {1: "T1"}, {"EURUSD": ("1.0", "0.2", 3)},
               {"copies_opened": 4})
    s2 = state(5_000, {2001: "trader"}, ("T2",), {1: "T2"}, {"EURUSD": ("0.5", "0", 1), "GBPUSD": ("0", "1", 1)},
               {"copies_opened": 1})
    # a stale copy of account 3001 in s2 too, as after a shard moved: the monitor heard s2 last (rx 5000)
    s2.accounts[3001] = Account(3001, role="investor", balance=D("7"))
    desk = merge_desk({"s1": s1, "s2": s2}, {"s1": ("d1", "tcp://a:1"), "s2": ("d2", "tcp://b:1")})
    assert set(desk.accounts) == {1001, 2001, 3001} and desk.accounts[3001].balance == D("7")
    assert desk.source_of[("account", 3001)] == "s2" and desk.source_of[("account", 1001)] == "s1"
    assert set(desk.subscriptions) == {("s1", 1), ("s2", 1)}
    assert desk.exposure["EURUSD"] == Exposure("EURUSD", D("1.5"), D("0.2"), 4)
    assert desk.counts == {"copies_opened": 5}
    assert desk.sources["s2"].node == "d2" and desk.synced


def test_the_desk_hub_keeps_one_state_per_source() -> None:
    hub = DeskHub(clock=lambda: 0)
    hub.apply("s1", FeedEvent("monitor.connected", {"ts": 1, "address": "tcp://a:1"}))
    hub.apply("s2", FeedEvent("monitor.connected", {"ts": 2, "address": "tcp://b:1"}))
    desk = hub.desk()
    assert set(desk.sources) == {"s1", "s2"} and not desk.synced  # no snapshot yet from either
    assert all(s.connected for s in desk.sources.values())
