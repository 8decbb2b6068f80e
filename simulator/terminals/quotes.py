"""What the terminal reports in `quotes` (docs/protocol.md; the EA's Reporter does the same).

The daemon's `welcome.quote_symbols` names the conversion pairs it needs. The terminal reports
those its trade server quotes, each when it changed since its last report of it and at most
once per `every_ms` (1 s) per symbol, all of a moment's changes in one frame: a terminal costs
the daemon at most one `quotes` frame per `every_ms`, whatever the market does. Pure: the
quotes come in as (symbol -> tick) and time as `now`.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from bridge.protocol import MAX_QUOTES, Quote

QUOTE_EVERY_MS = 1000


class QuoteWatch:
    def __init__(self, every_ms: int = QUOTE_EVERY_MS) -> None:
        self.every_ms = every_ms
        self.symbols: tuple[str, ...] = ()
        self.reported: dict[str, tuple[Decimal, Decimal, int]] = {}  # symbol -> (bid, ask, at)

    def ask(self, symbols: tuple[str, ...]) -> None:
        """The welcome's list (a new one replaces the old; kept to MAX_QUOTES, as on the wire)."""
        self.symbols = tuple(dict.fromkeys(symbols))[:MAX_QUOTES]
        self.reported = {s: r for s, r in self.reported.items() if s in self.symbols}

    def due(self, tick: Callable[[str], tuple[int, Decimal, Decimal] | None], now: int) -> tuple[Quote, ...]:
        """The quotes to report now; `tick(symbol)` is the server's (time UTC ms, bid, ask) or None
        (a symbol this server does not quote: skipped, as the EA skips one not in Market Watch)."""
        out = []
        for symbol in self.symbols:
            t = tick(symbol)
            if t is None:
                continue
            time, bid, ask = t
            if bid <= 0 or ask < bid:
                continue  # not a usable quote (the daemon would refuse it)
            last = self.reported.get(symbol)
            if last is not None and ((last[0], last[1]) == (bid, ask) or now - last[2] < self.every_ms):
                continue
            self.reported[symbol] = (bid, ask, now)
            out.append(Quote(symbol, bid, ask, time))
        return tuple(out)
