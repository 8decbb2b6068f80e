"""Copy-latency instrumentation: when a trader event left and when the copy command arrived.

The shells stamp `time.perf_counter_ns()` (the only clock read here is in the shells): the
trader terminal when it sends `position_opened` / `position_modified` / `position_closed`,
the investor terminal when an `open` / `close` / `modify` arrives. `latencies_ns()` pairs
each command with the last event of the trader position it copies, sent before it. The
trader ticket is read from the command's key (`s<sub>-t<ticket>-<action>-<seq>`, the copy
engine's format) by default; pass `ticket_of` for another key format.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field

_TICKET = re.compile(r"(?:^|[-.])t(\d+)(?:[-.]|$)")


def ticket_from_key(key: str) -> int | None:
    m = _TICKET.search(key)
    return int(m.group(1)) if m else None


def percentile(values: list[int], pct: float) -> int | None:
    """Nearest-rank percentile (no interpolation), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil
    return ordered[int(rank) - 1]


@dataclass(slots=True)
class LatencyRecorder:
    """Send/receive stamps, paired by trader ticket within an *epoch*.

    `mark()` starts a new epoch (the demo marks each sync): a command is paired only with
    an event of the same epoch sent before it, so a command that is not the reaction to a
    fresh trader event (a retried close, a stop-copying close) is not counted.
    """

    events: dict[tuple[int, int], list[int]] = field(default_factory=dict)  # (epoch, ticket) -> send ns
    commands: list[tuple[str, str, int, int]] = field(default_factory=list)  # (type, key, receive ns, epoch)
    epoch: int = 0

    def mark(self) -> None:
        self.epoch += 1

    def event_sent(self, ticket: int, ns: int) -> None:
        self.events.setdefault((self.epoch, ticket), []).append(ns)

    def command_received(self, type_: str, key: str, ns: int) -> None:
        self.commands.append((type_, key, ns, self.epoch))

    def latencies_ns(self, ticket_of: Callable[[str], int | None] = ticket_from_key,
                     types: tuple[str, ...] = ("open", "close", "modify")) -> list[int]:
        out = []
        for type_, key, ns, epoch in self.commands:
            if type_ not in types:
                continue
            ticket = ticket_of(key)
            sent = self.events.get((epoch, ticket)) if ticket is not None else None
            if not sent:
                continue
            i = bisect_right(sent, ns)
            if i:
                out.append(ns - sent[i - 1])
        return out

    def summary_ms(self, ticket_of: Callable[[str], int | None] = ticket_from_key,
                   types: tuple[str, ...] = ("open", "close", "modify")) -> dict:
        lat = self.latencies_ns(ticket_of, types)
        p50, p99 = percentile(lat, 50), percentile(lat, 99)
        return {
            "samples": len(lat),
            "p50_ms": None if p50 is None else round(p50 / 1e6, 3),
            "p99_ms": None if p99 is None else round(p99 / 1e6, 3),
            "max_ms": round(max(lat) / 1e6, 3) if lat else None,
        }
