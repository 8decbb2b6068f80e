"""Price-level index: which SL/TP, pending-order and risk-band levels a quote crosses.

Per symbol, four sorted lists of integer keys ``level_points << 32 | entry_id``:

======== ===================================== ==============================================
list     fires when                            used for
======== ===================================== ==============================================
BID_LE   bid <= level                          buy SL, sell stop, buy-side risk band
BID_GE   bid >= level                          buy TP, sell limit
ASK_LE   ask <= level                          sell TP, buy limit
ASK_GE   ask >= level                          sell SL, buy stop, sell-side risk band
======== ===================================== ==============================================

Each symbol's `Levels` also keeps the quiet window ``bid_lo < bid < bid_hi and ask_lo < ask <
ask_hi`` in which a quote fires nothing, updated on every change, so the per-quote test is
two chained integer comparisons whether the symbol has no levels or thousands.

Levels are in the *feed's* integer points: an account whose ask carries a markup of ``m``
points registers ``level - m`` in the ASK lists. A quote that fires nothing costs four
comparisons; one that fires costs a bisect plus the slice it fires.
Entry ids come from a counter, so firing order (by id = registration order) is deterministic.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from typing import Any

BID_LE, BID_GE, ASK_LE, ASK_GE = 0, 1, 2, 3
_SHIFT = 32
_MASK = (1 << _SHIFT) - 1
_BELOW_ALL = -1  # no price is <= this (quotes are positive)
_ABOVE_ALL = 1 << 62


class Levels:
    """One symbol's four sorted key lists and the quiet window they leave."""

    __slots__ = ("ask_hi", "ask_lo", "bid_hi", "bid_lo", "lists")

    def __init__(self) -> None:
        self.lists: tuple[list[int], list[int], list[int], list[int]] = ([], [], [], [])
        self.bid_lo = self.ask_lo = _BELOW_ALL
        self.bid_hi = self.ask_hi = _ABOVE_ALL

    def quiet(self, bid: int, ask: int) -> bool:
        """True when (bid, ask) crosses no level."""
        return self.bid_lo < bid < self.bid_hi and self.ask_lo < ask < self.ask_hi

    def reset_window(self) -> None:
        bid_le, bid_ge, ask_le, ask_ge = self.lists
        self.bid_lo = bid_le[-1] >> _SHIFT if bid_le else _BELOW_ALL
        self.bid_hi = bid_ge[0] >> _SHIFT if bid_ge else _ABOVE_ALL
        self.ask_lo = ask_le[-1] >> _SHIFT if ask_le else _BELOW_ALL
        self.ask_hi = ask_ge[0] >> _SHIFT if ask_ge else _ABOVE_ALL


def _reset_side(levels: Levels, which: int, keys: list[int]) -> None:
    """The quiet window's bound for list `which` after it changed."""
    if which == BID_LE:
        levels.bid_lo = keys[-1] >> _SHIFT if keys else _BELOW_ALL
    elif which == BID_GE:
        levels.bid_hi = keys[0] >> _SHIFT if keys else _ABOVE_ALL
    elif which == ASK_LE:
        levels.ask_lo = keys[-1] >> _SHIFT if keys else _BELOW_ALL
    else:
        levels.ask_hi = keys[0] >> _SHIFT if keys else _ABOVE_ALL


class TriggerIndex:
    __slots__ = ("_entries", "_levels", "_next")

    def __init__(self) -> None:
        self._levels: dict[str, Levels] = {}
        self._entries: dict[int, tuple[Levels, int, int, Any]] = {}
        self._next = 1

    def levels(self, symbol: str) -> Levels:
        levels = self._levels.get(symbol)
        if levels is None:
            levels = self._levels[symbol] = Levels()
        return levels

    def add(self, symbol: str, which: int, level_points: int, payload: Any) -> int:
        """Register a level; returns its entry id, or 0 when it can never fire (level < 0
        on a "<=" list)."""
        if level_points < 0:
            if which in (BID_LE, ASK_LE):
                return 0
            level_points = 0
        eid = self._next
        if eid > _MASK:
            raise OverflowError("trigger ids exhausted")
        self._next = eid + 1
        key = (level_points << _SHIFT) | eid
        levels = self._levels.get(symbol) or self.levels(symbol)
        keys = levels.lists[which]
        insort(keys, key)
        _reset_side(levels, which, keys)
        self._entries[eid] = (levels, which, key, payload)
        return eid

    def remove(self, eid: int) -> bool:
        """Forget an entry (no-op for 0 or an entry that already fired)."""
        entry = self._entries.pop(eid, None)
        if entry is None:
            return False
        levels, which, key, _ = entry
        keys = levels.lists[which]
        i = bisect_left(keys, key)
        del keys[i]
        if i == 0 or i == len(keys):  # an end moved
            _reset_side(levels, which, keys)
        return True

    def __contains__(self, eid: object) -> bool:
        return eid in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def fire(self, levels: Levels, bid: int, ask: int) -> list[tuple[int, Any]]:
        """Remove and return the entries crossed by (bid, ask), ordered by entry id."""
        out: list[int] = []
        bid_le, bid_ge, ask_le, ask_ge = levels.lists
        if bid_le and bid_le[-1] >= bid << _SHIFT:
            i = bisect_left(bid_le, bid << _SHIFT)
            out.extend(bid_le[i:])
            del bid_le[i:]
        if bid_ge and bid_ge[0] < (bid + 1) << _SHIFT:
            i = bisect_left(bid_ge, (bid + 1) << _SHIFT)
            out.extend(bid_ge[:i])
            del bid_ge[:i]
        if ask_le and ask_le[-1] >= ask << _SHIFT:
            i = bisect_left(ask_le, ask << _SHIFT)
            out.extend(ask_le[i:])
            del ask_le[i:]
        if ask_ge and ask_ge[0] < (ask + 1) << _SHIFT:
            i = bisect_left(ask_ge, (ask + 1) << _SHIFT)
            out.extend(ask_ge[:i])
            del ask_ge[:i]
        levels.reset_window()
        entries = self._entries
        fired = sorted(k & _MASK for k in out)
        return [(eid, entries.pop(eid)[3]) for eid in fired]
