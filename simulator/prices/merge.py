"""Merging several tick streams into one time-ordered stream."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator

from simulator.prices.tick import Tick

__all__ = ["merge_feeds"]


def _key(tick: Tick) -> tuple[int, str]:
    return (tick.time_ms, tick.symbol)


def merge_feeds(*feeds: Iterable[Tick]) -> Iterator[Tick]:
    """Merge time-ordered tick streams lazily.

    Order: by time, then symbol name, then the position of the source in the argument list
    (``heapq.merge`` is stable). Each input must itself be ordered by (time, symbol); ticks
    of one source that tie on both keep their order in that source.
    """
    return heapq.merge(*feeds, key=_key)
