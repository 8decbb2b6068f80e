"""Reading rule tables (TOML) shipped in `bridge/data/` or supplied by a broker.

The only file I/O of the domain package, done once at load time; the rules themselves
take the parsed, validated objects. Every problem names the file, the key and the fault.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from bridge.domain.errors import DomainError
from bridge.domain.money import to_decimal


class RuleDataError(DomainError):
    """A rule file is malformed: names the file, the key path and the problem."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        super().__init__("invalid_rule_data", f"{source}: {key}: {problem}")
        self.source = source
        self.key = key
        self.problem = problem


def read_rule_file(path: str | Path | None, packaged: str) -> tuple[dict[str, Any], str]:
    """Parse `path`, or the packaged file `bridge/data/<packaged>` when path is None."""
    if path is None:
        resource = resources.files("bridge").joinpath("data", *packaged.split("/"))
        source = f"bridge/data/{packaged}"
        text = resource.read_text(encoding="utf-8")
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise RuleDataError(source, "-", f"cannot read: {exc.strerror}") from None
    try:
        return tomllib.loads(text), source
    except tomllib.TOMLDecodeError as exc:
        raise RuleDataError(source, "-", f"not valid TOML: {exc}") from None


class Fields:
    """Typed access to one TOML table, with errors that name the key path."""

    def __init__(self, data: dict[str, Any], source: str, where: str) -> None:
        self.data = data
        self.source = source
        self.where = where

    def fail(self, key: str, problem: str) -> RuleDataError:
        return RuleDataError(self.source, f"{self.where}.{key}" if self.where else key, problem)

    def raw(self, key: str, default: Any = ...) -> Any:
        if key in self.data:
            return self.data[key]
        if default is ...:
            raise self.fail(key, "missing")
        return default

    def text(self, key: str, default: Any = ...) -> str:
        value = self.raw(key, default)
        if not isinstance(value, str) or not value:
            raise self.fail(key, f"expected a non-empty string, got {value!r}")
        return value

    def integer(self, key: str, default: Any = ..., *, low: int | None = None, high: int | None = None) -> int:
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"expected an integer, got {value!r}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise self.fail(key, f"{value} is outside [{low}, {high}]")
        return value

    def decimal(self, key: str, default: Any = ..., *, positive: bool = False, non_negative: bool = False) -> Decimal:
        value = self.raw(key, default)
        if isinstance(value, float):  # TOML floats are binary: insist on strings for exact values
            raise self.fail(key, f"write exact numbers as strings, e.g. \"{value}\"")
        try:
            number = to_decimal(value, key)
        except DomainError as exc:
            raise self.fail(key, exc.detail) from None
        if positive and number <= 0:
            raise self.fail(key, f"must be positive, got {number}")
        if non_negative and number < 0:
            raise self.fail(key, f"must not be negative, got {number}")
        return number

    def boolean(self, key: str, default: Any = ...) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {value!r}")
        return value

    def check_keys(self, allowed: set[str] | frozenset[str]) -> None:
        for key in self.data:
            if key not in allowed:
                raise self.fail(key, f"unknown key (allowed: {', '.join(sorted(allowed))})")
