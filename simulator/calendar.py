"""Market hours and daily rollovers of the simulated server.

Choice of hours
---------------
Real forex trades from about Sunday 22:00 UTC to Friday 22:00 UTC. MetaTrader brokers
usually run their server clock at UTC+2/UTC+3 precisely so that this week maps onto
**Monday 00:00 to Saturday 00:00 server time**. The calendar's `timezone` is that server
clock (`bridge.domain.servertime`; the trade server passes its own, by default
`BROKER_DEFAULT`; a bare `TradingCalendar()` is on UTC). Every non-crypto market (forex, metals, indices, energies, stocks) is
closed from **Saturday 00:00 (inclusive) to Monday 00:00 (exclusive)** server time and open
otherwise; crypto trades every day around the clock. There are no holidays or daily breaks.

Markets are named by instrument group (the ``group`` of ``bridge.domain.instruments.SymbolSpec``,
e.g. ``"forex_majors"``, ``"crypto_minors"``): a group matches a prefix when it equals it or
starts with ``prefix + "_"``. Instead of a group, a ``bool`` may be given: ``True`` means
"trades every day" (24/7, like crypto), ``False`` means "closed at weekends".

Rollovers
---------
``rollover_dates(prev_ms, now_ms)`` lists the server midnights (00:00) in ``(prev_ms, now_ms]``
by the date that begins at that midnight. Weekend midnights are included: whether and how
much swap is charged at each one (triple swap day, weekends) is the swap rule's decision.

The module functions ``weekday`` and ``rollover_dates`` take server-time ms; the
`TradingCalendar` methods take **UTC** ms (what the server keeps) and apply the zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from bridge.domain.servertime import UTC, ServerTimeZone

__all__ = [
    "DAY_MS",
    "TradingCalendar",
    "rollover_dates",
    "weekday",
]

DAY_MS = 86_400_000
_EPOCH_DATE = date(1970, 1, 1)  # a Thursday: weekday() == 3


def weekday(now_ms: int) -> int:
    """Weekday of the server-time instant: 0 = Monday .. 6 = Sunday."""
    return (now_ms // DAY_MS + 3) % 7


def rollover_dates(prev_ms: int, now_ms: int) -> tuple[date, ...]:
    """Dates whose 00:00 server time lies in (prev_ms, now_ms], oldest first."""
    if now_ms < prev_ms:
        raise ValueError(f"rollover window goes backwards: {prev_ms} > {now_ms}")
    first = prev_ms // DAY_MS + 1  # day number of the first midnight strictly after prev
    last = now_ms // DAY_MS  # day number of the last midnight at or before now
    return tuple(_EPOCH_DATE + timedelta(days=d) for d in range(first, last + 1))


@dataclass(frozen=True, slots=True)
class TradingCalendar:
    """Which markets are open when. Defaults: see the module docstring."""

    always_open: tuple[str, ...] = ("crypto",)
    weekday_only: tuple[str, ...] = ("forex", "metals", "indices", "energies", "stocks")
    closed_weekdays: frozenset[int] = frozenset({5, 6})  # Saturday, Sunday
    timezone: ServerTimeZone = UTC

    def __post_init__(self) -> None:
        if not self.closed_weekdays <= set(range(7)):
            raise ValueError(f"closed_weekdays must be in 0..6, got {sorted(self.closed_weekdays)}")
        if len(self.closed_weekdays) == 7:
            raise ValueError("a market closed every day never opens")

    def trades_every_day(self, group_or_flag: str | bool) -> bool:
        """True for 24/7 markets; ValueError for an unknown group."""
        if isinstance(group_or_flag, bool):
            return group_or_flag
        if not isinstance(group_or_flag, str):
            raise TypeError(f"market must be a group name or a bool, got {group_or_flag!r}")
        g = group_or_flag.lower()
        if any(g == p or g.startswith(p + "_") for p in self.always_open):
            return True
        if any(g == p or g.startswith(p + "_") for p in self.weekday_only):
            return False
        raise ValueError(f"unknown instrument group {group_or_flag!r} for market hours")

    def weekday(self, now_ms: int) -> int:
        """Server-time weekday of the UTC instant: 0 = Monday .. 6 = Sunday."""
        return weekday(self.timezone.to_server(now_ms))

    def next_midnight(self, now_ms: int) -> int:
        """UTC instant of the first server 00:00 strictly after `now_ms`."""
        local = self.timezone.to_server(now_ms)
        return self.timezone.to_utc((local // DAY_MS + 1) * DAY_MS)

    def is_open(self, group_or_flag: str | bool, now_ms: int) -> bool:
        """Whether the market trades at `now_ms`."""
        if self.trades_every_day(group_or_flag):
            return True
        return self.weekday(now_ms) not in self.closed_weekdays

    def next_open(self, now_ms: int, group_or_flag: str | bool = False) -> int:
        """The first instant at or after `now_ms` when the market is open.

        `now_ms` itself when it is open; otherwise 00:00 of the first open day
        (Monday 00:00 for the default weekend closure).
        """
        if self.is_open(group_or_flag, now_ms):
            return now_ms
        day = self.timezone.to_server(now_ms) // DAY_MS + 1
        while (day + 3) % 7 in self.closed_weekdays:
            day += 1
        return self.timezone.to_utc(day * DAY_MS)

    def next_close(self, now_ms: int, group_or_flag: str | bool = False) -> int | None:
        """The first instant at or after `now_ms` when the market is closed.

        `now_ms` itself when it is closed; None for a market that never closes
        (Saturday 00:00 for the default weekend closure).
        """
        if self.trades_every_day(group_or_flag):
            return None
        day = self.timezone.to_server(now_ms) // DAY_MS
        if (day + 3) % 7 in self.closed_weekdays:
            return now_ms
        while (day + 3) % 7 not in self.closed_weekdays:
            day += 1
        return self.timezone.to_utc(day * DAY_MS)

    def rollover_dates(self, prev_ms: int, now_ms: int) -> tuple[date, ...]:
        """Dates whose 00:00 server time lies in (prev_ms, now_ms] (UTC ms); see `rollover_dates`."""
        if now_ms < prev_ms:
            raise ValueError(f"rollover window goes backwards: {prev_ms} > {now_ms}")
        local_prev = self.timezone.to_server(prev_ms)
        # the repeated autumn hour may step server time back: never below prev
        return rollover_dates(local_prev, max(local_prev, self.timezone.to_server(now_ms)))

    def is_rollover(self, prev_ms: int, now_ms: int) -> bool:
        """Whether at least one server midnight lies in (prev_ms, now_ms]."""
        return bool(self.rollover_dates(prev_ms, now_ms))
