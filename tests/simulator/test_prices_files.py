import codecs
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from simulator.prices import (
    TICK_FLAG_ASK,
    TICK_FLAG_BID,
    CsvTickFeed,
    FeedError,
    Mt5TickFileFeed,
)

DATA = Path(__file__).parent / "data"
MT5_UTF8 = DATA / "EURUSD_ticks_mt5.tsv"
CSV = DATA / "ticks.csv"
HEADER = "<DATE>\t<TIME>\t<BID>\t<ASK>\t<LAST>\t<VOLUME>\t<FLAGS>"


def mt5_ms(date_s: str, time_s: str) -> int:
    fmt = "%Y.%m.%d %H:%M:%S.%f" if "." in time_s else "%Y.%m.%d %H:%M:%S"
    dt = datetime.strptime(f"{date_s} {time_s}", fmt).replace(tzinfo=timezone.utc)
    return round(dt.timestamp() * 1000)


def data_rows(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text("utf-8").splitlines()[1:] if line]


@pytest.fixture
def mt5_utf16(tmp_path) -> Path:
    """The sample as a real MT5 export: UTF-16 LE with BOM and CRLF line endings."""
    path = tmp_path / "EURUSD_ticks_mt5_utf16.tsv"
    text = MT5_UTF8.read_text("utf-8").replace("\n", "\r\n")
    path.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    return path


def test_mt5_replay_carries_one_sided_ticks_forward():
    ticks = list(Mt5TickFileFeed(MT5_UTF8, "EURUSD"))
    rows = data_rows(MT5_UTF8)
    # the reference: walk the rows, remembering the last bid and ask seen
    bid = ask = None
    expected = []
    for date_s, time_s, b, a, _last, _vol, flags in rows:
        bid, ask = (b or bid), (a or ask)
        if bid and ask:
            expected.append((mt5_ms(date_s, time_s), Decimal(bid), Decimal(ask), flags))
    assert len(ticks) == len(expected) < len(rows)  # the leading bid-only row is skipped
    assert any(not r[2] for r in rows) and any(not r[3] for r in rows)  # both kinds present
    for tick, (t, b, a, flags) in zip(ticks, expected):
        assert (tick.time_ms, tick.bid, tick.ask) == (t, b, a)
        assert tick.symbol == "EURUSD" and tick.last is None and tick.volume is None
        if flags:
            assert tick.flags == int(flags)
        assert tick.bid <= tick.ask


def test_mt5_empty_flags_are_derived_from_the_columns():
    rows = data_rows(MT5_UTF8)
    i = next(i for i, r in enumerate(rows) if not r[6])
    row = rows[i]
    tick = next(t for t in Mt5TickFileFeed(MT5_UTF8, "EURUSD")
                if t.time_ms == mt5_ms(row[0], row[1]))
    assert tick.flags == (TICK_FLAG_BID if row[2] else 0) | (TICK_FLAG_ASK if row[3] else 0)


def test_mt5_utf16_with_bom_reads_the_same(mt5_utf16):
    assert mt5_utf16.read_bytes()[:2] == codecs.BOM_UTF16_LE
    assert list(Mt5TickFileFeed(mt5_utf16, "EURUSD")) == list(Mt5TickFileFeed(MT5_UTF8, "EURUSD"))


def test_mt5_utf16_without_bom_and_utf8_with_bom(tmp_path):
    text = MT5_UTF8.read_text("utf-8")
    no_bom = tmp_path / "a.tsv"
    no_bom.write_bytes(text.encode("utf-16-le"))
    sig = tmp_path / "b.tsv"
    sig.write_bytes(text.encode("utf-8-sig"))
    ref = list(Mt5TickFileFeed(MT5_UTF8, "EURUSD"))
    assert list(Mt5TickFileFeed(no_bom, "EURUSD")) == ref
    assert list(Mt5TickFileFeed(sig, "EURUSD")) == ref


def write_mt5(tmp_path, *lines: str) -> Path:
    path = tmp_path / "bad.tsv"
    path.write_text("\n".join((HEADER,) + lines) + "\n", "utf-8")
    return path


GOOD = "2024.01.02\t00:00:01.000\t1.10000\t1.10010\t\t\t6"


