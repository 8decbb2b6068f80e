"""Review leftovers of issue 13: one source for the refusal words (dealer.REFUSAL_WORDS duplicated
labels.REFUSAL_LABEL); one rounding rule, fmt's half-up (the console and the demo report rounded
half-even); the exposure panel's floating P/L computed once per feed version, not per redraw."""

from __future__ import annotations

import io
import re
from decimal import Decimal

from rich.console import Console

import bridge.monitor.book as book
from bridge.monitor import dealer, fmt, labels
from bridge.monitor.console import render
from bridge.monitor.render import sections
from bridge.monitor.state import FeedEvent, MonitorState
from bridge.monitor.svg import line_chart
from bridge.monitor.views import DEALER, Principal
from mtbridge_demo.report import _money


def test_dealer_refusals_and_copy_refusals_share_one_table():
    assert not hasattr(dealer, "REFUSAL_WORDS")
    req = dealer.parse({"action": "close_copy", "subscription": "3", "trader_ticket": "555"})
    assert isinstance(req, dealer.Request)
    out = dealer.outcome(req, {"ok": True, "refused": {"code": "unknown_copy"}})
    assert out.text.endswith(f"refused, {labels.REFUSAL_LABEL['unknown_copy']} (unknown_copy)")
    assert labels.refusal_label("below_min_volume") == "copy below the minimum volume"
    assert labels.refusal_label("brand_new_code") == "brand new code"


def _state() -> MonitorState:
    s = MonitorState()
    s.apply(FeedEvent("monitor.connected", {"ts": 1000}))
    # 1.005 and 12.345 sit exactly on a half cent: half-up gives 1.01 / 12.35, half-even 1.00 / 12.34
    s.apply(FeedEvent("snapshot", {"ts": 2000, "accounts": [
        {"login": 7001, "role": "investor", "owner": "inv-1", "balance": "1.005", "equity": "1.005",
         "margin": "100", "margin_level": "12.345"}]}))
    return s


def test_console_svg_and_report_round_half_up_like_fmt():
    assert fmt.money(Decimal("1.005")) == "1.01" and fmt.pct(Decimal("12.345")) == "12.35%"
    for width in (80, 200):
        c = Console(record=True, width=width, file=io.StringIO())
        c.print(render(_state(), 2000, width=width, height=30))
        row = next(ln for ln in c.export_text().splitlines() if "7001" in ln)
        assert "1.01" in row and "12.35%" in row and "1.00 " not in row, row
    assert "last 1.01%" in line_chart([(0, Decimal("1.005"))], title="t", unit="%")
    assert _money("0.125") == "0.13" and _money("153.0200") == "153.02" and _money("22366.965") == "22,366.97"


def test_exposure_panel_is_computed_once_per_feed_version(monkeypatch):
    s = _state()
    s.apply(FeedEvent("positions", {"ts": 3000, "login": 7001, "positions": [
        {"ticket": 1, "symbol": "EURUSD", "side": "buy", "volume": "0.10", "price": "1.10000"}]}))
    s.apply(FeedEvent("prices", {"ts": 3000, "symbols": [{"symbol": "EURUSD", "bid": "1.10100", "ask": "1.10110"}]}))
    calls = []
    real = book.money_exposure
    monkeypatch.setattr(book, "money_exposure", lambda *a, **k: calls.append(1) or real(*a, **k))
    desk = Principal(DEALER, "desk")
    first = sections(s, desk, 3000)["exposure"]
    for _ in range(5):  # five readers (SSE clients, redraws) of one feed version
        assert sections(s, desk, 3000)["exposure"] == first
    n = len(calls)
    assert n >= 1 and re.search(r"\+10\.00", first)  # (1.10100 - 1.10000) x 0.1 x 100 000
    s.apply(FeedEvent("prices", {"ts": 4000, "symbols": [{"symbol": "EURUSD", "bid": "1.10200", "ask": "1.10210"}]}))
    again = sections(s, desk, 4000)["exposure"]
    assert len(calls) == 2 * n and "+20.00" in again  # a new version: computed afresh
