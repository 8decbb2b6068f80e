"""Inline SVG line charts (no script, no network): margin level and equity curves.

Styling is by class (the dashboard's stylesheet), so the page runs under a strict CSP.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from html import escape


def line_chart(points: Sequence[tuple[int, Decimal | None]], *, title: str, width: int = 360, height: int = 120,
               thresholds: Sequence[tuple[Decimal, str, str]] = (), unit: str = "", css: str = "chart") -> str:
    """points: (ts ms, value) in time order (None values are skipped); thresholds: (value, class, label)."""
    pts = [(t, float(v)) for t, v in points if v is not None]
    pad_l, pad_r, pad_t, pad_b = 46, 8, 16, 14
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    head = (f'<svg class="{css}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
            f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
            f'<text class="chart-title" x="{pad_l}" y="11">{escape(title)}</text>')
    if not pts:
        return head + f'<text class="chart-empty" x="{pad_l}" y="{pad_t + h / 2:.0f}">no data yet</text></svg>'
    values = [v for _, v in pts] + [float(v) for v, _, _ in thresholds]
    lo, hi = min(values), max(values)
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    span = hi - lo
    lo, hi = lo - span * 0.05, hi + span * 0.05
    t0, t1 = pts[0][0], pts[-1][0]
    dt = max(1, t1 - t0)

    def x(t: int) -> float:
        return pad_l + (w * (t - t0) / dt if len(pts) > 1 else w)

    def y(v: float) -> float:
        return pad_t + h - h * (v - lo) / (hi - lo)

    parts = [head, f'<rect class="chart-frame" x="{pad_l}" y="{pad_t}" width="{w}" height="{h}"/>']
    for val, cls, label in thresholds:
        yy = y(float(val))
        parts.append(f'<line class="threshold {escape(cls)}" x1="{pad_l}" x2="{pad_l + w}" y1="{yy:.1f}" '
                     f'y2="{yy:.1f}"/><text class="threshold-label {escape(cls)}" x="{pad_l + w - 2}" '
                     f'y="{yy - 2:.1f}" text-anchor="end">{escape(label)}</text>')
    for val in (lo + (hi - lo) * 0.05, hi - (hi - lo) * 0.05):
        parts.append(f'<text class="axis" x="{pad_l - 4}" y="{y(val) + 3:.1f}" text-anchor="end">'
                     f'{val:,.0f}{escape(unit)}</text>')
    coords = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in pts)
    if len(pts) == 1:
        coords = f"{pad_l:.1f},{y(pts[0][1]):.1f} {coords}"
    parts.append(f'<polyline class="series" points="{coords}"/>')
    last = pts[-1][1]
    parts.append(f'<text class="last" x="{pad_l + 2}" y="{pad_t + h - 2}">last {last:,.2f}{escape(unit)}</text>')
    parts.append("</svg>")
    return "".join(parts)
