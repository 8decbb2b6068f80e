"""Cross-checks of the MQL sources in mql/ (no MetaTrader compiler runs here).

Schema tables and builder key order vs bridge.protocol.schema, the generated self-test
vectors vs tests/vectors, documented inputs vs the EAs' `input` lines, the one-source layout
and the two installable trees `make mql` builds from it, the canonical width decision table
vs msgpack-python, and a static lint (balanced delimiters, no stub markers, includes resolve,
declared = defined).
"""

from __future__ import annotations

import importlib.util
import re
import struct
import zipfile
from pathlib import Path

import msgpack
import pytest

from tests.mql.mqlsource import function_body, strip_code, with_parts
from bridge.protocol.schema import (ENVELOPE, LIST_KINDS, NUMBER_KINDS, ORDER_FIELDS, POSITION_FIELDS, QUOTE_FIELDS,
                                    SCHEMA, Direction, Kind)

ROOT = Path(__file__).resolve().parents[2]
MQL = ROOT / "mql"
INC = MQL / "Include/MtBridge"
PROTOCOL = with_parts(INC / "Protocol.mqh")  # the one include and its parts
MSGPACK = with_parts(INC / "MsgPack.mqh")  # the one include and its parts
SOURCES = sorted(p for p in MQL.rglob("*") if p.suffix in {".mqh", ".mql"})
EAS = sorted(MQL.glob("Experts/*.mql"))
KIND = {Kind.UINT: "U", Kind.INT: "I", Kind.BOOL: "B", Kind.TEXT: "T", Kind.NAME: "N", Kind.ENUM: "E",
        Kind.MONEY: "M", Kind.PRICE: "P", Kind.VOLUME: "V", Kind.VOLUME0: "Z", Kind.POSITIONS: "A",
        Kind.QUOTES: "Q", Kind.SYMBOLS: "S", Kind.ORDERS: "O"}  # fmt: skip
EXTERNAL_INCLUDES = {"Trade/Trade.mqh"}  # the MT5 standard library, shipped with every terminal


def spec(fields) -> str:
    return ",".join(f"{f.name}:{KIND[f.kind]}{'?' if f.optional else ''}" for f in fields)


def mql_const(name: str) -> str:
    return re.search(rf'const string {name}="([^"]*)";', PROTOCOL).group(1)


def mql_array(name: str) -> list[str]:
    body = re.search(rf"const string {name}\[\]=\s*\{{(.*?)\}};", PROTOCOL, re.S).group(1)
    return re.findall(r'"([^"]*)"', body)


# ---------------------------------------------------------------- schema


def test_envelope_and_position_tables_match_python():
    assert mql_const("MTB_ENVELOPE") == spec(ENVELOPE)
    assert mql_const("MTB_POSITION") == spec(POSITION_FIELDS)
    assert mql_const("MTB_QUOTE") == spec(QUOTE_FIELDS)
    assert mql_const("MTB_ORDER") == spec(ORDER_FIELDS)


def test_message_table_matches_python_both_ways():
    rows = {}
    for row in mql_array("MTB_SCHEMA"):
        mtype, dirs, fields = row.split("|")
        rows[mtype] = (dirs, fields)
    assert list(rows) == list(SCHEMA)  # same types, same order, nothing extra
    for mtype, ms in SCHEMA.items():
        dirs = ("d" if Direction.TO_DAEMON in ms.directions else "") + (
            "t" if Direction.TO_TERMINAL in ms.directions else "")  # fmt: skip
        assert rows[mtype] == (dirs, spec(ms.fields)), mtype


def test_int_ranges_match_python():
    """MTB_RANGES is every int field's range of the schema, by name (one range per name)."""
    py: dict[str, tuple[int, int]] = {}
    for f in ENVELOPE[2:] + POSITION_FIELDS + tuple(f for ms in SCHEMA.values() for f in ms.fields):
        if f.kind in (Kind.UINT, Kind.INT):
            assert py.setdefault(f.name, f.int_range()) == f.int_range(), f.name
    full = {name for name, r in py.items() if r == (-(2**63), 2**64 - 1)}  # any msgpack int: not listed
    mql = {row.split(":")[0]: (int(row.split(":")[1]), int(row.split(":")[2])) for row in mql_array("MTB_RANGES")}
    assert mql == {name: r for name, r in py.items() if name not in full}
    assert full == {"magic"}


def test_enum_choices_match_python():
    mql = {e.split(":")[0]: tuple(e.split(":")[1].split("|")) for e in mql_array("MTB_ENUMS")}
    py = {f.name: f.choices for ms in SCHEMA.values() for f in ms.fields if f.kind is Kind.ENUM}
    py.update({f.name: f.choices for f in POSITION_FIELDS if f.kind is Kind.ENUM})
    assert mql == py


