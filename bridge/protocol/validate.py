"""Turn one decoded msgpack value into a message dataclass, or a ProtocolError.

Input is what `codec.unpack_frame` returns: maps arrive as `Pairs` (their key/value
pairs in wire order) so duplicate and non-string keys can be seen. Checks run in a
fixed order so a given bad frame always yields the same error (docs/protocol.md):
map -> keys -> v -> type -> direction -> missing fields (schema order) -> extra
fields (wire order) -> each value (schema order).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any, Callable

from bridge.domain.money import to_decimal  # the one float -> Decimal rule (shortest repr)
from bridge.protocol import errors as E
from bridge.protocol.errors import ProtocolError
from bridge.protocol.messages import MESSAGE_CLASSES, Message, Order, Position, Quote
from bridge.protocol.schema import (
    ENVELOPE,
    ITEM_RANGES,
    LIST_KINDS,
    MAX_ID,
    MAX_VOLUME,
    MIN_MAGNITUDE,
    NUMBER_KINDS,
    ORDER_FIELDS,
    POSITION_FIELDS,
    QUOTE_FIELDS,
    SCHEMA,
    SUPPORTED_VERSIONS,
    Direction,
    FieldSpec,
    Kind,
    MessageSpec,
)


class Pairs(list):  # type: ignore[type-arg]
    """A decoded msgpack map: its (key, value) pairs, in wire order."""


_ENVELOPE_BODY = ENVELOPE[2:]
_MAX_EXACT_INT = 2**53  # ints in number fields must survive float64, as on the encode side  # id, seq, ts, login: checked like body fields


def _short(value: Any) -> str:
    """A bounded repr; containers are named, never repr'd (they may nest 1000 deep)."""
    if type(value) not in (str, bytes, int, float, bool, type(None)):
        return f"<{_kind_name(value)}>"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _clip(name: str) -> str:
    """A peer-chosen key, bounded so the error (and its `error` reply) stays small."""
    return name if len(name) <= 64 else name[:61] + "..."


def _kind_name(value: Any) -> str:
    return {
        Pairs: "map", list: "array", str: "str", bytes: "bin", bool: "bool",
        int: "int", float: "float", type(None): "nil",
    }.get(type(value), "ext")  # fmt: skip


def _index(pairs: Pairs, path: str, ref_id: int) -> dict[str, Any] | ProtocolError:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if type(key) is not str:
            return ProtocolError(
                E.EXTRA_FIELD, f"map key {_short(key)} is not a string", path.rstrip("."), ref_id
            )
        if key in out:
            return ProtocolError(E.DUPLICATE_FIELD, f"key {_short(key)} appears twice", path + _clip(key), ref_id)
        out[key] = value
    return out


def convert(spec: FieldSpec, value: Any, path: str, ref_id: int = 0) -> Any:
    """Check one wire value against its spec; return the Python value or a ProtocolError."""
    kind = spec.kind

    def fail(code: str, detail: str) -> ProtocolError:
        return ProtocolError(code, detail, path, ref_id)

    def wrong(expected: str) -> ProtocolError:
        return fail(E.WRONG_TYPE, f"expected {expected}, got {_kind_name(value)}")

    if kind in NUMBER_KINDS:
        if type(value) is float:
            if not math.isfinite(value):
                return fail(E.NOT_FINITE, f"{value!r} is not a finite number")
        elif type(value) is not int:
            return wrong("float64 or int")
        elif abs(value) > _MAX_EXACT_INT:
            return fail(E.INEXACT_NUMBER, f"int {_short(value)} has no exact float64 form (|int| <= 2^53)")
        d = to_decimal(value)  # finite here; -0.0 reads as 0
        low, high = spec.number_range()
        if d < 0 and kind is not Kind.MONEY:
            return fail(E.NEGATIVE_VALUE, f"{_short(value)} is negative (range {spec.range_text()})")
        if kind is Kind.VOLUME and d == 0:
            return fail(E.ZERO_VOLUME, f"volume must be positive (range {spec.range_text()})")
        if kind in (Kind.VOLUME, Kind.VOLUME0) and d > MAX_VOLUME:
            return fail(E.VOLUME_TOO_LARGE, f"{_short(value)} lots > {MAX_VOLUME} (range {spec.range_text()})")
        if not low <= d <= high:
            return fail(E.OUT_OF_RANGE, f"{_short(value)} is outside {spec.range_text()}")
        if d and abs(d) < MIN_MAGNITUDE:
            return fail(E.OUT_OF_RANGE, f"{_short(value)} is closer to 0 than {MIN_MAGNITUDE:f} "
                                        f"(range {spec.range_text()})")
        return d
    if kind is Kind.UINT or kind is Kind.INT:
        if type(value) is not int:
            return wrong("int")
        if kind is Kind.UINT and value < 0:
            return fail(E.NEGATIVE_VALUE, f"{_short(value)} is negative (range {spec.range_text()})")
        low, high = spec.int_range()
        if not low <= value <= high:
            return fail(E.OUT_OF_RANGE, f"{_short(value)} is outside {spec.range_text()}")
        if spec.step and value % spec.step:
            return fail(E.OUT_OF_RANGE, f"{value} is not a multiple of {spec.step} (range {spec.range_text()})")
        return value
    if kind is Kind.BOOL:
        return value if type(value) is bool else wrong("bool")
    if kind in (Kind.TEXT, Kind.NAME, Kind.ENUM):
        if type(value) is not str:
            return wrong("str")
        if kind is Kind.NAME and not value:
            return fail(E.EMPTY_STRING, "must not be empty")
        if kind is Kind.ENUM and value not in spec.choices:
            return fail(E.BAD_ENUM, f"{_short(value)} not in {'|'.join(spec.choices)}")
        return value
    if kind in LIST_KINDS:
        if type(value) is not list:
            return wrong("array")
        if kind in ITEM_RANGES:
            low, high = ITEM_RANGES[kind]
            if not low <= len(value) <= high:
                return fail(E.OUT_OF_RANGE, f"{len(value)} items is outside {spec.range_text()}")
        items = []
        for i, item in enumerate(value):
            if kind is Kind.SYMBOLS:
                converted = convert(_SYMBOL, item, f"{path}[{i}]", ref_id)
            else:
                converted = _item(item, f"{path}[{i}]", ref_id, kind)
            if isinstance(converted, ProtocolError):
                return converted
            items.append(converted)
        return tuple(items)
    raise AssertionError(f"unhandled kind {kind}")  # schema bug, not input


