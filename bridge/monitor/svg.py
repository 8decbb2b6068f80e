"""Inline SVG line charts (no script, no network): margin level and equity curves.

Styling is by class (the dashboard's stylesheet), so the page runs under a strict CSP.

Readable at any range: when the values span more than `LOG_RATIO` (margin levels of 30 % and
89 000 % on one chart) and are all positive, the y axis is logarithmic (labelled "log scale"),
so the 0-200 % band that matters keeps its height. The x axis is the daemon's server time
(UTC), labelled. Threshold labels never overlap: the second one moves to the other end.
The last value is printed in the title line, outside the plot.

"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from decimal import Decimal
from html import escape

from bridge.monitor.fmt import money

LOG_RATIO = 20.0
FONT_PX = 10  # svg text (the stylesheet); its widths are estimated, generously, to lay labels out
TITLE_BASE = 12  # baseline of the title line


def text_width(text: str, px: float = FONT_PX) -> float:
    """A generous estimate of a label's width in user units (0.62 em a character: digits are
    ~0.56 em in system-ui, bold a little wider), so a laid-out label never runs off the chart."""
    return len(text) * px * 0.62


def _tick_text(v: float, unit: str) -> str:
    if abs(v) >= 1_000_000:  # one format per axis up to here: 9,800 next to 10,000, never "10k"
        return f"{v / 1_000_000:,.1f}M{unit}"
    return f"{v:,.0f}{unit}" if abs(v) >= 10 else f"{v:,.1f}{unit}"


def _time_text(ms: int, span_ms: int) -> str:
    t = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return t.strftime("%m-%d %H:%M") if span_ms >= 86_400_000 else t.strftime("%H:%M:%S" if span_ms < 300_000
                                                                                 else "%H:%M")


def _nice_ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    span = hi - lo
    if span <= 0:
        return [lo]
    raw = span / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step) + 1)]


def drawdown(curve: Sequence[tuple[int, Decimal]]) -> list[tuple[int, Decimal]]:
    """(ts, equity) -> (ts, % below the running peak, <= 0): 1000, 1200, 900 -> 0, 0, -25."""
    out, peak = [], None
    for t, eq in curve:
        peak = eq if peak is None or eq > peak else peak
        out.append((t, (eq - peak) / peak * 100 if peak and peak > 0 else Decimal(0)))
    return out


def line_chart(points: Sequence[tuple[int, Decimal | None]], *, title: str, width: int = 360, height: int = 140,
               thresholds: Sequence[tuple[Decimal, str, str]] = (), unit: str = "", css: str = "chart") -> str:
    """points: (ts ms, value) in time order (None values are skipped); thresholds: (value, class, label)."""
    pts = [(t, float(v)) for t, v in points if v is not None]
    pad_r, pad_b = 8, 28
    last = f"last {money(next(v for _, v in reversed(points) if v is not None))}{unit}" if pts else ""
    if pts and points[-1][1] is None:  # the latest figure says "no margin in use": never show a stale level
        last = "now: none"
    # the title line; "last" goes to a second line when both do not fit side by side (a 230 px card)
    two_lines = bool(last) and text_width(title) + text_width(last) + 12 > width
    head_bottom = TITLE_BASE + 3 + (12 if two_lines else 0)  # below the descenders of the head lines
    pad_t = head_bottom + 7  # a tick label at the plot's top edge rises ~7 above its line
    head = (f'<svg class="{css}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
            f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
            f'<text class="chart-title" x="4" y="{TITLE_BASE}">{escape(title)}</text>'
            + (f'<text class="last" x="{width - 4}" y="{TITLE_BASE + (12 if two_lines else 0)}" text-anchor="end">'
               f"{escape(last)}</text>" if last else ""))
    if not pts:
        h = height - pad_t - pad_b
        return head + f'<text class="chart-empty" x="50" y="{pad_t + h / 2:.0f}">no data yet</text></svg>'
    values = [v for _, v in pts] + [float(v) for v, _, _ in thresholds]
    lo, hi = min(values), max(values)
    log = lo > 0 and hi / lo > LOG_RATIO
    if log:
        f_lo, f_hi = math.log10(lo) - 0.05, math.log10(hi) + 0.05
        ticks = [10.0 ** e for e in range(math.ceil(f_lo), math.floor(f_hi) + 1)]

        def scale(v: float) -> float:
            return math.log10(max(v, 1e-9))
    else:
        if hi - lo < 1e-9:
            lo, hi = lo - 1, hi + 1
        span = hi - lo
        f_lo, f_hi = lo - span * 0.08, hi + span * 0.08
        ticks = _nice_ticks(f_lo, f_hi)

        def scale(v: float) -> float:
            return v
    # the left margin fits the widest tick label (100,000% would lose its first digit in a fixed 50)
    pad_l = max(30, math.ceil(max(text_width(_tick_text(v, unit)) for v in ticks)) + 6)
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    t0, t1 = pts[0][0], pts[-1][0]
    dt_ms = max(1, t1 - t0)

    def x(t: int) -> float:
        return pad_l + (w * (t - t0) / dt_ms if len(pts) > 1 else w)

    def y(v: float) -> float:
        return pad_t + h - h * (scale(v) - f_lo) / (f_hi - f_lo)

    parts = [head, f'<rect class="chart-frame" x="{pad_l}" y="{pad_t}" width="{w}" height="{h}"/>']
    for val in ticks:
        yy = y(val)
        parts.append(f'<line class="grid-line" x1="{pad_l}" x2="{pad_l + w}" y1="{yy:.1f}" y2="{yy:.1f}"/>'
                     f'<text class="axis" x="{pad_l - 3}" y="{yy + 3:.1f}" text-anchor="end">'
                     f"{escape(_tick_text(val, unit))}</text>")
    placed: list[float] = []
    for i, (val, cls, label) in enumerate(thresholds):
        yy = y(float(val))
        near = any(abs(yy - p) < 12 for p in placed)
        anchor, lx = ("start", pad_l + 3) if near or i % 2 else ("end", pad_l + w - 3)
        # above its line (below it when that would reach the head); close lines: opposite ends
        ly = yy - 3 if yy - 3 - FONT_PX >= head_bottom else yy + FONT_PX
        placed.append(yy)
        parts.append(f'<line class="threshold {escape(cls)}" x1="{pad_l}" x2="{pad_l + w}" y1="{yy:.1f}" '
                     f'y2="{yy:.1f}"/><text class="threshold-label {escape(cls)}" x="{lx}" '
                     f'y="{ly:.1f}" text-anchor="{anchor}">{escape(label)}</text>')
    coords = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in pts)
    if len(pts) == 1:
        coords = f"{pad_l:.1f},{y(pts[0][1]):.1f} {coords}"
    parts.append(f'<polyline class="series" points="{coords}"/>')
    base = pad_t + h
    for frac, anchor in ((0.0, "start"), (0.5, "middle"), (1.0, "end")):
        if len(pts) == 1 and frac < 1:
            continue
        tt = int(t0 + dt_ms * frac)
        parts.append(f'<text class="axis time" x="{pad_l + w * frac:.1f}" y="{base + 11}" text-anchor="{anchor}">'
                     f"{_time_text(tt, dt_ms)}</text>")
    parts.append(f'<text class="axis-title" x="{pad_l + w / 2:.1f}" y="{height - 3}" text-anchor="middle">'
                 f'server time (UTC){" · log scale" if log else ""}</text>')
    parts.append("</svg>")
    return "".join(parts)
