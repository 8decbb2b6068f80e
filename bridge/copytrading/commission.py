"""Copy commission (seed 003 §9, §10, §8.3): a share of the gain above a high-water mark.

The gain is the subscription's cumulative closed result (`realised`). Commission accrues on a
close only for the part of `realised` above the highest level already charged, so a loss
followed by a recovery is not charged twice. Accruals are exact; money is booked (rounded
half up to the cent) when paid: every Sunday 00:00 server time and at once on stop.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

HUNDRED = Decimal(100)
ZERO = Decimal(0)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def effective_rate(locked_pct: Decimal, cap_pct: Decimal | None) -> Decimal:
    """§10 locks the rate at subscription; §8.3 lets the service cap it for all subscriptions."""
    return locked_pct if cap_pct is None else min(locked_pct, cap_pct)


def accrue(realised: Decimal, high_water_mark: Decimal, rate_pct: Decimal) -> tuple[Decimal, Decimal]:
    """(commission accrued now, new high-water mark) after `realised` changed."""
    if realised <= high_water_mark:
        return ZERO, high_water_mark
    return (realised - high_water_mark) * rate_pct / HUNDRED, realised


def next_weekly(now: int, weekday: int, offset_ms: int = 0) -> int:
    """The first `weekday` 00:00 server time strictly after `now` (ms; server = UTC + offset)."""
    local = _EPOCH + timedelta(milliseconds=now + offset_ms)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    days = (weekday - midnight.weekday()) % 7
    candidate = midnight + timedelta(days=days)
    if candidate <= local:
        candidate += timedelta(days=7)
    delta = candidate - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 - offset_ms


def next_period(now: int, period_ms: int, offset_ms: int = 0) -> int:
    """The first multiple of `period_ms` (server time) strictly after `now`."""
    local = now + offset_ms
    return (local // period_ms + 1) * period_ms - offset_ms
