"""Readable charts (issue 13 §1): "margin-level charts with a time axis in server time
(labelled), a scale that stays readable when levels reach 16 000-89 000 %, labels that don't
overlap; equity curve and drawdown on trader pages"."""

from __future__ import annotations

import re
from decimal import Decimal as D

from bridge.monitor.svg import drawdown, line_chart

T0 = 1_704_697_200_000
TH = ((D(40), "mc", "margin call 40%"), (D(20), "so", "stop-out 20%"))


def _ys(svg: str, cls: str) -> list[float]:
    return [float(m) for m in re.findall(rf'<line class="threshold {cls}"[^>]*y1="([\d.]+)"', svg)]


def test_levels_up_to_89000_percent_use_a_labelled_log_scale():
    pts = [(T0, D("16170")), (T0 + 60_000, D("89471")), (T0 + 120_000, D("150")), (T0 + 180_000, D("35"))]
    svg = line_chart(pts, title="t", unit="%", thresholds=TH)
    assert "log scale" in svg and "server time (UTC)" in svg
    assert ">10,000%<" in svg and ">100%<" in svg  # decade ticks
    mc, so = _ys(svg, "mc")[0], _ys(svg, "so")[0]
    assert so - mc > 6  # 40 % and 20 % stay apart (a linear axis to 89 000 % put them 1 px apart)
    labels = re.findall(r'<text class="threshold-label (mc|so)" x="([\d.]+)"[^>]*text-anchor="(\w+)"', svg)
    assert {a for _, _, a in labels} == {"start", "end"}  # at opposite ends: never on top of each other
    assert ">last 35.00%<" in svg


def test_narrow_range_stays_linear_with_a_time_axis():
    svg = line_chart([(T0, D("120")), (T0 + 3_600_000, D("95"))], title="t", unit="%", thresholds=TH)
    assert "log scale" not in svg and ">07:00<" in svg and ">08:00<" in svg


def test_no_margin_now_is_never_shown_as_a_stale_level():
    svg = line_chart([(T0, D("32.13")), (T0 + 1000, None)], title="t", unit="%")
    assert "now: none" in svg and "last 32.13" not in svg


def test_drawdown_from_the_running_peak():
    assert [v for _, v in drawdown([(1, D(1000)), (2, D(1200)), (3, D(900)), (4, D(1300))])] == [0, 0, -25, 0]


def _labels(svg: str) -> list[tuple[float, float, str, str]]:
    """(x, y, anchor, text) of the y-axis tick labels."""
    return [(float(x), float(y), a, t) for x, y, a, t in
            re.findall(r'<text class="axis" x="([\d.-]+)" y="([\d.-]+)" text-anchor="(\w+)">([^<]*)</text>', svg)]


def test_top_tick_label_is_whole_and_below_the_title_in_a_230px_card():
    """Review of the desk cards: the top y-tick label (`100,000%`) sat under the chart title with
    its first digit clipped. Every tick label starts at x >= 0 and its box stays below the head
    (title, and `last ...` when it needs its own line)."""
    from bridge.monitor.svg import FONT_PX, TITLE_BASE, text_width

    pts = [(T0, D("35")), (T0 + 60_000, D("2500")), (T0 + 120_000, D("100000"))]
    for width in (230, 300, 360):
        svg = line_chart(pts, title="12716509 inv-009 margin level", unit="%", width=width, thresholds=TH)
        labels = _labels(svg)
        assert any(t == "100,000%" for *_, t in labels), labels
        last_y = float(re.search(r'<text class="last" x="[\d.]+" y="(\d+)"', svg).group(1))
        head_bottom = max(TITLE_BASE, last_y) + 3  # descenders
        for x, y, anchor, text in labels:
            assert anchor == "end"
            assert x - text_width(text) >= 0, (width, text, x)  # the first digit is inside the chart
            assert y - 0.8 * FONT_PX >= head_bottom, (width, text, y)  # the label's top under the head
        plot_x = float(re.search(r'<rect class="chart-frame" x="([\d.]+)"', svg).group(1))
        assert all(x < plot_x for x, *_ in labels)  # left of the plot, never over the line
    narrow = line_chart(pts, title="12716509 inv-009 margin level", unit="%", width=230, thresholds=TH)
    assert 'class="last" x="226" y="24"' in narrow  # no room beside the title: its own line
    assert 'class="last" x="356" y="12"' in line_chart(pts, title="2003 margin", unit="%", width=360)
