"""Validation's fast path: one function per message type, generated once from the schema.

`validate` checks a frame in a fixed order so a bad frame always gets the same error; a good
frame pays for that order (an index dict, a kind dispatch per field, a `to_decimal` per number,
a values dict, a `**` call). Almost every frame is good, and a good frame has exactly one
reading, so the fast path only has to accept exactly the frames `validate` accepts and build
the same message; anything it is unsure of it answers None, and `validate` then says why
(tests/protocol/test_protocol_fast_path.py pins both, for random frames and values).

Example: a `position_opened` (15 fields, 5 numbers) costs ~3.5 us here, ~10 us in `validate`.
"""

from __future__ import annotations

import dataclasses
import keyword
import math
from decimal import Decimal
from typing import Any, Callable

from bridge.protocol.errors import ProtocolError
from bridge.protocol.messages import MESSAGE_CLASSES, Message
from bridge.protocol.schema import (
    ENVELOPE,
    LIST_KINDS,
    MAX_VOLUME,
    MIN_MAGNITUDE,
    NUMBER_KINDS,
    SCHEMA,
    SUPPORTED_VERSIONS,
    Direction,
    FieldSpec,
    Kind,
    MessageSpec,
)
from bridge.protocol.validate import _MAX_EXACT_INT, _ZERO, convert

Builder = Callable[[dict], Any]  # the fields of one frame -> its message, or None (ask `validate`)


def _number_code(spec: FieldSpec, var: str) -> list[str]:
    """`convert`'s number checks as one or two comparisons: for d != 0 the bounds fold into
    lo <= d <= hi (|d| for the signed kind), and 0 passes unless the kind is VOLUME."""
    low, high = spec.number_range()
    kind = spec.kind
    if kind in (Kind.VOLUME, Kind.VOLUME0):
        high = min(high, MAX_VOLUME)
    zero_ok = kind is not Kind.VOLUME and low <= 0 <= high
    lines = [f"t = type({var})",
             "if t is float:",
             f"    if not isfinite({var}): return None",
             f"    {var} = Decimal(repr({var}))",
             "elif t is int:",
             f"    if {var} > MAX_EXACT or {var} < -MAX_EXACT: return None",
             f"    {var} = Decimal({var})",
             "else: return None"]
    if kind is Kind.MONEY:
        assert low == -high  # symmetric: the check reads |d|
        check = f"MIN_MAG <= abs({var}) <= {_const(high)}"
    else:
        assert low >= 0
        check = f"{_const(max(low, MIN_MAGNITUDE))} <= {var} <= {_const(high)}"
    lines += [f"if {var}:",
              f"    if not {check}: return None",
              # to_decimal reads -0.0 as 0 (abs keeps its exponent: "0.0")
              f"else:" + ("" if zero_ok else " return None"),
              ] + ([f"    {var} = abs({var})"] if zero_ok else [])
    return lines


_CONSTS: dict[str, Any] = {}


def _const(value: Any) -> str:
    name = f"C{len(_CONSTS)}"
    _CONSTS[name] = value
    return name


def _field_code(spec: FieldSpec, var: str) -> list[str]:
    """Code that leaves the converted value in `var`, or returns None."""
    kind = spec.kind
    if kind is Kind.UINT or kind is Kind.INT:
        low, high = spec.int_range()
        if kind is Kind.UINT:
            low = max(low, 0)
        step = f" or {var} % {spec.step}" if spec.step else ""
        return [f"if type({var}) is not int or not {low} <= {var} <= {high}{step}: return None"]
    if kind in NUMBER_KINDS:
        return _number_code(spec, var)
    if kind is Kind.BOOL:
        return [f"if type({var}) is not bool: return None"]
    if kind is Kind.TEXT:
        return [f"if type({var}) is not str: return None"]
    if kind is Kind.NAME:
        return [f"if type({var}) is not str or not {var}: return None"]
    if kind is Kind.ENUM:
        return [f"if type({var}) is not str or {var} not in {_const(frozenset(spec.choices))}: return None"]
    assert kind in LIST_KINDS
    return [f"{var} = convert({_const(spec)}, {var}, {spec.name!r})",  # arrays: the generic path's
            f"if type({var}) is ProtocolError: return None"]


