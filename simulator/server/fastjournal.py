"""A cheap, byte-identical fast path for journaling ticks.

`Journal.append` canonicalises a dict and runs ``json.dumps`` (several microseconds); a tick
record has a fixed shape, so its canonical line can be formatted directly. The line is
exactly what ``journal.append("tick", t, symbol=s, bid=b, ask=a)`` would write (sorted keys,
compact separators, Decimals as ``str``) - `tests/simulator/server` checks that.

Decimals are formatted with ``!s`` (``str``): the same bytes as ``{value}``, which goes
through ``Decimal.__format__`` and costs about three times as much.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

from simulator.journal import Journal


def tick_tail(symbol: str) -> str:
    """The part of a tick line after its seq, up to the time: constant per symbol."""
    return f',"symbol":{json.dumps(symbol, ensure_ascii=True)},"time_ms":'


def tick_appender(journal: Journal) -> Callable[[str, int, Decimal, Decimal], None]:
    """A function ``append(symbol, time_ms, bid, ask)`` writing one canonical tick record.

    The caller guarantees finite Decimal prices (the server validates every quote first)."""
    write = journal.line_writer("tick")
    tails: dict[str, str] = {}

    def append(symbol: str, time_ms: int, bid: Decimal, ask: Decimal) -> None:
        tail = tails.get(symbol)
        if tail is None:
            tail = tails[symbol] = tick_tail(symbol)
        write(time_ms, f'{{"ask":"{ask!s}","bid":"{bid!s}","kind":"tick","seq":', f"{tail}{time_ms}}}")

    return append


def reference_tick_appender(journal: Journal) -> Callable[[str, int, Decimal, Decimal], None]:
    """The same records through the generic `Journal.append` (the reference the fast path
    must equal byte for byte)."""

    def append(symbol: str, time_ms: int, bid: Decimal, ask: Decimal) -> None:
        journal.append("tick", time_ms, symbol=symbol, bid=bid, ask=ask)

    return append
