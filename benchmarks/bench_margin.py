"""Incremental tiered-margin update vs recomputation from scratch (issue: foundation).

An account holds 1 000 open positions across 5 instrument groups. We time:
  * incremental: one position opens (or closes) -> MarginBook updates its group and total;
  * from scratch: the tiered margin of all 1 000 positions recomputed.
Both in the same run; medians over many batches. Target: incremental <= 5 us (median) and
>= 50x faster than from scratch.

Run: .venv/bin/python benchmarks/bench_margin.py
"""

from __future__ import annotations

import random
import statistics
import time
from decimal import Decimal

from bridge.domain import MarginBook, default_rules

GROUPS = ["forex_majors", "forex_minors", "indices", "metals", "crypto_majors"]
POSITIONS = 1000
BATCH = 200  # operations per timed batch (perf_counter resolution is fine at this size)
BATCHES = 101


def build_book(rng: random.Random) -> tuple[MarginBook, list[tuple[str, Decimal]]]:
    book = MarginBook(default_rules().margin_for("standard", "USD", 1000))
    specs = []
    for key in range(POSITIONS):
        group = GROUPS[key % len(GROUPS)]
        notional = Decimal(rng.randrange(1_000_000, 300_000_000)).scaleb(-2)  # 10 000.00 .. 3 000 000.00
        book.open(key, group, notional)
        specs.append((group, notional))
    return book, specs


def main() -> None:
    rng = random.Random(20261121)
    book, _ = build_book(rng)
    extra = [(GROUPS[i % len(GROUPS)], Decimal(rng.randrange(1_000_000, 300_000_000)).scaleb(-2))
             for i in range(BATCH)]
    keys = [("new", i) for i in range(BATCH)]

    incremental = []
    for _ in range(BATCHES):
        t0 = time.perf_counter_ns()
        for key, (group, notional) in zip(keys, extra):
            book.open(key, group, notional)
        t1 = time.perf_counter_ns()
        for key in keys:
            book.close(key)
        t2 = time.perf_counter_ns()
        incremental.append((t1 - t0) / BATCH)  # opens
        incremental.append((t2 - t1) / BATCH)  # closes
    assert len(book) == POSITIONS

    scratch = []
    for _ in range(BATCHES // 4):
        t0 = time.perf_counter_ns()
        total = book.recompute()
        scratch.append(time.perf_counter_ns() - t0)
    assert total == book.total  # the incremental total is exact

    inc_us = statistics.median(incremental) / 1000
    scratch_us = statistics.median(scratch) / 1000
    print(f"positions: {POSITIONS} across {len(GROUPS)} groups; margin {book.total} USD")
    print(f"incremental update (open or close one position), median: {inc_us:.2f} us   (target <= 5 us)")
    print(f"recompute from scratch at {POSITIONS} positions, median: {scratch_us:.1f} us")
    print(f"speed-up: {scratch_us / inc_us:.0f}x   (target >= 50x)")


if __name__ == "__main__":
    main()
