"""Persisted state as plain JSON-able data (Decimals as strings, enums as values).

`dump` walks the engine's internal dataclasses by their fields; `load` rebuilds them from the
type hints. Dict keys become strings (JSON) and are converted back from the hint. Fields whose
metadata says `derived` are not stored (rebuilt by the engine, e.g. margin books).
"""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from decimal import Decimal
from enum import Enum
from functools import lru_cache

from bridge.copytrading.events import UNSET

STATE_VERSION = 1


def dump(value: object) -> object:
    """Engine state, events and records -> JSON/msgpack-able values (Decimal as exact text).

    Strict: an unknown type is an error, never silently stringified. Fields marked
    `derived` and fields left UNSET (an edit that changes nothing) are left out."""
    if value is None or isinstance(value, (bool, int, str)) and not isinstance(value, Enum):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value):
        return {f.name: dump(getattr(value, f.name)) for f in dataclasses.fields(value)
                if not f.metadata.get("derived") and getattr(value, f.name) is not UNSET}
    if isinstance(value, dict):
        return {str(k.value if isinstance(k, Enum) else k): dump(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [dump(v) for v in value]
    raise TypeError(f"cannot persist {type(value).__name__}")


@lru_cache(maxsize=None)
def _hints(cls: type) -> dict[str, object]:
    return typing.get_type_hints(cls, vars(sys.modules[cls.__module__]))


def load(hint: object, data: object) -> object:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if data is None and type(None) in args:
            return None
        (real,) = [a for a in args if a is not type(None)]
        return load(real, data)
    if origin is dict:
        kt, vt = typing.get_args(hint)
        return {load(kt, k): load(vt, v) for k, v in data.items()}  # type: ignore[union-attr]
    if origin is list:
        (vt,) = typing.get_args(hint)
        return [load(vt, v) for v in data]  # type: ignore[union-attr]
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(load(args[0], v) for v in data)  # type: ignore[union-attr]
        return tuple(load(a, v) for a, v in zip(args, data))  # type: ignore[arg-type]
    if hint is Decimal:
        return Decimal(data)  # type: ignore[arg-type]
    if hint is int:
        return int(data)  # type: ignore[arg-type]
    if hint in (str, bool) or hint is object:
        return data
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint(data)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        hints = _hints(hint)
        kwargs = {f.name: load(hints[f.name], data[f.name])  # type: ignore[index]
                  for f in dataclasses.fields(hint) if f.init and not f.metadata.get("derived")}
        return hint(**kwargs)
    raise TypeError(f"cannot restore {hint!r}")
