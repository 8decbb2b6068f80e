"""Engine snapshots at 10 000 subscriptions (issue 10, item 9): size, loop block, restart.

A real journal (SqliteStore) is built through `DaemonCore.feed_engine`: N investors with a
wallet, a subscription and its balance operation; the trader opened 5 positions (copied to
every subscription and filled), closed 2 (the copies closed with a profit: history in the
counters), and a 6th is being copied (open commands pending). Then:

* bytes per subscription: `Engine.to_bytes()` (what the journal stores) and, for comparison,
  the JSON of `to_state()` that the journal stored before;
* loop block during a snapshot: a loop-lag probe (a task sleeping 1 ms, recording its
  overshoot) runs while one snapshot is taken and committed: forked (the daemon's way), packed
  on the loop (the fallback without fork), and the former JSON written on the loop; the
  fork itself is also timed with the process grown to `--rss-mb` (default 250 MB);
* restart after repeated kills: `--cycles` times, a worker process recovers the journal
  (timed: open + `Store.recover` + `DaemonCore.recover`), journals a cycle of load (every
  investor's account update, a fan-out and its fills: 3N events) with the snapshot policy
  ticking between steps, and is SIGKILLed at a different moment each cycle (often while a
  snapshot is in flight); a last worker recovers and reports the restart time. Done with
  the daemon's policy (`Snapshots`) and with the former one (blocking JSON snapshot every
  10 000 events or 300 s after the start).

Medians over `--runs`. The last line is `BENCH {json}`. Targets: block <= 50 ms, restart <= 3 s.

    .venv/bin/python benchmarks/bench_snapshot.py [--subscriptions 10000] [--runs 3] [--cycles 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bridge.copytrading import events as ev  # noqa: E402
from bridge.daemon.config import parse_config  # noqa: E402
from bridge.daemon.core import DaemonCore  # noqa: E402
from bridge.daemon.snapshots import Snapshots, fork_pack, read_child  # noqa: E402
from bridge.daemon.store import SqliteStore  # noqa: E402
from bridge.domain.sizing import VolumeMode  # noqa: E402
from bridge.domain.trading import Side  # noqa: E402

T0 = 1_718_000_000_000
TRADER_ACCOUNT = 1
FIRST_ACCOUNT = 100_000
STEP_EVENTS = 2048  # events per journal transaction, as the daemon's DRAIN
TARGET_BLOCK_MS = 50
TARGET_RESTART_S = 3


def config():  # noqa: ANN201
    return parse_config({"daemon": {"heartbeat_ms": 5000}})


class Feeder:
    """Feeds engine events through a DaemonCore and commits them in daemon-sized steps."""

    def __init__(self, core: DaemonCore, store: SqliteStore) -> None:
        self.core, self.store, self.n, self.done = core, store, 0, []
        self.after_step = lambda: None  # the daemon's timer: the snapshot policy between steps

    def __call__(self, event: ev.Event) -> tuple:
        step = self.core.feed_engine(event)
        self.n += 1
        if self.n % STEP_EVENTS == 0:
            self.commit()
        return step

    def commit(self) -> None:
        self.write()
        self.after_step()

    def write(self) -> None:
        batch = self.core.take_batch()
        batch.results += self.done  # commands answered below: not pending at the next start
        self.done = []
        self.store.write(batch)

    def fan_out(self, now: int, ticket: int, symbol: str, price: str, fill: bool = True) -> None:
        pending = set(self.core.engine.pending)
        self(ev.TraderPositionOpened(now, "trader", ticket, symbol, Side.BUY, Decimal("0.1"), Decimal(price)))
        self.commit()
        if fill:
            keys = [k for k in self.core.pending if k not in pending and f"-t{ticket}-open" in k]
            for i, key in enumerate(sorted(keys)):
                self(ev.CommandFilled(now, key, ticket * 1_000_000 + i, Decimal("0.1"), Decimal(price)))
                self.done.append((self.core.pending[key].row.cid, key, "done", "{}", now))

    def close(self, now: int, ticket: int, price: str) -> None:
        pending = set(self.core.pending)
        self(ev.TraderPositionClosed(now, "trader", ticket, Decimal("0.1"), Decimal(price), profit=Decimal("12.5")))
        self.commit()
        for key in sorted(k for k in self.core.pending if k not in pending):
            self(ev.CommandFilled(now, key, None, Decimal("0.1"), Decimal(price), Decimal("1.25")))
            self.done.append((self.core.pending[key].row.cid, key, "done", "{}", now))


def build(path: Path, n: int) -> None:
    store = SqliteStore(path)
    core = DaemonCore.recover(config(), store.recover(), now=T0, insecure=True)
    feed = Feeder(core, store)
    feed(ev.TraderRegistered(T0, "trader", TRADER_ACCOUNT, "mt4_standard", 500, Decimal("20")))
    feed(ev.AccountUpdated(T0, TRADER_ACCOUNT, Decimal("100000"), Decimal("100000")))
    for i in range(n):
        amount = Decimal(1_000 + (i * 7919) % 49_000)
        feed(ev.WalletDeposited(T0, f"inv{i:05d}", amount))
        feed(ev.Subscribe(T0, f"inv{i:05d}", "trader", FIRST_ACCOUNT + i, amount,
                          mode=VolumeMode.EQUAL if i % 2 else VolumeMode.PROPORTIONAL,
                          protection_pct=Decimal(i % 51), leverage=500))
    feed.commit()
    for key in sorted(core.pending):  # the balance operations
        feed(ev.CommandFilled(T0, key))
        feed.done.append(("done", "{}", T0, key))
    feed(ev.PriceTick(T0, "USDJPY", Decimal("155.000"), Decimal("155.020")))
    for t, (symbol, price) in enumerate([("EURUSD", "1.08000"), ("XAUUSD", "2300.00"), ("GBPUSD", "1.27000"),
                                         ("USDJPY", "155.000"), ("EURUSD", "1.08100")], start=11):
        feed.fan_out(T0 + t, t, symbol, price)
    feed.close(T0 + 20, 11, "1.08200")
    feed.close(T0 + 21, 13, "1.27100")
    feed.fan_out(T0 + 22, 16, "XAUUSD", "2301.00", fill=False)  # copies opening, commands pending
    feed.commit()
    store.close()


def recover(path: Path) -> tuple[SqliteStore, DaemonCore, float, int]:
    t0 = time.perf_counter()
    store = SqliteStore(path)
    rec = store.recover()
    core = DaemonCore.recover(config(), rec, now=T0 + 10**6, insecure=True)
    return store, core, time.perf_counter() - t0, len(rec.events)


# ---------------------------------------------------------------------- loop block
async def lag_probe(stop: asyncio.Event, lags: list[float]) -> None:
    while not stop.is_set():
        t = time.perf_counter()
        await asyncio.sleep(0.001)
        lags.append(time.perf_counter() - t - 0.001)


async def probed(action) -> tuple[float, float]:  # noqa: ANN001
    """(max loop lag ms, wall ms) while `action()` (a coroutine function) runs."""
    stop, lags = asyncio.Event(), []
    probe = asyncio.create_task(lag_probe(stop, lags))
    await asyncio.sleep(0.02)
    lags.clear()
    t0 = time.perf_counter()
    await action()
    wall = time.perf_counter() - t0
    await asyncio.sleep(0.005)
    stop.set()
    await probe
    return max(lags) * 1000, wall * 1000


def measure_block(path: Path) -> dict:
    store, core, _, _ = recover(path)

    async def forked() -> None:
        snaps = Snapshots(store, every_events=1, every_ms=1, use_fork=True)
        snaps.seq = snaps.committed = -1
        snaps.tick(core, T0, lambda: None)
        await snaps.wait()
        out["fork_ms"] = snaps.last["block_ms"]

    async def packed_on_loop() -> None:
        snaps = Snapshots(store, every_events=1, every_ms=1, use_fork=False)
        snaps.seq = snaps.committed = -1
        snaps.tick(core, T0, lambda: None)
        await snaps.wait()

    async def legacy() -> None:  # the former code: JSON of to_state(), one transaction, on the loop
        store.save_snapshot(core.seq, T0, json.dumps(core.engine.to_state(), separators=(",", ":")))

    out: dict = {}

    async def idle() -> None:  # the probe's own noise (a shared machine): as long as a forked snapshot
        await asyncio.sleep(0.5)

    async def main() -> None:  # the packed one last: the journal's latest snapshot for the restarts
        out["idle_lag_ms"], _ = await probed(idle)
        out["legacy_block_ms"], out["legacy_wall_ms"] = await probed(legacy)
        out["noforkblock_ms"], out["nofork_wall_ms"] = await probed(packed_on_loop)
        out["fork_block_ms"], out["fork_wall_ms"] = await probed(forked)

    asyncio.run(main())
    store.close()
    return out


def fork_at_rss(path: Path, rss_mb: int) -> dict:
    """The parent's cost of fork() with the process grown to `rss_mb` (ballast touched)."""
    _, core, _, _ = recover(path)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    ballast = bytearray(max(rss_mb - rss, 0) * 1024 * 1024)
    for i in range(0, len(ballast), 4096):
        ballast[i] = 1
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        pid, fd = fork_pack(core.engine)
        times.append((time.perf_counter() - t0) * 1000)
        read_child(pid, fd)
    del ballast
    return {"rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
            "fork_ms": statistics.median(times)}


