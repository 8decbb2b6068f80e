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
followed by ``"\\n"``). Lines are hashed in batches when the digest is asked for (SHA-256 of
the concatenation is the same whether it is fed line by line or in one block), so appending
costs no hashing and asking often stays cheap (only the lines since the last ask are hashed).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any

__all__ = ["Journal", "canonical_json"]

_RESERVED = frozenset({"seq", "kind", "time_ms"})
_HASH_BATCH = 4096  # lines joined per hash update: bounds the temporary block
_BEFORE_ALL = -(1 << 63)


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

    __slots__ = ("_lines", "_kinds", "_writer_counts", "_hash", "_hashed", "_last_time_ms")

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._kinds: Counter[str] = Counter()
        self._writer_counts: dict[str, list[int]] = {}  # kinds written through `line_writer`
        self._hash = hashlib.sha256()
        self._hashed = 0  # lines already fed to the hash
        self._last_time_ms = _BEFORE_ALL

    def append(self, kind: str, time_ms: int, /, **fields: Any) -> int:
        """Record one event; returns its sequence number (1, 2, ...)."""
        if type(kind) is not str or not kind:
            raise TypeError(f"journal kind must be a non-empty str, got {kind!r}")
        if type(time_ms) is not int:
            raise TypeError(f"journal time_ms must be an int, got {type(time_ms).__name__}")
        if time_ms < self._last_time_ms:
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

        For records rendered by the caller, byte-identical to what `append` would write
        (tests check that).
        """
        if time_ms < self._last_time_ms:
            raise ValueError(f"journal time went backwards: {time_ms} < {self._last_time_ms} ({kind})")
        if not line.isascii():
            raise ValueError(f"journal line is not ASCII ({kind})")
        self._lines.append(line)
        self._kinds[kind] += 1
        self._last_time_ms = time_ms

    def line_writer(self, kind: str) -> Callable[[int, str, str], None]:
        """The fast path for one kind of fixed-shape record (ticks): ``write(time_ms, head,
        tail)`` appends the line ``head + str(seq) + tail``.

        Canonical keys are sorted, so ``"seq"`` sits inside the line: the caller renders
        what comes before and after its value, byte-identical to what `append` would write
        (tests check that), ASCII only; the journal supplies the sequence number, the time
        check and the count.
        """
        lines = self._lines
        add = lines.append
        count = self._writer_counts.setdefault(kind, [0])

        def write(time_ms: int, head: str, tail: str) -> None:
            if time_ms < self._last_time_ms:
                raise ValueError(f"journal time went backwards: {time_ms} < {self._last_time_ms} ({kind})")
            self._last_time_ms = time_ms
            add(f"{head}{len(lines) + 1}{tail}")
            count[0] += 1

        return write

    def __len__(self) -> int:
        return len(self._lines)

    def lines(self) -> Iterator[str]:
        """The canonical JSON lines, in order, without line terminators."""
        return iter(self._lines)

    def digest(self) -> str:
        """Hex SHA-256 of all lines, each followed by "\\n" (the bytes `write` produces)."""
        lines, h = self._lines, self._hash
        while self._hashed < len(lines):
            upto = min(len(lines), self._hashed + _HASH_BATCH)
            h.update(("\n".join(lines[self._hashed:upto]) + "\n").encode("ascii"))
            self._hashed = upto
        return h.copy().hexdigest()

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
        counts = Counter(self._kinds)
        for kind, (n,) in self._writer_counts.items():
            counts[kind] += n
        return {k: counts[k] for k in sorted(counts) if counts[k]}

    def __repr__(self) -> str:
        return f"Journal(records={len(self._lines)}, digest={self.digest()[:12]}...)"
