"""Differential fuzz of the MQL codec against bridge.protocol, more frames than `make test`.

    python benchmarks/bench_mql_fuzz.py [--frames 200000] [--seed 1] [--sanitize]

Both branches (MQL4, MQL5). Prints one summary line per branch, then `BENCH {json}` with the
frame count, the agreement figures, the documented disagreements and the frames per second
of the whole comparison. Target: 0 undocumented disagreements.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mqlnative.fuzz import run  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sanitize", action="store_true")
    args = parser.parse_args()
    started = time.monotonic()
    reports = run(args.frames, args.seed, ["mql4", "mql5"], sanitize=args.sanitize)
    seconds = time.monotonic() - started
    failures = 0
    for report in reports:
        print(json.dumps(report.summary()))
        for line in report.failures[:5]:
            print("  FAIL " + line[:400])
        failures += len(report.failures)
    result = {
        "frames": args.frames, "seed": args.seed, "sanitize": args.sanitize,
        "branches": [r.summary() for r in reports], "undocumented_disagreements": failures,
        "target_undocumented": 0, "met": failures == 0, "seconds": round(seconds, 1),
        "frames_per_s": round(args.frames * len(reports) / seconds),
    }
    print("BENCH " + json.dumps(result, separators=(",", ":")), flush=True)
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
