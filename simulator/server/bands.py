"""Margin-call bands for accounts not in margin call: a cheap, exact, integer bound.

Why: the exact risk check (Decimal profit of every position, margin level) costs tens of
microseconds. An account whose margin level is above its margin-call threshold only needs
that check when the level *may* have reached the threshold; at any other moment the check
changes nothing (no journal record, no state). So between exact checks it is enough to know,
cheaply and conservatively, that the level is still above.

The bound. For an account whose positions are all quoted in its own currency (no conversion
rate moves its profit) and with margin fixed between trades, the unrounded equity is linear
in the prices::

    E(prices) = c - sum_k u_k * a_k

over its exposures k (one per symbol and side): ``u_k`` is the money one point is worth
(units x point), ``a_k`` the *adverse coordinate* in points - ``-bid`` for buys (they lose as
the bid falls), ``ask + markup`` for sells (they lose as the marked-up ask rises) - and ``c``
holds balance, credit, swaps and the open prices. The booked equity rounds each position to
the cent, so it is at least ``E - 0.005 x positions``. All of it is kept in integers of
``10**-scale`` account currency (c and the rounding tolerance rounded down/up, the threshold
up by one unit more), so no Decimal and no float runs on the hot path.

The bands. Each exposure gets an edge ``A_k`` in the trigger index (``a_k >= A_k`` fires).
While none has fired, ``a_k <= A_k - 1`` for every k, so the equity is at least the
*worst case* ``W = c - sum_k u_k (A_k - 1)`` minus the tolerance. The invariant kept at all
times is ``W > floor`` with ``floor = threshold + tolerance``: the level cannot have
reached the threshold while no edge has fired.

Placing. From current prices the reserve is ``R = E - floor - 1``; three quarters of it are
spread over the exposures in proportion to each symbol's recent tick size (the quieter a
symbol, the less room it needs for the same number of quotes: a volatile metal no longer
fires an even share's band every few quotes), the last quarter is kept as a pool.

Hysteresis. When an edge fires, only that exposure is moved: its new edge sits its room
beyond the current price (less if the pool cannot pay for all of it) and W drops by what
that costs; if W stays above the floor nothing else happens (one index insertion). Only when
the pool is spent are all edges re-placed from current prices, and only when the reserve
itself is gone (the level may really be at the threshold) does the exact Decimal check run -
the same check, at the same quote, as without bands, so the journal is byte-identical.

Accounts in margin call keep the exact bands (`_refresh_risk`): whether a margin call is
cleared is only seen at a re-check, so the re-checks of such an account must run at the very
quotes they always ran at.

Worked example (tests/simulator/server/test_server_fast_paths.py): a USD account with 1 lot
EURUSD bought at 1.10000 and 1 lot GBPUSD sold at 1.27000 (no markup), balance 600.00,
margin 430.00, margin call at 40 %. Scale 3 (units of 0.001 USD): one point of either
exposure is worth 1 000 units; c = 600 000 - 110 000 x 1 000 + 127 000 x 1 000 - 1 =
17 599 999; floor = 172 000 + 1 (threshold, up) + 10 (two positions x 0.005) = 172 011. At
bid 1.10000 / ask 1.27000, E = 599 999 and R = 427 987; three quarters (320 990) over two
exposures with equal tick sizes give 160 points each: the EURUSD edge fires at bid <= 1.09839,
the GBPUSD edge at ask >= 1.27161, W = 279 999 > floor. If the bid then prints 1.09837 (two
points beyond the edge), W with EURUSD at that price is 276 999; the pool pays for 104 more
points, so the new edge is bid <= 1.09732 and W = 172 999, still above the floor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

__all__ = ["MarginBands", "build_bands"]

_DIGITS: dict[Decimal, int] = {}  # money per point -> decimals it needs (a bounded cache)

# share of the reserve given to the edges when they are placed; the rest is the pool that
# pays for moving single fired edges (measured: 3/4 fires fewer edges than 1/2 and re-places
# all edges less often than 4/4)
_PLACED_NUM, _PLACED_DEN = 3, 4


@dataclass(slots=True)
class MarginBands:
    """One account's bound: exposures, their edges and the worst-case equity (integers)."""

    c: int
    floor: int  # threshold + rounding tolerance (+1): W must stay above
    symbols: list  # per exposure: the `_Symbol`
    sells: list[bool]  # per exposure: True for the sell side
    u: list[int]  # per exposure: money per point
    markup: int  # points added to the ask for this account
    room: list[int] = field(default_factory=list)  # points of adverse move granted per placement
    edges: list[int] = field(default_factory=list)  # A_k
    eids: list[int] = field(default_factory=list)  # trigger index entries (0: none)
    worst: int = 0  # W

    def adverse(self, k: int) -> int:
        """The current adverse coordinate a_k of exposure k, in points."""
        st = self.symbols[k]
        return st.ask_pts + self.markup if self.sells[k] else -st.bid_pts

    def equity(self) -> int:
        """The linear (unrounded) equity at current prices."""
        e = self.c
        for k, u in enumerate(self.u):
            e -= u * self.adverse(k)
        return e

    def plan(self, sigmas: list[int]) -> bool:
        """Place every edge from current prices (see the module docstring); False when the
        reserve is gone (the exact check must run)."""
        a_now = [self.adverse(k) for k in range(len(self.u))]
        e = self.c - sum(u * a for u, a in zip(self.u, a_now))
        reserve = e - self.floor - 1
        if reserve <= 0:
            return False
        budget = reserve * _PLACED_NUM // _PLACED_DEN
        weight = sum(u * s for u, s in zip(self.u, sigmas))
        self.room = [budget * s // weight for s in sigmas]
        self.edges = [a + r + 1 for a, r in zip(a_now, self.room)]
        self.worst = e - sum(u * r for u, r in zip(self.u, self.room))
        return True

    def replace_one(self, k: int) -> bool:
        """Edge k fired: move it `room[k]` (or what the pool still allows) beyond the current
        price. False when the pool cannot pay even for the move already made."""
        u = self.u[k]
        a = self.adverse(k)
        worst = self.worst + u * (self.edges[k] - 1) - u * a  # exposure k at its current price
        spare = worst - self.floor - 1
        if spare < 0:
            return False
        r = min(self.room[k], spare // u)
        self.edges[k] = a + r + 1
        self.worst = worst - u * r
        return True


def build_bands(balance: Decimal, credit: Decimal, swaps: Decimal, positions: list, symbols: dict,
                exposure: dict, markup: int, margin: Decimal, threshold: Decimal) -> MarginBands:
    """The integer model of one account (all positions quoted in the account currency).

    `positions`: ``(symbol spec, is_sell, volume, open price)``; `exposure`: symbol ->
    [buy units, sell units]; `threshold` in percent of `margin`."""
    movers = [(name, i == 1, units * symbols[name].point)
              for name, both in exposure.items() for i, units in enumerate(both) if units > 0]
    scale = 3  # at least: the 0.005 rounding tolerance is an integer
    for _, _, per_point in movers:
        digits = _DIGITS.get(per_point)
        if digits is None:
            if len(_DIGITS) > 4096:
                _DIGITS.clear()
            exp = per_point.normalize().as_tuple().exponent
            digits = _DIGITS[per_point] = -exp if isinstance(exp, int) and exp < 0 else 0
        if digits > scale:
            scale = digits
    c = balance + credit + swaps
    for spec, sell, volume, open_price in positions:
        value = volume * spec.contract_size * open_price
        c += value if sell else -value
    one = Decimal(1).scaleb(scale)
    # round c down and the threshold up, one unit further each: Decimal products of 28 digits
    # may be rounded, never by a whole unit
    c_units = int((c * one).to_integral_value(ROUND_FLOOR)) - 1
    threshold_units = int((margin * threshold / 100 * one).to_integral_value(ROUND_CEILING)) + 1
    tolerance = int((Decimal("0.005") * len(positions) * one).to_integral_value(ROUND_CEILING))
    return MarginBands(c_units, threshold_units + tolerance, [symbols[n] for n, _, _ in movers],
                       [s for _, s, _ in movers], [int(pp * one) for _, _, pp in movers], markup)
