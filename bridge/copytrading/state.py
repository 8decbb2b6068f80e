"""Persisted state as plain JSON-able data (Decimals as strings, enums as values), and the
journal's compact form of the engine state (`pack` / `unpack`, below).

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

import msgpack

from bridge.copytrading.events import UNSET

STATE_VERSION = 1


def dump(value: object) -> object:
    """Engine state, events and records -> JSON/msgpack-able values (Decimal as exact text).

    Strict: an unknown type is an error, never silently stringified. Fields marked
    `derived` and fields left UNSET (an edit that changes nothing) are left out."""
    t = type(value)
    if t is str or t is int or t is bool or value is None:  # the common leaves first, by exact type
        return value
    if t is Decimal:
        return str(value)
    names = _STORED.get(t)
    if names is not None:  # a known dataclass: its str/int leaves and Decimals inline, no call per field
        return {name: v if (tv := type(v)) in _LEAVES else str(v) if tv is Decimal else dump(v)
                for name in names if (v := getattr(value, name)) is not UNSET}
    if t in _ENUMS:
        return value._value_  # type: ignore[attr-defined]  # = .value, without the enum property's call
    if t is dict:  # a record's `details` (2 000 per refused fan-out): text keys and leaves inline
        return {k if type(k) is str else str(k.value if isinstance(k, Enum) else k):
                v if type(v) in _LEAVES else dump(v) for k, v in value.items()}  # type: ignore[attr-defined]
    if isinstance(value, (bool, int, str)) and not isinstance(value, Enum):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        _ENUMS.add(t)
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: dump(v) for name in stored_fields(t) if (v := getattr(value, name)) is not UNSET}
    if isinstance(value, dict):
        return {str(k.value if isinstance(k, Enum) else k): dump(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [dump(v) for v in value]
    raise TypeError(f"cannot persist {type(value).__name__}")


_LEAVES = frozenset({str, int, bool, type(None)})
_ENUMS: set[type] = set()  # the Enum classes met so far (a handful)
_STORED: dict[type, tuple[str, ...]] = {}  # dataclass -> its stored (not derived) field names, in order


def stored_fields(cls: type) -> tuple[str, ...]:
    names = _STORED[cls] = tuple(f.name for f in dataclasses.fields(cls) if not f.metadata.get("derived"))
    return names


def _enum(cls: type[Enum], value: object) -> Enum:
    """cls(value) without EnumMeta.__call__ (a tenth of the cost; 100 000s per recovery)."""
    try:
        return cls._value2member_map_[value]
    except (KeyError, TypeError):
        return cls(value)


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
        return _enum(hint, data)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        # a field added since the state was written is left out: its default fills it
        return hint(**{name: load(h, data[name])  # type: ignore[index]
                       for name, h in _stored(hint) if name in data})  # type: ignore[operator]
    raise TypeError(f"cannot restore {hint!r}")


@lru_cache(maxsize=None)
def _stored(cls: type) -> tuple[tuple[str, object], ...]:
    """(name, hint) of the fields `load` restores (replay decodes every event through here)."""
    hints = _hints(cls)
    return tuple((f.name, hints[f.name]) for f in _fields(cls))


# ---------------------------------------------------------------------- compact snapshots
# The journal's snapshots: msgpack, each dataclass as a positional array. The field names of
# every class are written once, in a layout header, so a snapshot of an older layout still
# loads by name (a new field with a default is filled in) and a mismatch is a clear error.
# Encoders and decoders are generated per class from the type hints: no reflection per value.

PACK_MAGIC = "mtbridge-state"
PACK_VERSION = 2  # 1 = the JSON maps of `dump` (still readable through `load`)


class StateFormatError(ValueError):
    """A snapshot this code cannot read (unknown version or layout): never guessed at."""


def _fields(cls: type) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if f.init and not f.metadata.get("derived")]


def _optional(hint: object) -> object | None:
    """X for `X | None`, else None."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        (real,) = [a for a in args if a is not type(None)]
        return real
    return None


