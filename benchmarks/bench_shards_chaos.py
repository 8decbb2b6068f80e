"""`bench_shards.py --kills N`: N kill -9 of whichever daemon owns shard s1, each at a seeded
random point of a fan-out, the standby taking over each time (docs/scaling.md "Failover").

The setup is built once (10 000 subscriptions and sessions by default); every kill reuses it:
the killed node comes back as the next standby (started after the fan-out completed, and
waited for until its lease keeper is connected, so its process start is never in a figure).
A step is a trader event (open a position, close the oldest, or both, seeded) whose fan-out
is N or 2N commands; the owner is killed once the investor terminals have received k of them,
k drawn uniformly in [0, N) (k = 0: right after the trader's event, maybe before the owner
read it). Timed from the kill, per kill:

* `lease_left`: what the lease had still to run at the kill (the database's clock);
* `hellos queued`: this one process took that long to send its 10 000 hellos to the standby's
  endpoint (at the kill, where they wait until it listens; 10 000 real terminals do this in
  parallel): when it exceeds `serving`, `resumed` is this harness's limit, not the daemon's;
* `serving`: the standby has taken the lease, recovered the shard and listens;
* `resumed`: the terminals receive the new owner's first command (a re-send or a new copy);
* `all`: every investor's copy of this step is executed (sooner than `resumed` when the dead
  owner had sent them all: what the new owner re-sends is then answered from the stored
  results).

Per kill also, from the new owner's log: whether it took over warm (bridge/daemon/warm_standby.py,
the default) and where its start went (`daemon.start_ms`: open the journal, recovery or warm
catch-up, core, sockets, gc, feed snapshot); and the standby's cost while it waited (CPU share
from its lease wait to the kill, resident memory). After the N kills, `--cold-kills` more with
standbys started `warm_standby = false`: the same run's baseline (serving - lease left, warm
against cold).

Counted exactly at the end: keys executed twice (the terminal `Executor`), (investor, trader
position) pairs opened by two keys, journaled commands never executed and executed keys the
journal does not have, commands not `done`, investors whose positions differ from the trader's.
Also measured: the owner's smallest lease slack (a sampler reads the lease row every 50 ms:
how close a paused or loaded owner came to a false failover) and the renewals' rate."""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import tempfile
import threading
import time
import tomllib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from bridge.daemon.client import AdminClient, Executor, TerminalClient, wait_until
from bridge.daemon.cluster import ClusterDb, shard_url
from bridge.daemon.cluster_testing import Standby, lease_keeper_waiting, node_config
from bridge.daemon.testing import DaemonProcess, journal_commands, make_setup
from bridge.protocol import Close, Modify, Open

TRADER = 1001
GOAL_S = 5.0


