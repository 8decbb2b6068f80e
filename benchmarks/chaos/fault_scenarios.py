"""The link-fault scenarios (issue 10): 1. a flood from an authorised key, 2. daemon stalls,
3. an investor away, 4. a slow reader waking to thousands of frames (see `scenarios`)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from benchmarks.chaos.common import TRADER, log, pct, rounded, wall_ms
from benchmarks.chaos.flooder import Flooder
from benchmarks.chaos.judging import executed_for, judge, settled
from benchmarks.chaos.loop_probes import lag_beside_wait
from benchmarks.chaos.opens import trader_ticket_of
from benchmarks.chaos.timers import Timers
from benchmarks.chaos.world import World


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
        pump = w.welcomed_pump(terms, timers.settle_s())
        # baseline: the same copies without the flood, same run
        base = []
        for _ in range(max(3, deals // 3)):
            pump.run(duration_s / deals)
            base.append(w.trader_open())
        pump.run(timers.settle_s(), lambda: sum(executed_for(terms, tk) for tk in base) >= len(base) * len(inv))
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
        pump.run(timers.settle_s(), lambda: settled(w, terms, tickets))
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
               "latency_p50_ms": rounded(pct(lat, 50), 2), "latency_p99_ms": rounded(pct(lat, 99), 2),
               "baseline_latency_p99_ms": rounded(pct(base_lat, 99), 2),
               "offline_log_lines": sum(1 for e in w.daemon.log_lines("terminal.offline")
                                        if e.get("login") in inv or e.get("login") == TRADER),
               **w.feed.loop_figures(since, until),
               "probe_rtt_max_ms": rounded(w.probe.max_ms(t0, t_end), 1) if w.probe else None,
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
        pump = w.welcomed_pump(terms, timers.settle_s())
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
            pump.run(timers.settle_s(), lambda tk=tk: settled(w, terms, [tk]))
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
        pump.run(timers.settle_s(), lambda: settled(w, terms, long_tickets))
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
        pump = w.welcomed_pump([victim, *rest], timers.settle_s())
        # one copy held before the outage
        held = w.trader_open()
        pump.run(timers.settle_s(), lambda: settled(w, [victim, *rest], [held]))
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
        pump.run(timers.settle_s(), lambda: settled(w, rest, tickets))
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
        pump = w.welcomed_pump([sleeper, rest], timers.settle_s(60_000))
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
        pump.run(timers.settle_s(60_000), lambda: settled(w, [rest], tickets) and settled(w, [sleeper], tickets))
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
                "others_latency_p99_ms": rounded(pct(rj["latencies_ms"], 99), 1),
                "workers_executed_twice": len((s_end or {}).get("executed_more_than_once", {}))
                + len((r_end or {}).get("executed_more_than_once", {})),
                "workers_reported": s_end is not None and r_end is not None,
                "others_errors": (r_end or {}).get("errors"),
                **w.feed.loop_figures(since, until),
                "loop_lag_after_wake_ms": w.feed.stats_max("loop_lag_ms", wake_ms, until),
                "stats_beats": w.feed.stats_count(since, until),
                "daemon_cpu_share_after_wake": round(cpu_share, 2),
                "daemon_loop_runqueue_wait_after_wake_ms": round(run_wait, 1), "loadavg_1m": os.getloadavg()[0],
                "loop_lag_top": lag_beside_wait(w.feed, w.sched, since, until, wake_ms) if w.sched else None,
                "probe_rtt_max_ms": rounded(w.probe.max_ms(t0, t_end), 1) if w.probe else None,
                "probe_rtt_after_wake_ms": rounded(w.probe.max_ms(t_wake, t_end), 1) if w.probe else None,
                "stats_gap_ms": w.feed.stats_gap_ms(since),
                "offline": len(off),
                "others_offline_silent": sum(1 for b in off_rest if b.get("why") == "silent"),
                "others_offline_disconnected": sum(1 for b in off_rest if b.get("why") == "disconnected")}
    finally:
        w.close()