@pytest.mark.parametrize("bad, problem", [
    ("2024.01.02\t00:00:02.000\t1.1x000\t1.10010\t\t\t6", "bad number"),
    ("2024.01.02\t00:00:02.000\tNaN\t1.10010\t\t\t6", "not a finite number"),
    ("2024.01.02\t00:00:02.000\t1.10020\t1.10010\t\t\t6", "bid 1.10020 > ask 1.10010"),
    ("2024.01.02\t00:00:00.999\t1.10000\t1.10010\t\t\t6", "time goes backwards"),
    ("2024.01.02\t00:00:02.000\t1.10000", "missing column"),
    ("2024.13.02\t00:00:02.000\t1.10000\t1.10010\t\t\t6", "bad date"),
    ("2024.01.02\t25:00:02.000\t1.10000\t1.10010\t\t\t6", "bad time"),
    ("2024.01.02\t00:00:02.000\t1.10000\t1.10010\t\t\tx", "bad flags"),
])
def test_mt5_errors_name_file_line_and_problem(tmp_path, bad, problem):
    path = write_mt5(tmp_path, GOOD, "", bad)  # the blank line still counts: bad is line 4
    feed = iter(Mt5TickFileFeed(path, "EURUSD"))
    assert next(feed).bid == Decimal("1.10000")  # lazily: good ticks come out first
    with pytest.raises(FeedError) as info:
        next(feed)
    err = info.value
    assert isinstance(err, ValueError)
    assert (err.path, err.line) == (str(path), 4)
    assert str(err).startswith(f"{path}:4: ") and problem in str(err)


def test_mt5_bid_above_carried_ask_is_caught(tmp_path):
    path = write_mt5(tmp_path, GOOD, "2024.01.02\t00:00:02.000\t1.10011\t\t\t\t2")
    with pytest.raises(FeedError, match=r":3: bid 1.10011 > ask 1.10010"):
        list(Mt5TickFileFeed(path, "EURUSD"))


def test_mt5_header_without_bid_is_refused(tmp_path):
    path = tmp_path / "h.tsv"
    path.write_text("<DATE>\t<TIME>\t<ASK>\n", "utf-8")
    with pytest.raises(FeedError, match=r":1: header lacks column\(s\) <BID>"):
        list(Mt5TickFileFeed(path, "EURUSD"))


def csv_ms(text: str) -> int:
    if text.isdigit():
        return int(text)
    dt = datetime.fromisoformat(text)
    dt = dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
    return round(dt.timestamp() * 1000)


def test_csv_replay_with_two_symbols():
    ticks = list(CsvTickFeed(CSV))
    rows = [line.split(",") for line in CSV.read_text("utf-8").splitlines()[1:]]
    assert [(t.time_ms, t.symbol, t.bid, t.ask) for t in ticks] == [
        (csv_ms(r[0]), r[1], Decimal(r[2]), Decimal(r[3])) for r in rows]
    assert {t.symbol for t in ticks} == {"EURUSD", "XAUUSD"}
    assert all(t.flags == TICK_FLAG_BID | TICK_FLAG_ASK for t in ticks)
    # an ISO time with an offset lands on the same instant as its UTC spelling
    assert csv_ms("2024-01-02T01:00:00.400+01:00") == csv_ms("1704153600400")
    assert list(CsvTickFeed(CSV)) == ticks


@pytest.mark.parametrize("bad, problem", [
    ("2024-01-02T00:00:02Z,EURUSD,1.1,abc", "bad number in ask"),
    ("2024-01-02T00:00:02Z,EURUSD,1.2,1.1", "bid 1.2 > ask 1.1"),
    ("1704153600000,EURUSD,1.1,1.2", "time goes backwards"),
    ("2024-01-02T00:00:02Z,EURUSD,1.1", "missing column"),
    ("2024-01-02T00:00:02Z,EURUSD,,1.1", "missing column"),
    ("2024-01-02 00:00:02.0005Z,EURUSD,1.1,1.2", "sub-millisecond"),
    ("yesterday,EURUSD,1.1,1.2", "bad time"),
    ("2024-01-02T00:00:02Z,EURUSD,inf,1.2", "not a finite number"),
])
def test_csv_errors_name_file_line_and_problem(tmp_path, bad, problem):
    path = tmp_path / "bad.csv"
    path.write_text(f"time,symbol,bid,ask\n2024-01-02T00:00:01Z,EURUSD,1.1,1.2\n{bad}\n", "utf-8")
    feed = iter(CsvTickFeed(path))
    assert next(feed).symbol == "EURUSD"
    with pytest.raises(FeedError) as info:
        next(feed)
    assert info.value.line == 3
    assert str(info.value).startswith(f"{path}:3: ") and problem in str(info.value)


def test_csv_header_must_name_the_columns(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("time,bid,ask\n1,1.1,1.2\n", "utf-8")
    with pytest.raises(FeedError, match=r":1: header lacks column\(s\) symbol"):
        list(CsvTickFeed(path))
