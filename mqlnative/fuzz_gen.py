"""Seeded frame generator of the differential fuzz (mqlnative/fuzz.py).

Three sources, mixed: random well-formed messages of every schema type (both directions, so
the daemon -> terminal validator also sees terminal -> daemon types), encoded with random
but valid msgpack choices (wider int/str/map headers, float32, key order, optional fields);
the same with one field broken (wrong type, out of range, missing, extra, duplicated, NUL,
bad UTF-8); and byte-level mutations (flip, insert, delete, truncate, splice) of golden
vectors and generated frames. Pure: a random.Random is passed in.
"""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path
from typing import Any

from bridge.protocol.schema import ENVELOPE, SCHEMA, Kind

VECTORS_FILE = Path(__file__).resolve().parents[1] / "tests" / "vectors" / "protocol_vectors.json"

EDGE_UINTS = (0, 1, 127, 128, 255, 256, 65535, 65536, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**53, 2**53 + 1,
              2**63 - 1, 2**63, 2**64 - 1)
EDGE_INTS = EDGE_UINTS + (-1, -32, -33, -128, -129, -32768, -32769, -(2**31), -(2**31) - 1, -(2**53), -(2**63))
EDGE_FLOATS = (0.0, -0.0, 1e-300, 5e-324, 0.1, 1.5, 10000.0, 10000.000000000002, 1e15, 1e300, -1.5,
               float("inf"), float("-inf"), float("nan"), 2.0**53, 2.0**53 + 2)
TEXTS = ("", "a", "EURUSD", "copy:7f3a", "c1.5001234.000017.open", "\u043a\u043e\u043f\u0438\u044f \u2713",
         "\U0001f600 emoji", "nul\x00inside", "\x00", "x" * 31, "y" * 32, "z" * 255, "w" * 256, "v" * 4096,
         "u" * 4097, "tab\tline\nend")


class Raw:
    """Bytes inserted as-is into a frame (a deliberately broken or exotic value)."""

    def __init__(self, data: bytes) -> None:
        self.data = data


# ---- a msgpack writer with the encoder's choices exposed ----
def pack(value: Any, rng: random.Random, wide: float = 0.0) -> bytes:
    """msgpack bytes of value; with probability `wide` a header or int is wider than needed."""
    def w() -> bool:
        return rng.random() < wide

    if isinstance(value, Raw):
        return value.data
    if value is None:
        return b"\xc0"
    if value is True:
        return b"\xc3"
    if value is False:
        return b"\xc2"
    if isinstance(value, int):
        return pack_int(value, w())
    if isinstance(value, float):
        if w() and _fits_float32(value):
            return b"\xca" + struct.pack(">f", value)
        return b"\xcb" + struct.pack(">d", value)
    if isinstance(value, str):
        return pack_str(value.encode("utf-8", "surrogatepass"), w())
    if isinstance(value, bytes):
        return (b"\xc4" + bytes([len(value)]) + value) if len(value) < 256 else b"\xc5" + struct.pack(">H", len(value)) + value
    if isinstance(value, list):
        return pack_header(len(value), 0x90, 0xDC, w()) + b"".join(pack(v, rng, wide) for v in value)
    if isinstance(value, dict):
        items = value.items() if not isinstance(value, PairList) else value.pairs
        return pack_header(len(items), 0x80, 0xDE, w()) + b"".join(pack(k, rng, wide) + pack(v, rng, wide) for k, v in items)
    raise TypeError(type(value))


class PairList(dict):
    """A map written from explicit pairs (duplicate keys possible)."""

    def __init__(self, pairs: list[tuple[Any, Any]]) -> None:
        super().__init__()
        self.pairs = pairs


def _fits_float32(value: float) -> bool:
    if value != value or value in (float("inf"), float("-inf")):
        return True
    try:
        return struct.unpack(">f", struct.pack(">f", value))[0] == value
    except OverflowError:
        return False


