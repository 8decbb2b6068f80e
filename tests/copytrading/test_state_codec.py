"""The journal's packed engine state (state.pack / Engine.to_bytes): exact round trip, a
version and a layout that are checked, and old layouts that still load by field name."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal as D

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.copytrading import Engine
from bridge.copytrading.state import PACK_MAGIC, PACK_VERSION, StateFormatError, layout, pack, unpack
from tests.copytrading.test_properties import SETTINGS, action, run


@SETTINGS
@given(actions=st.lists(action, max_size=30), refuse=st.sets(st.integers(1, 30), max_size=3))
def test_restarts_through_packed_bytes_change_nothing(actions, refuse):
    first = run(actions, refuse, restarts=False)
    second = run(actions, refuse, restarts="bytes")  # restarts from the journal's snapshot form
    assert first.log == second.log
    assert first.engine.to_state() == second.engine.to_state()
    assert [s.records for s in first.steps] == [s.records for s in second.steps]


@SETTINGS
@given(actions=st.lists(action, max_size=30))
def test_packed_state_round_trips_exactly_and_deterministically(actions):
    w = run(actions, restarts=False)
    data = w.engine.to_bytes()
    again = Engine.from_bytes(data)
    assert again.to_state() == w.engine.to_state()
    assert again.to_bytes() == data  # same state -> byte-identical snapshot
    # the derived indexes are rebuilt as from the JSON form
    via_json = Engine.from_state(json.loads(json.dumps(w.engine.to_state())))
    assert again._books.keys() == via_json._books.keys()
    assert {k: b.total for k, b in again._books.items()} == {k: b.total for k, b in via_json._books.items()}


def test_packed_state_is_smaller_than_json():
    # the layout header (every stored field name, once) is a fixed cost: a few more copies
    # amortise it as any real state does (issue 15's settings added ~20 names)
    w = run([("open", "EURUSD", 50, True), ("open", "XAUUSD", 10, False), ("open", "EURUSD", 20, False),
             ("open", "XAUUSD", 30, True), ("move", "EURUSD", 30)], restarts=False)
    data = w.engine.to_bytes()
    text = json.dumps(w.engine.to_state(), separators=(",", ":"))
    assert len(data) * 2 < len(text)


def test_unknown_version_and_garbage_are_refused_clearly():
    data = Engine().to_bytes()
    magic, version, lay, strings, body = msgpack.unpackb(data, strict_map_key=False)
    assert (magic, version) == (PACK_MAGIC, PACK_VERSION)
    future = msgpack.packb([magic, PACK_VERSION + 1, lay, strings, body])
    with pytest.raises(StateFormatError, match=f"version {PACK_VERSION + 1}"):
        Engine.from_bytes(future)
    with pytest.raises(StateFormatError, match="not a packed engine state"):
        Engine.from_bytes(b"{\"version\": 1}")
    with pytest.raises(StateFormatError, match="magic"):
        Engine.from_bytes(msgpack.packb(["other", PACK_VERSION, lay, strings, body]))
    with pytest.raises(StateFormatError, match="magic"):
        Engine.from_bytes(msgpack.packb({"version": 1}))


@dataclass(slots=True)
class Inner:
    a: D
    b: int | None = None


@dataclass(slots=True)
class Outer:
    items: dict[int, Inner] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)
    pair: tuple[D, D] = (D(0), D(0))


def test_layout_is_matched_by_field_name():
    value = Outer({1: Inner(D("1.50"), 7), 2: Inner(D("-0.001"))}, ["x"], (D("1.1"), D("2.20")))
    assert unpack(Outer, pack(value)) == value
    _, version, lay, strings, body = msgpack.unpackb(pack(value), strict_map_key=False)
    assert lay["Inner"] == ["a", "b"] and strings == ["x"]  # strings in fields: written once
    # an older writer without Inner.b: the default fills it in
    old = msgpack.packb([PACK_MAGIC, version, {**lay, "Inner": ["a"]}, ["x"],
                         [{1: ["1.50"]}, [0], ["1.1", "2.20"]]])
    assert unpack(Outer, old) == Outer({1: Inner(D("1.50"))}, ["x"], (D("1.1"), D("2.20")))
    # a field this code does not know, or a required one missing: refused, never dropped
    with pytest.raises(StateFormatError, match="does not know"):
        unpack(Outer, msgpack.packb([PACK_MAGIC, version, {**lay, "Inner": ["a", "b", "c"]}, strings, body]))
    with pytest.raises(StateFormatError, match="required field 'a'"):
        unpack(Outer, msgpack.packb([PACK_MAGIC, version, {**lay, "Inner": ["b"]}, strings, body]))
    assert layout(Outer) == {"Inner": ["a", "b"], "Outer": ["items", "names", "pair"]}
