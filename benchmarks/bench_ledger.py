"""What the cluster ledger (`[cluster] ledger = true`, docs/scaling.md "Money that crosses
shards") costs a shard's step: the same work with the ledger off and on, on the same
PostgreSQL server (fsync on) in the same run, two shards side by side.

  fan-out   one trader deal to N investor sessions: `DaemonCore.on_frame(position_opened)` and
            the journal write of its batch. Off: `core.take_batch()` + `PgStore.write`; on:
            `ShardLedger.take_batch()` (the sweep's scan of the step's records) + `.write`.
            Every round the opens are then refused by the terminals (not timed): steady state.
  cycle     subscribe + stop of one investor, each step journaled. Off: the engine's wallet
            pays (`core.on_admin` + write); on: `ShardLedger.admin`, the funding and the sweep
            transfers in the steps' transactions (claim, row locks, updates).

Prints medians (ms) and the on/off ratio, then `BENCH {json}`.

    .venv/bin/python benchmarks/bench_ledger.py [--investors 2000] [--rounds 9] [--cycles 60]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bridge.daemon.cluster import ClusterDb, shard_url  # noqa: E402
from bridge.daemon.config import parse_config  # noqa: E402
from bridge.daemon.core import DaemonCore, SendResult  # noqa: E402
from bridge.daemon.ledger_shell import ShardLedger  # noqa: E402
from bridge.daemon.store_pg import PgStore  # noqa: E402
from bridge.protocol import CommandResult, Hello, PositionOpened, encode  # noqa: E402

T0 = 1_700_000_000_000
TRADER = 1001
HELLO = dict(role="investor", platform="MT4", account_type="mt4_standard", currency="USD", leverage=100,
             balance=Decimal(100000), equity=Decimal(100000), positions=())


class Side:
    """One shard: its core and fenced journal, with or without the cluster ledger."""

    def __init__(self, url: str, shard: str, ledger: bool) -> None:
        db = ClusterDb(url)
        db.add_shard(shard)
        token = db.acquire(shard, db.view()[1][shard].token, f"bench-{shard}", "", 3_600_000)
        db.close()
        cfg = parse_config({"daemon": {"heartbeat_ms": 5000}, "engine": {"server_timezone": "UTC"}})
        self.store = PgStore(shard_url(url, shard), lock=False, fence=(shard, token))
        self.core = DaemonCore.recover(cfg, self.store.recover(), now=T0, insecure=True)
        self.ledger = ShardLedger(self.core, self.store, shard) if ledger else None
        self.ids, self.seqs, self.now = iter(range(1, 10**12)), {}, T0
        self.investors = 0

    def admin(self, op: str, rid: object = None, **args: object) -> dict:
        request = {"id": rid, "op": op, "args": args}
        if self.ledger is not None:
            reply = self.ledger.admin(request, None, self.now)
        else:
            reply = self.core.on_admin(request, None, self.now)
            self.store.write(self.core.take_batch())
        assert reply["ok"] and reply.get("refused") is None, reply
        return reply

    def write_step(self) -> None:
        if self.ledger is not None:
            self.ledger.write(self.ledger.take_batch())
        else:
            self.store.write(self.core.take_batch())

    def frame(self, cls: type, login: int, **body: object) -> None:
        self.seqs[login] = 1 if cls is Hello else self.seqs[login] + 1
        self.core.on_frame(str(login).encode(), None, encode(cls(id=next(self.ids), seq=self.seqs[login], ts=self.now,
                                                                 login=login, **body)), self.now)

    def settle(self) -> None:
        self.write_step()
        self.core.pump(lambda conn, frame: SendResult.OK, self.now)
        self.core.take_feed()
        self.core.take_logs()


def fan_out_round(side: Side, r: int) -> float:
    side.now += 1000
    side.seqs[TRADER] += 1
    f = encode(PositionOpened(id=next(side.ids), seq=side.seqs[TRADER], ts=side.now, login=TRADER, ticket=5000 + r,
                              symbol="EURUSD", side="buy", volume=Decimal("0.1"), price=Decimal("1.1"),
                              sl=Decimal(0), tp=Decimal(0), time=side.now, magic=0, comment=""))
    t0 = time.perf_counter()
    side.core.on_frame(str(TRADER).encode(), None, f, side.now)
    side.write_step()
    ms = (time.perf_counter() - t0) * 1000
    opens = sum(1 for p in side.core.pending.values() if p.row.type == "open")
    assert opens == side.investors, (opens, side.investors)  # every session got its copy
    side.settle()
    for key in list(side.core.pending):  # the terminals refuse the opens: steady state for the next round
        side.frame(CommandResult, side.core.pending[key].row.login, key=key, ok=False, retcode=10019, ticket=0,
                   price=Decimal(0), volume=Decimal(0), time=side.now, message="no money")
    side.settle()
    return ms


def cycle(side: Side, i: int) -> float:
    t0 = time.perf_counter()
    side.admin("subscribe", f"c-sub-{i}", investor="C", trader="T", account=900_000 + i, amount="100")
    sub = max(side.core.engine.subscriptions)
    side.admin("stop", f"c-stop-{i}", subscription=sub, requester=None)
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--investors", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--cycles", type=int, default=60)
    args = ap.parse_args()
    from bridge.daemon.store_pgcluster import PgCluster

    cluster = PgCluster(fsync=True).start()
    try:
        url = cluster.create_database()
        sides = {"off": Side(url, "off", ledger=False), "on": Side(url, "on", ledger=True)}
        t = time.perf_counter()
        for side in sides.values():
            side.admin("register_trader", trader="T", account=TRADER, account_type="mt4_standard", leverage=100,
                       commission_pct="0")
            for i in range(args.investors):
                side.admin("deposit", f"d-{i}", owner=f"I{i}", amount="100000")
                side.admin("subscribe", f"s-{i}", investor=f"I{i}", trader="T", account=100_000 + i, amount="100000")
            side.admin("deposit", "d-c", owner="C", amount="1000000")
            side.frame(Hello, TRADER, **{**HELLO, "role": "trader"})
            for i in range(args.investors):
                side.frame(Hello, 100_000 + i, **HELLO)
            side.settle()
            side.investors = args.investors
        print(f"setup: {args.investors} funded subscriptions per shard in {time.perf_counter() - t:.1f} s")
        fan = {k: [] for k in sides}
        cyc = {k: [] for k in sides}
        for r in range(args.rounds):  # interleaved: both sides see the same machine load
            for k, side in sides.items():
                fan[k].append(fan_out_round(side, r))
        for i in range(args.cycles):
            for k, side in sides.items():
                cyc[k].append(cycle(side, i))
        for side in sides.values():
            side.store.close()
    finally:
        cluster.stop()
    med = {name: {k: round(statistics.median(v), 2) for k, v in d.items()} for name, d in
           (("fan_out", fan), ("cycle", cyc))}
    ratio = {name: round(m["on"] / m["off"], 2) for name, m in med.items()}
    print(f"fan-out step to {args.investors} sessions (on_frame + journal write), median of {args.rounds}: "
          f"ledger off {med['fan_out']['off']} ms, on {med['fan_out']['on']} ms, ratio {ratio['fan_out']}")
    print(f"subscribe + stop cycle, median of {args.cycles}: ledger off {med['cycle']['off']} ms, "
          f"on {med['cycle']['on']} ms, ratio {ratio['cycle']}")
    print("BENCH " + json.dumps({"investors": args.investors, "rounds": args.rounds, "cycles": args.cycles,
                                 "median_ms": med, "ratio_on_off": ratio}))


if __name__ == "__main__":
    main()