class Copies:
    """The investors' copies as the terminal executed them, kept up to date by a message handler
    (registered after the Executor's, so a command is already executed when it is seen here)."""

    def __init__(self, ex: Executor) -> None:
        self.ex = ex
        self.received = 0  # commands received, re-sends included
        self.held: Counter[int] = Counter()  # trader ticket -> investors holding its copy
        self.open_keys: dict[tuple[int, int], set[str]] = {}  # (login, trader ticket) -> keys that opened it
        self._seen: set[str] = set()
        self._trader_ticket: dict[tuple[int, int], int] = {}  # (login, investor ticket) -> trader ticket
        # a step: kill when the k-th command arrives (not at the end of the batch a poll reads),
        # note the first command after `arm_resume` and when the step's copies are all there
        self.trigger: tuple[int, Callable[[], None]] | None = None
        self.armed = False
        self.first_at: float | None = None
        self.done_at: float | None = None
        self._opened: list[int] = []
        self._closed: list[int] = []
        self._n = 0
        ex.client.handlers.append(self.on_message)

    def step(self, opened: list[int], closed: list[int], n: int, kill_at: int, kill: Callable[[], None]) -> None:
        self._opened, self._closed, self._n = opened, closed, n
        self.done_at = self.first_at = None
        self.armed = False
        self.trigger = (self.received + kill_at, kill)

    def arm_resume(self) -> None:
        self.armed = True

    def complete(self) -> bool:
        return (all(self.held[t] == self._n for t in self._opened)
                and all(self.held[t] == 0 for t in self._closed))

    def on_message(self, m: object) -> None:
        if not isinstance(m, (Open, Close, Modify)):
            return
        self.received += 1
        if self.armed and self.first_at is None:
            self.first_at = time.perf_counter()
        self._count(m)
        if self.done_at is None and self.complete():
            self.done_at = time.perf_counter()
        if self.trigger is not None and self.received >= self.trigger[0]:
            kill, self.trigger = self.trigger[1], None
            kill()

    def _count(self, m: Open | Close | Modify) -> None:
        if m.key in self._seen or m.key not in self.ex.executions:
            return
        self._seen.add(m.key)
        result = self.ex.results[m.key]
        if not result["ok"]:
            return
        if isinstance(m, Open):
            t = int(m.key.split("-")[1][1:])
            self._trader_ticket[(m.login, result["ticket"])] = t
            self.held[t] += 1
            self.open_keys.setdefault((m.login, t), set()).add(m.key)
        elif isinstance(m, Close) and m.ticket not in self.ex.positions.get(m.login, {}):
            self.held[self._trader_ticket[(m.login, m.ticket)]] -= 1


class TimedStandby(Standby):
    """A standby that notes when it started listening (the bench's thread may be busy then)."""

    at = 0.0

    def _start(self, timeout: float) -> None:
        super()._start(timeout)
        self.at = time.perf_counter()


class LeaseWatch:
    """Samples s1's lease row every 50 ms: the owner's smallest remaining lease (its slack
    before a false failover) and the renewals, per token; tokens whose owner was killed are
    left out from the kill on (a dead owner's lease runs out by design)."""

    def __init__(self, url: str) -> None:
        self.db = ClusterDb(url, "bench lease watch", ddl=False)
        self.dead: set[int] = set()
        self.min_left: dict[int, int] = {}  # token -> smallest expires_at - now while its owner lived
        self.renewals: Counter[int] = Counter()
        self._last: tuple[int, int] = (0, 0)  # (token, expires_at)
        self._stop = threading.Event()
        self.started = time.monotonic()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            now, leases = self.db.view()
            lease = leases["s1"]
            if not lease.owner or lease.token in self.dead:
                continue
            left = lease.expires_at - now
            self.min_left[lease.token] = min(self.min_left.get(lease.token, left), left)
            if self._last[0] == lease.token and lease.expires_at != self._last[1]:
                self.renewals[lease.token] += 1
            self._last = (lease.token, lease.expires_at)

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(5)
        self.db.close()


def lease_round_ms(url: str, rounds: int = 20) -> float:
    """What one lease keeper round reads (view, directory, traders; LeaseKeeper.tick +
    refresh), median ms: the database load a renew interval multiplies."""
    db = ClusterDb(url, "bench lease round", ddl=False)
    times = []
    try:
        for _ in range(rounds):
            t = time.perf_counter()
            db.view()
            db.view()
            db.directory()
            db.traders()
            times.append((time.perf_counter() - t) * 1000)
    finally:
        db.close()
    return statistics.median(times)


def start_figures(daemon: DaemonProcess, offset: int) -> dict:
    """What the daemon's last start logged (bridge/daemon/server.py), read from `offset` (the
    log's size before it started): whether it took over warm (daemon.warm_standby) and where
    its start's time went (daemon.start_ms)."""
    out: dict = {}
    with open(daemon.log_path, "rb") as f:
        f.seek(offset)
        for raw in f:
            line = raw.decode(errors="replace")
            if '"daemon.warm_standby"' in line:
                w = json.loads(line)
                out.update(warm=w["used"], caught_up_events=w["caught_up_events"], warm_problem=w["problem"])
            elif '"daemon.start_ms"' in line:
                timing = json.loads(line)
                out["start_ms"] = {k: v for k, v in timing.items() if k not in ("event", "level", "timestamp")}
                break
    return out


