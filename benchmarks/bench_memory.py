"""Memory over long clean traffic, in process (issue 10, item 8): the daemon core with a real
SQLite journal, driven without sockets by `bridge.daemon.soak.Soak` (one trader, N investors,
open + fill + close + closing deal per investor and round trip; an execution is one command
executed: an open or a close). WAL checkpoints run in a thread every second, as the daemon's
shell runs them, so the race between the checkpoint and the writer is the real one.

    .venv/bin/python benchmarks/bench_memory.py [--executions 400000] [--investors 100]
                                                [--max-seconds 180] [--passive-only]

Prints RSS after the first 10 % of the executions and at the end, and their ratio against the
target (<= 1.15); then one line `BENCH {json}`. If `--max-seconds` runs out first, the run
stops there and says so (`executions` is what was done; the 10 % mark is of the target).
`--passive-only` restores the old checkpoint (passive passes only) for comparison.

What it shows and what it does not: in process the unbounded WAL of the old checkpoint shows
(350 MB at 400 000 executions, against 64 MB + one second of commits), the RSS growth it
caused in the real daemon hardly does (the checkpoint there races a busier loop; measure it
with `benchmarks/bench_link_chaos.py --only memory`). Commit times are reported because a
RESTART makes the loop's commit wait.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bridge.daemon.store import SqliteStore  # noqa: E402
from bridge.daemon.soak import Soak, containers  # noqa: E402

TARGET = 1.15


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--executions", type=int, default=400_000)
    ap.add_argument("--investors", type=int, default=100)
    ap.add_argument("--max-seconds", type=float, default=180.0)
    ap.add_argument("--passive-only", action="store_true")
    args = ap.parse_args()
    if args.passive_only:
        SqliteStore.WAL_LIMIT = 1 << 62  # never restarted: the former checkpoint
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        soak = Soak(Path(tmp), investors=args.investors)
        stop = threading.Event()

        restarts = [0]
        # every commit timed (a RESTART makes the loop's commit wait) into 0.1 ms buckets: a
        # list of 1.5 million samples would be the biggest thing in this process's RSS
        hist = [0] * 1001
        worst = [0.0]
        write = soak.store.write

        def timed_write(batch: object) -> None:
            t = time.perf_counter()
            write(batch)  # type: ignore[arg-type]
            ms = (time.perf_counter() - t) * 1000
            hist[min(int(ms * 10), 1000)] += 1
            worst[0] = max(worst[0], ms)

        soak.store.write = timed_write  # type: ignore[method-assign]

        def checkpoints() -> None:  # the shell's checkpoint loop
            while not stop.wait(1.0):
                restarts[0] += bool(soak.store.checkpoint())

        thread = threading.Thread(target=checkpoints, daemon=True)
        thread.start()
        per_cycle = 2 * args.investors
        mark = args.executions // 10
        rss_first = None
        sizes_first: dict[str, int] = {}
        t0 = time.monotonic()
        done = 0
        timed_out = False
        while done < args.executions:
            soak.cycle()
            done += per_cycle
            if rss_first is None and done >= mark:
                gc.collect()
                rss_first = rss_kb()
                sizes_first = containers(soak.core)
                print(f"{done} executions ({time.monotonic() - t0:.0f} s): RSS {rss_first} kB", file=sys.stderr)
            elif done % (mark or 1) < per_cycle:
                print(f"{done} executions ({time.monotonic() - t0:.0f} s): RSS {rss_kb()} kB", file=sys.stderr)
            if time.monotonic() - t0 > args.max_seconds:
                timed_out = True
                break
        seconds = time.monotonic() - t0
        stop.set()
        thread.join()
        gc.collect()
        rss_end = rss_kb()
        sizes_end = containers(soak.core)
        wal = Path(tmp) / "soak.db-wal"
        wal_mb = round(wal.stat().st_size / 2**20, 1) if wal.exists() else 0.0
        db_mb = round((Path(tmp) / "soak.db").stat().st_size / 2**20, 1)
        soak.store.close()
    ratio = round(rss_end / rss_first, 3) if rss_first else None
    grown = {k: [sizes_first.get(k, 0), v] for k, v in sizes_end.items() if v > sizes_first.get(k, 0)}
    print(f"executions          {done}{' (stopped at --max-seconds)' if timed_out else ''} in {seconds:.0f} s "
          f"({done / seconds:.0f}/s), {args.investors} investors")
    print(f"RSS after 10 %      {rss_first} kB")
    print(f"RSS at the end      {rss_end} kB")
    print(f"ratio               {ratio}  (target <= {TARGET}) {'met' if ratio and ratio <= TARGET else 'NOT met'}")
    print(f"journal             {db_mb} MB, WAL {wal_mb} MB (restart past "
          f"{SqliteStore.WAL_LIMIT >> 20 if not args.passive_only else 'never'} MB)")
    commits = sum(hist)
    below, p99 = 0, 100.0
    for i, n in enumerate(hist):
        below += n
        if below >= commits * 0.99:
            p99 = (i + 1) / 10
            break
    slow = sum(hist[50:])
    print(f"commits             {commits}: p99 <= {p99:.1f} ms, {slow} over 5 ms, max {worst[0]:.1f} ms; "
          f"WAL restarts {restarts[0]}")
    print(f"containers grown    {grown or 'none'}")
    result = {"executions": done, "investors": args.investors, "seconds": round(seconds, 1), "timed_out": timed_out,
              "rss_first_kb": rss_first, "rss_end_kb": rss_end, "rss_ratio": ratio, "target": TARGET,
              "met": bool(ratio and ratio <= TARGET), "wal_mb": wal_mb, "journal_mb": db_mb,
              "passive_only": args.passive_only, "wal_restarts": restarts[0], "commit_p99_ms": p99,
              "commit_max_ms": round(worst[0], 1), "commits_over_5ms": slow, "containers_grown": grown}
    print("BENCH " + json.dumps(result, separators=(",", ":")))


if __name__ == "__main__":
    main()