_REFUSED = object()  # an acceptor's answer for a value `convert` must explain


def _acceptor(spec: FieldSpec) -> Callable[[Any], Any] | None:
    """`convert`'s common case for one field, specialised once from the schema: the value
    (converted) when it passes every check, else `_REFUSED`, and `convert` then says why with
    its exact error. Same values accepted, same results: a frame's fields cost a few
    comparisons each instead of `convert`'s kind dispatch. None for arrays (`convert` does them)."""
    kind = spec.kind
    if kind is Kind.UINT or kind is Kind.INT:
        low, high = spec.int_range()
        if kind is Kind.UINT:
            low = max(low, 0)
        step = spec.step

        def accept_int(value: Any) -> Any:
            if type(value) is int and low <= value <= high and not (step and value % step):
                return value
            return _REFUSED

        return accept_int
    if kind in NUMBER_KINDS:
        low_d, high_d = spec.number_range()
        signed = kind is Kind.MONEY
        positive = kind is Kind.VOLUME
        cap = MAX_VOLUME if kind in (Kind.VOLUME, Kind.VOLUME0) else None
        isfinite = math.isfinite

        def accept_number(value: Any) -> Any:
            t = type(value)
            if t is float:
                if not isfinite(value):
                    return _REFUSED
            elif t is not int or abs(value) > _MAX_EXACT_INT:
                return _REFUSED
            d = to_decimal(value)
            if ((d < 0 and not signed) or (positive and d == 0) or (cap is not None and d > cap)
                    or not low_d <= d <= high_d or (d and abs(d) < MIN_MAGNITUDE)):
                return _REFUSED
            return d

        return accept_number
    if kind is Kind.BOOL:
        return lambda value: value if type(value) is bool else _REFUSED
    if kind is Kind.TEXT:
        return lambda value: value if type(value) is str else _REFUSED
    if kind is Kind.NAME:
        return lambda value: value if type(value) is str and value else _REFUSED
    if kind is Kind.ENUM:
        choices = frozenset(spec.choices)
        return lambda value: value if type(value) is str and value in choices else _REFUSED
    return None


Compiled = tuple[tuple[FieldSpec, ...], frozenset[str], tuple[tuple[str, FieldSpec, Any], ...], frozenset[str]]


def _compile(specs: tuple[FieldSpec, ...], allowed: frozenset[str]) -> Compiled:
    """A map's specs, its allowed names, (name, spec, acceptor) per field in schema order, and
    its required names."""
    return (specs, allowed, tuple((spec.name, spec, _acceptor(spec)) for spec in specs),
            frozenset(spec.name for spec in specs if not spec.optional))


