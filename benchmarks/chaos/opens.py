"""What the harness knows of each `open` a terminal received: the trader's open and send times
(`Book`) and the first arrival of each key (`OpenSeen`), judged late against the validity."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


def trader_ticket_of(key: str) -> int:
    """'s12-t7001-open-1' -> 7001."""
    m = re.search(r"-t(\d+)-", key)
    return int(m.group(1)) if m else -1


@dataclass
class OpenSeen:
    login: int
    key: str
    trader_ticket: int
    recv_ms: int
    recv_ns: int
    late: bool  # arrived past trader open time + validity
    executed: bool  # executed (not refused as expired) the first time this key came


@dataclass
class Book:
    """What the test knows of the trader: open time (wall ms) and send time (perf ns) per ticket."""

    validity_ms: int
    open_ms: dict[int, int] = field(default_factory=dict)
    sent_ns: dict[int, int] = field(default_factory=dict)

