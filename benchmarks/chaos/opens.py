"""What the harness knows of each `open` a terminal received: the trader's open and send times
(`Book`) and the first arrival of each key (`OpenSeen`), judged late against the validity."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bridge.protocol import RETCODE_EXPIRED


def trader_ticket_of(key: str) -> int:
    """'s12-t7001-open-1' -> 7001."""
    m = re.search(r"-t(\d+)-", key)
    return int(m.group(1)) if m else -1


def expired_result(now_ms: int) -> dict[str, Any]:
    """A terminal's answer to an `open` received past its `expires`: refused, RETCODE_EXPIRED."""
    return dict(ok=False, retcode=RETCODE_EXPIRED, ticket=0, price=Decimal(0), volume=Decimal(0), time=now_ms,
                message="expired")


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

    def late(self, trader_ticket: int, recv_ms: int) -> bool:
        """An open of `trader_ticket` received at `recv_ms` came past the trader's open time + validity."""
        opened = self.open_ms.get(trader_ticket)
        return opened is not None and recv_ms > opened + self.validity_ms