class _Converters:
    """Converters generated per type hint for one pack or unpack; None = the value as is."""

    def __init__(self) -> None:
        self.cache: dict[object, typing.Callable[[object], object] | None] = {}

    def get(self, hint: object) -> typing.Callable[[object], object] | None:
        if hint not in self.cache:
            self.cache[hint] = self._make(hint)
        return self.cache[hint]

    def _make(self, hint: object) -> typing.Callable[[object], object] | None:
        real = _optional(hint)
        if real is not None:
            fn = self.get(real)
            return None if fn is None else (lambda v: None if v is None else fn(v))  # type: ignore[misc]
        if typing.get_origin(hint) is dict:
            kt, vt = typing.get_args(hint)
            kf, vf = self._key(kt), self.get(vt)
            if kf is None and vf is None:
                return None
            kf, vf = kf or (lambda k: k), vf or (lambda v: v)
            return lambda d: {kf(k): vf(v) for k, v in d.items()}  # type: ignore[union-attr]
        return self._other(hint)

    def _key(self, hint: object) -> typing.Callable[[object], object] | None:
        raise NotImplementedError

    def _other(self, hint: object) -> typing.Callable[[object], object] | None:
        raise NotImplementedError


class _Encoders(_Converters):
    """Encoders generated for one `pack`. Strings and enum values in fields go through one
    table (symbols, groups, account types, sides, states repeat across thousands of copies):
    each is written once and referred to by its index."""

    def __init__(self) -> None:
        super().__init__()
        self.strings: dict[str, int] = {}

    def intern(self, text: str) -> int:
        index = self.strings.get(text)
        if index is None:
            index = self.strings[text] = len(self.strings)
        return index

    def _key(self, hint: object) -> typing.Callable[[object], object] | None:
        """Dict keys pack as themselves (ints, unique names), enums as their values."""
        if isinstance(hint, type) and issubclass(hint, Enum):
            return lambda k: k.value  # type: ignore[attr-defined]
        return None

    def _other(self, hint: object) -> typing.Callable[[object], object] | None:
        origin = typing.get_origin(hint)
        if origin in (list, tuple):
            args = [a for a in typing.get_args(hint) if a is not Ellipsis]
            encs = [self.get(a) for a in args]
            if all(e is None for e in encs):
                return list  # type: ignore[return-value]
            if len(set(args)) == 1:
                e = encs[0]
                return lambda xs: [e(x) for x in xs]  # type: ignore[union-attr,misc]
            raise TypeError(f"cannot pack {hint!r}")
        if hint is Decimal:
            return str
        if hint is str:
            return self.intern  # type: ignore[return-value]
        if hint in (int, bool) or hint is object:
            return None
        if isinstance(hint, type) and issubclass(hint, Enum):
            intern = self.intern
            return lambda v: intern(v.value)  # type: ignore[attr-defined]
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            hints, ns = _hints(hint), {}
            parts = [_apply(self.get(hints[f.name]), f"v.{f.name}", ns, f"e{i}") for i, f in enumerate(_fields(hint))]
            return _compile("v", f"[{', '.join(parts)}]", ns)
        raise TypeError(f"cannot pack {hint!r}")


def _apply(fn: typing.Callable[[object], object] | None, arg: str, ns: dict, name: str) -> str:
    """Source text of `fn(arg)`, fn bound in `ns` as `name` (just `arg` when fn is None)."""
    if fn is None:
        return arg
    ns[name] = fn
    return f"{name}({arg})"


def _compile(param: str, expr: str, ns: dict) -> typing.Callable[[object], object]:
    """`lambda param: expr`, generated from field names: no reflection per value."""
    exec(f"def f({param}):\n    return {expr}", ns)  # noqa: S102 - identifiers come from dataclass fields
    return ns["f"]  # type: ignore[no-any-return]


def _classes(hint: object, out: dict[str, type]) -> dict[str, type]:
    """Every dataclass reachable from `hint`, by qualified name."""
    for arg in typing.get_args(hint):
        _classes(arg, out)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint) and hint.__qualname__ not in out:
        out[hint.__qualname__] = hint
        for f in _fields(hint):
            _classes(_hints(hint)[f.name], out)
    return out


def layout(root: type) -> dict[str, list[str]]:
    """The stored field names of every class under `root` (the header of a packed snapshot)."""
    return {name: [f.name for f in _fields(cls)] for name, cls in sorted(_classes(root, {}).items())}


