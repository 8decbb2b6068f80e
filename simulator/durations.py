"""Durations written as text (``"90m"``, ``"1d12h"``) -> milliseconds.

Shared by scenario files and strategy parameters; it imports nothing of the simulator, so
`simulator.scenario` and `simulator.strategies` both depend on it and not on each other's
internals.
"""

from __future__ import annotations

import re

__all__ = ["parse_duration"]

_UNITS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w)")


def parse_duration(text: str) -> int:
    """``"90m"``, ``"36h"``, ``"7d"``, ``"1d12h"``, ``"500ms"``, ``"2w"`` -> milliseconds (> 0)."""
    if not isinstance(text, str):
        raise ValueError(f"expected a duration string like \"90m\", got {text!r}")
    s = text.strip().lower()
    pos, total = 0, 0
    for m in _DURATION.finditer(s):
        if m.start() != pos:
            break
        total += int(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if not s or pos != len(s):
        raise ValueError(f"bad duration {text!r}: expected e.g. 90m, 36h, 7d or 1d12h (units ms s m h d w)")
    if total <= 0:
        raise ValueError(f"duration {text!r} must be positive")
    return total
