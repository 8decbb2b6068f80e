"""Copy-engine fan-out with per-subscription copy settings (issue 15): "10 000 subscriptions
with mixed settings: <= 1.2x the all-default time in the same run".

Two engines built alike (bench_fanout_engine.build: half equal, half proportional, a few filled
copies each); in the second, four subscriptions in five carry settings that still copy the
benchmark's deal (so both engines do the same work per copy): multiplier 1, fixed 0.37 lots,
balance_ratio, reverse with a symbol allow-list, a side filter of both, a trader-volume range
and a price guard that the quote passes; since the issue's items 2, 5 and 8 also a suffix and
an explicit symbol map, stops settings and risk limits that are not hit. Rounds alternate between the two engines (same
machine state), the collector paused during each fan-out as the daemon does; figures are the
median round totals, their ratio, and the median of the per-round ratios (each round's two
fan-outs run back to back, so a shared machine's load shifts both: the headline figure).

Run: PYTHONPATH=. .venv/bin/python benchmarks/bench_fanout_settings.py [subscriptions] [rounds]
"""

from __future__ import annotations

import gc
import json
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_fanout_engine import T0, build  # noqa: E402

from bridge.copytrading import Engine, PriceTick, SetCopySettings, TraderPositionOpened  # noqa: E402
from bridge.domain.trading import Side  # noqa: E402

MIXED = (
    None,
    {"mode": "multiplier", "multiplier": "1", "symbols_blocked": "XAUUSD", "symbol_suffix": "c"},
    {"mode": "fixed", "fixed_volume": "0.37", "side": "both", "max_slippage_points": 1000,
     "daily_loss_limit": "50", "daily_loss_unit": "percent", "copy_stops": True},
    {"mode": "balance_ratio", "min_trader_volume": "0.01", "max_trader_volume": "50", "symbol_map": "GBPUSD=GBPUSD.m",
     "max_drawdown": "100000", "max_drawdown_action": "close_and_suspend"},
    {"reverse": True, "symbols_allowed": "GBPUSD,EURUSD,XAUUSD", "mirror_stop_changes": False},
)
TARGET = 1.2


def with_settings(engine: Engine) -> int:
    """Give four subscriptions in five one of MIXED's settings; how many have settings."""
    n = 0
    for sub in list(engine.subscriptions.values()):
        settings = MIXED[sub.id % len(MIXED)]
        if settings is not None:
            engine.handle(SetCopySettings(T0, sub.id, None, **settings))
            n += 1
    return n


def one_round(engine: Engine, ticket: int) -> tuple[int, int]:
    engine.handle(PriceTick(T0 + ticket, "GBPUSD", Decimal("1.26990"), Decimal("1.27010")))
    event = TraderPositionOpened(T0 + ticket, "trader", ticket, "GBPUSD", Side.SELL, Decimal("0.37"),
                                 Decimal("1.27000"))
    gc.disable()
    start = time.perf_counter_ns()
    step = engine.handle(event)
    elapsed = time.perf_counter_ns() - start
    gc.enable()
    return elapsed, len(step.commands)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    plain = build(n, random.Random(20240610))
    mixed = build(n, random.Random(20240610))
    configured = with_settings(mixed)
    times: dict[str, list[int]] = {"default": [], "mixed": []}
    opened = {}
    for r in range(rounds):
        for name, engine in (("default", plain), ("mixed", mixed)) if r % 2 else (("mixed", mixed),
                                                                                   ("default", plain)):
            elapsed, opened[name] = one_round(engine, 5000 + r)
            times[name].append(elapsed)
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = statistics.median(m / d for m, d in zip(times["mixed"], times["default"]))
    print(f"fan-out of one trader deal to {n} subscriptions, {rounds} rounds each, alternating")
    print(f"  all default:           median {med['default'] / 1e6:8.2f} ms  ({opened['default']} copies opened)")
    print(f"  mixed settings ({configured} of {n}): median {med['mixed'] / 1e6:8.2f} ms  "
          f"({opened['mixed']} copies opened)")
    print(f"  ratio of the medians: {med['mixed'] / med['default']:.3f};  of the fastest rounds: "
          f"{min(times['mixed']) / min(times['default']):.3f}")
    print(f"  ratio mixed / default, median over rounds: {ratio:.3f}  (target <= {TARGET})")
    print("BENCH " + json.dumps({"bench": "fanout_settings", "subscriptions": n, "rounds": rounds,
                                 "default_ms": round(med["default"] / 1e6, 3),
                                 "mixed_ms": round(med["mixed"] / 1e6, 3), "ratio": round(ratio, 3),
                                 "ratio_of_medians": round(med["mixed"] / med["default"], 3),
                                 "ratio_of_fastest": round(min(times["mixed"]) / min(times["default"]), 3),
                                 "target": TARGET, "ok": ratio <= TARGET}))


if __name__ == "__main__":
    main()
