"""Helpers shared by the tick-file readers (private)."""

from __future__ import annotations

import codecs
import os
import re
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import IO

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_INT = re.compile(r"-?\d+")
_EPOCH_ORD = date(1970, 1, 1).toordinal()
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def detect_encoding(path: str | os.PathLike[str]) -> str:
    """UTF-16 (LE/BE, by BOM, or LE without BOM when the 2nd byte is NUL) or UTF-8."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"  # the codec reads the BOM and strips it
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if len(head) >= 2 and head[0] != 0 and head[1] == 0:
        return "utf-16-le"
    return "utf-8"


def open_text(path: str | os.PathLike[str], newline: str | None = None) -> IO[str]:
    return open(path, encoding=detect_encoding(path), newline=newline)


def parse_price(text: str, what: str) -> Decimal:
    """A finite decimal number; ValueError naming `what` otherwise."""
    s = text.strip()
    if not _NUMBER.fullmatch(s):
        if s.lower().lstrip("+-") in ("nan", "snan", "inf", "infinity"):
            raise ValueError(f"{what} is not a finite number: {text!r}")
        raise ValueError(f"bad number in {what}: {text!r}")
    return Decimal(s)


def parse_optional(text: str, what: str) -> Decimal | None:
    return None if not text.strip() else parse_price(text, what)


def parse_flags(text: str) -> int | None:
    s = text.strip()
    if not s:
        return None
    if not _INT.fullmatch(s) or int(s) < 0:
        raise ValueError(f"bad flags {text!r}: expected a non-negative integer")
    return int(s)


class Mt5DateTime:
    """`2024.01.02` + `00:00:00.123` -> ms since epoch, with the day cached."""

    __slots__ = ("_date_s", "_day_ms")

    def __init__(self) -> None:
        self._date_s = ""
        self._day_ms = 0

    def __call__(self, date_s: str, time_s: str) -> int:
        if date_s != self._date_s:
            parts = date_s.split(".")
            try:
                if len(parts) != 3 or not all(p.isdigit() for p in parts):
                    raise ValueError
                d = date(int(parts[0]), int(parts[1]), int(parts[2]))
            except ValueError:
                raise ValueError(f"bad date {date_s!r}: expected YYYY.MM.DD") from None
            self._day_ms = (d.toordinal() - _EPOCH_ORD) * 86_400_000
            self._date_s = date_s
        hms, dot, frac = time_s.partition(".")
        parts = hms.split(":")
        if (len(parts) != 3 or not all(len(p) == 2 and p.isdigit() for p in parts)
                or (dot and not (1 <= len(frac) <= 3 and frac.isdigit()))):
            raise ValueError(f"bad time {time_s!r}: expected HH:MM:SS or HH:MM:SS.fff")
        h, m, s = int(parts[0]), int(parts[1]), int(parts[2])
        if h > 23 or m > 59 or s > 59:
            raise ValueError(f"bad time {time_s!r}: out of range")
        ms = int(frac.ljust(3, "0")) if dot else 0
        return self._day_ms + ((h * 60 + m) * 60 + s) * 1000 + ms


def parse_time_ms(text: str) -> int:
    """Integer ms since epoch, or ISO-8601 (`2024-01-02T00:00:00.123Z`; naive = UTC)."""
    s = text.strip()
    if _INT.fullmatch(s):
        return int(s)
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        raise ValueError(f"bad time {text!r}: expected integer ms or ISO-8601") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    delta = dt - _EPOCH
    us = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if us % 1000:
        raise ValueError(f"bad time {text!r}: sub-millisecond precision")
    return us // 1000
