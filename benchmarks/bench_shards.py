"""Failover time of a shard (a skeleton of issue 16's bench_shards): two daemon processes on one
throwaway PostgreSQL (bridge/daemon/store_pgcluster.py, fsync on), d1 owning shard s1 with N
investor subscriptions (default 10 000), d2 standing by. The trader opens a position; as soon
as the first `open` of that fan-out reaches the investor terminal, d1 is killed (kill -9), so
most of the fan-out is journaled but unsent. Timed from the kill:

* `serving`: d2 has taken the lease (after it expired), recovered the shard's journal and
  listens;
* `resumed`: the first `open` d2 sends after the terminals reconnected to it;
* `all`: every investor has received its `open` (pending commands re-sent, same keys).

Baseline in the same run: the same kill -9 of one daemon without `[cluster]` on a PostgreSQL
journal, restarted in place (its advisory lock goes with its session: nothing to wait for), so
what failover adds is the lease expiry plus the standby's poll (and a cold restart pays the
process start, which the standby has already paid).

    .venv/bin/python benchmarks/bench_shards.py [--investors 10000] [--lease-ms 1500] [--renew-ms 300]
    .venv/bin/python benchmarks/bench_shards.py --kills 20 [--investors 10000] [--seed 16] [--back-to-back]

`--kills N` (benchmarks/bench_shards_chaos.py): the issue's repetition: N kill -9 of whichever
daemon owns s1 (its standby warm, the default: bridge/daemon/warm_standby.py; then
`--cold-kills`, default 4, more with cold standbys: the same run's baseline), each when the
terminals have received a seeded random k-th command of a fan-out (a position opened, the
oldest closed, or both), on one setup built once; the killed node comes back as the next
standby. Per kill: the lease left, serving, copying resumed, all
copies; median / p90 / max against the goal; lost / duplicated counted exactly from the
terminal's executions and the journal; the owners' smallest lease slack. The lease defaults
are `[cluster]`'s (bridge/cluster/lease.py); `--lease-ms 3000 --renew-ms 1000` for the first one.

Goal: `resumed` <= 5 s at 10 000 investors (lease expiry + recovery).

`--capacity` (benchmarks/bench_shards_capacity.py) first measures, on the same server: copies per
second and CPU per copy with 1, 2 and 3 daemon processes (`--capacity-investors` per shard,
`--rounds` fan-outs), the PostgreSQL write rate per 1 000 copies/s (pg_stat_database,
pg_stat_wal), pgbench for comparison; then the failover above (with the given lease). The
figures and the capacity model: docs/scaling.md.

    .venv/bin/python benchmarks/bench_shards.py --capacity --lease-ms 1500 --renew-ms 300

Ends with `BENCH {json}`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import zmq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bridge.cluster.lease import LeaseConfig  # noqa: E402
from bridge.daemon.client import AdminClient, TerminalClient, wait_until  # noqa: E402
from bridge.daemon.cluster import ClusterDb  # noqa: E402
from bridge.daemon.cluster_testing import Standby, node_config  # noqa: E402
from bridge.daemon.testing import DaemonProcess, make_setup  # noqa: E402
from bridge.protocol import Open, PositionOpened  # noqa: E402

TRADER = 1001


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--investors", type=int, default=10_000)
    ap.add_argument("--lease-ms", type=int, default=LeaseConfig().duration_ms, help="default: [cluster]'s")
    ap.add_argument("--renew-ms", type=int, default=LeaseConfig().renew_ms, help="default: [cluster]'s")
    ap.add_argument("--heartbeat-ms", type=int, default=5000, help="the terminals' heartbeat (default 5000)")
    ap.add_argument("--kills", type=int, default=0)
    ap.add_argument("--cold-kills", type=int, default=4,
                    help="--kills: then this many more with a cold standby (warm_standby = false), the baseline")
    ap.add_argument("--back-to-back", dest="settle", action="store_false",
                    help="--kills: the next fan-out without waiting for the last one's commands to be done")
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--capacity", action="store_true", help="copies/s and CPU per copy with 1-3 daemons, pgbench")
    ap.add_argument("--capacity-investors", type=int, default=1000, help="investors per shard (default 1000)")
    ap.add_argument("--rounds", type=int, default=5, help="fan-outs per daemon count (default 5)")
    ap.add_argument("--pgbench-s", type=int, default=15, help="pgbench duration, seconds (default 15)")
    args = ap.parse_args()
    from bridge.daemon.store_pgcluster import PgCluster

    if args.kills:
        cluster = PgCluster(fsync=True).start()
        try:
            from bench_shards_chaos import chaos

            out = chaos(args, cluster.create_database("chaos"))
        finally:
            cluster.stop()
        print("BENCH " + json.dumps(out))
        return

    cluster = PgCluster(fsync=True).start()
    capacity: dict = {}
    try:
        if args.capacity:
            capacity = measure_capacity(args, cluster)
        restart = run(args, cluster.create_database("restart"), failover=False)
        failover = run(args, cluster.create_database("failover"), failover=True)
    finally:
        cluster.stop()
    for name, r in (("restart (baseline)", restart), ("failover", failover)):
        print(f"{name}: serving {r['serving_s']:.2f} s, first copy {r['resumed_s']:.2f} s, "
              f"all {args.investors} copies {r['all_s']:.2f} s after kill -9")
    extra = failover["resumed_s"] - restart["resumed_s"]
    met = failover["resumed_s"] <= 5
    print(f"failover adds {extra:.2f} s to a restart (lease {args.lease_ms} ms, renew {args.renew_ms} ms); "
          f"goal first copy <= 5 s: {'met' if met else 'MISSED'}; machine: 2 shared cores")
    print("BENCH " + json.dumps({
        "bench": "shards_capacity" if capacity else "shards_failover", **capacity, "investors": args.investors,
        "lease_ms": args.lease_ms, "renew_ms": args.renew_ms, "restart": restart, "failover": failover,
        "failover_over_restart_s": round(extra, 3), "goal_s": 5, "goal_met": met}))


def measure_capacity(args: argparse.Namespace, cluster) -> dict:  # noqa: ANN001 - PgCluster
    from bench_shards_capacity import pgbench, throughput

    runs = []
    for daemons in (1, 2, 3):
        r = throughput(cluster, daemons, args.capacity_investors, args.rounds)
        runs.append(r)
        print(f"{daemons} daemon(s): {r['copies']} copies, {r['copies_per_s']:.0f} copies/s (fan-out median "
              f"{r['fanout_s_median']:.3f} s); CPU per copy: daemons {r['daemon_cpu_ms_per_copy']:.3f} ms, "
              f"PostgreSQL {r['postgres_cpu_ms_per_copy']:.3f} ms")
    base = runs[0]["copies_per_s"]
    print("speed-up over 1 daemon: " + ", ".join(f"{r['daemons']}: {r['copies_per_s'] / base:.2f}x" for r in runs)
          + f" (this machine: {os.cpu_count()} cores shared with other jobs, and the terminals run here too: "
          "past 2 busy processes the daemons share the same cores, so 3 cannot beat 2 here)")
    per = {k: round(statistics.median(r["pg_per_1000_copies"][k] for r in runs), 1)
           for k in runs[0]["pg_per_1000_copies"]}
    print(f"PostgreSQL writes at 1 000 copies/s (median of the 3 runs): {per['transactions']:.0f} transactions/s, "
          f"{per['rows_inserted']:.0f} rows inserted/s, {per['rows_updated']:.0f} updated/s, "
          f"{per['wal_bytes'] / 1e6:.2f} MB WAL/s")
    bench = pgbench(cluster, args.pgbench_s)
    if bench["available"]:
        print(f"pgbench (TPC-B-like, {bench['clients']} clients, {bench['seconds']} s, same server): "
              f"{bench['tps']:.0f} tps, {bench['wal_bytes_per_s'] / 1e6:.2f} MB WAL/s, "
              f"{bench['rows_written_per_s']:.0f} rows written/s")
    else:
        print(f"pgbench: not run: {bench['why']}")
    return {"cores": os.cpu_count(), "throughput": runs, "pg_per_1000_copies_per_s": per, "pgbench": bench}


def run(args: argparse.Namespace, url: str, failover: bool) -> dict[str, float]:
    n = args.investors
    logins = list(range(100_000, 100_000 + n))
    tmp = Path(tempfile.mkdtemp(prefix="bench-shards-"))
    setup = make_setup(tmp, {"trader": ([TRADER], "trader"), "investors": (logins, "investor"),
                             "ops": ([], "admin")}, heartbeat_ms=args.heartbeat_ms, journal_url=url,
                       engine="open_validity_ms = 600000")
    lease = {"lease_ms": args.lease_ms, "renew_ms": args.renew_ms}
    if failover:
        db = ClusterDb(url)
        db.add_shard("s1")
        db.assign([TRADER, *logins], "s1")
        db.close()
        d1 = DaemonProcess(node_config(setup, "d1", tmp / "d1", **lease)).start()
        d2 = DaemonProcess(node_config(setup, "d2", tmp / "d2", **lease))
        standby: Standby | None = Standby(d2)
    else:  # the baseline: one daemon on the same PostgreSQL journal, no cluster, restarted in place
        d1 = d2 = DaemonProcess(setup.config_path).start()
        standby = None
    label = "failover" if failover else "restart"
    clients: list[TerminalClient] = []
    try:
        t_setup = time.perf_counter()
        admin = AdminClient(d1.endpoints["admin"], setup.curve("ops"))
        admin("register_trader", trader="T", account=TRADER, account_type="mt4_standard", leverage=100,
              commission_pct="0")
        for i, login in enumerate(logins):
            admin("deposit", owner=f"I{i}", amount="100000")
            admin("subscribe", investor=f"I{i}", trader="T", account=login, amount="100000")
        admin.close()
        trader = TerminalClient(d1.endpoints["router"], setup.curve("trader"))
        inv = TerminalClient(d1.endpoints["router"], setup.curve("investors"))
        clients += [inv, trader]
        inv.sock.setsockopt(zmq.RCVHWM, 0)
        trader.hello(TRADER)
        for login in logins:
            inv.hello(login)
        assert wait_until(lambda: trader.sessions[TRADER].welcomed and all(s.welcomed for s in inv.sessions.values()),
                          clients, 600), "sessions did not open"
        print(f"[{label}] setup: {n} subscriptions and sessions in {time.perf_counter() - t_setup:.1f} s")
        trader.send(TRADER, PositionOpened, ticket=50_000, symbol="EURUSD", side="buy", volume=Decimal("0.1"),
                    price=Decimal("1.1"), sl=Decimal(0), tp=Decimal(0), time=int(time.time() * 1000), magic=0,
                    comment="")
        assert wait_until(lambda: bool(inv.commands()), clients, 60), "no open before the kill"
        before = {m.login for m in inv.commands()}
        d1.kill()
        t_kill = time.perf_counter()
        if standby is not None:
            assert standby.serving(600), standby.failed
        else:
            d1.start(600)
        serving = time.perf_counter() - t_kill
        for c in clients:
            c.endpoint = d2.endpoints["router"]
            c.reconnect()
        seen = len(inv.inbox)
        assert wait_until(lambda: any(isinstance(m, Open) for m in inv.inbox[seen:]), clients, 600), \
            "copying did not resume"
        resumed = time.perf_counter() - t_kill
        assert wait_until(lambda: {m.login for m in inv.commands()} == set(logins), clients, 600), "copies missing"
        done = time.perf_counter() - t_kill
        print(f"[{label}] {len(before)} opens received before the kill; serving {serving:.2f} s, "
              f"first copy {resumed:.2f} s, all {done:.2f} s")
        return {"serving_s": round(serving, 3), "resumed_s": round(resumed, 3), "all_s": round(done, 3),
                "sent_before_kill": len(before)}
    finally:
        for c in clients:
            c.close()
        d2.terminate(60)
        d1.kill()


if __name__ == "__main__":
    main()
