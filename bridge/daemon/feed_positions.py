"""The feed's positions (docs/monitoring.md F14): what `FeedModel` publishes about each login's
open positions, and the names (symbol, side) it puts on `record.copy_*`. A mixin of `FeedModel`
(it reads the model's `positions` table and its daemon core).

Swap (docs/protocol.md section 4, "Swap"): the terminals report each position's swap in
`hello`, `position_opened` and, for a swap change alone (the daily rollover), `position_modified`;
`note_swap` keeps the last one per ticket and `positions_body` carries it as `swap` (left out while
0 or unknown: a terminal older than the field reports none)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

MAX_POSITIONS_PER_LOGIN = 500  # `positions` lists at most this many per login (the newest tickets)
ZERO = Decimal(0)
MAX_RECENT_CLOSED = 4096  # ticket -> (symbol, side) kept after a close, to name them in `record.copy_*`


class PositionsFeed:
    core: Any
    positions: dict[int, dict[int, tuple]]
    recent_closed: dict[int, tuple[str, int]]
    swaps: dict[int, dict[int, Decimal]]  # login -> ticket -> swap last reported (not 0)

    def note_swap(self, login: int, ticket: int, swap: Decimal) -> None:
        """A position's swap as its terminal reported it; a change re-publishes the login's positions."""
        book = self._swap_table().setdefault(login, {})
        if book.get(ticket, ZERO) == swap:
            return
        if swap:
            book[ticket] = swap
        else:
            book.pop(ticket, None)
        self.positions_dirty.add(login)  # type: ignore[attr-defined]

    def note_swaps(self, login: int, positions: Iterable[Any]) -> None:
        """A hello's full snapshot: the swaps of exactly these positions."""
        self._swap_table()[login] = {p.ticket: p.swap for p in positions if p.swap}

    def _swap_table(self) -> dict[int, dict[int, Decimal]]:
        try:
            return self.swaps
        except AttributeError:  # made on first use: `FeedModel.__init__` does not know it
            self.swaps = {}
            return self.swaps

    def _remember_closed(self, ticket: int, symbol: str, sign: int) -> None:
        rc = self.recent_closed
        rc[ticket] = (symbol, sign)
        if len(rc) > MAX_RECENT_CLOSED:
            del rc[next(iter(rc))]  # the oldest (dicts keep insertion order)

    def _name_position(self, rec: Any, body: dict) -> None:
        """`symbol` and `side` on `record.copy_*`, so an event line says what was copied."""
        engine = self.core.engine
        sub = engine.subscriptions.get(rec.subscription)
        found: tuple[str, int] | None = None
        c = sub.copies.get(rec.trader_ticket) if sub is not None else None
        if c is not None:
            found = (c.symbol, c.side.sign)
        else:
            tid = getattr(rec, "trader", None) or (sub.trader if sub is not None else None)
            t = engine.traders.get(tid) if tid is not None else None
            p = t.positions.get(rec.trader_ticket) if t is not None else None
            if p is not None:
                found = (p.symbol, p.side.sign)
            else:
                found = self.recent_closed.get(getattr(rec, "ticket", None) or -1) \
                    or self.recent_closed.get(rec.trader_ticket)
        if found is not None:
            body["symbol"], body["side"] = found[0], "buy" if found[1] > 0 else "sell"

    def positions_body(self, login: int) -> dict:
        """F14: one login's open positions; a copy names the trader position it follows."""
        book = self.positions.get(login) or {}
        follows: dict[int, tuple[str, int]] = {}
        core = self.core
        sid = core.sub_of_account.get(login)
        sub = core.engine.subscriptions.get(sid) if sid is not None else None
        if sub is not None:
            for c in sub.copies.values():
                if c.ticket is not None:
                    follows[c.ticket] = (sub.trader, c.trader_ticket)
        swaps = self._swap_table().get(login)
        if swaps:  # closed tickets leave: bounded by the open positions
            swaps = {t: v for t, v in swaps.items() if t in book}
            self.swaps[login] = swaps
        rows = []
        for ticket in sorted(book)[-MAX_POSITIONS_PER_LOGIN:]:
            symbol, sign, volume, price = book[ticket]
            row: dict[str, Any] = {"ticket": ticket, "symbol": symbol, "side": "buy" if sign > 0 else "sell",
                                   "volume": str(volume), "price": str(price)}
            swap = swaps.get(ticket) if swaps else None
            if swap:
                row["swap"] = str(swap)
            f = follows.get(ticket)
            if f is not None:
                row["trader"], row["trader_ticket"] = f
            rows.append(row)
        return {"login": login, "positions": rows, "count": len(book)}