# ---------------------------------------------------------------------- restart after kills
def worker(path: Path, policy: str, cycle: int, load: str) -> None:
    """One daemon life: recover (timed), journal a cycle of load with the snapshot policy, idle.
    load busy: every account's update, a fan-out and its fills (3N events); quiet: updates
    of a third of the accounts (fewer than the 10 000 events of the event trigger)."""
    store, core, took, replayed = recover(path)
    print(json.dumps({"recover_s": took, "replayed": replayed}), flush=True)
    feed = Feeder(core, store)
    now = T0 + 10**6 * (cycle + 2)
    snaps = Snapshots(store, every_events=10_000, every_ms=300_000, use_fork=True)
    legacy_since = core.snapshot_seq

    def tick() -> None:
        nonlocal legacy_since
        if policy == "daemon":
            snaps.tick(core, now, feed.write)
        elif core.seq - legacy_since >= 10_000:  # the former policy, blocking, JSON
            feed.write()
            store.save_snapshot(core.seq, now, json.dumps(core.engine.to_state(), separators=(",", ":")))
            legacy_since = core.seq

    async def checkpoints() -> None:  # as the daemon's checkpoint loop
        while True:
            await asyncio.sleep(1.0)
            await asyncio.to_thread(store.checkpoint)

    async def life() -> None:
        asyncio.get_running_loop().create_task(checkpoints())
        tick()
        feed.after_step = tick
        accounts = sorted(core.sub_of_account)
        for i, account in enumerate(accounts if load == "busy" else accounts[cycle % 3::3]):
            feed(ev.AccountUpdated(now, account, Decimal(2000), Decimal(2000 + i % 7)))
        feed.commit()
        await asyncio.sleep(0)
        if load == "busy":
            feed.fan_out(now, 1000 + cycle, "EURUSD", "1.08000")
        feed.commit()
        while True:
            tick()
            await asyncio.sleep(0.05)

    asyncio.run(life())


