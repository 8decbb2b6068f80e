"""Numbers as the desk reads them: money to cents, percents to 2 places, lots to the volume step.

One source for the rounding of every figure the dashboard and the console show, so no
unrounded decimal (`0.003841678168510377537194240211 lots`) reaches a page.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
LOT_STEP = Decimal("0.01")  # the usual volume step; a figure below it keeps 2 significant digits


def money(d: Decimal | None, *, sign: bool = False) -> str:
    """1234.5 -> '1,234.50'; None -> '-'."""
    if d is None:
        return "-"
    q = d.quantize(CENT, ROUND_HALF_UP)
    return f"{q:+,.2f}" if sign else f"{q:,.2f}"


def pct(d: Decimal | None) -> str:
    """12.345 -> '12.35%'; None -> '-'."""
    return "-" if d is None else f"{d.quantize(CENT, ROUND_HALF_UP):,.2f}%"


def lots(d: Decimal | None, *, step: Decimal = LOT_STEP, sign: bool = False) -> str:
    """Volume to the step (0.29 -> '0.29'); a refused fraction below the step keeps two
    significant digits so it still says how small it was (0.0038416... -> '0.0038')."""
    if d is None:
        return "-"
    if d != 0 and abs(d) < step:
        q = d.quantize(Decimal(1).scaleb(d.adjusted() - 1), ROUND_HALF_UP)
        return f"{q:+f}" if sign else f"{q:f}"
    q = d.quantize(step, ROUND_HALF_UP)
    return f"{q:+,f}" if sign else f"{q:,f}"


def price(d: Decimal | None) -> str:
    """Prices as quoted (the feed sends them on the symbol's digits); trailing float noise cut to 5 places."""
    if d is None:
        return "-"
    if d.as_tuple().exponent < -5:  # type: ignore[operator]
        d = d.quantize(Decimal("0.00001"), ROUND_HALF_UP)
    return f"{d:f}"


def round_numbers_in(text: str) -> str:
    """Long decimals inside a free text (a refusal's detail) cut to 4 significant places."""
    import re

    def cut(m: re.Match) -> str:
        d = Decimal(m.group(0))
        if d == 0:
            return "0"
        return f"{d.quantize(Decimal(1).scaleb(min(-2, d.adjusted() - 3)), ROUND_HALF_UP):f}"

    return re.sub(r"-?\d+\.\d{6,}", cut, text)
