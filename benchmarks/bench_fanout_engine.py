"""Copy-engine fan-out: one trader deal copied to 10 000 subscriptions (issue: copy engine).

Engine time only (events are built before the clock starts), including per subscription:
state/terminal checks, the volume from `bridge.domain.sizing.copy_volume` (half equal, half
proportional from the current equities), the pre-trade tiered margin check
(`MarginBook.total_if_opened`), the margin reservation, and the OpenCopy command with its
idempotency key. Subscriptions already hold a few copies so the margin books are not empty.

Figures (two runs of rounds: the collector paused during each fan-out, as the daemon does,
then the default collector):
  * total: `Engine.handle(TraderPositionOpened)` for the whole fan-out, median over rounds;
  * per subscription: each round's total / subscriptions -> median and p99 over rounds;
  * per subscription, individually: the same fan-out timed subscription by subscription
    (the engine's loop called with a one-element list), median and p99 over all of them;
    this includes a call and a timer read per subscription.
Target: total <= 50 ms, i.e. <= 5 us per subscription.

Run: .venv/bin/python benchmarks/bench_fanout_engine.py [subscriptions] [rounds]
"""

from __future__ import annotations

import gc
import random
import statistics
import sys
import time
from decimal import Decimal

from bridge.copytrading.trader import TraderPosition
from bridge.copytrading import (AccountUpdated, CommandFilled, Engine, Subscribe, TraderPositionOpened,
                                TraderRegistered, WalletDeposited)
from bridge.domain.sizing import VolumeMode
from bridge.domain.trading import Side

T0 = 1_718_000_000_000  # a Monday 06:13 UTC


def build(n: int, rng: random.Random) -> Engine:
    engine = Engine()
    now = T0
    engine.handle(TraderRegistered(now, "trader", 1, "mt4_standard", 500, Decimal("20")))
    engine.handle(AccountUpdated(now, 1, Decimal("10000"), Decimal("10000")))
    for i in range(n):
        investor = f"inv{i:05d}"
        amount = Decimal(rng.randrange(100_000, 5_000_000)).scaleb(-2)  # 1 000.00 .. 50 000.00
        engine.handle(WalletDeposited(now, investor, amount))
        mode = VolumeMode.EQUAL if i % 2 else VolumeMode.PROPORTIONAL
        engine.handle(Subscribe(now, investor, "trader", 100_000 + i, amount, mode=mode,
                                protection_pct=Decimal(rng.randrange(0, 51)), leverage=500))
    # A few earlier copies, filled, so each margin book has positions in two groups.
    ticket = 10
    for symbol, price in (("EURUSD", Decimal("1.08000")), ("XAUUSD", Decimal("2300.00"))):
        ticket += 1
        step = engine.handle(TraderPositionOpened(now, "trader", ticket, symbol, Side.BUY, Decimal("0.1"), price))
        for k, cmd in enumerate(step.commands):
            engine.handle(CommandFilled(now, cmd.key, 1_000_000 * ticket + k, cmd.volume, price))
    return engine


def fan_out_rounds(engine: Engine, rounds: int, first_ticket: int, pause_gc: bool) -> tuple[list[int], int]:
    totals, opened = [], 0
    for ticket in range(first_ticket, first_ticket + rounds):
        event = TraderPositionOpened(T0 + ticket, "trader", ticket, "GBPUSD", Side.SELL, Decimal("0.37"),
                                     Decimal("1.27000"))
        if pause_gc:
            gc.disable()
        start = time.perf_counter_ns()
        step = engine.handle(event)
        totals.append(time.perf_counter_ns() - start)
        gc.enable()
        opened = len(step.commands)
    return totals, opened


def pct(values: list, q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def report(label: str, totals: list[int], n: int) -> None:
    per_sub = [t / n / 1000 for t in totals]
    print(f"  {label}")
    print(f"    total:            median {statistics.median(totals) / 1e6:8.2f} ms   "
          f"p99 {pct(totals, 0.99) / 1e6:8.2f} ms   min {min(totals) / 1e6:8.2f} ms   (target <= 50 ms)")
    print(f"    per subscription: median {statistics.median(per_sub):8.2f} us   p99 {pct(per_sub, 0.99):8.2f} us"
          f"   (round total / subscriptions; target <= 5 us)")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 21
    engine = build(n, random.Random(20240610))
    # Engine time only: the cyclic collector paused for the fan-out (the daemon does the same:
    # gc.disable() around one fan-out, gc.enable() after, so a full collection that rescans
    # every subscription never lands inside a fan-out). Then the same with the default gc.
    paused, opened = fan_out_rounds(engine, rounds, 2000, pause_gc=True)
    default_gc, _ = fan_out_rounds(engine, rounds, 1000, pause_gc=False)

    # Individually: the engine's fan-out loop, one subscription at a time.
    t = engine.traders["trader"]
    subs = list(engine._trader_subs["trader"])
    engine.s.seq += 1
    pos = TraderPosition(3000, "GBPUSD", Side.SELL, Decimal("0.37"), Decimal("1.27000"), T0 + 3000, engine.s.seq)
    t.positions[pos.ticket] = pos
    engine._commands, engine._records = [], []
    singles = []
    gc.disable()
    for sub in subs:
        start = time.perf_counter_ns()
        engine._fan_out(t, pos, [sub])
        singles.append(time.perf_counter_ns() - start)
    gc.enable()

    print(f"fan-out of one trader deal to {n} subscriptions ({opened} copies opened per round), {rounds} rounds")
    report("engine time (collector paused during the fan-out)", paused, n)
    report("with the default collector running (full collections rescan all state)", default_gc, n)
    print(f"  per subscription, timed one by one (collector paused): median {statistics.median(singles) / 1000:6.2f} us"
          f"   p99 {pct(singles, 0.99) / 1000:6.2f} us   (includes the call and timer overhead)")


if __name__ == "__main__":
    main()
