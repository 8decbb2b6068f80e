"""The daemon's fan-out step in process: one trader deal to N investor sessions (default
10 000), phase by phase, without CURVE, TCP or the event loop in the way:

  frame  `DaemonCore.on_frame(position_opened)`: decode, engine step, rows and pending
         bookkeeping (`engine` = the `Engine.handle` part of it);
  write  `SqliteStore.write` of the step's batch (WAL, synchronous=normal, temporary file);
  pump   `DaemonCore.pump` into a ROUTER (inproc) read by one DEALER for all N logins;
  bare   the same number of pre-built frames through the same sockets in a plain loop.

Every round the opens are then refused by the terminal (not timed), so the pending state
stays steady as in `bench_link_chaos.py`'s fan-out. Prints medians, then `BENCH {json}`.

    .venv/bin/python benchmarks/bench_fanout_step.py [--investors 10000] [--rounds 9]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import zmq
from zmq.backend import Socket as BackendSocket

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bridge.daemon.config import parse_config  # noqa: E402
from bridge.daemon.core import DaemonCore, SendResult  # noqa: E402
from bridge.daemon.store import SqliteStore  # noqa: E402
from bridge.protocol import CommandResult, Hello, PositionOpened, encode  # noqa: E402

T0 = 1_700_000_000_000
TRADER = 1001
HELLO = dict(role="investor", platform="MT4", account_type="mt4_standard", currency="USD", leverage=100,
             balance=Decimal(100000), equity=Decimal(100000), positions=())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--investors", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args()
    n = args.investors
    cfg = parse_config({"daemon": {"heartbeat_ms": 5000}, "engine": {"server_timezone": "UTC"}})
    store = SqliteStore(Path(tempfile.mkdtemp(prefix="bench-fanout-step-")) / "j.db")
    core = DaemonCore.recover(cfg, store.recover(), now=T0, insecure=True)

    def admin(op: str, **a: object) -> None:
        assert core.on_admin({"op": op, "args": a}, None, T0)["ok"]

    admin("register_trader", trader="T", account=TRADER, account_type="mt4_standard", leverage=100,
          commission_pct="0")
    logins = list(range(100_000, 100_000 + n))
    for i, login in enumerate(logins):
        admin("deposit", owner=f"I{i}", amount="100000")
        admin("subscribe", investor=f"I{i}", trader="T", account=login, amount="100000")
    store.write(core.take_batch())

    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    router.setsockopt(zmq.SNDHWM, 0)
    router.bind("inproc://fanout")
    dealer = ctx.socket(zmq.DEALER)
    dealer.setsockopt(zmq.RCVHWM, 0)
    dealer.setsockopt(zmq.IDENTITY, b"inv")
    dealer.connect("inproc://fanout")
    dealer.send(b"hi")
    router.recv_multipart()
    raw, more, last = BackendSocket.send, int(zmq.NOBLOCK | zmq.SNDMORE), int(zmq.NOBLOCK)

    def send(conn: bytes, frame: bytes) -> SendResult:  # the daemon's `_send`, minus its budget
        if conn == b"inv":
            raw(router, conn, more)
            raw(router, frame, last)
        return SendResult.OK

    def drain() -> int:
        got = 0
        while True:
            try:
                dealer.recv(zmq.NOBLOCK)
                got += 1
            except zmq.Again:
                return got

    ids, seqs, now = iter(range(1, 10**12)), {}, T0

    def frame(conn: bytes, cls: type, login: int, **body: object) -> None:
        seqs[login] = 1 if cls is Hello else seqs[login] + 1
        core.on_frame(conn, None, encode(cls(id=next(ids), seq=seqs[login], ts=now, login=login, **body)), now)

    def settle() -> None:
        store.write(core.take_batch())
        core.pump(send, now)
        core.take_feed()
        core.take_logs()
        drain()

    frame(b"tr", Hello, TRADER, **{**HELLO, "role": "trader"})
    for login in logins:
        frame(b"inv", Hello, login, **HELLO)
    settle()
    gc.collect()
    gc.freeze()  # as the daemon does after recovery
    engine_ms: list[float] = []
    handle = core.engine.handle

    def timed_handle(event: object):  # noqa: ANN202
        t = time.perf_counter()
        step = handle(event)  # type: ignore[arg-type]
        engine_ms.append((time.perf_counter() - t) * 1000)
        return step

    core.engine.handle = timed_handle  # type: ignore[method-assign]
    res: dict[str, list[float]] = {k: [] for k in ("frame", "engine", "write", "pump", "total", "bare")}
    for r in range(args.rounds):
        now += 1000
        seqs[TRADER] += 1
        f = encode(PositionOpened(id=next(ids), seq=seqs[TRADER], ts=now, login=TRADER, ticket=5000 + r,
                                  symbol="EURUSD", side="buy", volume=Decimal("0.1"), price=Decimal("1.1"),
                                  sl=Decimal(0), tp=Decimal(0), time=now, magic=0, comment=""))
        engine_ms.clear()
        gc.disable()  # as in the daemon's turn
        t0 = time.perf_counter()
        core.on_frame(b"tr", None, f, now)
        t1 = time.perf_counter()
        store.write(core.take_batch())
        t2 = time.perf_counter()
        sent = core.pump(send, now)
        t3 = time.perf_counter()
        gc.enable()
        assert sent >= n and drain() >= n, sent
        frames = [b"x" * 230] * n
        t4 = time.perf_counter()
        for fr in frames:
            raw(router, b"inv", more)
            raw(router, fr, last)
        t5 = time.perf_counter()
        drain()
        for k, v in zip(res, ((t1 - t0), sum(engine_ms) / 1000, (t2 - t1), (t3 - t2), (t3 - t0), (t5 - t4))):
            res[k].append(v * 1000)
        core.take_feed()
        core.take_logs()
        for key in list(core.pending):  # the terminal refuses them: steady state for the next round
            frame(b"inv", CommandResult, core.pending[key].row.login, key=key, ok=False, retcode=10019, ticket=0,
                  price=Decimal(0), volume=Decimal(0), time=now, message="no money")
        settle()
    med = {k: round(statistics.median(v), 1) for k, v in res.items()}
    print(f"fan-out step to {n} sessions, median of {args.rounds} (ms): "
          + ", ".join(f"{k} {v}" for k, v in med.items()))
    print("BENCH " + json.dumps({"investors": n, "rounds": args.rounds, "median_ms": med}))


if __name__ == "__main__":
    main()
