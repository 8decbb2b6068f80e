"""Terminals' `quotes` -> the engine's conversion rates (pure; docs/copy-trading.md, "Where
conversion rates come from").

The daemon asks every terminal, in `welcome.quote_symbols`, for the quotes of
`Rules.conversion_symbols()`; terminals report them (`quotes`, docs/protocol.md). Each quote is
checked on its own (`check_quote`); a good one goes through `QuoteGate`, which decides when it
becomes an engine `PriceTick` (a journaled event):

* **dedupe**: a quote equal to the rate the engine already holds is dropped (a hundred terminals
  reporting the same EURUSD cost the journal nothing);
* **throttle**: at most one `PriceTick` per symbol per `interval_ms` (1 s). A change inside the
  interval is held, the newest replacing older ones, and fed when the interval ends
  (`due`): the engine's rate is never staler than one interval, and the journal grows by at
  most `len(symbols)` rows per interval (7 rows/s with the packaged rules), whatever the
  number of terminals or how fast they quote.

State is one entry per asked symbol (bounded by the welcome's list); time comes in as `now`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bridge.protocol import Quote

QUOTE_REFUSED = "quote_refused"  # daemon-level error code (docs/protocol.md section 8)
QUOTE_INTERVAL_MS = 1000  # at most one PriceTick per symbol per this many ms
QUOTE_FUTURE_MS = 60_000  # a quote time this far ahead of the daemon's clock is refused (clock skew)


def check_quote(quote: Quote, wanted: frozenset[str], now: int) -> tuple[str, str] | None:
    """(field, why) if the daemon refuses this quote, None if it is usable."""
    if quote.symbol not in wanted:
        return "symbol", f"{quote.symbol[:32]!r} is not a symbol the daemon asked for (welcome.quote_symbols)"
    if quote.bid <= 0:
        return "bid", "bid must be positive"
    if quote.ask < quote.bid:
        return "ask", f"ask {quote.ask} is below bid {quote.bid}"
    if quote.time > now + QUOTE_FUTURE_MS:
        return "time", f"quote time {quote.time} is more than {QUOTE_FUTURE_MS} ms ahead of the daemon clock {now}"
    return None


@dataclass(slots=True)
class _Symbol:
    fed_at: int  # when the last PriceTick of this symbol was fed
    held: tuple[Decimal, Decimal] | None = None  # a newer rate waiting for the interval's end


class QuoteGate:
    def __init__(self, interval_ms: int = QUOTE_INTERVAL_MS) -> None:
        self.interval_ms = interval_ms
        self.symbols: dict[str, _Symbol] = {}
        self.held = 0  # symbols with a held rate (so `due` costs nothing when there is none)

    def offer(self, symbol: str, bid: Decimal, ask: Decimal, current: tuple[Decimal, Decimal] | None,
              now: int) -> bool:
        """A checked quote; `current` is the engine's rate of the symbol. True: feed it now."""
        s = self.symbols.get(symbol)
        if (bid, ask) == current:  # the engine has it: nothing to journal, and a held change is moot
            if s is not None and s.held is not None:
                s.held = None
                self.held -= 1
            return False
        if s is None or now - s.fed_at >= self.interval_ms:
            if s is None:
                self.symbols[symbol] = _Symbol(now)
            else:
                s.fed_at = now
                if s.held is not None:
                    s.held = None
                    self.held -= 1
            return True
        if s.held is None:
            self.held += 1
        s.held = (bid, ask)
        return False

    def due(self, now: int) -> list[tuple[str, Decimal, Decimal]]:
        """The held rates whose interval ended, in symbol order (deterministic); each is fed now."""
        if not self.held:
            return []
        out = []
        for symbol in sorted(self.symbols):
            s = self.symbols[symbol]
            if s.held is not None and now - s.fed_at >= self.interval_ms:
                out.append((symbol, *s.held))
                s.held, s.fed_at = None, now
                self.held -= 1
        return out
