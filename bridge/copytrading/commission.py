"""Copy commission (seed 003 §9, §10, §8.3): a share of the gain above a high-water mark,
settled once a week (Sunday 00:00 server time) and when copying stops.

* The gain of a subscription is its cumulative closed trading result (`realised`): the
  server's figure of each closing deal, swaps and fees in. Deposits and withdrawals move the
  balance and the invested funds alike and never enter it; the commission paid does not
  either (the mark is on the gain before fees). Floating results count once closed.
* At a settlement the fee is `rate × (gain − mark)` when the gain is above the mark, and the
  mark moves up to the gain; otherwise nothing is due and the mark stays. The mark moves at
  settlements only: a +100 / −100 week settles at gain 0 and pays nothing.
* Rounding: fees are exact Decimals; a settlement owes the exact fee plus the exact
  remainder carried from earlier ones and pays that rounded half up to the cent (the
  sub-cent rest carries on). So what has been paid is always the single half-up rounding of
  the exact total of fees: per-week rounding never drifts by a cent (see `settle`).

Pure: time comes in as arguments (`next_weekly`, `next_period`); no clock reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bridge.domain.money import round_money
from bridge.domain.servertime import DAY_MS, UTC, ServerTimeZone

HUNDRED = Decimal(100)
ZERO = Decimal(0)


def effective_rate(locked_pct: Decimal, cap_pct: Decimal | None) -> Decimal:
    """§10 locks the rate at subscription; §8.3 lets the service cap it for all subscriptions."""
    return locked_pct if cap_pct is None else min(locked_pct, cap_pct)


@dataclass(frozen=True, slots=True)
class Settlement:
    """One settlement of one subscription: `fee` is exact; `due` is what to pay now, whole
    cents (before the balance check), and `owed` the exact amount still owed after paying
    `due` (the sub-cent carry)."""

    gain: Decimal
    previous_mark: Decimal
    mark: Decimal
    fee: Decimal
    due: Decimal
    owed: Decimal


def settle(gain: Decimal, mark: Decimal, rate_pct: Decimal, owed: Decimal = ZERO) -> Settlement:
    """The fee at a settlement: `rate_pct` % of the gain above `mark`, plus what was `owed`.

    >>> s = settle(Decimal("100.00"), Decimal("0"), Decimal("20"))
    >>> (s.fee, s.due, s.mark)
    (Decimal('20.00'), Decimal('20.00'), Decimal('100.00'))
    >>> settle(Decimal("0.00"), Decimal("0"), Decimal("20")).due  # +100 then -100 in the week
    Decimal('0.00')
    """
    if gain > mark:
        fee, new_mark = (gain - mark) * rate_pct / HUNDRED, gain
    else:
        fee, new_mark = ZERO, mark
    total = owed + fee
    due = max(round_money(total), ZERO)
    return Settlement(gain, mark, new_mark, fee, due, total - due)


def provisional(gain: Decimal, mark: Decimal, rate_pct: Decimal, owed: Decimal = ZERO) -> Decimal:
    """What a settlement now would pay, in cents (the Investor Area's "commission accrued")."""
    return settle(gain, mark, rate_pct, owed).due


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
