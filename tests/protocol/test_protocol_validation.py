"""Every field-level refusal gives its own code and names the field (docs/protocol.md)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from protocol_samples import DELETE, pack, sample, wire

from bridge.protocol import MAX_VOLUME, Close, Direction, ProtocolError, decode


def refusal(value: dict, **kw) -> ProtocolError:
    result = decode(pack(value), **kw)
    assert isinstance(result, ProtocolError), result
    return result


def with_position(**overrides) -> dict:
    value = sample("hello")
    for key, new in overrides.items():
        if new is DELETE:
            del value["positions"][1][key]
        else:
            value["positions"][1][key] = new
    return value


NAN, INF = float("nan"), float("inf")

CASES = [
    # (id, wire map, expected code, expected field)
    ("unknown type", wire("close", type="teleport"), "unknown_type", "type"),
    ("type not a str", wire("close", type=3), "wrong_type", "type"),
    ("missing type", wire("close", type=DELETE), "missing_field", "type"),
    ("missing v", wire("close", v=DELETE), "missing_field", "v"),
    ("v not an int", wire("close", v="1"), "wrong_type", "v"),
    ("v is bool", wire("close", v=True), "wrong_type", "v"),
    ("future version", wire("close", v=2), "unsupported_version", "v"),
    ("missing envelope id", wire("heartbeat", id=DELETE), "missing_field", "id"),
    ("missing envelope login", wire("heartbeat", login=DELETE), "missing_field", "login"),
    ("missing body field", wire("close", volume=DELETE), "missing_field", "volume"),
    ("missing position field", with_position(side=DELETE), "missing_field", "positions[1].side"),
    ("extra field", wire("close", comment="x"), "extra_field", "comment"),
    ("extra position field", with_position(commission=0.0), "extra_field", "positions[1].commission"),
    ("volume as str", wire("close", volume="0.1"), "wrong_type", "volume"),
    ("volume as bool", wire("close", volume=True), "wrong_type", "volume"),
    ("volume as nil", wire("close", volume=None), "wrong_type", "volume"),
    ("ticket as float", wire("close", ticket=70004.0), "wrong_type", "ticket"),
    ("ticket as bool", wire("close", ticket=True), "wrong_type", "ticket"),
    ("seq as bool", wire("heartbeat", seq=False), "wrong_type", "seq"),
    ("ok as int", wire("command_result", ok=1), "wrong_type", "ok"),
    ("key as bin", wire("close", key=b"k"), "wrong_type", "key"),
    ("positions not an array", wire("hello", positions={}), "wrong_type", "positions"),
    ("position not a map", wire("hello", positions=[1]), "wrong_type", "positions[0]"),
    ("position price as str", with_position(price="1"), "wrong_type", "positions[1].price"),
    ("NaN price", wire("position_closed", price=NAN), "not_finite", "price"),
    ("+inf sl", wire("modify", sl=INF), "not_finite", "sl"),
    ("-inf profit", wire("position_closed", profit=-INF), "not_finite", "profit"),
    ("NaN in a position", with_position(volume=NAN), "not_finite", "positions[1].volume"),
    ("negative volume", wire("close", volume=-0.1), "negative_value", "volume"),
    ("zero volume", wire("close", volume=0.0), "zero_volume", "volume"),
    ("negative zero volume", wire("open", volume=-0.0), "zero_volume", "volume"),
    ("zero int volume", wire("open", volume=0), "zero_volume", "volume"),
    ("absurd volume", wire("open", volume=10000.01), "volume_too_large", "volume"),
    ("absurd remaining", wire("position_closed", remaining=1e6), "volume_too_large", "remaining"),
    ("negative remaining", wire("position_closed", remaining=-1.0), "negative_value", "remaining"),
    ("negative price", wire("position_closed", price=-1.5), "negative_value", "price"),
    ("negative margin", wire("account_update", margin=-0.01), "negative_value", "margin"),
    ("negative ticket", wire("close", ticket=-1), "negative_value", "ticket"),
    ("negative seq", wire("heartbeat", seq=-1), "negative_value", "seq"),
    ("huge int money", wire("account_update", balance=2**53 + 1), "inexact_number", "balance"),
    ("empty symbol", wire("open", symbol=""), "empty_string", "symbol"),
    ("empty key", wire("close", key=""), "empty_string", "key"),
    ("bad side", wire("open", side="long"), "bad_enum", "side"),
    ("side wrong case", wire("open", side="BUY"), "bad_enum", "side"),
    ("bad role", wire("hello", role="admin"), "bad_enum", "role"),
    ("bad platform", wire("hello", platform="MT6"), "bad_enum", "platform"),
    ("bad reason", wire("position_closed", reason="margin_call"), "bad_enum", "reason"),
    ("bad position side", with_position(side=""), "bad_enum", "positions[1].side"),
]


@pytest.mark.parametrize(("value", "code", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refusal_code_and_field(value, code, field):
    error = refusal(value)
    assert (error.code, error.field) == (code, field)
    assert error.detail  # a human reason is always given


def test_error_carries_offending_id_as_ref_id():
    # The error reply must point at the message that caused it.
    assert refusal(wire("close", id=4242, volume=0.0)).ref_id == 4242


def test_ref_id_is_zero_when_id_unusable():
    assert refusal(wire("close", id=-5)).ref_id == 0
    assert refusal(wire("close", id="x", volume=0.0)).ref_id == 0


def test_wrong_direction_when_daemon_receives_a_daemon_message():
    error = refusal(wire("welcome"), direction=Direction.TO_DAEMON)
    assert (error.code, error.field) == ("wrong_direction", "type")
    # The same frame is fine for a terminal, and heartbeat goes both ways.
    assert not isinstance(decode(pack(wire("welcome")), direction=Direction.TO_TERMINAL), ProtocolError)
    assert not isinstance(decode(pack(wire("heartbeat")), direction=Direction.TO_DAEMON), ProtocolError)


def test_missing_fields_are_reported_before_extra_and_values():
    # Deterministic order: a frame with several faults always yields the same error.
    error = refusal(wire("close", volume=DELETE, ticket="x", junk=1))
    assert (error.code, error.field) == ("missing_field", "volume")


def test_volume_limit_is_inclusive():
    msg = decode(pack(wire("open", volume=float(MAX_VOLUME))))
    assert msg.volume == MAX_VOLUME


def test_int_accepted_in_number_fields():
    msg = decode(pack(wire("close", volume=2)))
    assert isinstance(msg, Close) and msg.volume == Decimal(2)


def test_money_may_be_negative_and_remaining_zero():
    msg = decode(pack(wire("position_closed", profit=-12.5, remaining=0.0)))
    assert msg.profit == Decimal("-12.5") and msg.remaining == 0


@pytest.mark.parametrize(("offset", "detail"), [
    (14 * 3_600_000 + 900_000, "outside -50400000 .. 50400000"), (-15 * 3_600_000, "outside -50400000 .. 50400000"),
    (7_200_001, "not a multiple of 900000"), (60_000, "not a multiple of 900000"),
])
def test_hello_utc_offset_range(offset, detail):
    err = refusal(wire("hello", utc_offset_ms=offset))
    assert (err.code, err.field) == ("out_of_range", "utc_offset_ms")
    assert detail in err.detail


@pytest.mark.parametrize("offset", [0, -14 * 3_600_000, 14 * 3_600_000, -16_200_000, 20_700_000])
def test_hello_utc_offset_accepted(offset):
    assert decode(pack(wire("hello", utc_offset_ms=offset))).utc_offset_ms == offset


def test_hello_needs_its_utc_offset():
    assert refusal(wire("hello", utc_offset_ms=DELETE)).code == "missing_field"


def test_open_expires_is_optional_and_reads_as_zero():
    assert decode(pack(wire("open", expires=DELETE))).expires == 0
    assert decode(pack(wire("open"))).expires == 1_700_000_030_100
    err = refusal(wire("open", expires=-1))
    assert (err.code, err.field) == ("negative_value", "expires")


def test_open_without_deadline_encodes_without_expires():
    from bridge.protocol import encode

    value = decode(pack(wire("open", expires=DELETE)))
    assert value.expires == 0 and encode(value) == pack(wire("open", expires=DELETE))
