"""Work per quote of the simulated trade server, counted instead of timed (load-independent).

`bench_simulator_ticks.py` times the cases on CPU clock, which a shared machine still moves by
10-30 % between runs. This script runs the same quotes through the same prepared servers under
``sys.settrace`` with opcode events and counts, over the timed part only, the Python bytecode
instructions executed and the Python function calls: numbers that are the same on every run
and every machine, so two versions of the server can be compared exactly (a change that adds
an attribute chain to the tick path adds instructions to every quote).

    PYTHONPATH=. .venv/bin/python benchmarks/count_tick_work.py [--ticks 200000] [--cases empty,loaded]

Compare two versions by running it in each tree (e.g. ``git archive <commit> simulator bridge
benchmarks | tar -x -C /tmp/before``, then the same command there). C-level work (Decimal
arithmetic, dict look-ups) is not counted; the instructions that call it are. Tracing is
slow (about 100x): the default 200 000 quotes take a few minutes per case.

Prints each case's figures and the ratio to the empty case, then ``BENCH {json}``.
"""

from __future__ import annotations

import argparse
import json
import sys

from bench_simulator_ticks import SYMBOLS, make_ticks, prepared


def count(server, ticks: list) -> tuple[int, int]:
    """(bytecode instructions, Python calls) spent by `server.run(ticks)`."""
    ops = calls = 0

    def tracer(frame, event, arg):
        nonlocal ops, calls
        frame.f_trace_opcodes = True
        if event == "opcode":
            ops += 1
        elif event == "call":
            calls += 1
        return tracer

    sys.settrace(tracer)
    try:
        server.run(ticks)
    finally:
        sys.settrace(None)
    return ops, calls


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ticks", type=int, default=200_000)
    ap.add_argument("--cases", default="empty,loaded", help="comma-separated: empty, loaded, thin")
    ap.add_argument("--thin-accounts", type=int, default=1000)
    args = ap.parse_args()
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    bad = sorted(set(cases) - {"empty", "loaded", "thin"})
    if bad or "empty" not in cases:
        raise SystemExit(f"--cases: empty plus any of loaded, thin (got {args.cases!r})")
    ticks = make_ticks(args.ticks, seed=7)  # the quotes bench_simulator_ticks.py times
    warm = len(SYMBOLS) * 2
    rest = ticks[warm:]
    figures = {}
    for name in cases:
        ops, calls = count(prepared(name, ticks, warm, args.thin_accounts), rest)
        figures[name] = {"instructions": ops, "calls": calls, "instructions_per_quote": round(ops / len(rest), 3),
                         "calls_per_quote": round(calls / len(rest), 3)}
    base = figures["empty"]["instructions"]
    for name, f in figures.items():
        f["work_vs_empty"] = round(f["instructions"] / base, 4)
        print(f"{name:<7} {f['instructions']:>12,} instructions ({f['instructions_per_quote']} per quote), "
              f"{f['calls']:>10,} calls ({f['calls_per_quote']} per quote); {f['work_vs_empty']:.4f}x the empty "
              "case's instructions")
    print("BENCH " + json.dumps({"bench": "tick_work", "quotes": len(rest), "clock": "none (counted)",
                                 "cases": figures}, separators=(",", ":")))


if __name__ == "__main__":
    main()
