"""Reading a scenario file: typed access to its TOML tables, with errors that name the file,
the line and the key path (`ScenarioError`). The scenario's own rules are in scenario.py."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from bridge.domain.errors import DomainError
from bridge.domain.money import to_decimal
from simulator.clock import datetime_to_ms
from simulator.durations import parse_duration


class ScenarioError(ValueError):
    """A bad scenario: file, optional line, key path and problem, on one line."""

    def __init__(self, path: str, key: str, problem: str, line: int | None = None) -> None:
        self.path, self.key, self.problem, self.line = path, key, problem, line
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {key}: {problem}" if key else f"{where}: {problem}")


class _Ctx:
    """The file being parsed: its path, its lines (to locate keys) and the start time."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()
        self.start_ms = 0

    def line_of(self, key: str) -> int | None:
        """Best effort: the line of `key` ("orders[2].volume", "symbols.EURUSD.x")."""
        parts = re.findall(r"[^.\[\]]+|\[\d+\]", key)
        table: list[str] = []
        index = None
        leaf = None
        for i, p in enumerate(parts):
            if p.startswith("["):
                index = int(p[1:-1])
                continue
            if i == len(parts) - 1 and i > 0:
                leaf = p
            else:
                table.append(p)
        if not table:
            return None
        header = ".".join(table)
        if index is not None:
            pat = re.compile(r"^\s*\[\[\s*" + re.escape(header) + r"\s*\]\]")
        else:
            pat = re.compile(r"^\s*\[\s*" + re.escape(header) + r"\s*\]")
        seen = -1
        start = None
        for n, line in enumerate(self.lines):
            if pat.match(line):
                seen += 1
                if index is None or seen == index:
                    start = n
                    break
        if start is None:
            return None
        if leaf is None:
            return start + 1
        kpat = re.compile(r"^\s*\"?" + re.escape(leaf) + r"\"?\s*=")
        for n in range(start + 1, len(self.lines)):
            line = self.lines[n]
            if re.match(r"^\s*\[", line):
                break
            if kpat.match(line):
                return n + 1
        return start + 1

    def fail(self, key: str, problem: str) -> ScenarioError:
        return ScenarioError(self.path, key, problem, self.line_of(key))


class _T:
    """Typed access to one table; every error names the key path."""

    def __init__(self, ctx: _Ctx, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise ctx.fail(where, f"expected a table, got {type(data).__name__}")
        self.ctx, self.data, self.where = ctx, data, where

    def key(self, k: str) -> str:
        return f"{self.where}.{k}" if self.where else k

    def fail(self, k: str, problem: str) -> ScenarioError:
        return self.ctx.fail(self.key(k), problem)

    def check(self, allowed: set[str] | frozenset[str]) -> None:
        for k in self.data:
            if k not in allowed:
                raise self.fail(k, f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def has(self, k: str) -> bool:
        return k in self.data

    def raw(self, k: str, default: Any = ...) -> Any:
        if k in self.data:
            return self.data[k]
        if default is ...:
            raise self.fail(k, "missing")
        return default

    def text(self, k: str, default: Any = ...) -> Any:
        v = self.raw(k, default)
        if v is default and default is not ...:
            return v
        if not isinstance(v, str) or not v.strip():
            raise self.fail(k, f"expected a non-empty string, got {v!r}")
        return v.strip()

    def integer(self, k: str, default: Any = ..., low: int | None = None) -> Any:
        v = self.raw(k, default)
        if v is default and default is not ...:
            return v
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.fail(k, f"expected an integer, got {v!r}")
        if low is not None and v < low:
            raise self.fail(k, f"must be at least {low}, got {v}")
        return v

    def boolean(self, k: str, default: bool = False) -> bool:
        v = self.raw(k, default)
        if not isinstance(v, bool):
            raise self.fail(k, f"expected true or false, got {v!r}")
        return v

    def decimal(self, k: str, default: Any = ..., *, positive: bool = False,
                non_negative: bool = False) -> Any:
        v = self.raw(k, default)
        if v is default and default is not ...:
            return v
        if isinstance(v, float):
            raise self.fail(k, f"write exact numbers as strings, e.g. \"{v}\"")
        try:
            d = to_decimal(v, k)
        except DomainError:
            raise self.fail(k, f"{v!r} is not a number") from None
        if positive and d <= 0:
            raise self.fail(k, f"must be positive, got {d}")
        if non_negative and d < 0:
            raise self.fail(k, f"must not be negative, got {d}")
        return d

    def time(self, k: str, default: Any = ...) -> Any:
        v = self.raw(k, default)
        if v is default and default is not ...:
            return v
        try:
            return _time_ms(v, self.ctx.start_ms)
        except ValueError as exc:
            raise self.fail(k, str(exc)) from None

    def duration(self, k: str, default: Any = ...) -> Any:
        v = self.raw(k, default)
        if v is default and default is not ...:
            return v
        try:
            return parse_duration(v)
        except ValueError as exc:
            raise self.fail(k, str(exc)) from None


def _time_ms(value: Any, start_ms: int) -> int:
    """A TOML datetime, an ISO-8601 string (naive = UTC), or "+DURATION" after the start."""
    if isinstance(value, datetime):
        dt = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
        return datetime_to_ms(dt)
    if isinstance(value, date):
        return datetime_to_ms(datetime(value.year, value.month, value.day, tzinfo=timezone.utc))
    if isinstance(value, str):
        s = value.strip()
        if s.startswith("+"):
            return start_ms + parse_duration(s[1:])
        try:
            dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"bad time {value!r}: expected a datetime like 2024-01-02T09:00:00Z "
                             f"or an offset like \"+2d3h\"") from None
        return _time_ms(dt, start_ms)
    raise ValueError(f"bad time {value!r}: expected a datetime or an offset like \"+2h\"")
