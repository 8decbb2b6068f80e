"""Decoding to Decimal, canonical encoding, and the encoder's own guards."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import msgpack
import pytest
from protocol_samples import pack, wire

from bridge.protocol import (
    Close,
    EncodeError,
    Heartbeat,
    Limits,
    Modify,
    ProtocolError,
    decode,
    encode,
    error_reply,
    to_decimal,
)

CLOSE = Close(id=1, seq=2, ts=3, login=4, key="k1", ticket=5, volume=Decimal("0.1"))


def test_floats_become_shortest_round_trip_decimals():
    # 1.4584 is not exact in binary; the repr route still yields the intended decimal.
    assert to_decimal(1.4584) == Decimal("1.4584")
    assert str(to_decimal(0.1 + 0.2)) == "0.30000000000000004"  # honest, not rounded away
    assert to_decimal(-0.0) == 0 and not to_decimal(-0.0).is_signed()


def test_decode_gives_decimals():
    msg = decode(pack(wire("open", volume=1.4584)))
    assert msg.volume == Decimal("1.4584") and isinstance(msg.volume, Decimal)


def test_numbers_always_encode_as_float64():
    # An integral Decimal must still travel as 0xcb so the MQL side reads a double.
    frame = encode(replace(CLOSE, volume=Decimal(2)))
    assert frame.endswith(b"\xa6volume\xcb\x40\x00\x00\x00\x00\x00\x00\x00")


def test_negative_zero_encodes_as_positive_zero():
    # Canonical bytes: Decimal("-0") and Decimal("0") are the same value, so the same bytes.
    a = encode(Modify(1, 1, 1, 1, "k", 1, Decimal("-0"), Decimal("0")))
    assert b"\xcb\x80" not in a
    assert a == encode(Modify(1, 1, 1, 1, "k", 1, Decimal("0.00"), Decimal("0")))


def test_envelope_keys_first_in_canonical_order():
    frame = encode(CLOSE)
    keys = list(msgpack.unpackb(frame))
    assert keys == ["v", "type", "id", "seq", "ts", "login", "key", "ticket", "volume"]


def test_ints_use_smallest_representation():
    assert encode(Heartbeat(id=0, seq=1, ts=127, login=128)).hex().endswith(
        "a2696400" "a373657101" "a274737f" "a56c6f67696ecc80"
    )


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("volume", Decimal("NaN"), "not_finite"),
        ("volume", Decimal("Infinity"), "not_finite"),
        ("volume", Decimal("1E+400"), "not_finite"),
        ("volume", Decimal("0.10000000000000000001"), "inexact_number"),
        ("volume", 0.1, "wrong_type"),  # floats must not sneak past the Decimal discipline
        ("volume", Decimal("0"), "zero_volume"),  # the peer would refuse it, so we do too
        ("ticket", True, "wrong_type"),
        ("ticket", -1, "negative_value"),
        ("key", 7, "wrong_type"),
        ("key", "", "empty_string"),
    ],
)
def test_encode_refuses_what_the_peer_would_refuse(field, value, code):
    with pytest.raises(EncodeError) as info:
        encode(replace(CLOSE, **{field: value}))
    assert (info.value.error.code, info.value.error.field) == (code, field)


def test_encode_checks_frame_limit():
    with pytest.raises(EncodeError) as info:
        encode(CLOSE, limits=Limits(max_frame_size=10))
    assert info.value.error.code == "frame_too_large"


def test_error_reply_round_trips_and_keeps_ref_id():
    err = decode(pack(wire("close", id=77, side="x")))
    assert isinstance(err, ProtocolError)
    reply = error_reply(err, id=9, seq=2, ts=1000, login=5001234)
    back = decode(encode(reply))
    assert (back.code, back.field, back.ref_id, back.login) == ("extra_field", "side", 77, 5001234)
