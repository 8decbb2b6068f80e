"""kill -9 during fan-outs at scale: the promise "never lost, never duplicated" under crashes.

The scenario of tests/integration/test_daemon_crash.py (bridge/daemon/crash_testing.py) with
thousands of investor subscriptions: a trader opens and closes positions, the daemon is
killed (SIGKILL) after a share of the steps at a random delay (before, during or after a
fan-out's journaling, sends and commit, or while results come back) and restarted on the same
journal; then everything must settle.

    .venv/bin/python benchmarks/bench_kill_fanout.py [--investors 3000] [--steps 40] [--seed 7]
        [--store sqlite|postgres]

Targets: 0 commands executed twice, 0 copies opened twice for one (subscription, trader
position), 0 journaled commands unexecuted or unanswered, the engine's copy map = the
terminals' positions; at least 10 kills. Ends with `BENCH {json}`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bridge.daemon.crash_testing import kill_during_fanouts  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--investors", type=int, default=3000)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    args = ap.parse_args()
    url, cluster = "", None
    if args.store == "postgres":
        from bridge.daemon.store_pgcluster import PgCluster

        cluster = PgCluster(fsync=True).start()
        url = cluster.create_database("bench_kill")
    try:
        with tempfile.TemporaryDirectory(prefix="bench-kill-") as tmp:
            run = kill_during_fanouts(Path(tmp), investors=args.investors, steps=args.steps, seed=args.seed,
                                      journal_url=url, settle_s=60 + args.investors / 20)
    finally:
        if cluster is not None:
            cluster.stop()
    problems = run.violations()
    executed = len(run.executions)
    figures = {
        "kills": {"value": run.kills, "target": ">= 10", "met": run.kills >= 10},
        "executions": {"value": executed},
        "command_frames_received": {"value": run.received},
        "resends_answered_from_store": {"value": run.received - executed},
        "violations": {"value": len(problems), "target": "== 0", "met": not problems},
        "settled": {"value": run.settled, "target": "true", "met": run.settled},
        "seconds": {"value": round(run.seconds, 1)},
    }
    print(f"kill -9 during fan-outs: {args.investors} investors, {args.steps} trader steps, store {args.store}")
    print(f"  kills {run.kills}, executions {executed}, command frames received {run.received} "
          f"({run.received - executed} re-sends answered from the executor's stored results), "
          f"settled {run.settled} after {run.seconds:.1f} s")
    for p in problems[:20]:
        print("  VIOLATION", p)
    met = all(f.get("met", True) for f in figures.values())
    print(f"targets {'met' if met else 'MISSED'}")
    print("BENCH " + json.dumps({"bench": "kill_fanout", "investors": args.investors, "steps": args.steps,
                                 "store": args.store, "figures": figures, "met": met}))


if __name__ == "__main__":
    main()
