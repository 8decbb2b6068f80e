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

Levels are in the *feed's* integer points: an account whose ask carries a markup of ``m``
points registers ``level - m`` in the ASK lists. A quote that fires nothing costs four
comparisons with the list ends; one that fires costs a bisect plus the slice it fires.
Entry ids come from a counter, so firing order (by id = registration order) is deterministic.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from typing import Any

BID_LE, BID_GE, ASK_LE, ASK_GE = 0, 1, 2, 3
_SHIFT = 32
_MASK = (1 << _SHIFT) - 1


class TriggerIndex:
    __slots__ = ("_entries", "_lists", "_next")

    def __init__(self) -> None:
        self._lists: dict[str, tuple[list[int], list[int], list[int], list[int]]] = {}
        self._entries: dict[int, tuple[str, int, int, Any]] = {}
        self._next = 1

    def lists(self, symbol: str) -> tuple[list[int], list[int], list[int], list[int]]:
        lists = self._lists.get(symbol)
        if lists is None:
            lists = self._lists[symbol] = ([], [], [], [])
        return lists

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
        insort(self.lists(symbol)[which], key)
        self._entries[eid] = (symbol, which, key, payload)
        return eid

    def remove(self, eid: int) -> bool:
        """Forget an entry (no-op for 0 or an entry that already fired)."""
        entry = self._entries.pop(eid, None)
        if entry is None:
            return False
        symbol, which, key, _ = entry
        keys = self._lists[symbol][which]
        i = bisect_left(keys, key)
        del keys[i]
        return True

    def __contains__(self, eid: object) -> bool:
        return eid in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def fire(self, lists: tuple[list[int], list[int], list[int], list[int]],
             bid: int, ask: int) -> list[tuple[int, Any]]:
        """Remove and return the entries crossed by (bid, ask), ordered by entry id."""
        out: list[int] = []
        bid_le, bid_ge, ask_le, ask_ge = lists
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
        entries = self._entries
        fired = sorted(k & _MASK for k in out)
        return [(eid, entries.pop(eid)[3]) for eid in fired]
