"""The validator's fast path (`validate._acceptor`, one per schema field) is `convert` for the
values it accepts, and hands everything else to `convert`, so the refusal text stays the one
`convert` writes (docs/protocol.md: "a given bad frame always yields the same error").

Issue 10 asks that a copy cost little more than the bare forward ("copy latency p99 <= 2x the
bare DEALER->ROUTER->DEALER forward of the same run"); decoding a `position_opened` was a
third of the daemon's work per frame, most of it `convert`'s kind dispatch per field.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from protocol_samples import VECTORS

from bridge.protocol import ProtocolError
from bridge.protocol.codec import unpack_frame
from bridge.protocol.schema import ENVELOPE, LIST_KINDS, POSITION_FIELDS, QUOTE_FIELDS, SCHEMA, FieldSpec, Kind
from bridge.protocol.validate import _REFUSED, _acceptor, convert, validate

# `v` and `type` are checked before the body (validate), never through a spec
FIELDS: list[FieldSpec] = list({(f.name, f.kind, f.choices, f.bound, f.step, f.low, f.high): f for f in (
    *ENVELOPE[2:], *POSITION_FIELDS, *QUOTE_FIELDS, *(f for spec in SCHEMA.values() for f in spec.fields))}.values())

EDGES: list[Any] = [0, 1, -1, 7, 2**31, 2**32 - 1, 2**32, 2**53, 2**53 + 1, -(2**53) - 1, 2**63 - 1, 2**63, 2**64 - 1,
                    -(2**63), 0.0, -0.0, 1e-9, 1e-8, -1e-8, 5e-324, 0.1, 1.1, 1e12, -1e12, 1.0000000000001e12, 10000.0,
                    10000.000001, math.inf, -math.inf, math.nan, True, False, None, "", "x", "buy", "sell", "MT5",
                    "investor", "so", b"x", [], ["EURUSD"], 253_402_300_799_999, 253_402_300_800_000, 900_000, 900_001]


def same(spec: FieldSpec, value: Any) -> None:
    accept = _acceptor(spec)
    full = convert(spec, value, spec.name)
    if accept is None:  # arrays: convert does them
        assert spec.kind in LIST_KINDS
        return
    fast = accept(value)
    if isinstance(full, ProtocolError):
        assert fast is _REFUSED, (spec.name, value, full)
    else:
        assert fast is not _REFUSED and type(fast) is type(full) and fast == full, (spec.name, value, fast, full)
        if isinstance(full, Decimal):
            assert str(fast) == str(full)  # same digits, same sign of zero


def test_every_field_accepts_what_convert_accepts_at_the_edges() -> None:
    for spec in FIELDS:
        for value in EDGES:
            same(spec, value)


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(st.integers(min_value=-(2**64), max_value=2**65), st.floats(allow_nan=True), st.booleans(),
                       st.text(max_size=8), st.none()))
def test_every_field_accepts_what_convert_accepts(value: Any) -> None:
    for spec in FIELDS:
        same(spec, value)


def test_golden_vectors_still_decode() -> None:
    for vector in VECTORS:
        got = validate(unpack_frame(bytes.fromhex(vector["hex"])))
        assert not isinstance(got, ProtocolError), (vector["name"], got)


def test_maps_that_are_not_plain_still_get_the_first_problem_named() -> None:
    """Keys that are not distinct strings are named before any field is looked at (an
    unhashable key included, no crash): the acceptors only ever see a well-formed map."""
    for raw, code, detail in [
        (b"\x81\x91\x01\x02", "extra_field", "map key <array> is not a string"),  # {[1]: 2}
        (b"\x82\xa1v\x01\x81\xa1a\x01\x02", "extra_field", "map key <map> is not a string"),  # {v: 1, {a: 1}: 2}
        (b"\x82\xa1v\x01\x01\x02", "extra_field", "map key 1 is not a string"),  # {v: 1, 1: 2}
        (b"\x82\xa1v\x01\xa1v\x01", "duplicate_field", "key 'v' appears twice"),  # {v: 1, v: 1}
    ]:
        got = validate(unpack_frame(raw))
        assert isinstance(got, ProtocolError) and (got.code, got.detail) == (code, detail), got
