"""Issue 12 item 8: "Every numeric input gets a range check and a one-line error ... (and so
does every field of the wire protocol and the admin API: test huge, tiny and signalling values
there too)".

Every int and number field of the schema (the envelope, every message body, the position map),
taken from the schema itself so a field added later is covered without touching this file,
against huge, tiny, negative, NaN, infinite, signalling-NaN, 1e400, 2^64, -2^63-1, -0 and bool
values. Each is either inside the field's documented range (`FieldSpec.range_text`, the text
docs/protocol.md shows) and decodes to that value, or is refused with the field's path and,
for a value of the right type, its range in the detail; the validator never raises.
"""

from __future__ import annotations

import math
import re
import struct
from decimal import Decimal
from typing import Any

import pytest
from protocol_samples import DOCS_PATH, pack, sample

from bridge.protocol import ProtocolError, decode
from bridge.protocol.codec import unpack_frame
from bridge.protocol.schema import (
    ENVELOPE,
    INT_KINDS,
    MIN_MAGNITUDE,
    NUMBER_KINDS,
    POSITION_FIELDS,
    QUOTE_FIELDS,
    SCHEMA,
    FieldSpec,
    Kind,
)
from bridge.protocol.validate import Pairs, validate


def numeric_fields() -> list[tuple[str, str, FieldSpec]]:
    """(message type, field path, spec) of every int and number field, from the schema."""
    out = []
    for type_, spec in SCHEMA.items():
        for f in ENVELOPE[2:] + spec.fields:
            if f.kind in INT_KINDS or f.kind in NUMBER_KINDS:
                out.append((type_, f.name, f))
    out += [("hello", f"positions[1].{f.name}", f) for f in POSITION_FIELDS
            if f.kind in INT_KINDS or f.kind in NUMBER_KINDS]
    out += [("quotes", f"quotes[1].{f.name}", f) for f in QUOTE_FIELDS
            if f.kind in INT_KINDS or f.kind in NUMBER_KINDS]
    return out


def _array_path(path: str) -> tuple[str, int, str] | None:
    """"positions[1].price" -> ("positions", 1, "price"); None for a body field."""
    m = re.fullmatch(r"(\w+)\[(\d+)\]\.(\w+)", path)
    return (m[1], int(m[2]), m[3]) if m else None


FIELDS = numeric_fields()
SNAN = struct.unpack(">d", bytes.fromhex("7ff0000000000001"))[0]  # a signalling NaN's bits


def values(spec: FieldSpec) -> list[tuple[str, Any]]:
    """The hostile values, named; `huge`/`below` sit just outside an int field's own range."""
    common = [("nan", math.nan), ("inf", math.inf), ("-inf", -math.inf), ("snan", SNAN), ("1e400 text", "1e400"),
              ("snan text", "sNaN"), ("-0 text", "-0"), ("nan text", "NaN"), ("2^64", 2**64),
              ("-2^63-1", -(2**63) - 1), ("10^400", 10**400), ("true", True), ("false", False),
              ("1e308", 1e308), ("-1e308", -1e308), ("5e-324", 5e-324), ("-5e-324", -5e-324), ("1e-9", 1e-9),
              ("-0.0", -0.0), ("-1", -1), ("-1.0", -1.0), ("2^53+1", 2**53 + 1)]
    if spec.kind in INT_KINDS:
        low, high = spec.int_range()
        common += [("huge", high + 1), ("below", low - 1), ("high", high), ("low", low)]
    return common


def inside(spec: FieldSpec, value: Any) -> bool:
    """Is `value` a wire value of the field's type inside its documented range?"""
    if spec.kind in INT_KINDS:
        if type(value) is not int:
            return False
        low, high = spec.int_range()
        return low <= value <= high and not (spec.step and value % spec.step)
    if type(value) not in (int, float) or (type(value) is float and not math.isfinite(value)):
        return False
    if type(value) is int and abs(value) > 2**53:
        return False
    d = Decimal(repr(value)) if type(value) is float else Decimal(value)
    low, high = spec.number_range()
    if spec.kind is Kind.VOLUME and d == 0:
        return False
    return low <= d <= high and (d == 0 or abs(d) >= MIN_MAGNITUDE)


def with_value(type_: str, path: str, value: Any) -> Pairs:
    """The valid sample of `type_` as the decoder sees it (`Pairs`), with `path` set to `value`."""
    tree = unpack_frame(pack(sample(type_)))
    assert isinstance(tree, Pairs)
    target, name = tree, path
    if _array_path(path):
        array, index, name = _array_path(path)
        target = next(v for k, v in tree if k == array)[index]
    for i, (key, _old) in enumerate(target):
        if key == name:
            target[i] = (key, value)
            return tree
    target.append((name, value))  # an optional field the sample leaves out (it is 0 there)
    return tree


