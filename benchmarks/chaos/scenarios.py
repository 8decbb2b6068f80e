"""The link-chaos scenarios (issue 10). Each takes a temporary directory, the daemon's timers
and its size parameters, runs on real sockets, kills every process it started, and returns
its figures (plain numbers and lists; correctness figures are counts that must be 0).

Every wait is a condition polled with a deadline derived from `Timers`.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import zmq

from benchmarks.chaos.harness import (
    ROOT,
    TRADER,
    Flooder,
    Pump,
    Terminal,
    Timers,
    World,
    judge,
    lag_beside_wait,
    log,
    pct,
    trader_ticket_of,
    wall_ms,
)
from benchmarks.chaos import placement
from bridge.daemon.client import AdminClient, sync_context
from bridge.protocol import Direction, decode


def _r(x: float | None, n: int) -> float | None:
    return None if x is None else round(x, n)


def _executed_for(terms: list[Terminal], ticket: int) -> int:
    return sum(1 for t in terms if t.ex for o in t.ex.opens if o.trader_ticket == ticket and o.executed)


def _settled(world: World, terms: list[Terminal], tickets: list[int]) -> bool:
    """Every (login, ticket) executed or refused on the feed."""
    done = {(o.login, o.trader_ticket) for t in terms if t.ex for o in t.ex.opens if o.executed}
    refused = world.refusals()
    return all((x, tk) in done or (x, tk) in refused for t in terms for x in t.logins for tk in tickets)


# ============================================================================ 1. flood
def flood(tmp: Path, timers: Timers, *, deals: int = 60, investors: int = 10, duration_s: float = 5.0,
          senders: int = 2, junk_every: int = 10) -> dict[str, Any]:
    inv = list(range(2001, 2001 + investors))
    flood_logins = list(range(9001, 9001 + senders))
    w = World(tmp, {"investors": (inv, "investor"), "flooder": (flood_logins, "investor")}, timers)
    try:
        w.start(probe=True)
        w.subscribe(inv)
        w.connect_trader()
        terms = [w.terminal("investors", [x]) for x in inv]
        pump = Pump(terms, [w.trader])
        assert w.wait_welcomed(pump, timers.settle_s()), "terminals not welcomed"
        # baseline: the same copies without the flood, same run
        base = []
        for _ in range(max(3, deals // 3)):
            pump.run(duration_s / deals)
            base.append(w.trader_open())
        pump.run(timers.settle_s(), lambda: sum(_executed_for(terms, tk) for tk in base) >= len(base) * len(inv))
        base_lat = judge(w, terms, base)["latencies_ms"]
        fl = Flooder(w, "flooder", flood_logins, duration_s, junk_every)
        w.flooders.append(fl)
        # (a Python start-up and a CURVE handshake, not a daemon timer: a loaded machine gets room)
        assert pump.run(timers.settle_s(60_000), fl.ready), "flooders not ready"
        since = wall_ms()
        cpu0, wait0 = w.daemon.cpu_s(), w.daemon.run_delay_ms()
        fl.go()
        t0 = time.monotonic()
        tickets = []
        for i in range(deals):
            pump.run(max(0.0, t0 + (i + 0.5) * duration_s / deals - time.monotonic()))
            tickets.append(w.trader_open())
        pump.run(max(0.0, t0 + duration_s - time.monotonic()))
        t_end = time.monotonic()
        until = wall_ms()
        cpu_share = (w.daemon.cpu_s() - cpu0) / (t_end - t0)
        run_wait = w.daemon.run_delay_ms() - wait0
        # the flooders end on time whatever the daemon does (non-blocking sends): a little slack
        pump.run(2.0 + timers.heartbeat_ms / 1000, fl.ended)
        fr = fl.results(timeout=1.0)
        pump.run(timers.settle_s(), lambda: _settled(w, terms, tickets))
        j = judge(w, terms, tickets)
        offline = [x for x in w.offline_logins(since) if x in inv or x == TRADER]
        lat = j.pop("latencies_ms")
        assert w.feed is not None
        abuse = w.feed.topic("abuse", since)
        elapsed = fr["elapsed_s"]
        res = {**j, "frames_sent": fr["frames_sent"], "frames_blocked": fr["frames_blocked"],
               "frames_offered": fr["frames_sent"] + fr["frames_blocked"], "junk_frames": fr["junk"],
               "flooders_late": fr["late"], "flood_s": round(elapsed, 2),
               "offered_rate_per_s": round((fr["frames_sent"] + fr["frames_blocked"]) / elapsed) if elapsed else 0,
               "senders": senders,
               "flooder_banned": sum(1 for b in abuse if b.get("action") == "disconnected"),
               "flooder_rate_limited_items": sum(1 for b in abuse if b.get("action") == "rate_limited"),
               "offline": len(offline), "offline_all": len(w.offline_logins(since)),
               "latency_p50_ms": _r(pct(lat, 50), 2), "latency_p99_ms": _r(pct(lat, 99), 2),
               "baseline_latency_p99_ms": _r(pct(base_lat, 99), 2),
               "offline_log_lines": sum(1 for e in w.daemon.log_lines("terminal.offline")
                                        if e.get("login") in inv or e.get("login") == TRADER),
               "loop_lag_ms": w.feed.stats_max("loop_lag_ms", since, until),
               "turn_max_ms": w.feed.stats_max("turn_max_ms", since, until),
               "gc_max_ms": w.feed.stats_max("gc_max_ms", since, until),
               "turn_max_cpu_ms": w.feed.stats_max("turn_max_cpu_ms", since, until),
               "probe_rtt_max_ms": _r(w.probe.max_ms(t0, t_end), 1) if w.probe else None,
               "daemon_cpu_share": round(cpu_share, 2), "daemon_loop_runqueue_wait_ms": round(run_wait, 1),
               "loadavg_1m": os.getloadavg()[0],
               "loop_lag_top": lag_beside_wait(w.feed, w.sched, since, until, since) if w.sched else None}
    finally:
        w.close()
    # frames the daemon read over its whole run (its `daemon.stopped` line, after the SIGTERM)
    stopped = [e for e in w.daemon.log_lines("daemon.stopped") if "frames_in" in e]
    res["daemon_frames_in"] = stopped[-1]["frames_in"] if stopped else None
    return res


# ============================================================================ 2. stalls
def stalls(tmp: Path, timers: Timers, *, investors: int = 10, stalls: int = 10, long_deals: int = 4,
           short_stall_s: float | None = None, long_stall_s: float | None = None) -> dict[str, Any]:
    inv = list(range(2001, 2001 + investors))
    w = World(tmp, {"investors": (inv, "investor")}, timers)
    short = short_stall_s if short_stall_s is not None else 0.92 * timers.offline_ms / 1000
    long_ = long_stall_s if long_stall_s is not None else 2 * timers.validity_ms / 1000
    try:
        w.start()
        w.subscribe(inv)
        w.connect_trader()
        terms = [w.terminal("investors", inv[: (investors + 1) // 2]), w.terminal("investors", inv[(investors + 1) // 2:])]
        terms = [t for t in terms if t.logins]
        pump = Pump(terms, [w.trader])
        assert w.wait_welcomed(pump, timers.settle_s()), "terminals not welcomed"
        since = wall_ms()
        short_tickets = []
        for i in range(stalls):
            log(f"stalls: short stall {i + 1}/{stalls} ({short:.2f} s)")
            w.daemon.stop_signal()
            t0 = time.monotonic()
            try:
                pump.run(short * 0.2)
                tk = w.trader_open()
                short_tickets.append(tk)
                pump.run(max(0.0, t0 + short - time.monotonic()))
            finally:
                w.daemon.cont_signal()
            pump.run(timers.settle_s(), lambda tk=tk: _settled(w, terms, [tk]))
        phase1 = judge(w, terms, short_tickets)
        offline_short = len(w.offline_logins(since))
        log(f"stalls: long stall ({long_:.1f} s)")
        long_since = wall_ms()
        errs0 = [len(t.client.errors) for t in terms]
        long_tickets = []
        w.daemon.stop_signal()
        t0 = time.monotonic()
        try:
            for k in range(long_deals):
                pump.run(max(0.0, t0 + long_ * (k + 0.5) / long_deals - time.monotonic()))
                long_tickets.append(w.trader_open())
            pump.run(max(0.0, t0 + long_ - time.monotonic()))
        finally:
            w.daemon.cont_signal()
        pump.run(timers.settle_s(), lambda: _settled(w, terms, long_tickets))
        # a pump of a few heartbeats more: a session the transport dropped would show by now
        pump.run(4 * timers.heartbeat_ms / 1000)
        phase2 = judge(w, terms, long_tickets)
        phase1.pop("latencies_ms")
        phase2.pop("latencies_ms")
        assert w.feed is not None
        long_off = w.feed.topic("terminal.offline", long_since)
        return {"short": phase1, "short_offline": offline_short, "long": phase2,
                "long_sessions_dropped": sum(1 for b in long_off if b.get("why") == "disconnected"),
                "long_silent": sum(1 for b in long_off if b.get("why") == "silent"),
                "long_offline_other": sum(1 for b in long_off if b.get("why") not in ("silent", "disconnected")),
                "long_not_started_errors": sum(1 for t, n in zip(terms, errs0) for e in t.client.errors[n:]
                                               if e.code == "not_started"),
                "long_refused_not_started": phase2["refused_by_code"].get("not_started", 0),
                "offline_log_lines": len(w.daemon.log_lines("terminal.offline")),
                "short_stall_s": short, "long_stall_s": long_}
    finally:
        w.close()


# ============================================================================ 3. investor offline
def investor_offline(tmp: Path, timers: Timers, *, offline_s: float = 60.0, deal_every_s: float = 5.0,
                     others: int = 2) -> dict[str, Any]:
    victim_login = 2001
    inv = list(range(2001, 2002 + others))
    w = World(tmp, {"investors": (inv, "investor")}, timers)
    try:
        w.start()
        w.subscribe(inv)
        w.connect_trader()
        victim = w.terminal("investors", [victim_login])
        rest = [w.terminal("investors", [x]) for x in inv[1:]]
        pump = Pump([victim, *rest], [w.trader])
        assert w.wait_welcomed(pump, timers.settle_s()), "terminals not welcomed"
        # one copy held before the outage
        held = w.trader_open()
        pump.run(timers.settle_s(), lambda: _settled(w, [victim, *rest], [held]))
        log(f"investor_offline: victim away for {offline_s:.0f} s")
        victim.close()
        victim.asleep = True  # type: ignore[attr-defined]
        t0 = time.monotonic()
        opened: list[int] = [held]
        tickets = []
        n = 0
        while time.monotonic() < t0 + offline_s - deal_every_s / 2:
            pump.run(max(0.0, t0 + (n + 0.5) * deal_every_s - time.monotonic()))
            n += 1
            if n % 3 == 0 and opened:  # close the oldest open position
                w.trader_close(opened.pop(0))
            else:
                tk = w.trader_open()
                tickets.append(tk)
                opened.append(tk)
        pump.run(max(0.0, t0 + offline_s - time.monotonic()))
        t_ret = time.monotonic()
        victim.reconnect()
        victim.asleep = False  # type: ignore[attr-defined]
        reconciled_at: float | None = None
        last_diff: Any = None
        deadline = t_ret + timers.settle_s()
        while time.monotonic() < deadline:
            pump.run(0.05)
            daemon_view = {(tt, c["ticket"]) for tt, c in w.copy_map().get(victim_login, {}).items()}
            assert victim.ex is not None
            terminal_view = {(trader_ticket_of(p.comment), p.ticket)
                             for p in victim.ex.positions.get(victim_login, {}).values()}
            last_diff = (sorted(daemon_view - terminal_view)[:5], sorted(terminal_view - daemon_view)[:5])
            closed_copies = {tt for tt, _ in daemon_view} - set(w.positions)  # trader closed, copy still held
            if daemon_view == terminal_view and not closed_copies and victim.welcomed():
                reconciled_at = time.monotonic()
                break
        pump.run(timers.settle_s(), lambda: _settled(w, rest, tickets))
        vj = judge(w, [victim], tickets)
        rj = judge(w, rest, tickets)
        # late: any open the victim executed past its validity (also copies of `held` re-sent)
        late = sum(o.late for o in victim.ex.executed()) if victim.ex else 0
        return {"late_executed": late, "reconcile_s": None if reconciled_at is None else round(reconciled_at - t_ret, 3),
                "reconciled": reconciled_at is not None, "last_diff": str(last_diff),
                "victim_made": vj["made"], "victim_not_made_unrefused": vj["not_made_unrefused"],
                "victim_refused_by_code": vj["refused_by_code"], "victim_duplicated": vj["duplicated"],
                "others_expected": rj["expected"], "others_made": rj["made"], "others_lost": rj["not_made_unrefused"],
                "others_refused_by_code": rj["refused_by_code"],
                "others_duplicated": rj["duplicated"], "deals": len(tickets)}
    finally:
        w.close()


# ============================================================================ 4. slow reader
def slow_reader(tmp: Path, timers: Timers, *, sleepers: int = 2000, others: int = 1000, connections: int = 10,
                sleep_s: float = 150.0, deal_every_s: float = 10.0) -> dict[str, Any]:
    """The sleeper's connection and the other investors run in worker processes of their own
    (`TerminalGroup`): when the sleeper wakes to thousands of queued frames, the others keep
    heartbeating, so whatever they lose is the daemon's doing. The loop figures are the
    daemon's own (`daemon.stats` loop_lag_ms / turn_max_ms); the admin ping probe's round
    trips are reported too, as client-side figures."""
    sl = list(range(100_000, 100_000 + sleepers))
    ot = list(range(200_000, 200_000 + others))
    w = World(tmp, {"sleeper": (sl, "investor"), "others": (ot, "investor")}, timers)
    try:
        w.start(probe=True)
        w.subscribe(sl + ot, progress="slow_reader")
        w.connect_trader()
        sleeper = w.group("sleeper", [sl])
        per = max(1, others // connections)
        rest = w.group("others", [ot[i:i + per] for i in range(0, others, per)])
        pump = Pump([sleeper, rest], [w.trader])  # type: ignore[list-item]
        assert w.wait_welcomed(pump, timers.settle_s(60_000)), "terminals not welcomed"
        log(f"slow_reader: {sleepers} logins stop reading for {sleep_s:.0f} s; {others} on "
            f"{len(rest.connections)} connections")
        sleeper.sleep()
        t0 = time.monotonic()
        since = wall_ms()
        tickets: list[int] = []
        n = 0
        # the first deal well before the sleeper can be judged offline (its opens are queued to
        # the sleeping connection), then one every deal_every_s
        first = min(deal_every_s / 2, 0.2 * timers.offline_ms / 1000)
        while time.monotonic() < t0 + sleep_s - deal_every_s / 2:
            pump.run(max(0.0, t0 + first + n * deal_every_s - time.monotonic()))
            tickets.append(w.trader_open())
            n += 1
            if n % 10 == 0:
                log(f"slow_reader: {n} deals, {time.monotonic() - t0:.0f}/{sleep_s:.0f} s")
        pump.run(max(0.0, t0 + sleep_s - time.monotonic()))
        t_wake = time.monotonic()
        wake_ms = wall_ms()
        cpu0, wait0 = w.daemon.cpu_s(), w.daemon.run_delay_ms()
        sleeper.wake()
        log("slow_reader: sleeper wakes")
        pump.run(timers.settle_s(60_000), lambda: _settled(w, [rest], tickets) and _settled(w, [sleeper], tickets))
        # a few beats more: the daemon's stats for the seconds after the last copy
        pump.run(2 * max(1.0, timers.heartbeat_ms / 1000))
        t_end = time.monotonic()
        until = wall_ms()
        cpu_share = (w.daemon.cpu_s() - cpu0) / (t_end - t_wake)
        run_wait = w.daemon.run_delay_ms() - wait0
        rj = judge(w, [rest], tickets)  # type: ignore[list-item]
        sj = judge(w, [sleeper], tickets)  # type: ignore[list-item]
        assert w.feed is not None
        off = [b for b in w.feed.topic("terminal.offline", since) if b.get("ts", 0) <= until]
        s_end, r_end = sleeper.finish(), rest.finish()  # (their sessions end here: not counted above)
        late_after_wake = sum(1 for o in sleeper.ex.executed() if o.late and o.recv_ms >= since)
        off_rest = [b for b in off if int(b.get("login", 0)) in set(ot)]
        return {"deals": len(tickets), "sleeper_late_executed": late_after_wake,
                "sleeper_made": sj["made"], "sleeper_not_made_unrefused": sj["not_made_unrefused"],
                "sleeper_refused_by_code": sj["refused_by_code"], "sleeper_duplicated": sj["duplicated"],
                "others_expected": rj["expected"], "others_made": rj["made"],
                "others_lost": rj["not_made_unrefused"], "others_refused_by_code": rj["refused_by_code"],
                "others_duplicated": rj["duplicated"], "others_late_executed": rj["late_executed"],
                "others_latency_p99_ms": _r(pct(rj["latencies_ms"], 99), 1),
                "workers_executed_twice": len((s_end or {}).get("executed_more_than_once", {}))
                + len((r_end or {}).get("executed_more_than_once", {})),
                "workers_reported": s_end is not None and r_end is not None,
                "others_errors": (r_end or {}).get("errors"),
                "loop_lag_ms": w.feed.stats_max("loop_lag_ms", since, until),
                "loop_lag_after_wake_ms": w.feed.stats_max("loop_lag_ms", wake_ms, until),
                "turn_max_ms": w.feed.stats_max("turn_max_ms", since, until),
                "gc_max_ms": w.feed.stats_max("gc_max_ms", since, until),
                "turn_max_cpu_ms": w.feed.stats_max("turn_max_cpu_ms", since, until),
                "stats_beats": w.feed.stats_count(since, until),
                "daemon_cpu_share_after_wake": round(cpu_share, 2),
                "daemon_loop_runqueue_wait_after_wake_ms": round(run_wait, 1), "loadavg_1m": os.getloadavg()[0],
                "loop_lag_top": lag_beside_wait(w.feed, w.sched, since, until, wake_ms) if w.sched else None,
                "probe_rtt_max_ms": _r(w.probe.max_ms(t0, t_end), 1) if w.probe else None,
                "probe_rtt_after_wake_ms": _r(w.probe.max_ms(t_wake, t_end), 1) if w.probe else None,
                "stats_gap_ms": w.feed.stats_gap_ms(since),
                "offline": len(off),
                "others_offline_silent": sum(1 for b in off_rest if b.get("why") == "silent"),
                "others_offline_disconnected": sum(1 for b in off_rest if b.get("why") == "disconnected")}
    finally:
        w.close()


# ============================================================================ 5. memory
def memory(tmp: Path, timers: Timers, *, executions: int = 400_000, investors: int = 100) -> dict[str, Any]:
    inv = list(range(2001, 2001 + investors))
    w = World(tmp, {"investors": (inv, "investor")}, timers)
    try:
        w.start(feed=False)
        w.subscribe(inv)
        w.connect_trader()
        term = w.terminal("investors", inv)
        pump = Pump([term], [w.trader])
        assert w.wait_welcomed(pump, timers.settle_s()), "terminals not welcomed"
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
        pump = Pump([inv], [w.trader])
        assert w.wait_welcomed(pump, timers.settle_s(120_000)), "sessions not welcomed"
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
        from benchmarks.chaos.harness import FeedCollector, LoopProbe

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
        res["post_restart_probe_rtt_ms"] = _r(w.probe.max_ms(0, time.monotonic()), 1)  # during the deals above
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
                    "window_probe_rtt_ms": _r(max((r for t, r in w.probe.samples if p0 <= t <= p1), default=None), 1)})
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
    return {"bare_p99_ms": _r(bare, 3), "copy_p99_ms": _r(daemon, 3),
            "ratio": round(daemon / bare, 2) if bare and daemon else None, "raw": out.strip().splitlines()[-4:]}


def tmpdir(name: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"chaos-{name}-"))


