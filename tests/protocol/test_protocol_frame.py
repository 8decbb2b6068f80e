"""Frame-level refusals: size (before decoding), msgpack syntax, limits, map shape, keys."""

from __future__ import annotations

import msgpack
import pytest
from protocol_samples import pack, sample

from bridge.protocol import DEFAULT_MAX_FRAME_SIZE, Limits, ProtocolError, decode


def code_of(frame: bytes, **kw) -> tuple[str, str]:
    result = decode(frame, **kw)
    assert isinstance(result, ProtocolError), result
    return result.code, result.field


def test_frame_too_large_is_checked_on_raw_bytes_before_decoding():
    # Garbage that would be not_msgpack proves the size check runs first.
    assert code_of(b"\xc1" * (DEFAULT_MAX_FRAME_SIZE + 1)) == ("frame_too_large", "")


def test_frame_limit_is_configurable_and_inclusive():
    frame = pack(sample("heartbeat"))
    assert not isinstance(decode(frame, limits=Limits(max_frame_size=len(frame))), ProtocolError)
    assert code_of(frame, limits=Limits(max_frame_size=len(frame) - 1)) == ("frame_too_large", "")


@pytest.mark.parametrize(
    "frame",
    [b"", b"\xc1", b"\x82\xa1v", b"\xa2\xff\xfe", b"\x91" * 5000],
    ids=["empty", "reserved byte", "truncated", "bad utf-8", "nesting too deep"],
)
def test_not_msgpack(frame):
    assert code_of(frame) == ("not_msgpack", "")


def test_trailing_bytes():
    assert code_of(pack(sample("heartbeat")) + b"\x00") == ("trailing_bytes", "")


@pytest.mark.parametrize("value", [1, "hello", [1, 2], None, 1.5, b"x"])
def test_not_a_map(value):
    assert code_of(pack(value)) == ("not_a_map", "")


@pytest.mark.parametrize(
    "frame",
    [
        b"\xdd\xff\xff\xff\xff",  # array32 claiming 4 G elements: refused before allocating
        b"\xdf\xff\xff\xff\xff",  # map32 likewise
        pack("x" * 5000),  # a whole 5000-byte string, over the 4096 default
        pack(b"x" * 5000),  # a bin, likewise
    ],
    ids=["array32", "map32", "str", "bin"],
)
def test_hostile_lengths_hit_the_unpacker_limits(frame):
    assert code_of(frame) == ("limit_exceeded", "")


def test_length_header_beyond_the_frame_is_truncation():
    # str32 claiming 2 GiB in a 5-byte frame: nothing is allocated, the value is incomplete.
    assert code_of(b"\xdb\x7f\xff\xff\xff") == ("not_msgpack", "")


def test_string_limit_is_configurable():
    frame = pack(dict(sample("error"), detail="x" * 100))
    assert code_of(frame, limits=Limits(max_str_len=99)) == ("limit_exceeded", "")
    assert not isinstance(decode(frame, limits=Limits(max_str_len=100)), ProtocolError)


def test_duplicate_key_is_refused_not_silently_overwritten():
    # A dict would keep the last value; the MQL side might keep the first. Refuse both.
    frame = b"\x82" + pack("v") + pack(1) + pack("v") + pack(1)
    assert code_of(frame) == ("duplicate_field", "v")


def test_non_string_key_is_an_extra_field():
    frame = msgpack.packb({1: 2, "v": 1}, use_bin_type=True)
    assert code_of(frame)[0] == "extra_field"
    # Unhashable (array) keys must not crash the decoder either.
    assert code_of(b"\x81\x91\x01\x02")[0] == "extra_field"


def test_ext_and_bin_values_are_wrong_type():
    value = sample("close")
    value["key"] = msgpack.ExtType(5, b"k")
    assert code_of(pack(value)) == ("wrong_type", "key")


def test_long_peer_key_is_clipped_in_the_error():
    # The field path echoes the peer's key; it must stay small enough to send back.
    value = dict(sample("heartbeat"), **{"x" * 4000: 1})
    error = decode(pack(value))
    assert error.code == "extra_field" and len(error.field) <= 64


@pytest.mark.parametrize("frame", [b"\x82\xa1v", b"\x92\x01", b"\xdb\x7f\xff\xff\xff"],
                         ids=["map", "array", "str32 header"])
def test_truncation_is_recognised_whatever_msgpack_words_it(monkeypatch, frame):
    """A truncated frame is told from garbage by msgpack's OutOfData, not by its message text
    (a msgpack release rewording "incomplete input" must not turn truncation into garbage)."""
    original = msgpack.unpackb

    def reworded(*args, **kw):
        try:
            return original(*args, **kw)
        except ValueError as exc:
            raise ValueError(f"{exc} (reworded by a future release)") from None

    assert decode(frame).detail == "truncated msgpack value"
    monkeypatch.setattr(msgpack, "unpackb", reworded)
    result = decode(frame)
    assert (result.code, result.detail) == ("not_msgpack", "truncated msgpack value")
    assert code_of(b"\xc1") == ("not_msgpack", "")  # garbage stays garbage
    assert code_of(b"\xdd\xff\xff\xff\xff") == ("limit_exceeded", "")
