"""Keys of the console monitor (issue 13, review desk-and-ops user 2 #7: "There is no scrolling,
paging or key handling: `q` does nothing, Ctrl-C quits")."""

from __future__ import annotations

import io
import os
import pty
import re
import termios
import threading
from pathlib import Path

from rich.console import Console

from bridge.monitor.console import render, run_monitor
from bridge.monitor.console_keys import ACCOUNTS, EVENTS, HINT, KeyReader, Scroll, parse_keys
from bridge.monitor.feed import load_recording
from bridge.monitor.state import FeedEvent, MonitorState

FEED = Path(__file__).parent / "data" / "feed.jsonl"


def _many_accounts(n: int = 40, events: int = 30) -> MonitorState:
    s = MonitorState()
    s.apply(FeedEvent("monitor.connected", {"ts": 1000}))
    accounts = [{"login": 5000 + i, "role": "investor", "owner": f"inv-{i:03d}", "balance": "1000",
                 "equity": str(1000 - i), "margin": "100", "margin_level": str(1000 - 10 * i)} for i in range(n)]
    s.apply(FeedEvent("snapshot", {"ts": 2000, "accounts": accounts}))
    for i in range(events):
        s._line(3000 + i, "note", "info", f"event number {i}")
    return s


def _screen(state: MonitorState, scroll: Scroll | None, width: int = 80, height: int = 24) -> list[str]:
    console = Console(record=True, width=width, height=height, force_terminal=True)
    console.print(render(state, 4000, width=width, height=height, scroll=scroll))
    return console.export_text().rstrip("\n").splitlines()


def _logins(lines: list[str]) -> list[int]:
    return [int(m.group(1)) for ln in lines if (m := re.match(r"^[\s│]*(5\d{3}) ", ln))]


def test_parse_keys_reads_arrows_pages_and_letters():
    assert parse_keys(b"q") == ["quit"]
    assert parse_keys(b"\x1b[A\x1b[B\x1bOA\x1bOB") == ["up", "down", "up", "down"]
    assert parse_keys(b"\x1b[5~\x1b[6~jk\t") == ["pgup", "pgdn", "down", "up", "tab"]
    assert parse_keys(b"\x1b[1;5Cxq") == ["quit"]  # an unknown escape (ctrl-right) is skipped whole


def test_scroll_moves_the_focused_pane_and_q_quits():
    s = Scroll(page=5)
    s = s.press("down").press("down").press("pgdn")
    assert (s.focus, s.accounts, s.events) == (ACCOUNTS, 7, 0)
    s = s.press("tab").press("down").press("up").press("up")
    assert (s.focus, s.accounts, s.events) == (EVENTS, 7, 0)  # never above the top
    assert s.press("quit").quit and not s.quit
    assert s.clamp(ACCOUNTS, 10, 5) == 5 and Scroll(accounts=3).clamp(ACCOUNTS, 2, 5) == 0


def test_80x24_with_keys_fits_shows_the_hint_and_scrolls_both_panes():
    state = _many_accounts()
    top = _screen(state, Scroll())
    assert len(top) <= 24 and top[-1].strip() == HINT
    first = _logins(top)
    assert first[0] == 5039 and len(first) >= 3  # lowest margin level first
    assert re.search(rf"rows 1-{len(first)} of 40", "\n".join(top))
    down = _screen(state, Scroll(accounts=5))
    assert len(down) <= 24 and _logins(down)[0] == first[5]
    bottom = _screen(state, Scroll(accounts=10**9))  # clamped: the last page is full
    assert _logins(bottom)[-1] == 5000 and len(_logins(bottom)) == len(first)
    evt = "\n".join(_screen(state, Scroll(focus=EVENTS, events=4)))
    assert "> Latest events" in evt and "event number 25" in evt and "event number 29" not in evt
    assert "rows 5-" in evt


def test_wide_screen_scrolls_too_and_no_hint_without_keys():
    state = _many_accounts()
    lines = _screen(state, Scroll(accounts=20), width=160, height=40)
    assert len(lines) <= 40 and lines[-1].strip() == HINT
    assert min(_logins(lines)) < 5020 and 5039 not in _logins(lines)
    plain = "\n".join(_screen(MonitorState().apply_all(load_recording(FEED)), None))
    assert HINT not in plain


def test_key_reader_is_off_when_stdin_is_not_a_terminal():
    assert KeyReader(lambda k: None, io.StringIO("q")).start() is False
    with open(os.devnull) as devnull:
        assert KeyReader(lambda k: None, devnull).start() is False
    out = io.StringIO()
    with open(os.devnull) as devnull:  # no keys: runs until its bound, draws no hint
        rc = run_monitor("tcp://127.0.0.1:9", duration=0.3, console=Console(file=out, width=80, height=24),
                         stdin=devnull)
    assert rc == 0 and HINT not in out.getvalue()


class _Tty:
    def __init__(self, fd: int) -> None:
        self.fd = fd

    def fileno(self) -> int:
        return self.fd


def test_q_on_a_terminal_quits_cleanly_and_restores_it():
    master, slave = pty.openpty()
    try:
        before = termios.tcgetattr(slave)
        out = io.StringIO()
        result: list[int] = []
        t = threading.Thread(target=lambda: result.append(run_monitor(
            "tcp://127.0.0.1:9", console=Console(file=out, width=80, height=24, force_terminal=True),
            stdin=_Tty(slave))), daemon=True)
        t.start()
        os.write(master, b"jjq")  # read once the reader has the terminal in cbreak mode
        t.join(60)
        assert not t.is_alive() and result == [0]
        assert termios.tcgetattr(slave) == before  # cbreak undone
        assert HINT in out.getvalue()
    finally:
        os.close(master)
        os.close(slave)
