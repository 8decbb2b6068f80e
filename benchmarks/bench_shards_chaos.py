"""`bench_shards.py --kills N`: repeated kill -9 of a shard's owner during fan-outs, the standby
taking over each time (docs/scaling.md "Failover"). Checks 0 lost / 0 duplicated at the end."""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from bridge.daemon.client import AdminClient, Executor, TerminalClient, wait_until
from bridge.daemon.cluster import ClusterDb, shard_url
from bridge.daemon.cluster_testing import Standby, node_config
from bridge.daemon.testing import DaemonProcess, journal_commands, make_setup
from bridge.protocol import Open, Position

TRADER = 1001


def chaos(args: argparse.Namespace, url: str) -> dict:
    rng = random.Random(args.seed)
    n = args.investors
    investors = list(range(3001, 3001 + n))
    tmp = Path(tempfile.mkdtemp(prefix="bench-shards-chaos-"))
    setup = make_setup(tmp, {"trader": ([TRADER], "trader"), "investors": (investors, "investor"),
                             "ops": ([], "admin")}, heartbeat_ms=250, journal_url=url,
                       engine="open_validity_ms = 600000")
    db = ClusterDb(url)
    db.add_shard("s1")
    db.assign([TRADER, *investors], "s1")
    db.close()
    lease = {"lease_ms": args.lease_ms, "renew_ms": args.renew_ms}
    configs = {node: node_config(setup, node, tmp / node, **lease) for node in ("d1", "d2")}
    owner = DaemonProcess(configs["d1"]).start()
    standby = Standby(DaemonProcess(configs["d2"]))
    nodes = {"d1": owner, "d2": standby.daemon}
    clients: list[TerminalClient] = []
    takeovers: list[float] = []
    try:
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
        trader.hello(TRADER)
        for login in investors:
            inv.hello(login)
        assert wait_until(lambda: all(s.welcomed for s in inv.sessions.values()), clients, 60)
        open_positions: dict[int, Position] = {}
        for step in range(args.kills):
            ticket = 7000 + step
            open_positions[ticket] = trader.opened(TRADER, ticket, volume="0.1")
            trader.set_positions(TRADER, tuple(open_positions.values()))
            if step % 3 == 2:
                old = sorted(open_positions)[0]
                del open_positions[old]
                trader.set_positions(TRADER, tuple(open_positions.values()))
                trader.closed(TRADER, old, "0.1")
            deadline = time.monotonic() + rng.uniform(0.0, 0.25)
            wait_until(lambda: time.monotonic() >= deadline, clients, 5)  # keep answering meanwhile
            owner.kill()
            t_kill = time.perf_counter()
            assert standby.serving(600), standby.failed
            takeovers.append(time.perf_counter() - t_kill)
            killed = next(node for node, d in nodes.items() if d is owner)
            owner = standby.daemon
            for c in clients:
                c.endpoint = owner.endpoints["router"]
                c.reconnect()
            nodes[killed] = DaemonProcess(configs[killed])
            standby = Standby(nodes[killed])  # the killed node comes back as the next standby
            print(f"kill {step + 1}/{args.kills}: {killed} killed, the standby served after "
                  f"{takeovers[-1]:.2f} s")
        shard = shard_url(url, "s1")
        want = {(login, t) for login in investors for t in open_positions}

        def settled() -> bool:
            rows = journal_commands(shard)
            held = {(login, int(p.comment.split("-")[1][1:])) for login, book in ex.positions.items()
                    for p in book.values()}
            return not any(st == "pending" for _, _, t, st in rows if t != "balance") and held == want

        assert wait_until(settled, clients, 120), "did not settle"
    finally:
        for c in clients:
            c.close()
        for d in nodes.values():
            d.kill()
        standby.thread.join(30)
    executed_twice = [k for k, v in ex.executions.items() if v != 1]
    per_copy: dict[tuple[int, str], int] = {}
    for login, key in {(m.login, m.key) for m in inv.inbox if isinstance(m, Open) and m.key in ex.executions}:
        per_copy[(login, key.split("-")[1])] = per_copy.get((login, key.split("-")[1]), 0) + 1
    doubled = [k for k, v in per_copy.items() if v > 1]
    rows = journal_commands(shard)
    lost = sorted({key for key, _, t, _ in rows if t != "balance"} ^ set(ex.executions))
    not_done = [r for r in rows if r[3] != "done"]
    ok = not (executed_twice or doubled or lost or not_done)
    print(f"{args.kills} kills of the owner during fan-outs ({n} investors): takeover median "
          f"{statistics.median(takeovers):.2f} s, max {max(takeovers):.2f} s (lease {args.lease_ms} ms); "
          f"lost {len(lost)}, duplicated {len(executed_twice) + len(doubled)}, not done {len(not_done)}: "
          f"{'OK' if ok else 'FAILED'}")
    return {"bench": "shards_chaos", "kills": args.kills, "investors": n, "lease_ms": args.lease_ms,
            "renew_ms": args.renew_ms, "takeover_median_s": round(statistics.median(takeovers), 3),
            "takeover_max_s": round(max(takeovers), 3), "lost": len(lost),
            "duplicated": len(executed_twice) + len(doubled), "not_done": len(not_done), "ok": ok}
