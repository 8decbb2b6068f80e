"""A cheap, byte-identical fast path for journaling ticks.

`Journal.append` canonicalises a dict and runs ``json.dumps`` (several microseconds); a tick
record has a fixed shape, so its canonical line can be formatted directly. The line is
exactly what ``journal.append("tick", t, symbol=s, bid=b, ask=a)`` would write (sorted keys,
compact separators, Decimals as ``str``) - `tests/simulator/server` checks that.

It renders the line itself and hands it to `Journal.append_line`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

from simulator.journal import Journal


def tick_appender(journal: Journal) -> Callable[[str, int, Decimal, Decimal], None]:
    """A function ``append(symbol, time_ms, bid, ask)`` writing one canonical tick record.

    The caller guarantees finite Decimal prices (the server validates every quote first)."""
    quoted: dict[str, str] = {}
    append_line = journal.append_line

    def append(symbol: str, time_ms: int, bid: Decimal, ask: Decimal) -> None:
        q = quoted.get(symbol)
        if q is None:
            q = quoted[symbol] = json.dumps(symbol, ensure_ascii=True)
        line = (f'{{"ask":"{ask}","bid":"{bid}","kind":"tick","seq":{journal.next_seq},'
                f'"symbol":{q},"time_ms":{time_ms}}}')
        append_line("tick", time_ms, line)

    return append
