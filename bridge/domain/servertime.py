"""A trade server's time zone: a fixed standard offset plus an optional DST rule, as data.

Every time on the wire and in the engine is UTC ms; MetaTrader servers show their own wall
clock. Brokers mostly run "UTC+2, UTC+3 in summer with US daylight saving" so that the
New York close (17:00 New York) is server midnight all year: `BROKER_DEFAULT`.

Config text: ``"UTC"``, ``"UTC-5"``, ``"UTC+5:30"``, ``"UTC+2/us"``, ``"UTC+1/eu"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from bridge.domain.errors import DomainError

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
MAX_OFFSET_MS = 14 * HOUR_MS  # UTC-12 .. UTC+14 are the zones in use; a little slack both ways
OFFSET_STEP_MS = 15 * MINUTE_MS  # every real zone offset is a multiple of 15 min
_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class Transition:
    """The `week`-th Sunday of `month` (-1 = the last), at `minute` of that day.

    `utc`: the minute is UTC (EU rule); otherwise the zone's own wall clock just before the
    change (US rule: 02:00 local)."""

    month: int
    week: int
    minute: int
    utc: bool = False

    def local_ms(self, year: int) -> int:
        """Ms since the epoch of the wall-clock instant in `year` (UTC or local, as flagged)."""
        if self.week == -1:
            first_next = date(year + (self.month == 12), self.month % 12 + 1, 1)
            day = first_next - timedelta(days=1)
            day -= timedelta(days=(day.weekday() - 6) % 7)
        else:
            day = date(year, self.month, 1)
            day += timedelta(days=(6 - day.weekday()) % 7 + 7 * (self.week - 1))
        return (day - _EPOCH).days * DAY_MS + self.minute * MINUTE_MS


@dataclass(frozen=True, slots=True)
class DstRule:
    """Summer time: the offset grows by `shift_ms` from `start` until `end` (northern rules)."""

    start: Transition
    end: Transition
    shift_ms: int = HOUR_MS


#: Rules by name, as config text names them. US since 2007; EU since 1996.
DST_RULES: dict[str, DstRule] = {
    "us": DstRule(Transition(3, 2, 120), Transition(11, 1, 120)),
    "eu": DstRule(Transition(3, -1, 60, utc=True), Transition(10, -1, 60, utc=True)),
}


@dataclass(frozen=True, slots=True)
class ServerTimeZone:
    """Server time = UTC + offset_ms(utc). Pure; all times are int ms since the Unix epoch."""

    std_offset_ms: int = 0
    dst: str | None = None  # a key of DST_RULES

    def __post_init__(self) -> None:
        check_offset(self.std_offset_ms, "std_offset_ms")
        if self.dst is not None and self.dst not in DST_RULES:
            raise DomainError("invalid_timezone", f"unknown DST rule {self.dst!r}; known: {', '.join(DST_RULES)}")

    def _window(self, year: int) -> tuple[int, int]:
        """[start, end) of summer time in `year`, UTC ms."""
        rule = DST_RULES[self.dst]  # type: ignore[index]
        start = rule.start.local_ms(year) - (0 if rule.start.utc else self.std_offset_ms)
        end = rule.end.local_ms(year) - (0 if rule.end.utc else self.std_offset_ms + rule.shift_ms)
        return start, end

    def offset_ms(self, utc_ms: int) -> int:
        """The offset in force at the UTC instant: standard, or standard + shift in summer."""
        if self.dst is None:
            return self.std_offset_ms
        year = (_EPOCH + timedelta(milliseconds=utc_ms + self.std_offset_ms)).year
        start, end = self._window(year)
        return self.std_offset_ms + (DST_RULES[self.dst].shift_ms if start <= utc_ms < end else 0)

    def to_server(self, utc_ms: int) -> int:
        return utc_ms + self.offset_ms(utc_ms)

    def to_utc(self, server_ms: int) -> int:
        """The UTC instant of a server wall-clock time.

        In autumn one server hour happens twice: we pick the first (summer-time) instant, as
        Python's fold=0 does. In spring one server hour never happens: a time in it is read
        with the standard offset (so it lands just after the change)."""
        if self.dst is None:
            return server_ms - self.std_offset_ms
        summer = server_ms - self.std_offset_ms - DST_RULES[self.dst].shift_ms
        if self.to_server(summer) == server_ms:
            return summer
        return server_ms - self.std_offset_ms

    def server_midnight(self, utc_ms: int) -> int:
        """UTC instant of the server 00:00 that starts the server day holding `utc_ms`."""
        local = self.to_server(utc_ms)
        return self.to_utc(local - local % DAY_MS)

    def __str__(self) -> str:
        sign = "-" if self.std_offset_ms < 0 else "+"
        hours, rest = divmod(abs(self.std_offset_ms), HOUR_MS)
        text = "UTC" if self.std_offset_ms == 0 else f"UTC{sign}{hours}" + (f":{rest // MINUTE_MS:02d}" if rest else "")
        return text + (f"/{self.dst}" if self.dst else "")

    @classmethod
    def parse(cls, text: str) -> ServerTimeZone:
        """`"UTC"`, `"UTC+2"`, `"UTC-3:30"`, optionally followed by `/us` or `/eu`."""
        m = _PATTERN.fullmatch(text.strip()) if isinstance(text, str) else None
        if m is None:
            raise DomainError("invalid_timezone", f"{text!r} is not a server time zone like \"UTC+2/us\", "
                                                  "\"UTC-5\" or \"UTC\"")
        sign, hours, minutes, rule = m.groups()
        offset = int(hours or 0) * HOUR_MS + int(minutes or 0) * MINUTE_MS
        return cls(-offset if sign == "-" else offset, rule.lower() if rule else None)


_PATTERN = re.compile(r"UTC(?:([+-])(\d{1,2})(?::(\d{2}))?)?(?:/(\w+))?", re.I)


def check_offset(offset_ms: int, name: str = "offset") -> None:
    """A sane UTC offset: |offset| <= 14 h, a multiple of 15 min. DomainError otherwise."""
    if type(offset_ms) is not int or abs(offset_ms) > MAX_OFFSET_MS or offset_ms % OFFSET_STEP_MS:
        raise DomainError("invalid_timezone", f"{name} {offset_ms!r} must be a multiple of 15 min "
                                              f"({OFFSET_STEP_MS} ms) within ±14 h")


UTC = ServerTimeZone(0, None)
#: The usual MetaTrader broker clock: UTC+2, UTC+3 while the US is on summer time.
BROKER_DEFAULT = ServerTimeZone(2 * HOUR_MS, "us")
