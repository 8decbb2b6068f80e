import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from enum import Enum, IntEnum

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.journal import Journal, canonical_json


class Side(Enum):
    BUY = "buy"
    SELL = "sell"


class Reason(IntEnum):
    CLIENT = 0
    STOP_OUT = 6


@dataclass(frozen=True, slots=True)
class Fill:
    ticket: int
    price: Decimal


def _sample(j: Journal) -> None:
    j.append("tick", 1000, symbol="EURUSD", bid=Decimal("1.10450"), ask=Decimal("1.10460"))
    j.append("order", 1000, ticket=7, side=Side.BUY, volume=Decimal("0.10"), reason=Reason.CLIENT)
    j.append("fill", 1250, fill=Fill(7, Decimal("1.10460")), tags=["a", "b"], note=None, ok=True)
    j.append("tick", 2000, symbol="EURUSD", bid=Decimal("1.10455"), ask=Decimal("1.10465"))


def test_sequence_numbers_and_record_shape():
    j = Journal()
    assert j.append("a", 5, x=1) == 1
    assert j.append("b", 5) == 2
    assert len(j) == 2
    assert [r["seq"] for r in j.records()] == [1, 2]
    assert j.records()[0] == {"seq": 1, "kind": "a", "time_ms": 5, "x": 1}


def test_lines_are_canonical_json():
    j = Journal()
    _sample(j)
    for line in j.lines():
        parsed = json.loads(line)
        assert line == json.dumps(parsed, sort_keys=True, separators=(",", ":"))
        assert "\n" not in line and " " not in line
    rec = j.records("order")[0]
    assert rec["side"] == Side.BUY.value and rec["reason"] == Reason.CLIENT.value
    assert type(rec["reason"]) is int and type(rec["ticket"]) is int
    fill = j.records("fill")[0]
    assert fill["fill"] == {"ticket": 7, "price": "1.10460"}
    assert fill["tags"] == ["a", "b"] and fill["note"] is None and fill["ok"] is True


@pytest.mark.parametrize("value", [Decimal("0.10"), Decimal("1E+3"), Decimal("-0.000001"),
                                   Decimal("12345678901234567890.123456789")])
def test_decimal_is_its_exact_string(value):
    j = Journal()
    j.append("x", 0, v=value)
    assert j.records()[0]["v"] == str(value)
    assert Decimal(j.records()[0]["v"]).as_tuple() == value.as_tuple()


@pytest.mark.parametrize("fields, exc", [
    ({"price": 1.1}, TypeError),
    ({"nested": {"p": [Decimal(1), 0.5]}}, TypeError),
    ({"when": datetime(2024, 1, 2, tzinfo=timezone.utc)}, TypeError),
    ({"ids": {1, 2}}, TypeError),
    ({"bad": Decimal("NaN")}, ValueError),
    ({"bad": {1: "int key"}}, TypeError),
    ({"seq": 3}, ValueError),
])
def test_refused_values_leave_the_journal_unchanged(fields, exc):
    j = Journal()
    j.append("ok", 1, a=1)
    before = (len(j), j.digest(), list(j.lines()))
    with pytest.raises(exc):
        j.append("bad", 2, **fields)
    assert (len(j), j.digest(), list(j.lines())) == before
    assert j.append("ok", 2) == 2


def test_float_time_and_backwards_time_are_refused():
    j = Journal()
    with pytest.raises(TypeError):
        j.append("x", 1.0)
    j.append("x", 10)
    with pytest.raises(ValueError, match="backwards"):
        j.append("x", 9)
    j.append("x", 10)  # equal time is fine
    assert len(j) == 2


def test_digest_is_sha256_of_the_written_file(tmp_path):
    j = Journal()
    assert j.digest() == hashlib.sha256(b"").hexdigest()
    _sample(j)
    path = tmp_path / "journal.jsonl"
    j.write(path)
    data = path.read_bytes()
    assert j.digest() == hashlib.sha256(data).hexdigest()
    assert data == ("\n".join(j.lines()) + "\n").encode()


def test_digest_is_incremental_and_repeatable():
    a, b = Journal(), Journal()
    _sample(a)
    _sample(b)
    assert a.digest() == b.digest() and list(a.lines()) == list(b.lines())
    d = a.digest()
    assert a.digest() == d  # asking does not disturb the running hash
    a.append("end", 3000)
    assert a.digest() != d
    c = Journal()
    _sample(c)
    c.append("end", 3000, detail="different")
    assert c.digest() != a.digest()


def test_counts_sorted_by_kind_and_records_by_kind():
    j = Journal()
    _sample(j)
    counts = j.counts()
    assert list(counts) == sorted(counts)
    assert counts == {k: sum(1 for r in j.records() if r["kind"] == k)
                      for k in {r["kind"] for r in j.records()}}
    assert [r["bid"] for r in j.records("tick")] == ["1.10450", "1.10455"]


def test_canonical_json_helper_matches_journal_lines():
    j = Journal()
    j.append("k", 4, b=Decimal("2.50"), a=[Side.SELL])
    assert canonical_json({"seq": 1, "kind": "k", "time_ms": 4, "b": Decimal("2.50"),
                           "a": [Side.SELL]}) == next(j.lines())


_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8)
    | st.decimals(allow_nan=False, allow_infinity=False, places=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                max_size=3),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["tick", "order", "fill"]),
                          st.integers(0, 10**6),
                          st.dictionaries(st.sampled_from(["p", "q", "v", "z"]), _values,
                                          max_size=3)),
                max_size=6))
def test_same_inputs_give_byte_identical_output(events):
    events = sorted(events, key=lambda e: e[1])

    def run():
        j = Journal()
        for kind, t, fields in events:
            j.append(kind, t, **fields)
        return j

    a, b = run(), run()
    assert list(a.lines()) == list(b.lines())
    assert a.digest() == b.digest()
    assert a.digest() == hashlib.sha256(
        "".join(line + "\n" for line in a.lines()).encode()).hexdigest()


def test_digest_hashed_in_batches_equals_sha256_of_all_lines():
    """Issue 12 section 3: "hashing per line where the digest could be computed in bulk" - the
    digest is computed over batches when asked for; it must equal the per-line SHA-256."""
    j = Journal()
    for i in range(10_000):  # more than one hash batch
        j.append("x", i, n=i)
        if i == 5000:
            assert j.digest() == hashlib.sha256(
                "".join(line + "\n" for line in j.lines()).encode()).hexdigest()
    per_line = hashlib.sha256()
    for line in j.lines():
        per_line.update(line.encode() + b"\n")
    assert j.digest() == per_line.hexdigest()


def test_line_writer_is_append_line_with_the_seq_filled_in():
    a, b = Journal(), Journal()
    write = a.line_writer("tick")
    a.append("start", 1)
    b.append("start", 1)
    write(5, '{"ask":"1.1","bid":"1.0","kind":"tick","seq":', ',"symbol":"X","time_ms":5}')
    b.append("tick", 5, symbol="X", bid=Decimal("1.0"), ask=Decimal("1.1"))
    assert list(a.lines()) == list(b.lines()) and a.digest() == b.digest() and a.counts() == b.counts()
    with pytest.raises(ValueError, match="backwards"):
        write(4, "{", "}")
    with pytest.raises(ValueError, match="backwards"):
        a.append("late", 4)  # the writer's time counts for every later record
    assert len(a) == 2


def test_append_line_refuses_non_ascii():
    j = Journal()
    with pytest.raises(ValueError, match="ASCII"):
        j.append_line("x", 1, '{"kind":"x","name":"\u00e9","seq":1,"time_ms":1}')
    assert len(j) == 0
