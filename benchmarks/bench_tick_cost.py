"""CPU cost of the daemon's periodic work at N subscriptions (issue 10, slow reader), in memory.

    /work/main/.venv/bin/python benchmarks/bench_tick_cost.py [--subs 3000] [--reps 40]

Measures CPU time (time.process_time_ns: the machine is shared, wall time would measure the
neighbours), medians over `reps`, each against its baseline in the same run:

* engine tick: `TimePassed` with the incremental retry set vs the old full scan (sort every
  live subscription, look at each one's copies);
* liveness: the CPU of `DaemonCore._liveness` over one heartbeat interval (ten passes, every
  session heartbeating): informational (a heap of deadlines was tried and cost twice the walk);
* fan-out turn: one trader `position_opened` -> N open commands (frame handling, journal batch
  written, frames pumped): informational, no baseline.

Ends with one line `BENCH {json}`.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bridge.copytrading import TimePassed  # noqa: E402
from bridge.copytrading import engine as engine_module  # noqa: E402
from bridge.daemon.config import parse_config  # noqa: E402
from bridge.daemon.core import DaemonCore, SendResult  # noqa: E402
from bridge.daemon.store import SqliteStore  # noqa: E402
from bridge.protocol import Hello, PositionOpened, encode  # noqa: E402

T0 = 1_700_000_000_000
HELLO = dict(platform="MT4", account_type="mt4_standard", currency="USD", leverage=100,
             balance=Decimal(1000), equity=Decimal(1000), positions=())


def ok(_conn: bytes, _frame: bytes) -> SendResult:
    return SendResult.OK


def old_tick(self, e: TimePassed) -> None:
    self._retry_closes([sub for sub in self._live() if sub.copies])


class World:
    def __init__(self, tmp: Path, subs: int, conns: int) -> None:
        cfg = parse_config({"daemon": {"heartbeat_ms": 1000}, "engine": {"server_timezone": "UTC"}})
        self.store = SqliteStore(tmp / "j.db")
        core = self.core = DaemonCore.recover(cfg, self.store.recover(), now=T0, insecure=True)
        self.admin("register_trader", trader="T", account=1001, account_type="mt4_standard", leverage=100,
                   commission_pct="0")
        self.logins = list(range(200_000, 200_000 + subs))
        for login in self.logins:
            self.admin("deposit", owner=f"I{login}", amount="1000")
            self.admin("subscribe", investor=f"I{login}", trader="T", account=login, amount="1000")
        self.ids = 1
        self.seq: dict[int, int] = {}
        self.now = T0
        self.send(b"trader", 1001, Hello, role="trader", **HELLO)
        per = -(-subs // conns)
        for i, login in enumerate(self.logins):
            self.send(f"c{i // per}".encode(), login, Hello, role="investor", **HELLO)
        self.commit()
        core.on_read_idle(self.now)

    def admin(self, op: str, **args: object) -> None:
        assert self.core.on_admin({"op": op, "args": args}, None, T0)["ok"]
        self.store.write(self.core.take_batch())

    def send(self, conn: bytes, login: int, cls: type, **body: object) -> None:
        seq = self.seq[login] = 1 if cls is Hello else self.seq[login] + 1
        self.ids += 1
        self.core.on_frame(conn, None, encode(cls(id=self.ids, seq=seq, ts=self.now, login=login, **body)), self.now)

    def commit(self) -> None:
        self.store.write(self.core.take_batch())
        self.core.pump(ok, self.now)
        self.core.take_feed()
        self.core.take_logs()


def cpu_ms(fn) -> float:
    t = time.process_time_ns()
    fn()
    return (time.process_time_ns() - t) / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--subs", type=int, default=3000)
    ap.add_argument("--conns", type=int, default=10)
    ap.add_argument("--reps", type=int, default=40)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        w = World(Path(tmp), args.subs, args.conns)
        print(f"setup: {args.subs} subscriptions on {args.conns} connections ({time.monotonic() - t0:.0f} s)",
              file=sys.stderr)
        core, eng = w.core, w.core.engine
        # a few open copies on every subscription, so the old scan has copies to look at
        fan = []
        for ticket in range(1, 4):
            w.now += 10
            body = dict(ticket=ticket, symbol="EURUSD", side="buy", volume=Decimal("0.1"), price=Decimal("1.1"),
                        sl=Decimal(0), tp=Decimal(0), time=w.now, magic=0, comment="")
            fan.append(cpu_ms(lambda body=body: (w.send(b"trader", 1001, PositionOpened, **body), w.commit())))
        opens = sum(len(sub.copies) for sub in eng.subscriptions.values())
        print(f"copies in flight or open: {opens}", file=sys.stderr)

        def ticks(n: int) -> list[float]:
            out = []
            for _ in range(n):
                w.now += 1
                out.append(cpu_ms(lambda: eng.handle(TimePassed(w.now))))
            return out

        new_tick = statistics.median(ticks(args.reps))
        handlers = engine_module._HANDLERS
        handlers[TimePassed], new = old_tick, handlers[TimePassed]
        try:
            old_tick_ms = statistics.median(ticks(args.reps))
        finally:
            handlers[TimePassed] = new

        hb = core.config.heartbeat_ms

        def passes(fn) -> float:
            """CPU of the passes over one heartbeat interval (ten passes, as `tick` runs them),
            every session heartbeating meanwhile (frames pumped, as the shell would)."""
            total = 0.0
            for _ in range(10):
                w.now += hb // 10
                core.on_read_idle(w.now)
                total += cpu_ms(lambda: fn(w.now))
                core.pump(ok, w.now)
            for conn in core.conns.values():
                conn.last_rx = w.now
            return total

        new_live = statistics.median(passes(core._liveness) for _ in range(max(3, args.reps // 8)))
    r = {"subscriptions": args.subs, "engine_tick_cpu_ms": round(new_tick, 3),
         "engine_tick_full_scan_cpu_ms": round(old_tick_ms, 3),
         "engine_tick_ratio": round(new_tick / old_tick_ms, 3) if old_tick_ms else None,
         "liveness_per_heartbeat_cpu_ms": round(new_live, 3),
         "fanout_turn_cpu_ms": [round(x, 1) for x in fan]}
    for k, v in r.items():
        print(f"  {k:<40} {v}")
    print("BENCH " + json.dumps(r))


if __name__ == "__main__":
    main()