def packable(value: Any) -> bool:
    return not (type(value) is int and not -(2**63) <= value <= 2**64 - 1)


CASES = [(type_, path, spec, name, value) for type_, path, spec in FIELDS for name, value in values(spec)]


@pytest.mark.parametrize(("type_", "path", "spec", "name", "value"), CASES,
                         ids=[f"{t}.{p}={n}" for t, p, _, n, _ in CASES])
def test_every_numeric_field_refuses_what_is_outside_its_range(type_, path, spec, name, value) -> None:
    result = validate(with_value(type_, path, value))
    if packable(value):  # the same answer from the bytes
        again = decode(pack(_plain(with_value(type_, path, value))))
        assert again == result or (isinstance(again, ProtocolError) and isinstance(result, ProtocolError)
                                   and (again.code, again.field) == (result.code, result.field))
    if inside(spec, value):
        assert not isinstance(result, ProtocolError), result
        got = _field(result, path)
        assert got == value and str(got) != "-0" and not str(got).startswith("-0E")  # -0.0 reads as plain 0
        return
    assert isinstance(result, ProtocolError), f"{path}={value!r} accepted: {result}"
    assert result.field == path
    assert "\n" not in result.detail and len(result.detail) <= 200
    right_type = (type(value) is int) if spec.kind in INT_KINDS else (type(value) in (int, float))
    if right_type and result.code not in ("not_finite", "inexact_number"):
        assert result.code in ("out_of_range", "negative_value", "zero_volume", "volume_too_large")
        assert spec.range_text() in result.detail, result.detail  # names the bound
    elif right_type and result.code == "inexact_number":
        assert "2^53" in result.detail
    elif not right_type:
        assert result.code == "wrong_type"
    else:
        assert result.code == "not_finite" and spec.kind in NUMBER_KINDS


def _plain(tree: Any) -> Any:
    if isinstance(tree, Pairs):
        return {k: _plain(v) for k, v in tree}
    if isinstance(tree, list):
        return [_plain(v) for v in tree]
    return tree


def _field(message: Any, path: str) -> Any:
    if _array_path(path):
        array, index, name = _array_path(path)
        return getattr(getattr(message, array)[index], name)
    return getattr(message, path)


def test_the_sweep_covers_every_numeric_field_of_every_message() -> None:
    paths = {(t, p) for t, p, _ in FIELDS}
    assert ("hello", "positions[1].magic") in paths and ("open", "expires") in paths
    assert {t for t, _ in paths} == set(SCHEMA)  # the envelope reaches every type
    assert len(CASES) > 900


def test_every_int_field_states_its_range() -> None:
    for _, path, spec in FIELDS:
        assert spec.range_text(), path
        if spec.kind in INT_KINDS:
            low, high = spec.int_range()
            assert -(2**63) <= low < high <= 2**64 - 1, path


def doc_section(docs: str, type_: str, path: str) -> str:
    """The part of docs/protocol.md whose table lists the field: the envelope (section 3), the
    position map (section 4, also `position_opened`'s body) or the message's own section."""
    if path in ("id", "seq", "ts", "login"):
        start, end = docs.index("## 3. Message format"), docs.index("## 4. Position map")
    elif path.startswith("positions[") or type_ == "position_opened":
        start, end = docs.index("## 4. Position map"), docs.index("## 5. Messages")
    else:
        start = docs.index(f"### `{type_}`")
        end = min(i for i in (docs.find("\n### ", start + 1), docs.find("\n## ", start + 1)) if i > 0)
    return docs[start:end]


def test_docs_state_each_fields_range() -> None:
    """docs/protocol.md's field tables carry each numeric field's range, as the schema says it."""
    docs = DOCS_PATH.read_text(encoding="utf-8")
    for type_, path, spec in FIELDS:
        name = path.split(".")[-1]
        rows = re.findall(rf"^\| `{re.escape(name)}` \|[^\n]*$", doc_section(docs, type_, path), re.M)
        assert len(rows) == 1, f"docs/protocol.md: {len(rows)} rows for `{name}` ({type_})"
        assert f"range {spec.range_text()}" in rows[0].replace("\\|", "|"), \
            f"docs/protocol.md: the row of `{name}` ({type_}) lacks `range {spec.range_text()}`: {rows[0]}"


def test_an_unusable_id_is_not_echoed_as_ref_id() -> None:
    """`error.ref_id` echoes the offending id only when it is in range: 2^64-1 would make the
    daemon's own `error` reply unsendable."""
    for bad in (2**63, 2**64 - 1):
        result = decode(pack(dict(sample("close"), id=bad)))
        assert isinstance(result, ProtocolError) and result.ref_id == 0 and result.field == "id"
    assert decode(pack(dict(sample("close"), id=2**63 - 1, volume=0.0))).ref_id == 2**63 - 1

