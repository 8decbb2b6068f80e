"""Golden vectors (tests/vectors/protocol_vectors.json): the contract with the MQL codec."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import msgpack
import pytest
from protocol_samples import VECTORS, VECTORS_PATH

from bridge.protocol import SCHEMA, ProtocolError, decode, encode, pack_canonical

IDS = [v["name"] for v in VECTORS]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_packing_the_value_reproduces_the_hex(vector):
    # The JSON map (key order kept, floats as floats) packs to exactly the committed bytes.
    assert pack_canonical(vector["value"]).hex() == vector["hex"]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_unpacking_the_hex_gives_the_value(vector):
    assert msgpack.unpackb(bytes.fromhex(vector["hex"]), raw=False) == vector["value"]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_decoded_message_re_encodes_to_the_same_bytes(vector):
    frame = bytes.fromhex(vector["hex"])
    message = decode(frame)
    assert not isinstance(message, ProtocolError), message
    assert message.TYPE == vector["type"]
    assert encode(message) == frame


def test_every_message_type_has_a_vector():
    # Adding a type to the schema without a golden vector must fail here.
    assert {v["type"] for v in VECTORS} == set(SCHEMA)


def test_vector_names_are_unique():
    assert len(IDS) == len(set(IDS))


def test_vector_file_matches_the_generator():
    # The JSON is generated, never hand-edited: it must equal what generate.py renders now.
    path = Path(VECTORS_PATH).with_name("generate.py")
    spec = importlib.util.spec_from_file_location("protocol_vector_generator", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.render() == VECTORS_PATH.read_text(encoding="utf-8")
