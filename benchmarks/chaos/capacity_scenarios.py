"""The capacity scenarios (issue 10): 5. the daemon's memory over many executions, 6. a fan-out
against a bare ROUTER, kill -9 and restart, the loop during snapshots, 7. copy latency
against a bare forward (see `scenarios`)."""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import zmq

from benchmarks.chaos import placement
from benchmarks.chaos.common import ROOT, TRADER, log, rounded, wall_ms
from benchmarks.chaos.feed_collector import FeedCollector
from benchmarks.chaos.loop_probes import LoopProbe
from benchmarks.chaos.timers import Timers
from benchmarks.chaos.world import World
from bridge.daemon.client import AdminClient, sync_context
from bridge.protocol import Direction, decode


# ============================================================================ 5. memory
def memory(tmp: Path, timers: Timers, *, executions: int = 400_000, investors: int = 100) -> dict[str, Any]:
    inv = list(range(2001, 2001 + investors))
    w = World(tmp, {"investors": (inv, "investor")}, timers)
    try:
        w.start(feed=False)
        w.subscribe(inv)
        w.connect_trader()
        term = w.terminal("investors", inv)
        pump = w.welcomed_pump([term], timers.settle_s())
        ex = term.ex
        assert ex is not None
        rss_first = None
        done = 0
        t0 = time.monotonic()
        stuck = 0
        while done < executions:
            tk = w.trader_open()
            want = len(ex.executions) + investors
            if not pump.run(timers.settle_s(), lambda want=want: len(ex.executions) >= want):
                stuck += 1
            w.trader_close(tk)
            want = len(ex.executions) + investors
            if not pump.run(timers.settle_s(), lambda want=want: len(ex.executions) >= want):
                stuck += 1
            if stuck > 3:
                break
            done = len(ex.executions)
            ex.client.inbox.clear()
            if rss_first is None and done >= executions // 10:
                rss_first = w.daemon.rss_kb()
                log(f"memory: {done} executions, RSS {rss_first} kB")
            if done and done % (executions // 10 or 1) < 2 * investors:
                log(f"memory: {done}/{executions} executions ({time.monotonic() - t0:.0f} s), RSS {w.daemon.rss_kb()} kB")
        rss_end = w.daemon.rss_kb()
        return {"executions": done, "rss_first_kb": rss_first, "rss_end_kb": rss_end,
                "rss_ratio": round(rss_end / rss_first, 3) if rss_first else None,
                "seconds": round(time.monotonic() - t0, 1), "stuck_waits": stuck}
    finally:
        w.close()


# ============================================================================ 6 + 7. restart, fan-out
BARE_FANOUT = r"""
import sys, zmq
ctx = zmq.Context()
r = ctx.socket(zmq.ROUTER)
r.curve_server = True
r.curve_secretkey = sys.argv[1].encode()
r.setsockopt(zmq.SNDHWM, 0)
r.bind("tcp://127.0.0.1:*")
frames = [bytes.fromhex(x) for x in open(sys.argv[2]).read().split()]
print(r.getsockopt(zmq.LAST_ENDPOINT).decode(), flush=True)
while True:
    ident, msg = r.recv_multipart()
    if msg == b"stop":
        break
    for f in frames:
        r.send_multipart([ident, f])
"""


def _bare_fanout(frames: list[bytes], server_secret: str, client_pub: str, client_sec: str, rounds: int,
                 tmp: Path) -> list[float]:
    path = tmp / "fanout-frames.hex"
    path.write_text("\n".join(f.hex() for f in frames))
    proc = subprocess.Popen([sys.executable, "-c", BARE_FANOUT, server_secret, str(path)], stdout=subprocess.PIPE,
                            text=True, start_new_session=True,
                            preexec_fn=placement.daemon_side)  # the daemon's stand-in: the daemon's CPU
    out = []
    try:
        endpoint = proc.stdout.readline().strip()  # type: ignore[union-attr]
        s = sync_context().socket(zmq.DEALER)
        s.linger = 0
        s.setsockopt(zmq.RCVHWM, 0)
        s.curve_serverkey = zmq.curve_public(server_secret.encode())
        s.curve_publickey, s.curve_secretkey = client_pub.encode(), client_sec.encode()
        s.connect(endpoint)
        for _ in range(rounds + 1):  # the first is a warm-up (handshake)
            t0 = time.perf_counter()
            s.send(b"go")
            got = 0
            deadline = t0 + 60
            while got < len(frames) and time.perf_counter() < deadline:
                if s.poll(1000):
                    while True:
                        try:
                            s.recv(zmq.NOBLOCK)
                        except zmq.Again:
                            break
                        got += 1
            out.append((time.perf_counter() - t0) * 1000)
        s.send(b"stop")
        s.close(0)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    return out[1:]


def _log_time(entry: dict) -> float | None:
    ts = entry.get("timestamp")
    if not ts:
        return None
    try:
        return datetime.fromisoformat(str(ts).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def restart_fanout(tmp: Path, timers: Timers, *, investors: int = 10_000, rounds: int = 3,
                   snapshot_every_s: int = 2, snapshot_window_s: float = 7.0, restart: bool = True) -> dict[str, Any]:
    logins = list(range(100_000, 100_000 + investors))
    # the feed's own periodic `snapshot` (~0.1 s of loop for 10 000 accounts, F4) is pushed out of
    # the way: this scenario measures the journal's snapshots; the feed is attached for its
    # `daemon.stats` (the loop's own lag) after the restart, its join snapshot before the window
    w = World(tmp, {"investors": (logins, "investor")}, timers,
              journal=f"snapshot_every_s = {snapshot_every_s}", daemon="feed_snapshot_every_s = 3600")
    res: dict[str, Any] = {}
    try:
        w.start(feed=False)
        w.subscribe(logins, progress="restart")
        w.pin_ports()
        w.connect_trader()
        inv = w.terminal("investors", logins)
        inv.client.sock.setsockopt(zmq.RCVHWM, 0)
        pump = w.welcomed_pump([inv], timers.settle_s(120_000), "sessions")
        # -- fan-out through the daemon (frames counted raw, nothing executed)
        results, sample_frames = [], []
        sock = inv.client.sock
        for r in range(rounds):
            pump.run(0.5)
            inv.client.inbox.clear()
            tk = w.trader_open()
            t0 = time.perf_counter()
            got, frames = 0, []
            deadline = t0 + 60
            while got < investors and time.perf_counter() < deadline:
                if not sock.poll(1000):
                    continue
                while True:
                    try:
                        f = sock.recv(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    if b"\xa4open" in f[:24]:
                        got += 1
                        frames.append(f)
            results.append((time.perf_counter() - t0) * 1000)
            sample_frames = frames
            log(f"restart: fan-out round {r + 1}: {got}/{investors} opens in {results[-1]:.0f} ms")
            # now execute them (decoded after the timing), then the trader closes: a clean state, nothing pending
            assert inv.ex is not None
            for f in frames:
                inv.ex.handle(decode(f, direction=Direction.TO_TERMINAL))
            w.trader_close(tk)
            want = len(inv.ex.executions) + investors
            pump.run(timers.settle_s(60_000), lambda want=want: len(inv.ex.executions) >= want)
            inv.client.inbox.clear()
        k = w.setup.keys["investors"]
        bare = _bare_fanout(sample_frames or [b"x" * 200] * investors, w.setup.server.secret, k.public, k.secret,
                            rounds, tmp)
        res.update({"fanout_ms": [round(x, 1) for x in results], "fanout_median_ms": round(statistics.median(results), 1),
                    "bare_fanout_ms": [round(x, 1) for x in bare], "bare_median_ms": round(statistics.median(bare), 1)})
        res["fanout_ratio"] = round(res["fanout_median_ms"] / res["bare_median_ms"], 2)
        if not restart:
            return res
        # -- kill -9 and restart
        pump.run(1.0)
        log("restart: kill -9")
        t_kill = time.monotonic()
        w.daemon.kill()
        w.admin.close()  # type: ignore[union-attr]
        bound_s = w.daemon.start()
        w.admin = AdminClient(w.daemon.endpoints["admin"], w.setup.curve("ops"))
        w.admin("ping", timeout=120)
        t_ready = time.monotonic()
        w.trader.sessions[TRADER].welcomed = False  # type: ignore[union-attr]
        for s in inv.client.sessions.values():
            s.welcomed = False
        w.trader.heartbeat()  # type: ignore[union-attr]
        pump.run(timers.settle_s(), lambda: w.trader.sessions[TRADER].welcomed)  # type: ignore[union-attr]
        t_trader = time.monotonic()
        all_ok = pump.run(timers.settle_s(120_000), inv.welcomed)
        t_all = time.monotonic()
        res.update({"restart_bound_s": round(bound_s, 3), "restart_ready_s": round(t_ready - t_kill, 3),
                    "restart_trader_welcomed_s": round(t_trader - t_kill, 3),
                    "restart_all_welcomed_s": round(t_all - t_kill, 3) if all_ok else None})
        log(f"restart: ready in {t_ready - t_kill:.2f} s; all sessions in {t_all - t_kill:.1f} s")
        # -- loop block during snapshots (the daemon's own figures, once the re-hellos settled)
        w.feed = FeedCollector(w.daemon.endpoints["pub"], w.setup.curve("ops")).start()
        w.probe = LoopProbe(w.daemon.endpoints["admin"], w.setup.curve("ops"), every_s=0.01).start()
        pump.run(0.5)
        deals_since = wall_ms()
        assert inv.ex is not None
        for _ in range(3):  # journal some events so a snapshot is due; settle before the window
            tk = w.trader_open()
            want = len(inv.ex.executions) + investors
            pump.run(timers.settle_s(60_000), lambda want=want: len(inv.ex.executions) >= want)
            w.trader_close(tk)
            want = len(inv.ex.executions) + investors
            pump.run(timers.settle_s(60_000), lambda want=want: len(inv.ex.executions) >= want)
        pump.run(1.0)
        res["post_restart_loop_lag_ms"] = w.feed.stats_max("loop_lag_ms", deals_since, wall_ms())
        res["post_restart_probe_rtt_ms"] = rounded(w.probe.max_ms(0, time.monotonic()), 1)  # during the deals above
        off = time.time() - time.monotonic()
        wall0 = time.time()
        p0 = time.monotonic()
        pump.run(snapshot_window_s)
        p1 = time.monotonic()
        wall1 = time.time()
        pump.run(1.5)  # the beat covering the window's last second
        in_window = [e for e in w.daemon.log_lines("journal.snapshot")
                     if (t := _log_time(e)) and wall0 <= t <= wall1 + 1.0]
        snaps = [t for t in (_log_time(e) for e in in_window) if t]
        blocks = [float(e["block_ms"]) for e in in_window if e.get("block_ms") is not None]
        res["snapshot_block_ms"] = max(blocks) if blocks else None  # the daemon's own: the loop's cost of each
        res["window_loop_lag_ms"] = w.feed.stats_max("loop_lag_ms", int(wall0 * 1000), int(wall1 * 1000))
        res["window_turn_max_ms"] = w.feed.stats_max("turn_max_ms", int(wall0 * 1000), int(wall1 * 1000))
        # a probe round trip "during a snapshot": it started in the window and its span (+-50 ms)
        # holds the time of a `journal.snapshot` log line (logged right after the snapshot is saved)
        near = [r for t, r in w.probe.samples if t >= p0 and t <= p1
                and any(t + off - 0.05 <= s <= t + off + r / 1000 + 0.05 for s in snaps)]
        res["probe_samples_in_window"] = sum(1 for t, _ in w.probe.samples if p0 <= t <= p1)
        res.update({"snapshots_in_window": len(snaps), "snapshot_probe_rtt_ms": round(max(near), 1) if near else None,
                    "window_probe_rtt_ms": rounded(max((r for t, r in w.probe.samples if p0 <= t <= p1), default=None), 1)})
        return res
    finally:
        w.close()


# ============================================================================ 7. copy latency vs bare forward
def copy_latency(tmp: Path, samples: int = 2000) -> dict[str, Any]:
    cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_copy_latency.py"), "--samples", str(samples),
           "--warmup", str(max(20, samples // 10))]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=str(ROOT)).stdout

    def p99(name: str) -> float | None:
        m = re.search(re.escape(name) + r".*?p99=\s*([\d.]+) us", out)
        return float(m.group(1)) / 1000 if m else None

    bare, daemon = p99("bare DEALER->ROUTER->DEALER"), p99("daemon: position_opened -> open")
    return {"bare_p99_ms": rounded(bare, 3), "copy_p99_ms": rounded(daemon, 3),
            "ratio": round(daemon / bare, 2) if bare and daemon else None, "raw": out.strip().splitlines()[-4:]}

