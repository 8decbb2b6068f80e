"""Replay of plain CSV tick files with several symbols.

Format: a header naming at least ``time,symbol,bid,ask`` (any order, case-insensitive;
optional ``last``, ``volume``, ``flags``), then one tick per row. ``time`` is either an
integer of milliseconds since the epoch or ISO-8601 (``2024-01-02T00:00:00.123Z``; an offset
is converted to UTC, a naive time is taken as server time = UTC; sub-millisecond precision
is refused). Both bid and ask are required on every row. Times must not decrease across the
file (ticks of all symbols share one timeline). UTF-8 (with or without BOM) or UTF-16.

Problems raise `FeedError` with the file, the 1-based line number (header = line 1) and the
problem. Rows are assumed to span one line each (no quoted newlines).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator

from simulator.prices._parse import (
    open_text,
    parse_flags,
    parse_optional,
    parse_price,
    parse_time_ms,
)
from simulator.prices.tick import (
    TICK_FLAG_ASK,
    TICK_FLAG_BID,
    TICK_FLAG_LAST,
    TICK_FLAG_VOLUME,
    FeedError,
    Tick,
)

__all__ = ["CsvTickFeed"]

_REQUIRED = ("time", "symbol", "bid", "ask")


class CsvTickFeed:
    """Ticks replayed from a CSV file; iterating again re-reads the file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)

    def __iter__(self) -> Iterator[Tick]:
        path = self.path
        with open_text(path, newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise FeedError(path, 1, "empty file: no header")
            names = [h.strip().lower() for h in header]
            missing = [c for c in _REQUIRED if c not in names]
            if missing:
                raise FeedError(path, 1, f"header lacks column(s) {', '.join(missing)}")
            width = len(names)
            i_time, i_sym, i_bid, i_ask = (names.index(c) for c in _REQUIRED)
            i_last = names.index("last") if "last" in names else None
            i_vol = names.index("volume") if "volume" in names else None
            i_flags = names.index("flags") if "flags" in names else None
            prev_ms: int | None = None
            for row in reader:
                lineno = reader.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if len(row) != width:
                    what = "missing column" if len(row) < width else "too many columns"
                    raise FeedError(path, lineno,
                                    f"{what}: expected {width} columns, got {len(row)}")
                symbol = row[i_sym].strip()
                if not symbol:
                    raise FeedError(path, lineno, "missing column: empty symbol")
                try:
                    t = parse_time_ms(row[i_time])
                    if not row[i_bid].strip() or not row[i_ask].strip():
                        raise ValueError("missing column: bid and ask are both required")
                    bid = parse_price(row[i_bid], "bid")
                    ask = parse_price(row[i_ask], "ask")
                    last = parse_optional(row[i_last], "last") if i_last is not None else None
                    vol = parse_optional(row[i_vol], "volume") if i_vol is not None else None
                    flags = parse_flags(row[i_flags]) if i_flags is not None else None
                except ValueError as exc:
                    raise FeedError(path, lineno, str(exc)) from None
                if bid > ask:
                    raise FeedError(path, lineno, f"bid {bid} > ask {ask} for {symbol}")
                if prev_ms is not None and t < prev_ms:
                    raise FeedError(path, lineno,
                                    f"time goes backwards: {row[i_time].strip()} ({t} ms) is "
                                    f"before the previous tick ({prev_ms} ms)")
                prev_ms = t
                if flags is None:
                    flags = (TICK_FLAG_BID | TICK_FLAG_ASK
                             | (TICK_FLAG_LAST if last is not None else 0)
                             | (TICK_FLAG_VOLUME if vol is not None else 0))
                yield Tick(symbol, t, bid, ask, last, vol, flags)
