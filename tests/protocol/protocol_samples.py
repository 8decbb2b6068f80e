"""Valid sample wire maps (taken from the golden vectors) and small builders for tests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import msgpack

VECTORS_PATH = Path(__file__).resolve().parents[1] / "vectors" / "protocol_vectors.json"
VECTORS: list[dict[str, Any]] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
DOCS_PATH = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"

DELETE = object()  # override value meaning "remove this key"


def sample(type_: str) -> dict[str, Any]:
    """A fresh copy of the first vector's wire map for `type_` (hello: the one with 2 positions)."""
    if type_ == "hello":
        return copy.deepcopy(next(v["value"] for v in VECTORS if v["name"] == "hello_two_positions"))
    return copy.deepcopy(next(v["value"] for v in VECTORS if v["type"] == type_))


def wire(type_: str, **overrides: Any) -> dict[str, Any]:
    """The sample for `type_` with fields replaced, added, or removed (value DELETE)."""
    value = sample(type_)
    for key, new in overrides.items():
        if new is DELETE:
            del value[key]
        else:
            value[key] = new
    return value


def pack(value: Any) -> bytes:
    return msgpack.packb(value, use_bin_type=True)