def pack(root: object) -> bytes:
    """A dataclass tree -> compact msgpack: [magic, version, layout, strings, body]."""
    cls, encoders = type(root), _Encoders()
    body = encoders.get(cls)(root)  # type: ignore[misc]
    return msgpack.packb([PACK_MAGIC, PACK_VERSION, layout(cls), list(encoders.strings), body],  # type: ignore[no-any-return]
                         use_bin_type=True)


def unpack(root: type, data: bytes) -> object:
    """The inverse of `pack`. Refuses another version, or a layout with fields this code does
    not know or lacks required ones (StateFormatError): a snapshot is never half understood."""
    try:
        packed = msgpack.unpackb(data, raw=False, strict_map_key=False, use_list=True)
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise StateFormatError(f"not a packed engine state: {exc}") from None
    if not isinstance(packed, list) or len(packed) < 2 or packed[0] != PACK_MAGIC:
        raise StateFormatError(f"not a packed engine state (magic missing: {data[:24]!r})")
    if packed[1] != PACK_VERSION:
        raise StateFormatError(f"engine state version {packed[1]!r} is not {PACK_VERSION}: "
                               f"written by another release; recover from the journal's events instead")
    _, _, stored, strings, body = packed
    return _Decoders(stored, strings).of(root)(body)


class _DecimalMemo(dict):
    """Text -> Decimal, each text parsed once per snapshot (Decimals are immutable: sharing is safe)."""

    def __missing__(self, text: str) -> Decimal:
        value = self[text] = Decimal(text)
        return value


class _Decoders(_Converters):
    """Decoders generated for one stored layout (positions may differ from today's classes)."""

    def __init__(self, stored: dict[str, list[str]], strings: list[str]) -> None:
        super().__init__()
        self.stored = stored
        self.strings = strings
        self.decimals = _DecimalMemo()  # most amounts repeat (0, prices, volumes): parse each once

    def of(self, hint: object) -> typing.Callable[[object], object]:
        return self.get(hint) or (lambda v: v)

    def _key(self, hint: object) -> typing.Callable[[object], object] | None:
        if isinstance(hint, type) and issubclass(hint, Enum):
            return lambda k: _enum(hint, k)  # type: ignore[arg-type]
        return None

    def _other(self, hint: object) -> typing.Callable[[object], object] | None:
        origin = typing.get_origin(hint)
        if origin is list:
            (vt,) = typing.get_args(hint)
            vd = self.get(vt)
            return None if vd is None else (lambda xs: [vd(x) for x in xs])  # type: ignore[union-attr,misc]
        if origin is tuple:
            args = typing.get_args(hint)
            decs = [self.of(a) for a in args if a is not Ellipsis]
            if len(args) == 2 and args[1] is Ellipsis:
                return lambda xs: tuple(decs[0](x) for x in xs)  # type: ignore[union-attr]
            return lambda xs: tuple(d(x) for d, x in zip(decs, xs))  # type: ignore[call-overload]
        if hint is Decimal:
            return self.decimals.__getitem__
        if hint is str:
            return self.strings.__getitem__  # type: ignore[return-value]
        if hint in (int, bool) or hint is object:
            return None
        if isinstance(hint, type) and issubclass(hint, Enum):
            strings = self.strings
            return lambda i: _enum(hint, strings[i])  # type: ignore[arg-type,index]
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            return self._dataclass(hint)
        raise TypeError(f"cannot unpack {hint!r}")

    def _dataclass(self, cls: type) -> typing.Callable[[object], object]:
        names = self.stored.get(cls.__qualname__)
        if names is None:
            raise StateFormatError(f"packed state has no layout for {cls.__qualname__}")
        fields = {f.name: f for f in _fields(cls)}
        unknown = [n for n in names if n not in fields]
        if unknown:
            raise StateFormatError(f"packed {cls.__qualname__} has fields this code does not know: {unknown}")
        hints, ns, parts = _hints(cls), {"cls": cls}, []
        for name, f in fields.items():
            if name not in names:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    raise StateFormatError(f"packed {cls.__qualname__} lacks the required field {name!r}")
                continue  # a field added since: its default
            i = names.index(name)
            parts.append(f"{name}=" + _apply(self.get(hints[name]), f"a[{i}]", ns, f"d{i}"))
        return _compile("a", f"cls({', '.join(parts)})", ns)