def pack_int(v: int, wide: bool) -> bytes:
    if v >= 0:
        if v <= 0x7F and not wide:
            return bytes([v])
        for code, fmt, top in ((0xCC, ">B", 0xFF), (0xCD, ">H", 0xFFFF), (0xCE, ">I", 0xFFFFFFFF), (0xCF, ">Q", 2**64 - 1)):
            if v <= top and (not wide or code == 0xCF or v > 0x7F and code >= 0xCD):
                return bytes([code]) + struct.pack(fmt, v)
        raise ValueError(v)
    if v >= -32 and not wide:
        return struct.pack(">b", v)
    for code, fmt, low in ((0xD0, ">b", -128), (0xD1, ">h", -32768), (0xD2, ">i", -(2**31)), (0xD3, ">q", -(2**63))):
        if v >= low and (not wide or code == 0xD3):
            return bytes([code]) + struct.pack(fmt, v)
    raise ValueError(v)


def pack_str(b: bytes, wide: bool) -> bytes:
    n = len(b)
    if n <= 31 and not wide:
        return bytes([0xA0 | n]) + b
    if n <= 255 and not (wide and n > 31):
        return b"\xd9" + bytes([n]) + b
    if n <= 65535:
        return b"\xda" + struct.pack(">H", n) + b
    return b"\xdb" + struct.pack(">I", n) + b


def pack_header(n: int, fix: int, code16: int, wide: bool) -> bytes:
    if n <= 15 and not wide:
        return bytes([fix | n])
    if n <= 65535:
        return bytes([code16]) + struct.pack(">H", n)
    return bytes([code16 + 1]) + struct.pack(">I", n)


# ---- values of each kind ----
def good_value(rng: random.Random, spec) -> Any:
    kind = spec.kind
    if kind is Kind.UINT:
        v = rng.choice(EDGE_UINTS) if rng.random() < 0.3 else rng.randrange(0, 2**rng.choice((7, 16, 32, 48, 64)))
        return _in_range(rng, spec, v)
    if kind is Kind.INT:
        if spec.bound:
            return rng.randrange(-spec.bound // spec.step, spec.bound // spec.step + 1) * spec.step
        return _in_range(rng, spec, rng.choice(EDGE_INTS) if rng.random() < 0.4 else rng.randrange(-(2**63), 2**64))
    if kind is Kind.BOOL:
        return rng.random() < 0.5
    if kind is Kind.ENUM:
        return rng.choice(spec.choices)
    if kind in (Kind.TEXT, Kind.NAME):
        text = rng.choice(TEXTS[:-3] + ("ok",) * 4)
        return text or ("n" if kind is Kind.NAME else "")
    if kind is Kind.POSITIONS:
        from bridge.protocol.schema import POSITION_FIELDS
        return [{f.name: good_value(rng, f) for f in POSITION_FIELDS} for _ in range(rng.choice((0, 0, 1, 2)))]
    if kind is Kind.QUOTES:
        from bridge.protocol.schema import QUOTE_FIELDS
        return [{f.name: good_value(rng, f) for f in QUOTE_FIELDS} for _ in range(rng.choice((1, 1, 2, 32)))]
    if kind is Kind.SYMBOLS:  # 0..32 names; sometimes one too many, or an empty one (refused both sides)
        count = rng.choice((0, 1, 2, 7, 32, 33))
        names = [rng.choice(("EURUSD", "USDJPY", "n", "\u043a", "nul\x00in", "x" * 40)) for _ in range(count)]
        if names and rng.random() < 0.05:
            names[rng.randrange(len(names))] = rng.choice(("", 1, None))
        return names
    # numbers
    if rng.random() < 0.15:
        return rng.choice((0, 1, 2, 100)) if kind is not Kind.VOLUME else rng.choice((1, 2, 100))
    top = 10000.0 if kind in (Kind.VOLUME, Kind.VOLUME0) else 1e6
    v = round(rng.uniform(0, top), rng.choice((0, 2, 5, 8)))
    if kind is Kind.VOLUME and v == 0:
        v = 0.01
    if kind is Kind.MONEY and rng.random() < 0.5:
        v = -v
    return v


def _in_range(rng: random.Random, spec, v: int) -> int:
    """A good int stays inside its field's range (the schema's); out of it, an edge or a draw."""
    low, high = spec.int_range()
    if low <= v <= high:
        return v
    return rng.choice((low, high, rng.randrange(low, high + 1)))


def bad_value(rng: random.Random, spec) -> Any:
    choices: list[Any] = [None, True, "x", [1], {"a": 1}, b"\x01", rng.choice(EDGE_FLOATS), rng.choice(EDGE_INTS),
                          rng.choice(TEXTS), Raw(b"\xc1"), Raw(b"\xd4\x01\x02"), Raw(b"\xa3a\xffb"),
                          Raw(b"\xa3\xed\xa0\x80"), Raw(b"\xa2\xc0\x80"), Raw(b"\xa4\xf4\x90\x80\x80")]
    if spec.kind is Kind.ENUM:
        choices += [spec.choices[0].upper(), spec.choices[0] + "\x00", ""]
    return rng.choice(choices)


def message(rng: random.Random, mtype: str) -> dict[str, Any]:
    spec = SCHEMA[mtype]
    out: dict[str, Any] = {"v": 1, "type": mtype}
    for f in ENVELOPE[2:] + spec.fields:
        if f.optional and rng.random() < 0.4:
            continue
        out[f.name] = good_value(rng, f)
    return out


def broken(rng: random.Random, msg: dict[str, Any]) -> dict[str, Any] | PairList:
    keys = list(msg)
    how = rng.randrange(8)
    if how == 0:   # a wrong value
        spec_of = {f.name: f for f in ENVELOPE + SCHEMA[msg["type"]].fields}
        k = rng.choice(keys)
        msg[k] = bad_value(rng, spec_of[k])
    elif how == 1:   # a missing field
        del msg[rng.choice(keys)]
    elif how == 2:   # an extra field
        msg[rng.choice(("extra", "Type", "v\x00", "", "magic2"))] = 1
    elif how == 3:   # a duplicated key
        k = rng.choice(keys)
        return PairList(list(msg.items()) + [(k, msg[k])])
    elif how == 4:   # a non-str key
        return PairList(list(msg.items()) + [(rng.choice((1, None, b"k", 1.5)), 1)])
    elif how == 5:   # version and type
        msg[rng.choice(("v", "type"))] = rng.choice((0, 2, "1", "hello", "welcome\x00", "nope", 1))
    elif how == 6:   # NUL in a text field
        texts = [k for k, v in msg.items() if isinstance(v, str) and k != "type"]
        if texts:
            k = rng.choice(texts)
            msg[k] = msg[k] + "\x00" + rng.choice(("", "tail"))
    else:   # magic and ticket extremes
        for k in ("magic", "ticket", "ref_id", "expires", "last_id"):
            if k in msg:
                msg[k] = rng.choice(EDGE_INTS)
    return msg


def shuffled(rng: random.Random, msg: dict[str, Any]) -> dict[str, Any]:
    items = list(msg.items())
    rng.shuffle(items)
    return dict(items)


def mutate(rng: random.Random, frame: bytes) -> bytes:
    b = bytearray(frame)
    for _ in range(rng.choice((1, 1, 2, 3))):
        how = rng.randrange(6)
        if how == 0 and b:
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        elif how == 1 and b:
            b[rng.randrange(len(b))] = rng.randrange(256)
        elif how == 2:
            b.insert(rng.randrange(len(b) + 1), rng.randrange(256))
        elif how == 3 and b:
            del b[rng.randrange(len(b))]
        elif how == 4 and b:
            del b[rng.randrange(len(b)):]
        else:
            b += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4)))
    return bytes(b)