def _keys(body: str) -> list[str]:
    out = []
    for m in re.finditer(r'MtbKey\(w,"(\w+)"\)|MtbWritePositionFields\(|MtbWriteEnvelope\(', body):
        if m.group(1):
            out.append(m.group(1))
        elif m.group(0).startswith("MtbWritePositionFields"):
            out.extend(_keys(function_body(PROTOCOL, "MtbWritePositionFields")))
        else:
            out.extend(_keys(function_body(PROTOCOL, "MtbWriteEnvelope")))
    return out


@pytest.mark.parametrize("mtype", list(SCHEMA))
def test_builder_writes_schema_fields_in_order(mtype):
    name = "MtbBuild" + "".join(p.capitalize() for p in mtype.split("_"))
    body = function_body(PROTOCOL, name)
    fields = [f.name for f in ENVELOPE] + [f.name for f in SCHEMA[mtype].fields]
    for array, items in (("positions", POSITION_FIELDS), ("quotes", QUOTE_FIELDS), ("orders", ORDER_FIELDS)):
        if array in fields:  # the element maps follow the array's key
            at = fields.index(array) + 1
            fields[at:at] = [f.name for f in items]
    assert _keys(body) == fields
    count = _count(SCHEMA[mtype].fields)
    if SCHEMA[mtype].fields == POSITION_FIELDS:  # position_opened: the position map, flattened
        count = "MtbPositionFieldCount(p)"
    assert f'MtbWriteEnvelope(w,"{mtype}",env,{count})' in body


def _count(fields, prefix: str = "") -> str:
    """The map size a builder writes: required fields, plus each optional one when not 0 / empty
    (a money field or an int (a magic) may be negative: `!=0.0`, `!=0`) / an enum's first choice."""
    required = [f for f in fields if not f.optional]
    return str(len(required)) + "".join(
        f"+(ArraySize({f.name})>0 ? 1 : 0)" if f.kind in LIST_KINDS
        else f"+({prefix}{f.name}!=0.0 ? 1 : 0)" if f.kind in NUMBER_KINDS
        else f'+({f.name}!="{f.choices[0]}" ? 1 : 0)' if f.choices
        else f"+({prefix}{f.name}!=0 ? 1 : 0)" if f.kind is Kind.INT else f"+({f.name}>0 ? 1 : 0)"
        for f in fields if f.optional)


def test_position_map_size_counts_the_optional_swap():
    """docs/protocol.md section 4: `swap` is optional, "absent = 0, left out at 0"."""
    body = function_body(PROTOCOL, "MtbPositionFieldCount")
    assert f"return({_count(POSITION_FIELDS, 'p.')});" in body
    assert "w.MapHeader(MtbPositionFieldCount(positions[k]));" in function_body(PROTOCOL, "MtbBuildHello")


def test_every_python_name_appears_in_protocol_mqh():
    names = {f.name for f in ENVELOPE} | {f.name for f in POSITION_FIELDS} | {f.name for f in QUOTE_FIELDS}
    names |= set(SCHEMA)
    names |= {f.name for ms in SCHEMA.values() for f in ms.fields}
    missing = sorted(n for n in names if f'"{n}"' not in PROTOCOL and not re.search(rf"\b{n}:", PROTOCOL))
    assert not missing


# ---------------------------------------------------------------- vectors


def _generator():
    path = MQL / "tools/gen_selftest_vectors.py"
    spec_ = importlib.util.spec_from_file_location("gen_selftest_vectors", path)
    module = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(module)
    return module


def test_selftest_vectors_are_current():
    text = _generator().render()
    for inc in (INC,):
        assert (inc / "SelfTestVectors.mqh").read_text(encoding="utf-8") == text


def test_selftest_vectors_cover_every_vector_and_type():
    import json

    vectors = json.loads((ROOT / "tests/vectors/protocol_vectors.json").read_text(encoding="utf-8"))
    text = (INC / "SelfTestVectors.mqh").read_text(encoding="utf-8")
    for v in vectors:
        assert f'"{v["hex"]}"' in text
    assert {v["type"] for v in vectors} == set(SCHEMA)
    for k in range(len(vectors)):
        assert f"case {k}: return(MtbVecBuild{k}(w));" in text


def test_float_literals_are_bit_exact():
    gen = _generator()
    for x in (0.1, 1.0853, -290.5, 10012.37, 0.0):
        bits = int(re.search(r"0x([0-9a-f]{16})", gen.lit(x)).group(1), 16)
        assert struct.unpack(">d", bits.to_bytes(8, "big"))[0] == x


# ---------------------------------------------------------------- shared files and inputs


