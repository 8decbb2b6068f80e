"""Pure helpers that keep one peer from costing the daemon more than its share.

* `TokenBucket`: frames per second per CURVE key, with a burst; the shell asks it before it
  decodes a frame, so a flooding key costs one dictionary look-up and a subtraction per frame.
* `LogAggregator`: the first occurrence of a repeated refusal is logged at once, the rest are
  counted and summarised once per interval (one line per (event, key), never one per frame).

Both take `now` (ms) as an argument and hold a bounded amount of state: one entry per
allow-list key (bucket) or per (event, key) pair seen in the current interval (aggregator,
capped at `max_keys`; past the cap, occurrences are counted under one `(event, "*")` entry).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class TokenBucket:
    rate_per_s: float
    burst: float
    tokens: float = -1.0  # -1 = full on first use
    updated: int = 0
    over_since: int | None = None  # first refusal of the current abuse streak
    banned_until: int = 0

    def take(self, now: int) -> bool:
        """One frame at `now`: True if within the rate."""
        if self.tokens < 0:
            self.tokens, self.updated = self.burst, now
        elif now > self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate_per_s / 1000)
            self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            if self.over_since is not None and self.tokens >= self.burst / 2:
                self.over_since = None  # back under the rate with room to spare: the streak ends
            return True
        if self.over_since is None:
            self.over_since = now
        return False


@dataclass(slots=True)
class _Count:
    first_at: int
    count: int = 0
    fields: dict = field(default_factory=dict)


class LogAggregator:
    """Aggregate repeated log events per (event, key) and interval."""

    def __init__(self, interval_ms: int, max_keys: int = 1024) -> None:
        self.interval_ms = interval_ms
        self.max_keys = max_keys
        self.counts: dict[tuple[str, str], _Count] = {}

    def note(self, now: int, event: str, subject: str, **fields: Any) -> bool:
        """Count one occurrence; True if this one should be logged in full (the first)."""
        k = (event, subject)
        c = self.counts.get(k)
        if c is None:
            if len(self.counts) >= self.max_keys:
                k = (event, "*")
                c = self.counts.get(k)
            if c is None:
                self.counts[k] = _Count(now, 0, fields)
                return True
        c.count += 1
        return False

    def due(self, now: int) -> list[tuple[str, str, int, dict]]:
        """(event, key, repeats, fields of the first) for every entry whose interval ended."""
        out = []
        for k in [k for k, c in self.counts.items() if now - c.first_at >= self.interval_ms]:
            c = self.counts.pop(k)
            if c.count:
                out.append((k[0], k[1], c.count, c.fields))
        return out
