"""The schema table, the dataclasses and docs/protocol.md must agree."""

from __future__ import annotations

import dataclasses
import re

import pytest
from protocol_samples import DOCS_PATH, VECTORS

from bridge.protocol import ENVELOPE, ERROR_CODES, MESSAGE_CLASSES, SCHEMA, Position
from bridge.protocol.schema import POSITION_FIELDS

DOCS = DOCS_PATH.read_text(encoding="utf-8")


def test_every_type_has_a_dataclass():
    assert set(MESSAGE_CLASSES) == set(SCHEMA)


@pytest.mark.parametrize("type_", sorted(SCHEMA))
def test_dataclass_fields_follow_the_schema_order(type_):
    names = tuple(f.name for f in dataclasses.fields(MESSAGE_CLASSES[type_]))
    assert names == tuple(f.name for f in ENVELOPE[2:]) + SCHEMA[type_].field_names


def test_position_dataclass_follows_the_schema():
    assert tuple(f.name for f in dataclasses.fields(Position)) == tuple(f.name for f in POSITION_FIELDS)


@pytest.mark.parametrize("code", sorted(ERROR_CODES))
def test_docs_list_every_error_code(code):
    assert re.search(rf"^\| `{code}` \|", DOCS, re.M), f"docs/protocol.md lacks a row for {code}"


@pytest.mark.parametrize("type_", sorted(SCHEMA))
def test_docs_describe_every_message_and_field(type_):
    match = re.search(rf"^### `{type_}`\n(.*?)(?=^#)", DOCS, re.M | re.S)
    assert match, f"docs/protocol.md lacks a '### `{type_}`' section"
    for name in SCHEMA[type_].field_names:
        assert f"`{name}`" in match.group(1), f"{type_}.{name} undocumented"


def test_docs_worked_example_is_a_real_vector():
    # The byte-level example in the docs must not drift from the codec.
    vector = next(v for v in VECTORS if v["name"] == "heartbeat_small_ints")
    spaced = " ".join(vector["hex"][i : i + 2] for i in range(0, len(vector["hex"]), 2))
    assert spaced in DOCS