def test_layout():
    for rel in ("Experts/MtBridgeTrader.mql", "Experts/MtBridgeInvestor.mql", "Scripts/MtBridgeSelfTest.mql",
                "Include/MtBridge/MsgPack.mqh", "Include/MtBridge/Protocol.mqh", "Include/MtBridge/Zmq.mqh"):  # fmt: skip
        assert (MQL / rel).is_file(), rel
    assert not (MQL / "MQL4").exists() and not (MQL / "MQL5").exists(), "one source: no per-platform copies"


def test_make_mql_builds_two_trees_and_reproducible_zips(tmp_path):
    spec_ = importlib.util.spec_from_file_location("build_dist", MQL / "tools/build_dist.py")
    build_dist = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(build_dist)
    build_dist.build(tmp_path / "a")
    build_dist.build(tmp_path / "b")
    for plat, ext in (("MQL4", "mq4"), ("MQL5", "mq5")):
        for stem, folder in (("MtBridgeTrader", "Experts"), ("MtBridgeInvestor", "Experts"), ("MtBridgeSelfTest", "Scripts")):
            built = tmp_path / "a" / plat / folder / f"{stem}.{ext}"
            assert built.read_bytes() == (MQL / folder / f"{stem}.mql").read_bytes()
        for inc in INC.iterdir():
            assert (tmp_path / "a" / plat / "Include/MtBridge" / inc.name).read_bytes() == inc.read_bytes()
        archive = f"mtbridge-{plat.lower()}.zip"
        assert (tmp_path / "a" / archive).read_bytes() == (tmp_path / "b" / archive).read_bytes()
        with zipfile.ZipFile(tmp_path / "a" / archive) as z:
            assert f"{plat}/Experts/MtBridgeInvestor.{ext}" in z.namelist()
            assert all(n.startswith(f"{plat}/") for n in z.namelist())


def _inputs(path: Path) -> set[str]:
    return set(re.findall(r"^input\s+\w+\s+(\w+)\s*=", path.read_text(encoding="utf-8"), re.M))


def test_documented_inputs_match_the_eas():
    doc = (ROOT / "docs/mql.md").read_text(encoding="utf-8")
    table = re.search(r"<!-- inputs -->(.*?)<!-- /inputs -->", doc, re.S).group(1)
    documented: dict[str, set[str]] = {}
    for m in re.finditer(r"^\|\s*`(Inp\w+)`\s*\|([^|]*)\|", table, re.M):
        documented[m.group(1)] = {w.strip() for w in m.group(2).split(",")}
    used = set()
    for ea in EAS:
        stem = ea.stem.replace("MtBridge", "")
        for name in _inputs(ea):
            assert name in documented, f"{ea.name}: {name} not in docs/mql.md"
            assert stem in documented[name], f"docs/mql.md: {name} should list {stem}"
            used.add(name)
        for name, eas in documented.items():
            if stem in eas:
                assert name in _inputs(ea), f"docs/mql.md lists {name} for {ea.name}, which lacks it"
    assert used == set(documented)


# ---------------------------------------------------------------- canonical widths

# (upper bound inclusive, header byte or None for fixint) - the msgpack-python choices
UINT_TABLE = [(0x7F, None), (0xFF, 0xCC), (0xFFFF, 0xCD), (0xFFFFFFFF, 0xCE), (2**64 - 1, 0xCF)]
NINT_TABLE = [(-32, None), (-128, 0xD0), (-32768, 0xD1), (-(2**31), 0xD2), (-(2**63), 0xD3)]
STR_TABLE = [(31, None), (255, 0xD9), (65535, 0xDA), (2**32 - 1, 0xDB)]


def _encode_by_table(v: int) -> bytes:
    if v >= 0:
        for n, (bound, head) in enumerate(UINT_TABLE):
            if v <= bound:
                return bytes([v]) if head is None else bytes([head]) + v.to_bytes(2 ** (n - 1), "big")
    for n, (bound, head) in enumerate(NINT_TABLE):
        if v >= bound:
            if head is None:
                return (v & 0xFF).to_bytes(1, "big")
            return bytes([head]) + v.to_bytes(2 ** (n - 1), "big", signed=True)
    raise AssertionError(v)


BOUNDARIES = [0, 1, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**63 - 1, 2**64 - 1,
              -1, -32, -33, -128, -129, -32768, -32769, -(2**31), -(2**31) - 1, -(2**63)]  # fmt: skip


@pytest.mark.parametrize("v", BOUNDARIES)
def test_int_decision_table_matches_msgpack_python(v):
    assert _encode_by_table(v) == msgpack.packb(v)