def _absent(spec: FieldSpec) -> Any:
    """What `validate._fields` reads an absent optional field as."""
    return () if spec.kind in LIST_KINDS else _ZERO if spec.kind in NUMBER_KINDS else \
        spec.choices[0] if spec.choices else 0


def _construction(cls: type, fields: tuple[FieldSpec, ...]) -> list[str]:
    """The message from f0, f1, ...: its slots set one by one, the frozen dataclass's own
    `__init__` (a Python-level setattr per field) only if the class has more to it."""
    slots = [cls.__dict__.get(f.name) for f in fields]
    plain = (not hasattr(cls, "__post_init__") and all(type(d).__name__ == "member_descriptor" for d in slots)
             and [f.name for f in dataclasses.fields(cls)] == [f.name for f in fields])
    if not plain:
        return [f"return {_const(cls)}(" + ", ".join(f"{f.name}=f{i}" for i, f in enumerate(fields)) + ")"]
    return ([f"o = new({_const(cls)})"] + [f"{_const(d.__set__)}(o, f{i})" for i, d in enumerate(slots)]
            + ["return o"])


def _builder(spec: MessageSpec) -> Builder | None:
    fields = ENVELOPE[2:] + spec.fields
    if any(keyword.iskeyword(f.name) or not f.name.isidentifier() for f in fields):
        return None  # a name the generated code cannot spell: `validate` does this type
    required = frozenset(("v", "type") + tuple(f.name for f in fields if not f.optional))
    allowed = frozenset(("v", "type") + tuple(f.name for f in fields))
    body = [f"if not {_const(required)} <= d.keys() <= {_const(allowed)}: return None",
            "v = d['v']",
            f"if type(v) is not int or v not in {_const(SUPPORTED_VERSIONS)}: return None"]
    for i, f in enumerate(fields):
        var = f"f{i}"
        if f.optional:
            body += [f"{var} = d.get({f.name!r}, MISSING)",
                     f"if {var} is MISSING: {var} = {_const(_absent(f))}",
                     "else:"] + ["    " + line for line in _field_code(f, var)]
        else:
            body += [f"{var} = d[{f.name!r}]"] + _field_code(f, var)
    body += _construction(MESSAGE_CLASSES[spec.type], fields)
    source = "def build(d):\n" + "".join(f"    {line}\n" for line in body)
    scope = {"new": object.__new__, "Decimal": Decimal, "isfinite": math.isfinite, "MAX_EXACT": _MAX_EXACT_INT,
             "MIN_MAG": MIN_MAGNITUDE, "MISSING": _MISSING, "convert": convert, "ProtocolError": ProtocolError,
             **_CONSTS}
    exec(compile(source, f"<fast path of {spec.type}>", "exec"), scope)  # noqa: S102 - our schema's code
    return scope["build"]  # type: ignore[no-any-return]


_MISSING = object()
_BUILDERS: dict[str, tuple[Builder, frozenset[Direction]]] = {
    type_: (b, spec.directions) for type_, spec in SCHEMA.items() if (b := _builder(spec)) is not None}


def fast_message(pairs: list, direction: Direction | None) -> Message | None:
    """The message of a decoded map (`Pairs`) if it is plainly valid, else None: then
    `validate` decides, with its error."""
    try:
        d = dict(pairs)
    except TypeError:  # an unhashable key
        return None
    if len(d) != len(pairs):  # a key twice
        return None
    type_ = d.get("type")
    if type(type_) is not str:
        return None
    entry = _BUILDERS.get(type_)
    if entry is None or (direction is not None and direction not in entry[1]):
        return None
    return entry[0](d)  # type: ignore[no-any-return]
