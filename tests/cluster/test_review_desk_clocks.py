"""Adversarial review (issue 16 §2): no clock comparisons between hosts.

`merge_desk` (bridge/monitor/hub.py) picks, for a row present in two sources (a login that
moved shards: the old owner's last view lingers), "the source whose feed spoke last (the
newest `ts`), so the new owner wins" -- but `ts` is each *daemon's* clock (FeedHealth.last_ts,
"daemon clock"). With the old owner's host 60 s ahead, its stale row wins for a minute after
it fell silent, although the monitor itself received the new owner's feed last
(`last_rx`, the monitor's own clock)."""

from __future__ import annotations

from decimal import Decimal

from bridge.monitor.hub import merge_desk
from bridge.monitor.model import Account
from bridge.monitor.state import MonitorState

T = 1_700_000_000_000
SKEW = 60_000  # the old owner's host clock is a minute ahead


def test_a_row_in_two_sources_comes_from_the_feed_the_monitor_heard_last_not_the_fastest_clock() -> None:
    old, new = MonitorState(), MonitorState()
    old.accounts[1001] = Account(1001, "trader", "T1", balance=Decimal("100"))  # the old owner's last view
    old.health.last_ts, old.health.last_rx, old.health.connected = T + SKEW, T, False  # silent since T
    new.accounts[1001] = Account(1001, "trader", "T1", balance=Decimal("250"))  # the new owner, live
    new.health.last_ts, new.health.last_rx, new.health.connected = T + 5_000, T + 5_000, True
    desk = merge_desk({"s1": old, "s2": new})
    assert desk.source_of[("account", 1001)] == "s2"
    assert desk.accounts[1001].balance == Decimal("250")