def golden_frames() -> list[bytes]:
    return [bytes.fromhex(v["hex"]) for v in json.loads(VECTORS_FILE.read_text(encoding="utf-8"))]


def frames(rng: random.Random, count: int) -> list[bytes]:
    """`count` frames: the golden vectors first, then the mix described above."""
    golden = golden_frames()
    out = list(golden[:count])
    to_terminal = [t for t, s in SCHEMA.items() if any(d.value == "to_terminal" for d in s.directions)]
    all_types = list(SCHEMA)
    while len(out) < count:
        r = rng.random()
        mtype = rng.choice(to_terminal) if rng.random() < 0.85 else rng.choice(all_types)
        wide = rng.choice((0.0, 0.0, 0.2, 0.6))
        if r < 0.45:
            msg = message(rng, mtype)
            out.append(pack(shuffled(rng, msg) if rng.random() < 0.2 else msg, rng, wide))
        elif r < 0.75:
            out.append(pack(broken(rng, message(rng, mtype)), rng, wide))
        elif r < 0.95:
            base = rng.choice(golden) if rng.random() < 0.5 else pack(message(rng, mtype), rng, wide)
            out.append(mutate(rng, base))
        else:
            out.append(bytes(rng.randrange(256) for _ in range(rng.randrange(0, 24))))
    return out
