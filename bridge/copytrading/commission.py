"""Copy commission (seed 003 §9, §10, §8.3): a share of the gain above a high-water mark.

The gain is the subscription's cumulative closed result (`realised`). Commission accrues on a
close only for the part of `realised` above the highest level already charged, so a loss
followed by a recovery is not charged twice. Accruals are exact; money is booked (rounded
half up to the cent) when paid: every Sunday 00:00 server time and at once on stop.
"""

from __future__ import annotations

from decimal import Decimal

from bridge.domain.servertime import DAY_MS, UTC, ServerTimeZone

HUNDRED = Decimal(100)
ZERO = Decimal(0)


def effective_rate(locked_pct: Decimal, cap_pct: Decimal | None) -> Decimal:
    """§10 locks the rate at subscription; §8.3 lets the service cap it for all subscriptions."""
    return locked_pct if cap_pct is None else min(locked_pct, cap_pct)


def accrue(realised: Decimal, high_water_mark: Decimal, rate_pct: Decimal) -> tuple[Decimal, Decimal]:
    """(commission accrued now, new high-water mark) after `realised` changed."""
    if realised <= high_water_mark:
        return ZERO, high_water_mark
    return (realised - high_water_mark) * rate_pct / HUNDRED, realised


def next_weekly(now: int, weekday: int, zone: ServerTimeZone = UTC) -> int:
    """The first `weekday` 00:00 server time strictly after `now` (UTC ms)."""
    local = zone.to_server(now)
    midnight = local - local % DAY_MS
    days = (weekday - (midnight // DAY_MS + 3) % 7) % 7  # the epoch was a Thursday (3)
    candidate = midnight + days * DAY_MS
    if candidate <= local:
        candidate += 7 * DAY_MS
    return zone.to_utc(candidate)


def next_period(now: int, period_ms: int, zone: ServerTimeZone = UTC) -> int:
    """The first multiple of `period_ms` in server time strictly after `now` (UTC ms)."""
    local = zone.to_server(now)
    candidate = (local // period_ms + 1) * period_ms
    while zone.to_utc(candidate) <= now:  # the repeated autumn hour maps back to its first pass
        candidate += period_ms
    return zone.to_utc(candidate)
