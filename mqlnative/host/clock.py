"""The clocks an EA host runs on.

The simulated trade server keeps UTC ms and moves only when told (`TradeServer.advance_to`);
a terminal also needs "now" between quotes (TimeGMT, TimeTradeServer, GetTickCount, Sleep).
`ManualClock` is fully deterministic (unit tests, pure scenarios): time moves with
`advance_to`/`sleep` only. `WallClock` follows the wall clock from a chosen start, for runs
against a real daemon (which judges `expires` by its own wall clock): server time =
`start_ms` + wall time elapsed, as a broker's trade server and daemon run together.
"""

from __future__ import annotations

import time


class ManualClock:
    """UTC ms that moves only when told. `sleep(ms)` advances it (an EA's Sleep)."""

    def __init__(self, start_ms: int) -> None:
        self._now = int(start_ms)

    def now_ms(self) -> int:
        return self._now

    def advance_to(self, t_ms: int) -> None:
        if t_ms < self._now:
            raise ValueError(f"cannot move the clock backwards ({t_ms} < {self._now})")
        self._now = t_ms

    def sleep(self, ms: int) -> None:
        self._now += max(int(ms), 0)


class WallClock:
    """`start_ms` + wall time elapsed since construction (monotonic). `sleep` really sleeps
    (bounded): an EA's retry pause then takes the time it takes on a terminal."""

    MAX_SLEEP_MS = 5000

    def __init__(self, start_ms: int) -> None:
        self._start = int(start_ms)
        self._mono0 = time.monotonic_ns()

    def now_ms(self) -> int:
        return self._start + (time.monotonic_ns() - self._mono0) // 1_000_000

    def sleep(self, ms: int) -> None:
        time.sleep(min(max(int(ms), 0), self.MAX_SLEEP_MS) / 1000)
