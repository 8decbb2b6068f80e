"""The tick value and the errors and helpers shared by the price feeds."""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal

__all__ = [
    "FeedError",
    "TICK_FLAG_ASK",
    "TICK_FLAG_BID",
    "TICK_FLAG_BUY",
    "TICK_FLAG_LAST",
    "TICK_FLAG_SELL",
    "TICK_FLAG_VOLUME",
    "Tick",
    "PointDecimals",
]

# MetaTrader 5 tick flags (MqlTick.flags / MetaTrader5.TICK_FLAG_*).
TICK_FLAG_BID = 2
TICK_FLAG_ASK = 4
TICK_FLAG_LAST = 8
TICK_FLAG_VOLUME = 16
TICK_FLAG_BUY = 32
TICK_FLAG_SELL = 64


@dataclass(frozen=True, slots=True)
class Tick:
    """One quote. `time_ms` is server time (ms since epoch); prices are exact Decimals."""

    symbol: str
    time_ms: int
    bid: Decimal
    ask: Decimal
    last: Decimal | None = None
    volume: Decimal | None = None
    flags: int = TICK_FLAG_BID | TICK_FLAG_ASK


class FeedError(ValueError):
    """A bad line in a tick file: names the file, the line number and the problem."""

    def __init__(self, path: str | os.PathLike[str], line: int, problem: str) -> None:
        self.path = os.fspath(path)
        self.line = line
        self.problem = problem
        super().__init__(f"{self.path}:{line}: {problem}")


class PointDecimals:
    """Cheap int-points -> Decimal conversion for one number of digits.

    ``self[p]`` is ``Decimal(p).scaleb(-digits)`` (exponent exactly ``-digits``, so 110000
    points at 5 digits is ``Decimal("1.10000")``), memoised: a random walk revisits the
    same few thousand price levels, and a dict hit is ~7x cheaper than building a Decimal.
    The memo is cleared when it grows past `max_size`, so memory stays bounded.
    """

    __slots__ = ("digits", "_neg", "_memo", "_max")

    def __init__(self, digits: int, max_size: int = 1 << 16) -> None:
        if type(digits) is not int or not 0 <= digits <= 12:
            raise ValueError(f"digits must be an int in 0..12, got {digits!r}")
        self.digits = digits
        self._neg = -digits
        self._memo: dict[int, Decimal] = {}
        self._max = max_size

    def __getitem__(self, points: int) -> Decimal:
        d = self._memo.get(points)
        if d is None:
            if len(self._memo) >= self._max:
                self._memo.clear()
            d = self._memo[points] = Decimal(points).scaleb(self._neg)
        return d