def _fields(fields: dict[str, Any], compiled: Compiled, path: str, ref_id: int) -> dict[str, Any] | ProtocolError:
    """Presence, then extras, then values: the shared core of maps at any depth."""
    specs, allowed, accepts, required = compiled
    names = fields.keys()
    # two set tests (C loops) for the common case; the loops below name the first offender,
    # in schema order (missing) then wire order (extra), only when there is one
    if not required <= names:
        for spec in specs:
            if spec.name not in fields and not spec.optional:
                return ProtocolError(E.MISSING_FIELD, "required field is absent", path + spec.name, ref_id)
    if not names <= allowed:
        for name in fields:
            if name not in allowed:
                return ProtocolError(E.EXTRA_FIELD, "field not in the schema", path + _clip(name), ref_id)
    out: dict[str, Any] = {}
    for name, spec, accept in accepts:
        if name not in fields:  # optional and absent
            out[name] = () if spec.kind in LIST_KINDS else _ZERO if spec.kind in NUMBER_KINDS else \
                spec.choices[0] if spec.choices else 0
            continue
        raw = fields[name]
        value = _REFUSED if accept is None else accept(raw)
        if value is _REFUSED:
            value = convert(spec, raw, path + name, ref_id)
            if isinstance(value, ProtocolError):
                return value
        out[name] = value
    return out


# the maps an array kind holds: their fields, names and dataclass
_ITEMS = {
    Kind.POSITIONS: (_compile(POSITION_FIELDS, frozenset(f.name for f in POSITION_FIELDS)), Position),
    Kind.QUOTES: (_compile(QUOTE_FIELDS, frozenset(f.name for f in QUOTE_FIELDS)), Quote),
    Kind.ORDERS: (_compile(ORDER_FIELDS, frozenset(f.name for f in ORDER_FIELDS)), Order),
}
_SYMBOL = FieldSpec("symbol", Kind.NAME, "one symbol of a SYMBOLS array")


def _body_specs(spec: MessageSpec) -> Compiled:
    """The envelope body + the type's fields, and every name a message of the type may carry."""
    specs = _ENVELOPE_BODY + spec.fields
    return _compile(specs, frozenset(("v", "type") + tuple(f.name for f in specs)))


# type -> its body specs: derived once from the schema, not per frame
_ZERO = Decimal(0)  # an absent optional number (position swap)
_BODY_SPECS = {type_: _body_specs(spec) for type_, spec in SCHEMA.items()}


def _item(item: Any, path: str, ref_id: int, kind: Kind) -> Position | Quote | Order | ProtocolError:
    """One map of a POSITIONS, QUOTES or ORDERS array."""
    if type(item) is not Pairs:
        return ProtocolError(E.WRONG_TYPE, f"expected map, got {_kind_name(item)}", path, ref_id)
    fields = _index(item, path + ".", ref_id)
    if isinstance(fields, ProtocolError):
        return fields
    compiled, cls = _ITEMS[kind]
    values = _fields(fields, compiled, path + ".", ref_id)
    return values if isinstance(values, ProtocolError) else cls(**values)


def validate(obj: Any, direction: Direction | None = None) -> Message | ProtocolError:
    """Validate one decoded frame value; `direction` refuses types not sent that way."""
    if type(obj) is not Pairs:
        return ProtocolError(E.NOT_A_MAP, f"frame holds a {_kind_name(obj)}, not a map")
    raw_id = next((value for key, value in obj if type(key) is str and key == "id"), None)
    ref_id = raw_id if type(raw_id) is int and 0 <= raw_id <= MAX_ID else 0  # echoed in `error`: in range
    fields = _index(obj, "", ref_id)
    if isinstance(fields, ProtocolError):
        return fields

    if "v" not in fields:
        return ProtocolError(E.MISSING_FIELD, "required field is absent", "v", ref_id)
    version = fields["v"]
    if type(version) is not int:
        return ProtocolError(E.WRONG_TYPE, f"expected int, got {_kind_name(version)}", "v", ref_id)
    if version not in SUPPORTED_VERSIONS:
        return ProtocolError(
            E.UNSUPPORTED_VERSION, f"version {version} not in {sorted(SUPPORTED_VERSIONS)}", "v", ref_id
        )
    if "type" not in fields:
        return ProtocolError(E.MISSING_FIELD, "required field is absent", "type", ref_id)
    type_ = fields["type"]
    if type(type_) is not str:
        return ProtocolError(E.WRONG_TYPE, f"expected str, got {_kind_name(type_)}", "type", ref_id)
    spec = SCHEMA.get(type_)
    if spec is None:
        return ProtocolError(E.UNKNOWN_TYPE, f"unknown message type {_short(type_)}", "type", ref_id)
    if direction is not None and direction not in spec.directions:
        return ProtocolError(
            E.WRONG_DIRECTION, f"{type_!r} is not sent {direction.value.replace('_', ' ')}", "type", ref_id
        )

    values = _fields(fields, _BODY_SPECS[type_], "", ref_id)
    if isinstance(values, ProtocolError):
        return values
    return MESSAGE_CLASSES[type_](**values)  # type: ignore[no-any-return]