class Waiting:
    """A standby's cost while it waits (keeping the shard warm): its CPU from the moment it
    reached its lease wait (its process start left out) to the kill, and its memory then."""

    def __init__(self, daemon: DaemonProcess) -> None:
        assert daemon.proc is not None
        self.pid = daemon.proc.pid
        self.t0, self.cpu0 = time.perf_counter(), self._cpu()
        self.t1, self.cpu1, self.rss_kb = self.t0, self.cpu0, 0

    def _cpu(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def stop(self) -> None:
        self.t1, self.cpu1 = time.perf_counter(), self._cpu()
        status = Path(f"/proc/{self.pid}/status").read_text()
        self.rss_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))

    def figures(self) -> dict:
        waited = self.t1 - self.t0
        cpu = round(100 * (self.cpu1 - self.cpu0) / waited, 2) if waited else 0
        return {"waited_s": round(waited, 1), "cpu_pct": cpu, "rss_mb": round(self.rss_kb / 1024, 1)}


def log_size(daemon: DaemonProcess) -> int:
    return daemon.log_path.stat().st_size if daemon.log_path.exists() else 0


def pct(values: list[float], q: float) -> float:
    """The q-quantile, nearest rank (p90 of 20 values: the 18th smallest)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(len(ordered) * q) - 1))]


def chaos(args: argparse.Namespace, url: str) -> dict:
    rng = random.Random(args.seed)
    n = args.investors
    investors = list(range(100_001, 100_001 + n))
    tmp = Path(tempfile.mkdtemp(prefix="bench-shards-chaos-"))
    setup = make_setup(tmp, {"trader": ([TRADER], "trader"), "investors": (investors, "investor"),
                             "ops": ([], "admin")}, heartbeat_ms=args.heartbeat_ms, journal_url=url,
                       engine="open_validity_ms = 600000")  # no open expires: every copy must arrive
    db = ClusterDb(url)
    db.add_shard("s1")
    db.assign([TRADER, *investors], "s1")
    db.close()
    lease = {"lease_ms": args.lease_ms, "renew_ms": args.renew_ms}
    configs = {node: node_config(setup, node, tmp / node, **lease) for node in ("d1", "d2")}
    cold_configs = {}  # the baseline's standbys: the same nodes, warm standby off (recover cold)
    for node, path in configs.items():
        cold_configs[node] = path.with_name("daemon-cold.toml")
        cold_configs[node].write_text(path.read_text() + "warm_standby = false\n")  # [cluster] is the last table
    total = args.kills + args.cold_kills
    owner = DaemonProcess(configs["d1"]).start()
    standby_log_at = log_size(DaemonProcess(configs["d2"]))
    standby = TimedStandby(DaemonProcess(configs["d2"]))
    nodes = {"d1": owner, "d2": standby.daemon}
    clients: list[TerminalClient] = []
    kills: list[dict] = []
    load = [os.getloadavg()[0]]
    watch: LeaseWatch | None = None
    shard = shard_url(url, "s1")
    try:
        t0 = time.perf_counter()
        admin = AdminClient(owner.endpoints["admin"], setup.curve("ops"))
        admin("register_trader", trader="T", account=TRADER, account_type="mt4_standard", leverage=100,
              commission_pct="10")
        for i, login in enumerate(investors):
            admin("deposit", owner=f"I{i}", amount="100000")
            admin("subscribe", investor=f"I{i}", trader="T", account=login, amount="100000")
        admin.close()
        trader = TerminalClient(owner.endpoints["router"], setup.curve("trader"))
        inv = TerminalClient(owner.endpoints["router"], setup.curve("investors"))
        clients += [inv, trader]
        ex = Executor(inv)
        copies = Copies(ex)
        trader.hello(TRADER)
        for login in investors:
            inv.hello(login)
        assert wait_until(lambda: all(s.welcomed for s in inv.sessions.values()), clients, 600), "sessions"
        assert wait_until(lambda: lease_keeper_waiting(url, "d2"), clients, 120), "d2 never reached its lease wait"
        waiting = Waiting(standby.daemon)
        print(f"setup (once): {n} subscriptions and sessions in {time.perf_counter() - t0:.1f} s")
        watch = LeaseWatch(url)
        probe = ClusterDb(url, "bench kill", ddl=False)
        open_tickets: list[int] = []
        next_read = [0.0]

        def settled() -> bool:  # journal_commands reads every command: every 2 s, not at every poll
            if time.monotonic() < next_read[0]:
                return False
            pending = any(st == "pending" for _, _, t, st in journal_commands(shard) if t != "balance")
            next_read[0] = time.monotonic() + 2
            return not pending

        for step in range(total):
            ticket = 7000 + step
            kind = "open" if len(open_tickets) < 2 else rng.choice(("open", "close", "open+close"))
            k = rng.randrange(n * (2 if kind == "open+close" else 1))
            opened = [ticket] if "open" in kind else []
            closed = [open_tickets[0]] if "close" in kind else []
            open_tickets = [t for t in open_tickets if t not in closed] + opened
            killing: dict[str, float] = {}

            def kill() -> None:
                """At the k-th command of the fan-out, inside the poll that reads it. The terminals
                then reconnect at once to the standby's endpoint, as terminals retrying would
                have by the time it listens: their hellos wait in the sockets until it does.
                What the dead owner sent and they had not read yet is dropped with the old
                sockets (pending in the journal: the new owner re-sends it)."""
                waiting.stop()
                now, leases = probe.view()
                watch.dead.add(leases["s1"].token)
                owner.kill()
                t = time.perf_counter()
                router = tomllib.loads(standby.daemon.config_path.read_text())["daemon"]["router"]
                for c in clients:
                    c.endpoint = router
                    c.reconnect()
                copies.arm_resume()  # every command from now on is the new owner's
                killing.update(t=t, left=max(0, leases["s1"].expires_at - now) / 1000,
                               received=copies.received - base, hellos=time.perf_counter() - t)

            base = copies.received
            assert owner.proc is not None and owner.proc.poll() is None, \
                f"false failover: the owner exited by itself ({owner.proc.returncode}) before kill {step + 1}"
            copies.step(opened, closed, n, k, kill)
            for t in opened:
                p = trader.opened(TRADER, t, volume="0.1")
                trader.set_positions(TRADER, (*trader.sessions[TRADER].hello["positions"], p))
            for t in closed:
                trader.set_positions(TRADER, tuple(p for p in trader.sessions[TRADER].hello["positions"]
                                                   if p.ticket != t))
                trader.closed(TRADER, t, "0.1")
            if k == 0:
                copies.trigger = None
                kill()
            assert wait_until(lambda: bool(killing), clients, 600), f"step {step}: fan-out stalled"
            t_kill, lease_left, hellos = killing["t"], killing["left"], killing["hellos"]
            assert standby.serving(600), standby.failed
            serving = standby.at - t_kill
            killed = next(node for node, d in nodes.items() if d is owner)
            owner = standby.daemon
            assert wait_until(lambda: copies.first_at is not None, clients, 600), "copying did not resume"
            resumed = copies.first_at - t_kill
            assert wait_until(lambda: copies.done_at is not None, clients, 600), f"step {step}: copies missing"
            done = copies.done_at - t_kill
            start = {**start_figures(owner, standby_log_at), **waiting.figures(), "baseline": step >= args.kills}
            kills.append({"step": step + 1, "kind": kind, "killed": killed, "at_command": int(killing["received"]),
                          "lease_left_s": round(lease_left, 3), "serving_s": round(serving, 3),
                          "resumed_s": round(resumed, 3), "all_s": round(done, 3),
                          "hellos_sent_s": round(hellos, 3), **start})
            size = n * (2 if kind == "open+close" else 1)
            print(f"kill {step + 1}/{total}{' (baseline: cold standby)' if step >= args.kills else ''}: "
                  f"{kind} fan-out, {killed} killed at command "
                  f"{killing['received']:.0f} of {size}; lease left {lease_left:.2f} s, "
                  f"hellos queued {hellos:.2f} s, serving {serving:.2f} s, copying resumed {resumed:.2f} s, "
                  f"all copies {done:.2f} s")
            print(f"    the new owner's start: {'warm' if start.get('warm') else 'cold'}"
                  f" (caught up {start.get('caught_up_events', 0)} events), "
                  + ", ".join(f"{k} {v:.0f}" for k, v in start.get("start_ms", {}).items()) + " ms; while it waited "
                  f"{start['waited_s']:.0f} s: {start['cpu_pct']:.1f}% of a core, {start['rss_mb']:.0f} MB")
            inv.inbox.clear()  # counted by the handlers; the inbox would hold every message of the run
            trader.inbox.clear()
            load.append(os.getloadavg()[0])
            nodes[killed] = DaemonProcess((cold_configs if step + 1 >= args.kills else configs)[killed])
            standby_log_at = log_size(nodes[killed])
            standby = TimedStandby(nodes[killed])  # the killed node comes back as the next standby
            assert wait_until(lambda: lease_keeper_waiting(url, killed), clients, 120), f"{killed} never stood by"
            waiting = Waiting(standby.daemon)
            if args.settle:  # the next kill lands in one fan-out, not in the backlog of the last ones
                assert wait_until(settled, clients, 600), f"step {step}: commands still pending"
        probe.close()
        want = {(login, t) for login in investors for t in open_tickets}
        assert wait_until(settled, clients, 120), "commands still pending"
    finally:
        if watch is not None:
            watch.stop()
        for c in clients:
            c.close()
        for d in nodes.values():
            d.kill()
        standby.thread.join(30)
    round_ms = lease_round_ms(url)
    held = {(login, int(p.comment.split("-")[1][1:])) for login, book in ex.positions.items() for p in book.values()}
    executed_twice = sum(1 for v in ex.executions.values() if v != 1)
    doubled = sum(1 for keys in copies.open_keys.values() if len(keys) > 1)
    rows = journal_commands(shard)
    journaled = {key for key, _, t, _ in rows if t != "balance"}
    lost = len(journaled - set(ex.executions)) + len(want - held)
    unjournaled = len(set(ex.executions) - journaled)
    not_done = sum(1 for r in rows if r[3] != "done")
    duplicated = executed_twice + doubled + len(held - want)
    ok = not (lost or duplicated or unjournaled or not_done)
    cold = [k for k in kills if k["baseline"]]
    kills = [k for k in kills if not k["baseline"]]  # the goal is judged on the shipped default's kills
    resumed = [k["resumed_s"] for k in kills]
    summary = {f"{name}_{stat}_s": round(f(vals), 3) for name, vals in
               (("resumed", resumed), ("serving", [k["serving_s"] for k in kills]),
                ("all", [k["all_s"] for k in kills]))
               for stat, f in (("median", statistics.median), ("p90", lambda v: pct(v, 0.9)), ("max", max))}
    # what the standby adds after the lease ran out (poll, recovery, start): warm vs cold
    after = {name: round(statistics.median(k["serving_s"] - k["lease_left_s"] for k in group), 3)
             for name, group in (("warm", kills), ("cold", cold)) if group}
    baseline = {"kills": len(cold), **({
        "resumed_median_s": round(statistics.median(k["resumed_s"] for k in cold), 3),
        "serving_median_s": round(statistics.median(k["serving_s"] for k in cold), 3),
        "after_lease_median_s": after["cold"], "warm_over_cold": round(after["warm"] / after["cold"], 2)}
        if cold else {})}
    slack = min(watch.min_left.values()) if watch and watch.min_left else None
    alive_s = time.monotonic() - watch.started if watch else 0
    renew_rate = sum(watch.renewals.values()) / alive_s if watch and alive_s else 0
    met = summary["resumed_max_s"] <= GOAL_S
    pace = "each after the last settled" if args.settle else "back to back"
    print(f"{len(kills)} kill -9 of the owner during fan-outs ({pace}), {n} investors, lease {args.lease_ms} / "
          f"renew {args.renew_ms} ms, {len(rows)} commands journaled:")
    for name in ("serving", "resumed", "all"):
        print(f"  {name:8s} median {summary[f'{name}_median_s']:.2f} s, p90 {summary[f'{name}_p90_s']:.2f} s, "
              f"max {summary[f'{name}_max_s']:.2f} s")
    print(f"  goal: copying resumes <= {GOAL_S:.0f} s after the kill at every kill: "
          f"{'met' if met else 'MISSED'} (max {summary['resumed_max_s']:.2f} s)")
    warm = sum(1 for k in kills if k.get("warm"))
    phases = {name: round(statistics.median(k["start_ms"].get(name, 0) for k in kills if "start_ms" in k), 1)
              for name in ("open", "recovery", "core", "sockets", "gc")} if kills else {}
    print(f"  the new owner took over warm at {warm} of {len(kills)} kills; its start (median ms, from the lease "
          "taken to listening): " + ", ".join(f"{k} {v:.0f}" for k, v in phases.items()))
    cost = {"cpu_pct_median": round(statistics.median(k["cpu_pct"] for k in kills), 2) if kills else 0,
            "rss_mb_median": round(statistics.median(k["rss_mb"] for k in kills), 1) if kills else 0}
    if cold:
        print(f"  baseline in this run, {len(cold)} kills with a cold standby (warm_standby = false): serving median "
              f"{baseline['serving_median_s']:.2f} s, resumed median {baseline['resumed_median_s']:.2f} s; from the "
              f"lease's expiry to listening (serving - lease left), median: warm {after['warm']:.2f} s, cold "
              f"{after['cold']:.2f} s ({baseline['warm_over_cold']:.2f}x)")
    print(f"  the standby while it waited: median {cost['cpu_pct_median']:.1f}% of a core, "
          f"{cost['rss_mb_median']:.0f} MB resident (per kill above)")
    print(f"  lost {lost}, duplicated {duplicated}, executed but not journaled {unjournaled}, not done {not_done}: "
          f"{'OK' if ok else 'FAILED'}")
    if slack is not None:
        print(f"  the owners' smallest lease slack {slack} ms of {args.lease_ms} (longest renewal gap ~"
              f"{args.lease_ms - slack} ms); {renew_rate:.1f} renewals/s; one lease keeper round's reads "
              f"{round_ms:.1f} ms (directory of {n + 1} logins)")
    print(f"  machine: {os.cpu_count()} cores shared with other jobs; load average (1 min) "
          f"{min(load):.1f}-{max(load):.1f} during the run")
    return {"bench": "shards_chaos", "kills": len(kills), "investors": n, "seed": args.seed,
            "lease_ms": args.lease_ms, "renew_ms": args.renew_ms, "heartbeat_ms": args.heartbeat_ms,
            "settle": args.settle, **summary, "warm_takeovers": warm, "start_ms_median": phases, "standby": cost,
            "after_lease_median_s": after.get("warm"), "cold_baseline": baseline,
            "goal_s": GOAL_S, "goal_met": met, "lost": lost, "duplicated": duplicated,
            "executed_not_journaled": unjournaled, "not_done": not_done, "ok": ok,
            "commands_journaled": len(rows), "min_lease_slack_ms": slack, "renewals_per_s": round(renew_rate, 2),
            "lease_round_ms": round(round_ms, 2), "load_1min": [round(x, 2) for x in load],
            "cores": os.cpu_count(), "per_kill": kills + cold}
