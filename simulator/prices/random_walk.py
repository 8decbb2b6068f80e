"""A seeded random-walk quote generator, fast and exactly reproducible.

Design
------
- **Seeding.** Each symbol gets its own ``random.Random`` seeded with the first 8 bytes of
  ``sha256(f"{seed}:{symbol}")`` (never Python's salted ``hash()``), so a symbol's path does
  not depend on which other symbols are simulated or in which order.
- **Integer points inside.** The walk runs on ``int`` prices in points (1 point =
  ``10**-digits``); Decimals are only built at the Tick boundary, memoised per price level.
- **No platform-dependent floats.** Only ``getrandbits`` is drawn from the generator (pure
  integer Mersenne Twister output) and all arithmetic is integer, so ticks are identical on
  every platform and Python version with the same ``random`` algorithm:

  * a price step is ``z * sigma`` rounded ROUND_HALF_UP to whole points (away from zero on
    ties), where ``z = (k + j) / 4``: ``k = popcount(64 random bits) - 32`` is a centred
    Binomial(64, 1/2) (mean 0, std-dev 4, bounded at +-8 sigma, a close approximation of a
    normal draw) and ``j`` is uniform on [-1/2, 1/2) in steps of 1/256 (8 more random bits),
    which smooths the binomial's lattice so that large moves are not multiples of sigma/4
    (it adds 0.26% to the std-dev);
  * with ``ticks_per_second`` the gap between ticks is exponential (Poisson arrivals),
    drawn from a 1024-quantile table computed once with ``Decimal.ln`` (correctly rounded),
    rounded half-up to whole ms and at least 1 ms; with ``interval_ms`` it is fixed.

- **Market hours.** No tick is produced while the calendar says the market is closed. The
  first tick after a closure is at the opening instant itself (Monday 00:00 for forex), and
  its price jumps by a gap drawn like a step with std-dev ``gap_points`` or
  ``gap_relative * price`` (no jump when neither is set). A feed starting while closed begins
  at the next open without a gap.
- Prices never fall below 1 point; the ask is ``bid + spread_points``, so bid < ask always.
- Iterating a feed again replays the same ticks from the start.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal
from functools import lru_cache

from simulator.calendar import TradingCalendar
from simulator.prices.tick import TICK_FLAG_ASK, TICK_FLAG_BID, PointDecimals, Tick

__all__ = ["RandomWalkFeed", "WalkSpec", "symbol_rng"]

_FLAGS = TICK_FLAG_BID | TICK_FLAG_ASK
_TABLE_BITS = 10
_MASK64 = (1 << 64) - 1
_Z_DEN = 1024  # z = z_num / _Z_DEN with z_num = (k * 256 + j256), see the module docstring


def symbol_rng(seed: int | str, symbol: str) -> random.Random:
    """The per-symbol generator: Random(int of sha256(f"{seed}:{symbol}")[:8])."""
    digest = hashlib.sha256(f"{seed}:{symbol}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _ratio(value: Decimal, what: str) -> tuple[int, int]:
    if not isinstance(value, Decimal):
        raise TypeError(f"{what} must be a Decimal, got {type(value).__name__}")
    if not value.is_finite() or value < 0:
        raise ValueError(f"{what} must be a finite Decimal >= 0, got {value}")
    return value.as_integer_ratio()


def _half_up_div(n: int, d: int) -> int:
    """n / d rounded to an int, ties away from zero (ROUND_HALF_UP); d > 0."""
    if n >= 0:
        return (2 * n + d) // (2 * d)
    return -((-2 * n + d) // (2 * d))


@lru_cache(maxsize=64)
def _exp_gap_table(mean_ms: Decimal) -> tuple[int, ...]:
    """Quantiles of an exponential law of mean `mean_ms`, in whole ms (>= 1)."""
    ctx = Context(prec=34)
    size = 1 << _TABLE_BITS
    out = []
    for i in range(size):
        u = Decimal(2 * i + 1) / Decimal(2 * size)
        g = -(ctx.ln(u)) * mean_ms
        out.append(max(1, int(g.quantize(Decimal(1), rounding=ROUND_HALF_UP, context=ctx))))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class WalkSpec:
    """How one symbol's quotes wander.

    Exactly one of `volatility_points` / `volatility_relative` (per-tick std-dev of the bid,
    in points or as a fraction of the price) and exactly one of `interval_ms` (fixed gap) /
    `ticks_per_second` (mean rate, Poisson arrivals) must be set. At most one of
    `gap_points` / `gap_relative` (std-dev of the jump at a weekend open) may be set.
    `market` is the calendar group (``"forex_majors"``, ``"crypto"``...) or a bool
    (True = trades every day).
    """

    symbol: str
    start_bid: Decimal
    digits: int
    spread_points: int
    volatility_points: Decimal | None = None
    volatility_relative: Decimal | None = None
    interval_ms: int | None = None
    ticks_per_second: Decimal | None = None
    gap_points: Decimal | None = None
    gap_relative: Decimal | None = None
    market: str | bool = "forex"

    def __post_init__(self) -> None:
        if not isinstance(self.symbol, str) or not self.symbol:
            raise ValueError("symbol must be a non-empty str")
        if type(self.digits) is not int or not 0 <= self.digits <= 12:
            raise ValueError(f"{self.symbol}: digits must be an int in 0..12, got {self.digits!r}")
        if type(self.spread_points) is not int or self.spread_points < 1:
            raise ValueError(f"{self.symbol}: spread_points must be an int >= 1")
        if not isinstance(self.start_bid, Decimal) or not self.start_bid.is_finite() \
                or self.start_bid <= 0:
            raise ValueError(f"{self.symbol}: start_bid must be a positive finite Decimal")
        if (self.volatility_points is None) == (self.volatility_relative is None):
            raise ValueError(
                f"{self.symbol}: set exactly one of volatility_points / volatility_relative")
        if (self.interval_ms is None) == (self.ticks_per_second is None):
            raise ValueError(f"{self.symbol}: set exactly one of interval_ms / ticks_per_second")
        if self.interval_ms is not None and (type(self.interval_ms) is not int
                                             or self.interval_ms < 1):
            raise ValueError(f"{self.symbol}: interval_ms must be an int >= 1")
        if self.ticks_per_second is not None:
            _ratio(self.ticks_per_second, "ticks_per_second")
            if self.ticks_per_second <= 0:
                raise ValueError(f"{self.symbol}: ticks_per_second must be > 0")
        if self.gap_points is not None and self.gap_relative is not None:
            raise ValueError(f"{self.symbol}: set at most one of gap_points / gap_relative")
        for name in ("volatility_points", "volatility_relative", "gap_points", "gap_relative"):
            v = getattr(self, name)
            if v is not None:
                _ratio(v, f"{self.symbol}: {name}")

    @property
    def start_points(self) -> int:
        """The start bid in points, quantised ROUND_HALF_UP to `digits`."""
        return int(self.start_bid.scaleb(self.digits).quantize(Decimal(1), ROUND_HALF_UP))


class RandomWalkFeed:
    """Ticks of one symbol from `start_ms` (inclusive) to `end_ms` (exclusive) or
    `max_ticks` ticks, whichever comes first (at least one of them must be given)."""

    def __init__(
        self,
        spec: WalkSpec,
        seed: int | str,
        start_ms: int,
        end_ms: int | None = None,
        *,
        max_ticks: int | None = None,
        calendar: TradingCalendar | None = None,
    ) -> None:
        if end_ms is None and max_ticks is None:
            raise ValueError("give end_ms or max_ticks, or the feed never ends")
        if type(start_ms) is not int or (end_ms is not None and type(end_ms) is not int):
            raise TypeError("start_ms and end_ms must be int milliseconds")
        self.spec = spec
        self.seed = seed
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.max_ticks = max_ticks
        self.calendar = calendar if calendar is not None else TradingCalendar()
        self.calendar.trades_every_day(spec.market)  # unknown group: fail now, not mid-run

    @property
    def symbol(self) -> str:
        return self.spec.symbol

    def __iter__(self) -> Iterator[Tick]:
        spec = self.spec
        cal = self.calendar
        market = spec.market
        rng = symbol_rng(self.seed, spec.symbol)
        bits = rng.getrandbits
        dec = PointDecimals(spec.digits)
        symbol = spec.symbol
        spread = spec.spread_points
        end = self.end_ms
        remaining = self.max_ticks if self.max_ticks is not None else -1

        # Steps in points: a table over k+32 for a fixed sigma, or computed per tick.
        # z_num = (popcount - 32) * 256 + (high byte - 128), so z_num + _Z_OFF indexes 0..16639
        z_off = 32 * 256 + 128
        step_table: list[int] | None = None
        rel_n = rel_d = 0
        if spec.volatility_points is not None:
            n, d = spec.volatility_points.as_integer_ratio()
            d *= _Z_DEN
            step_table = [_half_up_div(z * n, d) for z in range(-z_off, z_off + 1)]
        else:
            rel_n, rel_d = spec.volatility_relative.as_integer_ratio()  # type: ignore[union-attr]
            rel_d *= _Z_DEN
        mask = _MASK64

        fixed_gap = spec.interval_ms
        gap_table: tuple[int, ...] = ()
        if fixed_gap is None:
            gap_table = _exp_gap_table(Decimal(1000) / spec.ticks_per_second)
        table_bits = _TABLE_BITS

        if spec.gap_points is not None:
            g_n, g_d = spec.gap_points.as_integer_ratio()
            g_rel = False
        elif spec.gap_relative is not None:
            g_n, g_d = spec.gap_relative.as_integer_ratio()
            g_rel = True
        else:
            g_n, g_d, g_rel = 0, 1, False
        g_d *= _Z_DEN

        never = 1 << 62
        t = cal.next_open(self.start_ms, market)
        close_at = cal.next_close(t, market)
        if close_at is None:
            close_at = never
        stop = end if end is not None else never
        bid = spec.start_points

        while remaining and t < stop:
            yield Tick(symbol, t, dec[bid], dec[bid + spread], None, None, _FLAGS)
            remaining -= 1
            t += fixed_gap if fixed_gap is not None else gap_table[bits(table_bits)]
            if t >= close_at:
                # crossed the start of a closure: quote again at the open, after a jump
                t = cal.next_open(t, market)
                r = bits(72)
                z = ((r & mask).bit_count() << 8) + (r >> 64) - z_off
                jump = _half_up_div(z * g_n * (bid if g_rel else 1), g_d)
                bid = bid + jump if bid + jump > 1 else 1
                close_at = cal.next_close(t, market) or never
                continue
            r = bits(72)
            if step_table is not None:
                step = step_table[((r & mask).bit_count() << 8) + (r >> 64)]
            else:
                z = ((r & mask).bit_count() << 8) + (r >> 64) - z_off
                step = _half_up_div(z * bid * rel_n, rel_d)
            bid += step
            if bid < 1:
                bid = 1
