"""The console view rendered from a recorded feed (rich Console(record=True))."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rich.console import Console

from bridge.monitor.console import render
from bridge.monitor.feed import load_recording
from bridge.monitor.state import FeedEvent, MonitorState

FEED = Path(__file__).parent / "data" / "feed.jsonl"


def _render(state: MonitorState, now: int, *, styles: bool = False) -> str:
    console = Console(record=True, width=160, color_system="truecolor", force_terminal=True)
    console.print(render(state, now))
    return console.export_text(styles=styles)


def test_accounts_sorted_by_margin_level_with_markers():
    s = MonitorState().apply_all(load_recording(FEED))
    text = _render(s, s.health.last_ts)
    rows = [ln for ln in text.splitlines() if re.match(r"^\W*\d{4} ", ln)]
    assert [int(re.search(r"\d{4}", r).group()) for r in rows] == [2003, 2002, 1002, 2001, 1001, 2004]
    row = {int(re.search(r"\d{4}", r).group()): r for r in rows}
    assert "XX STOP-OUT" in row[2003] and "15.00%" in row[2003]
    assert "!! MARGIN CALL" in row[2002] and "38.89%" in row[2002]
    for ok in (1002, 2001, 1001, 2004):
        assert "MARGIN CALL" not in row[ok] and "STOP-OUT" not in row[ok]
    assert "[LIVE]" in text and "p50 58 ms" in text and "p99 120 ms" in text
    assert "terminals online 5/6" in text
    assert text.index("GBPUSD") < text.index("EURUSD")  # exposure by |net|
    assert "MARGIN CALL: account 2002" in text and "copy refused: sub 4" in text


def test_colours_at_the_thresholds():
    s = MonitorState().apply_all(load_recording(FEED))
    styled = _render(s, s.health.last_ts, styles=True)
    lines = {int(m.group(1)): ln for ln in styled.splitlines() if (m := re.search(r"│\s+(\d{4}) ", re.sub(r"\x1b\[[0-9;]*m", "", ln)))}
    red_bg = "\x1b[1;97;41m"  # bold bright white on red: stop-out
    yellow = "\x1b[1;33m"  # bold yellow: margin call
    green = "\x1b[32m"
    assert red_bg in lines[2003] or "41m" in lines[2003]
    assert yellow in lines[2002] and "41m" not in lines[2002]
    assert green in lines[1001] and yellow not in lines[1001]


def test_feed_states_shown():
    s = MonitorState()
    assert "[CONNECTING]" in _render(s, 0)
    s.apply(FeedEvent("monitor.connected", {"ts": 1000}))
    assert "[SYNCING]" in _render(s, 1000)
    s.apply(FeedEvent("snapshot", {"ts": 2000, "accounts": []}))
    assert "[LIVE]" in _render(s, 2000)
    assert "[STALE]" in _render(s, 2000 + 60_000)


def test_fits_80x24_with_whole_logins():
    """Issue 13 §1: "Console monitor: usable at 80x24 (logins are cut today)"."""
    s = MonitorState().apply_all(load_recording(FEED))
    console = Console(record=True, width=80, height=24, force_terminal=True)
    console.print(render(s, s.health.last_ts, width=80, height=24))
    lines = console.export_text().rstrip("\n").splitlines()
    text = "\n".join(lines)
    assert len(lines) <= 24, len(lines)
    for login in ("2003", "2002", "1002", "2001"):
        assert re.search(rf"\b{login}\b", text), login
    assert "XX SO" in text and "!! MC" in text and "[LIVE]" in text
    assert "GBPUSD" in text and "Latest events" in text
    assert "since this viewer started" in text


def test_offline_when_the_daemon_stops_and_tallies_of_a_late_join():
    """Issue 13 §1: "shows OFFLINE when the daemon stops (it stays [SYNCING]), shows tallies when started late"."""
    s = MonitorState()
    s.apply(FeedEvent("monitor.connected", {"ts": 1000}))
    s.apply(FeedEvent("snapshot", {"ts": 2000, "accounts": [], "tallies": {"copies_opened": 1905,
                                                                         "margin_calls": 13, "since": 1000}}))
    text = _render(s, 2000)
    assert "[LIVE]" in text and "copies opened 1905" in text and "margin calls 13" in text
    assert "since daemon start 00:00:01" in text
    s.apply(FeedEvent("daemon.stopped", {"ts": 3000}))
    assert "[OFFLINE]" in _render(s, 3000)
    # a daemon that dies without a word: silent before any snapshot is OFFLINE, after one STALE
    s2 = MonitorState()
    s2.apply(FeedEvent("monitor.connected", {"ts": 1000}))
    s2.received(1000)
    assert "[SYNCING]" in _render(s2, 1500)
    assert "[OFFLINE]" in _render(s2, 1000 + 60_000)


@pytest.mark.parametrize("width, height", [(80, 24), (200, 60)])
def test_both_clocks_are_labelled(width, height):
    # review (desk-and-ops, user 2 #10): "Two clocks, neither labelled": the header is the wall
    # clock, event rows are server time
    s = MonitorState().apply_all(load_recording(FEED))
    console = Console(record=True, width=width, height=height, force_terminal=True)
    console.print(render(s, s.health.last_ts, width=width, height=height))
    text = console.export_text()
    assert re.search(r"wall (clock )?\d\d:\d\d:\d\d UTC", text)
    assert "server time" in text
