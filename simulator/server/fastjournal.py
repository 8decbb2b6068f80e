"""A cheap, byte-identical fast path for journaling ticks.

`Journal.append` canonicalises a dict and runs ``json.dumps`` (several microseconds); a tick
record has a fixed shape, so its canonical line can be formatted directly. The line is
exactly what ``journal.append("tick", t, symbol=s, bid=b, ask=a)`` would write (sorted keys,
compact separators, Decimals as ``str``) - `tests/simulator/server` checks that.

This touches `Journal`'s private state (lines, kind counter, running hash, last time),
because the journal module (owned by the feeds helper) has no raw-append hook yet; the
report asks for a public ``Journal.append_line(kind, time_ms, line)`` to replace it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

from simulator.journal import Journal


def tick_appender(journal: Journal) -> Callable[[str, int, Decimal, Decimal], None]:
    """A function ``append(symbol, time_ms, bid, ask)`` writing one canonical tick record.

    The caller guarantees finite Decimal prices (the server validates every quote first)."""
    try:
        lines = journal._lines
        kinds = journal._kinds
        digest = journal._hash
    except AttributeError:  # a different journal implementation: use the public path
        def slow(symbol: str, time_ms: int, bid: Decimal, ask: Decimal) -> None:
            journal.append("tick", time_ms, symbol=symbol, bid=bid, ask=ask)
        return slow

    quoted: dict[str, str] = {}
    update = digest.update
    append_line = lines.append

    def append(symbol: str, time_ms: int, bid: Decimal, ask: Decimal) -> None:
        last = journal._last_time_ms
        if last is not None and time_ms < last:
            raise ValueError(f"journal time went backwards: {time_ms} < {last} (tick)")
        q = quoted.get(symbol)
        if q is None:
            q = quoted[symbol] = json.dumps(symbol, ensure_ascii=True)
        line = (f'{{"ask":"{ask}","bid":"{bid}","kind":"tick","seq":{len(lines) + 1},'
                f'"symbol":{q},"time_ms":{time_ms}}}')
        append_line(line)
        update(line.encode("ascii") + b"\n")
        kinds["tick"] += 1
        journal._last_time_ms = time_ms

    return append
