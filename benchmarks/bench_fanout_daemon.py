"""Fan-out through the daemon: one trader deal to N investor subscriptions (default 10 000),
timed from the trader terminal sending `position_opened` until all N `open` commands are
received, journal included (the fan-out's commands are written in one SQLite transaction
before the first is sent).

One investor connection speaks for all N logins (its CURVE key is bound to them), each
login with its own session (hello, seq). The daemon runs as a subprocess.

    .venv/bin/python benchmarks/bench_fanout_daemon.py [--investors 10000] [--rounds 3] [--insecure]
        [--store sqlite|postgres]

Target: <= 150 ms for 10 000 investors.

`--store postgres` runs the same fan-out twice in one invocation: first on the SQLite journal
(the baseline), then with `journal.url` on a throwaway PostgreSQL server started here
(bridge/daemon/store_pgcluster.py: loopback, fsync on, as a real server pays), and prints both
medians and their ratio (target: PostgreSQL <= 1.5x SQLite). Ends with `BENCH {json}`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import zmq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bridge.daemon.client import AdminClient, TerminalClient, wait_until  # noqa: E402
from bridge.daemon.testing import DaemonProcess, make_setup  # noqa: E402
from bridge.protocol import Direction, Open, PositionClosed, PositionOpened, decode  # noqa: E402

TRADER = 1001


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--investors", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--insecure", action="store_true")
    ap.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite",
                    help="postgres: the SQLite run, then the same on PostgreSQL, and their ratio")
    args = ap.parse_args()
    sqlite_ms = run(args, "")
    out = {"bench": "fanout_daemon", "investors": args.investors, "rounds": args.rounds,
           "curve": not args.insecure, "sqlite_median_ms": round(statistics.median(sqlite_ms), 1),
           "sqlite_best_ms": round(min(sqlite_ms), 1)}
    if args.store == "postgres":
        from bridge.daemon.store_pgcluster import PgCluster

        cluster = PgCluster(fsync=True).start()
        try:
            pg_ms = run(args, cluster.create_database("bench"))
        finally:
            cluster.stop()
        ratio = statistics.median(pg_ms) / statistics.median(sqlite_ms)
        print(f"PostgreSQL / SQLite (medians): {statistics.median(pg_ms):.1f} / {statistics.median(sqlite_ms):.1f} ms"
              f" = {ratio:.2f}x (target <= 1.5x: {'met' if ratio <= 1.5 else 'MISSED'})")
        out.update(postgres_median_ms=round(statistics.median(pg_ms), 1), postgres_best_ms=round(min(pg_ms), 1),
                   ratio=round(ratio, 3), ratio_target=1.5, ratio_met=ratio <= 1.5)
    print("BENCH " + json.dumps(out))


def run(args: argparse.Namespace, journal_url: str) -> list[float]:
    """The fan-out rounds on one journal (SQLite file, or `journal_url`): their times in ms."""
    n = args.investors
    store = "PostgreSQL" if journal_url else "SQLite"
    logins = list(range(100_000, 100_000 + n))
    tmp = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    setup = make_setup(tmp, {"trader": ([TRADER], "trader"), "investors": (logins, "investor"),
                             "ops": ([], "admin")}, heartbeat_ms=5000, journal_url=journal_url)
    t_setup = time.perf_counter()
    daemon = DaemonProcess(setup.config_path, insecure=args.insecure).start()
    curve = (lambda name: None) if args.insecure else setup.curve
    try:
        admin = AdminClient(daemon.endpoints["admin"], curve("ops"))
        admin("register_trader", trader="T", account=TRADER, account_type="mt4_standard", leverage=100,
              commission_pct="0")
        for i, login in enumerate(logins):
            admin("deposit", owner=f"I{i}", amount="100000")
            admin("subscribe", investor=f"I{i}", trader="T", account=login, amount="100000")
        trader = TerminalClient(daemon.endpoints["router"], curve("trader"))
        inv = TerminalClient(daemon.endpoints["router"], curve("investors"))
        inv.sock.setsockopt(zmq.RCVHWM, 0)
        trader.hello(TRADER)
        for login in logins:
            inv.hello(login)
        assert wait_until(lambda: trader.sessions[TRADER].welcomed and all(s.welcomed for s in inv.sessions.values()),
                          [inv, trader], 300), "sessions did not open"
        print(f"[{store}] setup: {n} subscriptions and sessions in {time.perf_counter() - t_setup:.1f} s")
        results = []
        for r in range(args.rounds):
            wait_until(lambda: False, [inv, trader], 0.5)  # drain heartbeats, settle
            ticket = 50_000 + r
            now = int(time.time() * 1000)
            got, sample = 0, None
            t0 = time.perf_counter()
            trader.send(TRADER, PositionOpened, ticket=ticket, symbol="EURUSD", side="buy", volume=Decimal("0.1"),
                        price=Decimal("1.1"), sl=Decimal(0), tp=Decimal(0), time=now, magic=0, comment="")
            sock = inv.sock
            deadline = t0 + 60
            while got < n and time.perf_counter() < deadline:
                if not sock.poll(1000):
                    continue
                while True:
                    try:
                        frame = sock.recv(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    if b"\xa4open" in frame[:24]:  # canonical header: fixstr "open" right after "type"
                        got += 1
                        sample = frame
            dt = (time.perf_counter() - t0) * 1000
            msg = decode(sample, direction=Direction.TO_TERMINAL) if sample else None
            assert isinstance(msg, Open) and msg.key.endswith(f"t{ticket}-open-1"), msg
            results.append(dt)
            print(f"[{store}] round {r + 1}: {got}/{n} open commands received in {dt:.1f} ms")
            # the trader closes; the investors' copies are still opening (never filled), so nothing to send
            trader.send(TRADER, PositionClosed, ticket=ticket, volume=Decimal("0.1"), remaining=Decimal(0),
                        price=Decimal("1.1"), time=now, reason="client", profit=Decimal(0))
            for s in (trader, inv):
                s.heartbeat()
        print(f"[{store}] fan-out to {n} investors, journal included, CURVE={'off' if args.insecure else 'on'}: "
              f"best {min(results):.1f} ms, median {statistics.median(results):.1f} ms "
              f"(target <= 150 ms: {'met' if statistics.median(results) <= 150 else 'MISSED'})")
        trader.close()
        inv.close()
        admin.close()
    finally:
        daemon.terminate(60)
    return results


if __name__ == "__main__":
    main()