@pytest.mark.parametrize("n", [0, 31, 32, 255, 256, 65535, 65536])
def test_str_decision_table_matches_msgpack_python(n):
    packed = msgpack.packb("x" * n)
    bound, head = next((b, h) for b, h in STR_TABLE if n <= b)
    assert packed[0] == (0xA0 | n if head is None else head)


def test_mql_encoder_uses_the_same_thresholds():
    # explicit typed limits (review #30): no reliance on how MQL types a hex literal above INT_MAX
    named = {"(ulong)UINT_MAX": "0xffffffff", "(long)INT_MIN": "-2147483648"}
    body = function_body(MSGPACK, "UInt")
    for k, v in named.items():
        body = body.replace(k, v)
    pairs = re.findall(r"if\(v<=(0x[0-9a-f]+)\)\s*(?:Put\(\(uint\)v\);|\{ Put\((0x[0-9a-f]+)\);)", body)
    assert [(int(b, 16), int(h, 16) if h else None) for b, h in pairs] == UINT_TABLE[:-1]
    assert "Put(0xcf); PutBE(v,8);" in body
    body = function_body(MSGPACK, "Int")
    assert "(long)INT_MIN" in body and "2147483648" not in body
    for k, v in named.items():
        body = body.replace(k, v)
    pairs = re.findall(r"if\(v>=(-\d+)\)\s*(?:Put\(\(uint\)\(v&0xff\)\);|\{ Put\((0x[0-9a-f]+)\);)", body)
    assert [(int(b), int(h, 16) if h else None) for b, h in pairs] == NINT_TABLE[:-1]
    assert "Put(0xd3); PutBE((ulong)v,8);" in body
    body = function_body(MSGPACK, "StrBytes")
    assert re.findall(r"if\(n<=(\d+)\)", body) == ["31", "255", "65535"]
    assert ["0xd9", "0xda", "0xdb"] == re.findall(r"Put\((0xd[9ab])\)", body)
    body = function_body(MSGPACK, "Double")
    assert "Put(0xcb);" in body and "0xca" not in body and "MpDoubleToBits" in body


def test_doubles_move_through_a_union_not_arithmetic():
    """MQL5 forbids copying a simple structure into one of another type; a union is the legal way."""
    assert re.search(r"union MpBits64\s*\{\s*double d;\s*long l;\s*\};", MSGPACK)
    for name in ("MpDoubleToBits", "MpDoubleFromBits"):
        body = function_body(MSGPACK, name)
        assert "MpBits64 b;" in body, name
        assert "MathPow" not in body and "MathLog" not in body


# ---------------------------------------------------------------- lint


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(MQL)))
def test_balanced_delimiters(path):
    code = strip_code(path.read_text(encoding="utf-8"))
    stack = []
    for ch in code:
        if ch in "([{":
            stack.append(ch)
        elif ch in ")]}":
            assert stack and stack.pop() == "([{"[")]}".index(ch)], f"unbalanced {ch}"
    assert not stack


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(MQL)))
def test_no_stub_markers(path):
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"\b(TODO|FIXME|XXX|TBD|stub|not implemented)\b", text, re.I)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(MQL)))
def test_includes_resolve(path):
    for m in re.finditer(r'^#include\s+([<"])([^>"]+)[>"]', path.read_text(encoding="utf-8"), re.M):
        kind, target = m.groups()
        if target in EXTERNAL_INCLUDES:
            continue
        base = MQL / "Include" if kind == "<" else path.parent
        assert (base / target).is_file(), f"{path.name}: #include {target}"


def test_declared_methods_are_defined():
    text = "\n".join(strip_code(p.read_text(encoding="utf-8")) for p in INC.iterdir())
    missing = []
    for cls in re.finditer(r"\bclass\s+(\w+)[^{;]*\{", text):
        name = cls.group(1)
        depth, i = 0, cls.end() - 1
        while True:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                break
            i += 1
        body = text[cls.end() : i]
        for decl in re.finditer(r"^\s*(?:virtual\s+|static\s+)?[\w*]+\s+\*?(\w+)\s*\([^;{}]*\)\s*(?:const)?\s*;", body, re.M):
            if decl.group(1) in {"if", "while", "for", "switch", "return"}:
                continue
            if not re.search(rf"\b{name}::{decl.group(1)}\s*\(", text):
                missing.append(f"{name}::{decl.group(1)}")
    assert not missing


def test_error_paths_log_a_reason():
    """Every `return(false)` after a failed terminal call sits near a Print/PrintFormat."""
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"GetLastError\(\)", text):
            line = text.rfind("\n", 0, m.start())
            context = text[max(0, line - 300) : m.end() + 200]
            assert re.search(r"Print(Format)?\(|Refuse\(", context), f"{path.name}: GetLastError() not logged"
