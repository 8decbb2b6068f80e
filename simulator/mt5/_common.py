"""What every part of the simulated terminal shares: the failure type behind ``None`` +
`last_error()`, and the float / time conversions at the facade edge.

Floats exist only at this edge: server Decimals go out as ``float``, incoming floats come in
through `bridge.domain.money.to_decimal` (``repr``), times go out as int seconds (and
``*_msc`` milliseconds) and come in as datetimes or int/float seconds.
"""

from __future__ import annotations

import fnmatch
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from bridge.domain.money import to_decimal
from simulator.mt5 import constants as C

ZERO = Decimal(0)

ERR_TEXT = {
    C.RES_S_OK: "Success", C.RES_E_FAIL: "Generic fail", C.RES_E_INVALID_PARAMS: "Invalid arguments",
    C.RES_E_NOT_FOUND: "Not found", C.RES_E_AUTH_FAILED: "Authorization failed",
    C.RES_E_UNSUPPORTED: "Unsupported method", C.RES_E_INTERNAL_FAIL: "Internal error",
    C.RES_E_INTERNAL_FAIL_INIT: "IPC initialize failed", C.RES_E_INTERNAL_FAIL_CONNECT: "No IPC connection",
}


class Fail(Exception):
    """A call that fails: the facade returns None and `last_error()` gives (code, text)."""

    def __init__(self, code: int, text: str | None = None) -> None:
        super().__init__(text)
        self.code = code
        self.text = text or ERR_TEXT.get(code, "Error")


def f(d: Decimal | None) -> float:
    return 0.0 if d is None else float(d)


def s(ms: int) -> int:
    return ms // 1000


def to_ms(value: Any, what: str) -> int:
    """A datetime (naive = UTC) or int/float seconds since the epoch -> int ms."""
    if isinstance(value, bool):
        raise Fail(C.RES_E_INVALID_PARAMS, f"Invalid \"{what}\" argument")
    if isinstance(value, datetime):
        dt = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
        delta = dt - datetime(1970, 1, 1, tzinfo=timezone.utc)
        return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
    if isinstance(value, int):
        return value * 1000
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        return int(to_decimal(value, what) * 1000)
    raise Fail(C.RES_E_INVALID_PARAMS, f"Invalid \"{what}\" argument")


def group_match(mask: str, symbol: str) -> bool:
    """MT5 group masks: comma-separated patterns with ``*``; ``!`` excludes. A symbol is
    selected when it matches an inclusion (or there is none) and no exclusion."""
    inc, exc = [], []
    for part in mask.split(","):
        part = part.strip()
        if not part:
            continue
        (exc if part.startswith("!") else inc).append(part.lstrip("!"))
    if exc and any(fnmatch.fnmatchcase(symbol, p) for p in exc):
        return False
    return not inc or any(fnmatch.fnmatchcase(symbol, p) for p in inc)