def restart_cycles(path: Path, policy: str, cycles: int, load: str) -> list[dict]:
    out = []
    for cycle in range(cycles + 1):
        proc = subprocess.Popen([sys.executable, __file__, "--worker", str(path), policy, str(cycle), load],
                                stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert proc.stdout is not None
        out.append(json.loads(proc.stdout.readline()))
        if cycle < cycles:
            time.sleep(0.4 + 0.5 * (cycle % 4))  # a different moment of the life each time
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subscriptions", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cycles", type=int, default=5)
    ap.add_argument("--rss-mb", type=int, default=250)
    ap.add_argument("--worker", nargs=4)
    args = ap.parse_args()
    if args.worker:
        worker(Path(args.worker[0]), args.worker[1], int(args.worker[2]), args.worker[3])
        return
    n = args.subscriptions
    tmp = Path(tempfile.mkdtemp(prefix="bench-snapshot-"))
    base = tmp / "base.db"
    t0 = time.perf_counter()
    build(base, n)
    store, core, took, _ = recover(base)
    packed, text = core.engine.to_bytes(), json.dumps(core.engine.to_state(), separators=(",", ":"))
    subs = core.engine.subscriptions
    copies = sum(len(s.copies) for s in subs.values())
    store.close()
    print(f"journal: {n} subscriptions, {copies} copies open or opening, {len(core.pending)} commands "
          f"pending, {core.seq} events (built in {time.perf_counter() - t0:.1f} s)")
    print(f"snapshot size: packed {len(packed) / n:.0f} B/subscription ({len(packed) / 1e6:.2f} MB); "
          f"former JSON {len(text) / n:.0f} B/subscription ({len(text) / 1e6:.2f} MB)")

    blocks = [measure_block(base) for _ in range(args.runs)]
    med = {k: statistics.median(b[k] for b in blocks) for k in blocks[0]}
    print(f"loop block during one snapshot (max lag of a 1 ms probe, median of {args.runs}):")
    print(f"  forked (the daemon):        {med['fork_block_ms']:7.1f} ms  (fork {med['fork_ms']:.1f} ms; "
          f"committed after {med['fork_wall_ms']:.0f} ms)")
    print(f"  packed on the loop (no fork): {med['noforkblock_ms']:5.1f} ms  (committed after "
          f"{med['nofork_wall_ms']:.0f} ms)")
    print(f"  former JSON on the loop:    {med['legacy_block_ms']:7.1f} ms")
    print(f"  no snapshot (the probe's noise over 0.5 s): {med['idle_lag_ms']:.1f} ms")
    rss = fork_at_rss(base, args.rss_mb)
    print(f"  fork() at {rss['rss_mb']} MB RSS: {rss['fork_ms']:.1f} ms")

    restarts: dict[tuple[str, str], list[list[dict]]] = {}
    for policy, load, runs in (("daemon", "busy", args.runs), ("daemon", "quiet", 1), ("legacy", "busy", 1),
                               ("legacy", "quiet", 1)):
        for r in range(runs):
            path = tmp / f"{policy}-{load}-{r}.db"
            for suffix in ("", "-wal", "-shm"):
                if (base.parent / (base.name + suffix)).exists():
                    (path.parent / (path.name + suffix)).write_bytes((base.parent / (base.name + suffix)).read_bytes())
            restarts.setdefault((policy, load), []).append(restart_cycles(path, policy, args.cycles, load))
    daemon_runs = restarts["daemon", "busy"] + restarts["daemon", "quiet"]
    restart_s = statistics.median(run[-1]["recover_s"] for run in daemon_runs)
    print(f"restart (recover s / events replayed) at the start of each life, {args.cycles} kills:")
    for (policy, load), runs in restarts.items():
        for run in runs:
            print(f"  {policy:6} {load:5}  " + "  ".join(f"{c['recover_s']:.2f}/{c['replayed']}" for c in run))
    bench = {"subscriptions": n, "bytes_per_subscription": round(len(packed) / n),
             "json_bytes_per_subscription": round(len(text) / n),
             "snapshot_block_ms_max": round(max(b["fork_block_ms"] for b in blocks), 1),
             "target_block_ms": TARGET_BLOCK_MS, "snapshot_wall_ms": round(med["fork_wall_ms"]),
             "fork_ms": med["fork_ms"], "fork_ms_at_rss": rss, "nofork_block_ms": round(med["noforkblock_ms"], 1),
             "legacy_block_ms": round(med["legacy_block_ms"], 1), "idle_lag_ms": round(med["idle_lag_ms"], 1),
             "restart_s": round(restart_s, 2),
             "target_restart_s": TARGET_RESTART_S, "cycles": args.cycles,
             "restart_s_max": round(max(c["recover_s"] for run in daemon_runs for c in run[1:]), 2),
             "legacy_restart_s": {load: [round(c["recover_s"], 2) for c in restarts["legacy", load][0]]
                                  for load in ("busy", "quiet")}}
    shutil.rmtree(tmp, ignore_errors=True)  # ~0.6 GB of journals
    print("BENCH " + json.dumps(bench))


if __name__ == "__main__":
    main()
