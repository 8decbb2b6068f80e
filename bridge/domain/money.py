"""Exact numbers: parsing into Decimal and the rounding rules used everywhere.

Binary floats never decide anything here (`round(1.005, 2)` is 1.0 in float). A float that
arrives from the wire or a float-based API is converted through `repr()`, its shortest
round-trip string, so 1.4584 becomes exactly Decimal("1.4584").
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from bridge.domain.errors import DomainError

ZERO = Decimal(0)
CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def to_decimal(value: object, what: str = "value") -> Decimal:
    """Parse `value` into a finite Decimal or raise DomainError(code="invalid_number")."""
    if isinstance(value, bool):  # bool is an int subclass; True is not a price
        raise DomainError("invalid_number", f"{what}: expected a number, got a boolean")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip()
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise DomainError("invalid_number", f"{what}: {value!r} is not a number") from None
    else:
        raise DomainError("invalid_number", f"{what}: expected a number, got {type(value).__name__}")
    if not result.is_finite():
        raise DomainError("invalid_number", f"{what}: {value!r} is not a finite number")
    return abs(result) if result.is_zero() else result  # -0.0 is plain 0


def round_half_up(value: Decimal, quantum: Decimal) -> Decimal:
    """Round to a multiple of `quantum` (a power of ten), halves away from zero."""
    return value.quantize(quantum, rounding=ROUND_HALF_UP)


def round_money(value: Decimal, places: int = 2) -> Decimal:
    """Round an amount of money to `places` decimals, half up (0.005 -> 0.01)."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def fmt(value: Decimal, places: int = 2) -> str:
    """Render money for people: fixed `places`, half up, no exponent."""
    return f"{round_money(value, places):f}"
