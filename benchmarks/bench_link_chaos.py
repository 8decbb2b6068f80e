"""Link chaos on real sockets (issue 10): floods, daemon stalls, an investor away, a slow
reader, memory over long clean traffic, restart after kill -9, latency against bare pyzmq.

The daemon runs as a subprocess (`python -m bridge.cli daemon`, CURVE on, SQLite WAL
journal in a temporary directory); the terminals are protocol clients
(`bridge.daemon.client.TerminalClient`) that execute each command at most once per key and
judge each `open` against the trader's open time + the validity (`benchmarks/chaos/`).
Machines are noisy: medians and ratios against baselines measured in the same run.

    .venv/bin/python benchmarks/bench_link_chaos.py [--quick] [--only flood,stalls,...] [--placement split|shared] \
        [--generators-nice 10]

Placement (benchmarks/chaos/placement.py): by default every process may run on every CPU.
`--placement split` pins the daemon alone to CPU 0 and everything standing for other hosts
(terminal groups, flooders, the harness) to the rest. On this 2-core box split did not help:
the daemon's libzmq I/O thread (CURVE decryption) then shares the loop's one core, and any
other process on the machine lands there too (flood loop block 1 220 ms split vs 508 ms shared,
both beside other work).

Generators' priority (`--generators-nice N`): each chosen scenario runs twice, first as
above (the figure with targets, always printed), then with the terminal worker groups and
the flooders at nice N, figures keyed `<scenario>@generators_nice<N>`: in production those
terminals are on other hosts, on this 2-core box they compete with the daemon for its CPU.
Each generator is a session of its own, i.e. its own autogroup where the kernel schedules
by autogroup: the nice is set on the process and on its autogroup (placement.py).
`loop_lag_top_ms` lists the worst beats as [ms after the start, loop_lag_ms, the loop
thread's run-queue wait in that second sampled from here, the daemon's own loop_lag_cpu_ms
and loop_lag_wait_ms for that late timer] (docs/operations.md "What makes the loop late").

Scenarios: flood, stalls, investor_offline, slow_reader, memory, restart, latency (default:
all; the full run takes ~10 min, the slow reader alone 150 s). Progress goes to stderr;
per-scenario figures to stdout, then one line `BENCH {json}`: every figure with its target
and a `met` flag.

Loop figures (`loop_block_ms`, `snapshot_loop_block_ms`) are the daemon's own (`daemon.stats`
`loop_lag_ms`, `journal.snapshot` `block_ms`); `client_probe_*` are admin ping round trips from
this process (informational: they include the harness's own scheduling). "Copies lost" = a
(subscription, deal) with neither an execution nor a `record.copy_refused`; refusals are
reported by code. Busy or victim terminal groups run in worker processes of their own.

The validity of an open is written as `open_validity_ms` if the daemon's config accepts it
([daemon] or [engine]), else as [engine] `late_copy_window_ms` (today's closest key).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.chaos import placement  # noqa: E402
from benchmarks.chaos import scenarios as S  # noqa: E402
from benchmarks.chaos.harness import Timers, log, validity_setting  # noqa: E402

FULL = Timers(heartbeat_ms=1000, offline_after=5, validity_ms=5000)
FAST = Timers(heartbeat_ms=250, offline_after=5, validity_ms=1500)  # --quick, where timers set the pace

ORDER = ["flood", "stalls", "investor_offline", "slow_reader", "memory", "restart", "latency"]


class Figures:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def add(self, scenario: str, name: str, value: Any, target: str | None = None) -> None:
        """target: '<= X', '>= X', '== X' (None: informational)."""
        met = None
        if target is not None:
            op, x = target.split()
            x = float(x)
            if value is None or (isinstance(value, float) and value != value):
                met = False
            else:
                met = {"<=": value <= x, ">=": value >= x, "==": value == x}[op]
        entry: dict[str, Any] = {"value": value}
        if target is not None:
            entry["target"] = target
            entry["met"] = bool(met)
        self.items[f"{scenario}.{name}"] = entry
        flag = "" if target is None else ("  met" if met else "  MISSED")
        tgt = "" if target is None else f"   (target {target})"
        print(f"  {name:<34} {value!s:<24}{tgt}{flag}", flush=True)


def fanout_figures(r: dict[str, Any], n: int, fig: Figures, scenario: str = "latency") -> None:
    fig.add(scenario, "fanout_subscriptions", n)
    fig.add(scenario, "fanout_daemon_median_ms", r["fanout_median_ms"])
    fig.add(scenario, "fanout_bare_median_ms", r["bare_median_ms"])
    fig.add(scenario, "fanout_ratio", r["fanout_ratio"], "<= 3")


def run(name: str, quick: bool, fig: Figures, chosen: list[str], keep: bool = False, label: str = "") -> None:
    """One scenario; its figures are keyed `label` (default: the scenario's name)."""
    label = label or name
    tmp = S.tmpdir(name)
    print(f"\n== {label}", flush=True)
    t0 = time.monotonic()
    if name == "flood":
        deals, senders, dur = (12, 2, 1.0) if quick else (60, 2, 5.0)
        r = S.flood(tmp, FULL, deals=deals, investors=10, duration_s=dur, senders=senders, junk_every=10)
        want = 10 * deals
        # the attack's strength: frames the flooders tried to send (handed to libzmq + refused by a
        # full or absent pipe once the daemon banned and cut the key)
        fig.add(label, "frames_offered", r["frames_offered"], f">= {int(1_000_000 * dur / 5)}")
        fig.add(label, "frames_sent", r["frames_sent"])
        fig.add(label, "frames_blocked", r["frames_blocked"])
        fig.add(label, "offered_rate_per_s", r["offered_rate_per_s"])
        fig.add(label, "junk_frames", r["junk_frames"])
        fig.add(label, "flooders_ended_late", r["flooders_late"], "== 0")
        fig.add(label, "flooder_banned", r["flooder_banned"])
        fig.add(label, "flooder_rate_limited_items", r["flooder_rate_limited_items"])
        fig.add(label, "daemon_frames_in_whole_run", r["daemon_frames_in"])
        fig.add(label, "copies_made", r["made"], f">= {want}")
        fig.add(label, "copies_duplicated", r["duplicated"], "== 0")
        fig.add(label, "terminals_offline", r["offline"], "== 0")
        fig.add(label, "terminals_offline_incl_flooders", r["offline_all"])
        fig.add(label, "copy_latency_p50_ms", r["latency_p50_ms"])
        fig.add(label, "copy_latency_p99_ms", r["latency_p99_ms"], "<= 100")
        fig.add(label, "baseline_latency_p99_ms", r["baseline_latency_p99_ms"])
        if r["latency_p99_ms"] and r["baseline_latency_p99_ms"]:
            fig.add(label, "latency_p99_vs_baseline", round(r["latency_p99_ms"] / r["baseline_latency_p99_ms"], 2))
        fig.add(label, "offline_log_lines", r["offline_log_lines"])
        fig.add(label, "loop_block_ms", r["loop_lag_ms"], "<= 100")  # daemon.stats loop_lag_ms, flood window
        fig.add(label, "turn_max_ms", r["turn_max_ms"])
        fig.add(label, "gc_max_ms", r["gc_max_ms"])  # the longest cyclic collection in a beat (a loop pause)
        fig.add(label, "turn_max_cpu_ms", r["turn_max_cpu_ms"])  # the loop thread's CPU in the longest turn
        fig.add(label, "client_probe_rtt_max_ms", r["probe_rtt_max_ms"])  # client-side round trip, no target
        fig.add(label, "daemon_cpu_share", r["daemon_cpu_share"])  # daemon CPU s / wall s over the flood
        # how long the daemon's loop thread waited for a CPU over the flood (the machine's share of the lag)
        fig.add(label, "daemon_loop_runqueue_wait_ms", r["daemon_loop_runqueue_wait_ms"])
        fig.add(label, "loadavg_1m", r["loadavg_1m"])
        # [ms after the flood began, loop_lag_ms, the loop thread's run-queue wait in that second]
        fig.add(label, "loop_lag_top_ms", r["loop_lag_top"])
    elif name == "stalls":
        timers = FAST if quick else FULL
        r = S.stalls(tmp, timers, investors=10, stalls=3 if quick else 10, long_deals=4)
        s, lg = r["short"], r["long"]
        fig.add(label, "short_stall_s", round(r["short_stall_s"], 2))
        fig.add(label, "short_copies_made", s["made"], f">= {s['expected']}")
        fig.add(label, "short_copies_duplicated", s["duplicated"], "== 0")
        fig.add(label, "short_terminals_offline", r["short_offline"], "== 0")
        fig.add(label, "offline_log_lines_all_phases", r["offline_log_lines"])
        fig.add(label, "long_stall_s", round(r["long_stall_s"], 2))
        fig.add(label, "long_copies_expected", lg["expected"])
        fig.add(label, "long_copies_made", lg["made"])
        fig.add(label, "long_opens_executed_late", lg["late_executed"], "== 0")
        fig.add(label, "long_not_made_unrefused", lg["not_made_unrefused"], "== 0")
        fig.add(label, "long_refused_by_code", lg["refused_by_code"])
        fig.add(label, "long_copies_duplicated", lg["duplicated"], "== 0")
        fig.add(label, "long_stall_sessions_dropped", r["long_sessions_dropped"], "== 0")
        fig.add(label, "long_stall_refused_not_started", r["long_refused_not_started"], "== 0")
        fig.add(label, "long_stall_not_started_errors", r["long_not_started_errors"], "== 0")
        fig.add(label, "long_stall_silent_judgements", r["long_silent"])
    elif name == "investor_offline":
        timers = FAST if quick else FULL
        r = S.investor_offline(tmp, timers, offline_s=6.0 if quick else 60.0, deal_every_s=0.5 if quick else 5.0)
        fig.add(label, "deals_while_away", r["deals"])
        fig.add(label, "late_opens_executed", r["late_executed"], "== 0")
        fig.add(label, "reconcile_s", r["reconcile_s"], "<= 1")
        fig.add(label, "victim_copies_made", r["victim_made"])
        fig.add(label, "victim_not_made_unrefused", r["victim_not_made_unrefused"], "== 0")
        fig.add(label, "victim_refused_by_code", r["victim_refused_by_code"])
        fig.add(label, "others_copies_lost", r["others_lost"], "== 0")
        fig.add(label, "others_refused_by_code", r["others_refused_by_code"])
        fig.add(label, "copies_duplicated", r["victim_duplicated"] + r["others_duplicated"], "== 0")
    elif name == "slow_reader":
        if quick:
            r = S.slow_reader(tmp, FULL, sleepers=200, others=100, connections=10, sleep_s=15, deal_every_s=1.0)
        else:
            r = S.slow_reader(tmp, FULL, sleepers=2000, others=1000, connections=10, sleep_s=150, deal_every_s=10.0)
        fig.add(label, "deals_while_asleep", r["deals"])
        fig.add(label, "sleeper_expired_opens_executed", r["sleeper_late_executed"], "== 0")
        fig.add(label, "sleeper_not_made_unrefused", r["sleeper_not_made_unrefused"], "== 0")
        fig.add(label, "sleeper_refused_by_code", r["sleeper_refused_by_code"])
        fig.add(label, "others_copies_lost", r["others_lost"], "== 0")  # neither executed nor refused
        fig.add(label, "others_copies_made", f"{r['others_made']}/{r['others_expected']}")
        fig.add(label, "others_refused_by_code", r["others_refused_by_code"])
        fig.add(label, "others_late_executed", r["others_late_executed"], "== 0")
        fig.add(label, "copies_duplicated", r["sleeper_duplicated"] + r["others_duplicated"] + r["workers_executed_twice"],
                "== 0")
        fig.add(label, "others_latency_p99_ms", r["others_latency_p99_ms"])
        fig.add(label, "loop_block_ms", r["loop_lag_ms"], "<= 100")  # daemon.stats loop_lag_ms
        fig.add(label, "loop_block_after_wake_ms", r["loop_lag_after_wake_ms"])
        fig.add(label, "turn_max_ms", r["turn_max_ms"])
        fig.add(label, "gc_max_ms", r["gc_max_ms"])  # the longest cyclic collection in a beat (a loop pause)
        fig.add(label, "turn_max_cpu_ms", r["turn_max_cpu_ms"])  # the loop thread's CPU in the longest turn
        fig.add(label, "client_probe_rtt_max_ms", r["probe_rtt_max_ms"])  # client-side round trip, no target
        fig.add(label, "client_probe_rtt_after_wake_ms", r["probe_rtt_after_wake_ms"])
        fig.add(label, "stats_beat_gap_ms", r["stats_gap_ms"])
        fig.add(label, "daemon_cpu_share_after_wake", r["daemon_cpu_share_after_wake"])
        fig.add(label, "daemon_loop_runqueue_wait_after_wake_ms", r["daemon_loop_runqueue_wait_after_wake_ms"])
        fig.add(label, "loadavg_1m", r["loadavg_1m"])
        # [ms after the wake, loop_lag_ms, the loop thread's run-queue wait in that second]
        fig.add(label, "loop_lag_top_ms", r["loop_lag_top"])
        fig.add(label, "offline_judgements", r["offline"])
        fig.add(label, "others_offline_silent", r["others_offline_silent"])
        fig.add(label, "others_offline_disconnected", r["others_offline_disconnected"], "== 0")
    elif name == "memory":
        r = S.memory(tmp, FULL, executions=40_000 if quick else 400_000, investors=100)
        fig.add(label, "executions", r["executions"])
        fig.add(label, "rss_after_10pct_kb", r["rss_first_kb"])
        fig.add(label, "rss_end_kb", r["rss_end_kb"])
        fig.add(label, "rss_ratio", r["rss_ratio"], "<= 1.15")
        fig.add(label, "seconds", r["seconds"])
    elif name == "restart":
        n = 1000 if quick else 10_000
        r = S.restart_fanout(tmp, FULL, investors=n, rounds=3, snapshot_every_s=2, snapshot_window_s=7.0)
        fig.add(label, "subscriptions", n)
        fig.add(label, "restart_bound_s", r["restart_bound_s"])
        fig.add(label, "restart_ready_s", r["restart_ready_s"], "<= 3")
        fig.add(label, "restart_trader_welcomed_s", r["restart_trader_welcomed_s"])
        fig.add(label, "restart_all_sessions_welcomed_s", r["restart_all_welcomed_s"])
        fig.add(label, "snapshots_in_window", r["snapshots_in_window"])
        # the daemon's own figures: journal.snapshot block_ms (max in the window), daemon.stats loop_lag_ms
        fig.add(label, "snapshot_loop_block_ms", r["snapshot_block_ms"], "<= 50")
        fig.add(label, "window_loop_lag_ms", r["window_loop_lag_ms"])
        fig.add(label, "window_turn_max_ms", r["window_turn_max_ms"])
        fig.add(label, "post_restart_traffic_loop_lag_ms", r["post_restart_loop_lag_ms"])
        # client-side round trips of the admin ping probe (informational)
        fig.add(label, "client_probe_rtt_near_snapshot_ms", r["snapshot_probe_rtt_ms"])
        fig.add(label, "client_probe_rtt_window_ms", r["window_probe_rtt_ms"])
        fig.add(label, "client_probe_samples_in_window", r["probe_samples_in_window"])
        fig.add(label, "client_probe_rtt_post_restart_traffic_ms", r["post_restart_probe_rtt_ms"])
        fanout_figures(r, n, fig, "latency" + label[len(name):])  # the fan-out half of scenario 7, on the same 10 000 subscriptions
    elif name == "latency":
        r = S.copy_latency(tmp, samples=200 if quick else 2000)
        fig.add(label, "bare_forward_p99_ms", r["bare_p99_ms"])
        fig.add(label, "copy_p99_ms", r["copy_p99_ms"])
        fig.add(label, "copy_p99_ratio", r["ratio"], "<= 2")
        if "restart" not in chosen:  # the fan-out half rides on the restart scenario's subscriptions
            n = 1000 if quick else 10_000
            ftmp = S.tmpdir("fanout")
            fanout_figures(S.restart_fanout(ftmp, FULL, investors=n, rounds=3, restart=False), n, fig,
                           "latency" + label[len(name):])
            if not keep:
                shutil.rmtree(ftmp, ignore_errors=True)
    print(f"  ({time.monotonic() - t0:.0f} s)", flush=True)
    if not keep:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="durations and counts scaled down ~10x")
    ap.add_argument("--keep", action="store_true", help="keep each scenario's directory (journal, daemon.log)")
    ap.add_argument("--only", default="", help=f"comma-separated scenarios: {','.join(ORDER)}")
    ap.add_argument("--generators-nice", type=int, default=0, metavar="N",
                    help="also run each scenario a second time with the load generators (terminal worker groups, "
                         "flooders) at nice N, figures keyed '<scenario>@generators_nice<N>'; the nice 0 run is "
                         "always printed first (benchmarks/chaos/placement.py)")
    ap.add_argument("--placement", choices=("split", "shared"), default="shared",
                    help="split: the daemon alone on CPU 0, terminals/flooders/harness on the rest "
                         "(they stand for other hosts); shared: all on every CPU (benchmarks/chaos/placement.py)")
    args = ap.parse_args()
    where = placement.choose(args.placement)
    chosen = [x.strip() for x in args.only.split(",") if x.strip()] or ORDER
    unknown = [x for x in chosen if x not in ORDER]
    if unknown:
        ap.error(f"unknown scenario(s) {unknown}; known: {ORDER}")
    section, key, _ = validity_setting(FULL.validity_ms)
    print(f"link chaos, {'quick' if args.quick else 'full'}; validity written as [{section}] {key}; "
          f"CURVE on; journal SQLite WAL synchronous=normal; placement {where}"
          + (f"; each scenario also run with the load generators at nice {args.generators_nice} (labelled "
             f"@generators_nice{args.generators_nice}, after the nice 0 run)" if args.generators_nice > 0 else ""))
    fig = Figures()
    failed: dict[str, str] = {}
    for name in [x for x in ORDER if x in chosen]:
        log(f"scenario {name}")
        passes = [(name, 0)] + ([(f"{name}@generators_nice{args.generators_nice}", args.generators_nice)]
                                if args.generators_nice > 0 else [])
        for label, nice in passes:
            placement.set_generators_nice(nice)
            try:
                run(name, args.quick, fig, chosen, args.keep, label)
            except Exception as exc:  # noqa: BLE001 - one broken scenario must not hide the others
                traceback.print_exc()
                failed[label] = f"{type(exc).__name__}: {exc}"
                fig.add(label, "error", failed[label], None)
    met = [k for k, v in fig.items.items() if v.get("met") is True]
    missed = [k for k, v in fig.items.items() if v.get("met") is False]
    print(f"\ntargets met: {len(met)}, missed: {len(missed)}{': ' + ', '.join(missed) if missed else ''}")
    out = {"mode": "quick" if args.quick else "full", "placement": where, "generators_nice": args.generators_nice, "validity_key": f"{section}.{key}", "figures": fig.items,
           "errors": failed, "met": len(met), "missed": len(missed)}
    print("BENCH " + json.dumps(out, separators=(",", ":"), default=str), flush=True)


if __name__ == "__main__":
    main()
