"""Capacity figures for bench_shards.py --capacity (issue 16, section 3): copies per second and
CPU per copy with 1, 2 and 3 daemon processes (each owning one shard, one trader, M investors)
on one PostgreSQL (fsync on), the PostgreSQL write rate the copy path needs per 1 000 copies/s
(rows, transactions, WAL bytes from pg_stat_database / pg_stat_wal), and pgbench on the same
server for comparison.

A *copy* here is one `open` command: journaled (the fan-out's commands in one transaction),
sent, executed by the simulated investor terminal (bridge.daemon.client.Executor) and its
result journaled. Each round, every shard's trader opens one position at once; the round ends
when every investor of every shard has executed its copy.

Honest limit: this machine has 2 cores shared with other jobs, and the terminals' side (one
Python process executing every copy) runs here too: past 2 busy processes the daemons only
share the same 2 cores, so 3 daemons cannot be faster than 2 here. What scales is read off
CPU per copy (daemon and PostgreSQL CPU seconds / copies), not off wall time.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from bridge.daemon.client import AdminClient, Executor, TerminalClient, wait_until
from bridge.daemon.cluster import ClusterDb
from bridge.daemon.cluster_testing import node_config
from bridge.daemon.testing import DaemonProcess, make_setup
from bridge.protocol import PositionOpened

TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pids: list[int]) -> float:
    """utime + stime of the processes, seconds (dead ones count 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICK


def postgres_pids(cluster: Any) -> list[int]:
    """The postmaster and its children (backends, WAL writer, checkpointer...)."""
    master = int((cluster.data / "postmaster.pid").read_text().split()[0])
    out = [master]
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == master:
                out.append(int(d.name))
    return out


def pg_counters(url: str) -> dict[str, int]:
    """The database's transactions and rows written, and the server's WAL (after a stats flush)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        x = conn.execute("SELECT xact_commit, tup_inserted, tup_updated, tup_deleted FROM pg_stat_database "
                         "WHERE datname = current_database()").fetchone()
        wal = conn.execute("SELECT wal_records, wal_bytes FROM pg_stat_wal").fetchone()
    return {"transactions": int(x[0]), "rows_inserted": int(x[1]), "rows_updated": int(x[2]),
            "rows_deleted": int(x[3]), "wal_records": int(wal[0]), "wal_bytes": int(wal[1])}


STATS_FLUSH_S = 1.5  # PostgreSQL flushes a backend's statistics at most once a second (PG 15+)


def throughput(cluster: Any, daemons: int, investors: int, rounds: int) -> dict:
    """`daemons` processes, one shard each (one trader, `investors` investors): `rounds` fan-outs."""
    url = cluster.create_database(f"capacity{daemons}")
    traders = [1001 + k for k in range(daemons)]
    logins = {k: list(range(200_000 + 100_000 * k, 200_000 + 100_000 * k + investors)) for k in range(daemons)}
    tmp = Path(tempfile.mkdtemp(prefix="bench-capacity-"))
    setup = make_setup(tmp, {"trader": (traders, "trader"),
                             "investors": ([x for v in logins.values() for x in v], "investor"),
                             "ops": ([], "admin")}, heartbeat_ms=5000, journal_url=url,
                       engine="open_validity_ms = 600000")
    db = ClusterDb(url)
    for k in range(daemons):
        db.add_shard(f"s{k + 1}")
        db.assign([traders[k], *logins[k]], f"s{k + 1}")
    db.close()
    procs = [DaemonProcess(node_config(setup, f"d{k + 1}", tmp / f"d{k + 1}", shards=(f"s{k + 1}",),
                                       lease_ms=20_000, renew_ms=2_000)) for k in range(daemons)]
    clients: list[TerminalClient] = []
    try:
        for p in procs:
            p.start(120)
        trader_of, execs = [], []
        for k, p in enumerate(procs):
            admin = AdminClient(p.endpoints["admin"], setup.curve("ops"))
            admin("register_trader", trader=f"T{k}", account=traders[k], account_type="mt4_standard", leverage=100,
                  commission_pct="0")
            for i, login in enumerate(logins[k]):
                admin("deposit", owner=f"I{login}", amount="100000")
                admin("subscribe", investor=f"I{login}", trader=f"T{k}", account=login, amount="100000")
            admin.close()
            trader = TerminalClient(p.endpoints["router"], setup.curve("trader"))
            inv = TerminalClient(p.endpoints["router"], setup.curve("investors"))
            clients += [inv, trader]
            trader.hello(traders[k])
            for login in logins[k]:
                inv.hello(login)
            trader_of.append(trader)
            execs.append(Executor(inv))
        assert wait_until(lambda: all(s.welcomed for c in clients for s in c.sessions.values()), clients, 600), \
            "sessions did not open"
        pids = [p.proc.pid for p in procs]
        pg_pids = postgres_pids(cluster)
        time.sleep(STATS_FLUSH_S)
        before, cpu0, pg0, t0 = pg_counters(url), cpu_s(pids), cpu_s(pg_pids), time.perf_counter()
        walls = []
        for r in range(rounds):
            start = time.perf_counter()
            for k, trader in enumerate(trader_of):
                trader.send(traders[k], PositionOpened, ticket=50_000 + r, symbol="EURUSD", side="buy",
                            volume=Decimal("0.1"), price=Decimal("1.1"), sl=Decimal(0), tp=Decimal(0),
                            time=int(time.time() * 1000), magic=0, comment="")
            want = investors * (r + 1)
            assert wait_until(lambda: all(len(e.executions) >= want for e in execs), clients, 600), "copies missing"
            walls.append(time.perf_counter() - start)
        # the last results journaled: the daemons answer each result at once; let them settle
        wait_until(lambda: False, clients, 1.0)
        wall = time.perf_counter() - t0
        cpu_d, cpu_pg = cpu_s(pids) - cpu0, cpu_s(pg_pids) - pg0
        time.sleep(STATS_FLUSH_S)
        after = pg_counters(url)
        copies = daemons * investors * rounds
        assert all(n == 1 for e in execs for n in e.executions.values()), "a copy executed twice"
        delta = {k: after[k] - before[k] for k in after}
        fan = sum(walls)
        return {
            "daemons": daemons, "investors_per_shard": investors, "rounds": rounds, "copies": copies,
            "copies_per_s": round(copies / fan, 1), "fanout_s_median": round(sorted(walls)[len(walls) // 2], 3),
            "daemon_cpu_ms_per_copy": round(1000 * cpu_d / copies, 4),
            "postgres_cpu_ms_per_copy": round(1000 * cpu_pg / copies, 4),
            "pg_per_1000_copies": {k: round(1000 * v / copies, 1) for k, v in delta.items()},
            "measured_wall_s": round(wall, 2),
        }
    finally:
        for c in clients:
            c.close()
        for p in procs:
            p.terminate(60)


def pgbench(cluster: Any, seconds: int = 15, clients: int = 4) -> dict:
    """pgbench's TPC-B-like transactions (5 statements, 3 updates + 1 insert) on the same server."""
    exe = cluster.bindir / "pgbench"
    if not exe.exists():
        return {"available": False, "why": f"no pgbench in {cluster.bindir} (Debian's postgresql package ships it)"}
    url = cluster.create_database("pgbench")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}
    subprocess.run([str(exe), "-i", "-q", "-s", "10", url], check=True, capture_output=True, env=env, timeout=600)
    before = pg_counters(url)
    out = subprocess.run([str(exe), "-c", str(clients), "-j", "2", "-T", str(seconds), url], check=True,
                         capture_output=True, text=True, env=env, timeout=seconds + 300).stdout
    time.sleep(STATS_FLUSH_S)
    after = pg_counters(url)
    tps = float(re.search(r"tps = ([0-9.]+)", out).group(1))
    return {"available": True, "clients": clients, "seconds": seconds, "tps": round(tps, 1),
            "wal_bytes_per_s": round((after["wal_bytes"] - before["wal_bytes"]) / seconds),
            "rows_written_per_s": round(sum(after[k] - before[k] for k in ("rows_inserted", "rows_updated")) / seconds)}
