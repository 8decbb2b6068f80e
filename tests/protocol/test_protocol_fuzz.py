"""Hypothesis: the decoder never raises and never returns a half-built message."""

from __future__ import annotations

import dataclasses

import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from protocol_samples import VECTORS, pack

from bridge.protocol import ERROR_CODES, MESSAGE_CLASSES, Limits, ProtocolError, decode, encode, error_reply

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), st.floats(), st.text(max_size=20),
    st.binary(max_size=8), st.sampled_from(["buy", "sell", "MT5", "hello", "close", ""]),
)  # fmt: skip
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=10,
)
LONG_KEY = "k" * 4000  # a peer-chosen key near the string limit must not break the error reply
FIELD_NAMES = [LONG_KEY] + sorted({k for v in VECTORS for k in v["value"]} | {"side", "ticket", "volume"})


def assert_whole(result) -> None:
    """A result is an error, or a complete message that re-encodes and decodes to itself."""
    if isinstance(result, ProtocolError):
        assert result.code in ERROR_CODES
        # Whatever the peer sent, we can always tell it so (bounded detail and field).
        assert decode(encode(error_reply(result, id=1, seq=2, ts=3, login=4))).ref_id == result.ref_id
        return
    assert type(result) is MESSAGE_CLASSES[result.TYPE]
    for field in dataclasses.fields(result):
        assert getattr(result, field.name) is not None
    assert decode(encode(result)) == result


@FAST
@given(st.binary(max_size=200))
def test_random_bytes(frame):
    assert_whole(decode(frame))


@FAST
@given(values)
def test_random_msgpack_structures(value):
    assert_whole(decode(pack(value)))


@st.composite
def mutated(draw):
    """A valid vector map with a few keys deleted, replaced or added (also inside positions)."""
    value = msgpack.unpackb(bytes.fromhex(draw(st.sampled_from(VECTORS))["hex"]))
    for _ in range(draw(st.integers(1, 3))):
        target = value
        positions = value.get("positions")
        nested = [p for p in positions if isinstance(p, dict)] if isinstance(positions, list) else []
        if nested and draw(st.booleans()):
            target = draw(st.sampled_from(nested))
        action = draw(st.sampled_from(["delete", "add", "replace", "replace", "replace", "replace"]))
        if action == "add":
            target[draw(st.sampled_from(FIELD_NAMES))] = draw(values)
        elif target:
            key = draw(st.sampled_from(sorted(target)))
            if action == "delete":
                del target[key]
            else:  # mostly scalars: they reach the per-field checks
                target[key] = draw(st.one_of(scalars, scalars, values))
    return value


@FAST
@given(mutated())
def test_mutated_valid_messages(value):
    assert_whole(decode(pack(value)))


@FAST
@given(st.sampled_from(VECTORS), st.integers(0, 400), st.binary(min_size=1, max_size=4))
def test_truncated_and_spliced_frames(vector, cut, junk):
    frame = bytes.fromhex(vector["hex"])
    assert_whole(decode(frame[:cut]))
    assert_whole(decode(frame[:cut] + junk + frame[cut:], limits=Limits(max_frame_size=1024)))
