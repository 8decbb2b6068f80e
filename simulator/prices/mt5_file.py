"""Replay of MetaTrader 5 tick exports (Symbols > Ticks > Export).

Format: tab-separated, header ``<DATE>\\t<TIME>\\t<BID>\\t<ASK>\\t<LAST>\\t<VOLUME>\\t<FLAGS>``
(columns are found by name; <DATE>, <TIME>, <BID> and <ASK> are required), dates like
``2024.01.02``, times like ``00:00:00.123`` (or without milliseconds), server time. Real
exports are UTF-16 LE with a BOM; UTF-8 (with or without BOM) and ``\\r\\n`` endings are
accepted too. The export has no symbol column: the caller names the symbol.

One-sided ticks: MT5 writes a tick that changed only the bid (or only the ask) with the
other column empty. The feed carries the last known value of the missing side forward.
Until both sides have been seen once, ticks are **skipped** (a quote needs both sides).
Empty <LAST>/<VOLUME> become None; an empty <FLAGS> is derived from the columns present.

Every data line must have as many tab-separated columns as the header; blank lines are
skipped. Problems raise `FeedError` with the file, the 1-based line number (the header is
line 1) and the problem: bad number, NaN/infinity, bid > ask, time going backwards, missing
column, bad date/time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal

from simulator.prices._parse import Mt5DateTime, open_text, parse_flags, parse_optional
from simulator.prices.tick import (
    TICK_FLAG_ASK,
    TICK_FLAG_BID,
    TICK_FLAG_LAST,
    TICK_FLAG_VOLUME,
    FeedError,
    Tick,
)

__all__ = ["Mt5TickFileFeed"]

_REQUIRED = ("<DATE>", "<TIME>", "<BID>", "<ASK>")


class Mt5TickFileFeed:
    """Ticks of `symbol` replayed from an MT5 tick export; iterating again re-reads the file."""

    def __init__(self, path: str | os.PathLike[str], symbol: str) -> None:
        if not isinstance(symbol, str) or not symbol:
            raise ValueError("symbol must be a non-empty str")
        self.path = os.fspath(path)
        self.symbol = symbol

    def __iter__(self) -> Iterator[Tick]:
        path, symbol = self.path, self.symbol
        to_ms = Mt5DateTime()
        with open_text(path) as fh:
            header_line = fh.readline()
            header = [h.strip().upper() for h in header_line.rstrip("\r\n").split("\t")]
            missing = [c for c in _REQUIRED if c not in header]
            if missing:
                raise FeedError(path, 1, f"header lacks column(s) {', '.join(missing)}: "
                                         f"{header_line.rstrip()!r}")
            width = len(header)
            i_date, i_time, i_bid, i_ask = (header.index(c) for c in _REQUIRED)
            i_last = header.index("<LAST>") if "<LAST>" in header else None
            i_vol = header.index("<VOLUME>") if "<VOLUME>" in header else None
            i_flags = header.index("<FLAGS>") if "<FLAGS>" in header else None

            bid: Decimal | None = None
            ask: Decimal | None = None
            prev_ms: int | None = None
            for lineno, raw in enumerate(fh, start=2):
                line = raw.rstrip("\r\n")
                if not line.strip():
                    continue
                cols = line.split("\t")
                if len(cols) != width:
                    what = "missing column" if len(cols) < width else "too many columns"
                    raise FeedError(path, lineno,
                                    f"{what}: expected {width} tab-separated columns, "
                                    f"got {len(cols)}")
                try:
                    t = to_ms(cols[i_date].strip(), cols[i_time].strip())
                    b = parse_optional(cols[i_bid], "<BID>")
                    a = parse_optional(cols[i_ask], "<ASK>")
                    last = parse_optional(cols[i_last], "<LAST>") if i_last is not None else None
                    vol = parse_optional(cols[i_vol], "<VOLUME>") if i_vol is not None else None
                    flags = parse_flags(cols[i_flags]) if i_flags is not None else None
                except ValueError as exc:
                    raise FeedError(path, lineno, str(exc)) from None
                if prev_ms is not None and t < prev_ms:
                    raise FeedError(path, lineno,
                                    f"time goes backwards: {cols[i_date]} {cols[i_time]} "
                                    f"({t} ms) is before the previous tick ({prev_ms} ms)")
                prev_ms = t
                if flags is None:
                    flags = ((TICK_FLAG_BID if b is not None else 0)
                             | (TICK_FLAG_ASK if a is not None else 0)
                             | (TICK_FLAG_LAST if last is not None else 0)
                             | (TICK_FLAG_VOLUME if vol is not None else 0))
                if b is not None:
                    bid = b
                if a is not None:
                    ask = a
                if bid is None or ask is None:
                    continue  # one side never seen yet: no complete quote to give
                if bid > ask:
                    raise FeedError(path, lineno, f"bid {bid} > ask {ask}")
                yield Tick(symbol, t, bid, ask, last, vol, flags)
