"""The simulation's virtual clock: the only way time moves in the simulator.

Time is an ``int`` of milliseconds since the Unix epoch, in server time. The simulated
server runs on UTC, so server time and UTC coincide here. Nothing in this module reads the
wall clock; the clock starts where it is told and moves only when asked, never backwards.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

__all__ = ["VirtualClock", "ms_to_datetime", "datetime_to_ms"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _check_int(value: object, what: str) -> int:
    if type(value) is not int:  # bool is an int subclass: refuse it, and floats, explicitly
        raise TypeError(f"{what} must be an int of milliseconds, got {type(value).__name__}")
    return value


def ms_to_datetime(ms: int) -> datetime:
    """Aware UTC datetime for `ms` milliseconds since the epoch (exact, no float)."""
    return _EPOCH + timedelta(milliseconds=_check_int(ms, "ms"))


def datetime_to_ms(dt: datetime) -> int:
    """Milliseconds since the epoch for an aware datetime; sub-millisecond parts are refused."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"datetime {dt.isoformat()} is naive; give it a timezone")
    delta = dt - _EPOCH
    us = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if us % 1000:
        raise ValueError(f"datetime {dt.isoformat()} has sub-millisecond precision")
    return us // 1000


class VirtualClock:
    """A monotonic virtual clock in integer milliseconds (server time = UTC)."""

    __slots__ = ("_now_ms",)

    def __init__(self, start_ms: int = 0) -> None:
        self._now_ms = _check_int(start_ms, "start_ms")

    @property
    def now_ms(self) -> int:
        return self._now_ms

    def advance(self, ms: int) -> int:
        """Move forward by `ms` (>= 0) milliseconds; returns the new `now_ms`."""
        if _check_int(ms, "ms") < 0:
            raise ValueError(f"cannot advance the clock by a negative amount ({ms} ms)")
        self._now_ms += ms
        return self._now_ms

    def advance_to(self, ms: int) -> int:
        """Move to the instant `ms` (>= now); returns the new `now_ms`.

        Moving to the current instant is allowed (a no-op); moving backwards raises
        ValueError.
        """
        if _check_int(ms, "ms") < self._now_ms:
            raise ValueError(
                f"cannot move the clock backwards from {self._now_ms} to {ms} ms"
            )
        self._now_ms = ms
        return self._now_ms

    def now_datetime(self) -> datetime:
        """The current instant as an aware UTC datetime."""
        return ms_to_datetime(self._now_ms)

    def __repr__(self) -> str:
        return f"VirtualClock(now_ms={self._now_ms})"
