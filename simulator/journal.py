"""The simulation journal: one ordered, append-only, canonical record of a run.

Every record is a JSON object ``{"seq": n, "kind": ..., "time_ms": ..., **fields}`` serialised
canonically: sorted keys, compact separators (``,`` and ``:``), ASCII only. Values are
restricted so that the same run always gives byte-identical output:

- ``None``, ``bool``, ``int`` and ``str`` as themselves;
- ``Decimal`` as its exact string (``str(d)``, so ``Decimal("1.10")`` stays ``"1.10"``);
  NaN and infinities are refused (ValueError);
- enums as their ``value`` (canonicalised in turn);
- lists and tuples as JSON arrays; dicts with ``str`` keys as objects;
  dataclass instances as objects of their fields;
- ``float`` is refused with TypeError, so no binary float slips into a record; so are
  datetimes (log milliseconds instead), sets (no deterministic order) and anything else.

Sequence numbers start at 1. Records must be appended in non-decreasing ``time_ms`` order.
``digest()`` is the SHA-256 of exactly the bytes ``write()`` puts in the file (each line
followed by ``"\\n"``), kept up to date incrementally, so it is cheap to ask for often.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any

__all__ = ["Journal", "canonical_json"]

_RESERVED = frozenset({"seq", "kind", "time_ms"})


def _canon(value: Any, path: str) -> Any:
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return value
    if t is Decimal:
        if not value.is_finite():
            raise ValueError(f"journal field {path}: non-finite Decimal {value}")
        return str(value)
    if isinstance(value, Enum):
        return _canon(value.value, path)
    if isinstance(value, float):
        raise TypeError(f"journal field {path}: float {value!r} is not allowed; use Decimal")
    if isinstance(value, (datetime, date, time)):
        raise TypeError(f"journal field {path}: {t.__name__} is not allowed; use int milliseconds")
    if isinstance(value, Decimal):  # Decimal subclass
        return _canon(Decimal(value), path)
    if isinstance(value, str):  # str subclasses that are not enums
        return str(value)
    if isinstance(value, int):  # int subclasses that are not enums (bool is final)
        return int(value)
    if isinstance(value, (list, tuple)):
        return [_canon(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if type(k) is not str:
                raise TypeError(f"journal field {path}: dict key {k!r} is not a str")
            out[k] = _canon(v, f"{path}.{k}")
        return out
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _canon(getattr(value, f.name), f"{path}.{f.name}")
            for f in dataclasses.fields(value)
        }
    raise TypeError(f"journal field {path}: {t.__name__} is not allowed in a journal record")


def canonical_json(obj: dict[str, Any]) -> str:
    """The canonical one-line JSON of a record (values canonicalised as in the journal)."""
    return json.dumps(
        _canon(obj, "record"),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
        allow_nan=False,
    )


class Journal:
    """Append-only ordered record of a simulation, serialised canonically."""

    __slots__ = ("_lines", "_kinds", "_hash", "_last_time_ms")

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._kinds: Counter[str] = Counter()
        self._hash = hashlib.sha256()
        self._last_time_ms: int | None = None

    def append(self, kind: str, time_ms: int, /, **fields: Any) -> int:
        """Record one event; returns its sequence number (1, 2, ...)."""
        if type(kind) is not str or not kind:
            raise TypeError(f"journal kind must be a non-empty str, got {kind!r}")
        if type(time_ms) is not int:
            raise TypeError(f"journal time_ms must be an int, got {type(time_ms).__name__}")
        if self._last_time_ms is not None and time_ms < self._last_time_ms:
            raise ValueError(
                f"journal time went backwards: {time_ms} < {self._last_time_ms} ({kind})"
            )
        clash = _RESERVED.intersection(fields)
        if clash:
            raise ValueError(f"journal fields {sorted(clash)} are reserved")
        seq = self.next_seq
        record = {k: _canon(v, k) for k, v in fields.items()}
        record["seq"] = seq
        record["kind"] = kind
        record["time_ms"] = time_ms
        line = json.dumps(
            record, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
        )
        self.append_line(kind, time_ms, line)
        return seq

    @property
    def next_seq(self) -> int:
        """The sequence number the next record will carry."""
        return len(self._lines) + 1

    def append_line(self, kind: str, time_ms: int, line: str) -> None:
        """Append a record already rendered canonically, carrying `next_seq`.

        The fast path for fixed-shape records (ticks): the caller formats the line itself,
        byte-identical to what `append` would write (tests check that).
        """
        if self._last_time_ms is not None and time_ms < self._last_time_ms:
            raise ValueError(f"journal time went backwards: {time_ms} < {self._last_time_ms} ({kind})")
        self._lines.append(line)
        self._kinds[kind] += 1
        self._hash.update(line.encode("ascii") + b"\n")
        self._last_time_ms = time_ms

    def __len__(self) -> int:
        return len(self._lines)

    def lines(self) -> Iterator[str]:
        """The canonical JSON lines, in order, without line terminators."""
        return iter(self._lines)

    def digest(self) -> str:
        """Hex SHA-256 of all lines, each followed by "\\n" (the bytes `write` produces)."""
        return self._hash.copy().hexdigest()

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write the journal as a JSON-lines file (ASCII, "\\n" line endings)."""
        with open(path, "w", encoding="ascii", newline="\n") as fh:
            for line in self._lines:
                fh.write(line)
                fh.write("\n")

    def records(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The records as parsed dicts (Decimals come back as their strings)."""
        out = [json.loads(line) for line in self._lines]
        if kind is not None:
            out = [r for r in out if r["kind"] == kind]
        return out

    def counts(self) -> dict[str, int]:
        """Number of records per kind, sorted by kind."""
        return {k: self._kinds[k] for k in sorted(self._kinds)}

    def __repr__(self) -> str:
        return f"Journal(records={len(self._lines)}, digest={self.digest()[:12]}...)"
