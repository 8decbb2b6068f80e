"""The journal JSON of an event written by its class's generated encoder (`wire._flat_encoder`)
is byte for byte `compact_json(plain(event))`, the one conversion rule: for every event class
and any mix of field values (texts to escape, Decimals of every shape, enums, nested values and
UNSET, which go to the generic path). The journal's bytes and the demo's digests rest on it.

Issue 10 asks that a copy cost little more than the bare forward ("copy latency p99 <= 2x the
bare DEALER->ROUTER->DEALER forward of the same run"); the event's JSON was 5 % of an open.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.copytrading import events as ev
from bridge.daemon import wire
from bridge.domain.sizing import VolumeMode
from bridge.domain.trading import Side

CLASSES = sorted(wire.EVENT_TYPES.values(), key=lambda c: c.__name__)
leaves = st.one_of(
    st.integers(-(2**70), 2**70), st.text(max_size=6), st.sampled_from(["", "\"", "\\", "\x00", "é", "\u2028", "T"]),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from([Decimal("-0.0"), Decimal("1E+3"), Decimal("0.10")]),
    st.none(), st.booleans(), st.sampled_from(list(Side) + list(VolumeMode) + [ev.UNSET]),
)
values = st.one_of(leaves, st.lists(leaves, max_size=2).map(tuple),
                   st.dictionaries(st.text(max_size=3), leaves, max_size=2), st.floats())


def built(cls: type, fields: dict[str, Any]) -> object:
    """An event with any field values: the encoders must agree on whatever a class holds."""
    event = object.__new__(cls)
    for name, value in fields.items():
        object.__setattr__(event, name, value)
    return event


def generic(event: object) -> str | type:
    try:
        return wire.compact_json(wire.plain(event))
    except Exception as exc:  # noqa: BLE001 - the fast path must raise the same
        return type(exc)


def body(event: object) -> str | type:
    try:
        return wire.event_body(event)
    except Exception as exc:  # noqa: BLE001
        return type(exc)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cls=st.sampled_from(CLASSES), data=st.data())
def test_any_event_journals_the_same_bytes_both_ways(cls: type, data: st.DataObject) -> None:
    names = [f.name for f in dataclasses.fields(cls)]
    event = built(cls, {name: data.draw(values if data.draw(st.booleans()) else leaves, label=name) for name in names})
    assert body(event) == generic(event)


def test_a_trader_open_journals_as_before() -> None:
    e = ev.TraderPositionOpened(1_700_000_001_000, "T", 100_000, "EURUSD", Side.BUY, Decimal("0.1"), Decimal("1.1"),
                                1_700_000_001_000, None, None, 0)
    assert wire.event_body(e) == wire.compact_json(wire.plain(e)) == (
        '{"now":1700000001000,"trader":"T","ticket":100000,"symbol":"EURUSD","side":"buy","volume":"0.1",'
        '"price":"1.1","opened_at":1700000001000,"sl":null,"tp":null,"magic":0}')
    assert wire.event_from("TraderPositionOpened", wire.event_body(e)) == e
