"""Work per copy in the daemon's core, counted in machine instructions (load-independent).

`bench_copy_latency.py` times a copy over loopback; on a shared 2-core machine its p50 moves by
30 % between runs and its p99 is the scheduler's. This script runs the same path in process
(`DaemonCore` + the SQLite journal, no sockets) under valgrind's callgrind and counts the
instructions (Python and C: decode, engine, journal JSON, SQLite commit, encode) of:

* `open`: one trader `position_opened` -> `on_frame` -> journal commit -> `pump` (the `open`
  frame handed to a no-op send), one investor; the copy is then filled and closed (not counted);
* `fanout`: one `on_frame` of a deal to 3 000 subscriptions, 1 000 online (opens) and 2 000
  offline (refusals: the journal JSON of 2 000 records), as in `bench_link_chaos.py`'s slow reader.

Only the timed calls are counted (they run inside `eval`, and callgrind toggles on
`builtin_eval`); each case is run twice, with N units and with 0, and the difference / N is
the figure, so setup and imports cancel out. Compare two versions by running it in each tree
(`git archive <commit> | tar -x -C /tmp/before`).

    .venv/bin/python benchmarks/count_copy_work.py [--opens 300] [--fanouts 3]   (--fanouts 0: the open only)

Needs valgrind. Prints instructions per unit and the fan-out's cost in opens, then `BENCH {json}`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

T0 = 1_700_000_000_000
HELLO = dict(role="investor", platform="MT4", account_type="mt4_standard", currency="USD", leverage=100,
             balance=Decimal(100000), equity=Decimal(100000), positions=())


def _core(investors: list[int]):  # noqa: ANN202
    from bridge.daemon.config import parse_config
    from bridge.daemon.core import DaemonCore
    from bridge.daemon.store import SqliteStore

    cfg = parse_config({"daemon": {"heartbeat_ms": 3_600_000}, "engine": {"server_timezone": "UTC"}})
    store = SqliteStore(Path(tempfile.mkdtemp(prefix="count-copy-")) / "j.db")
    core = DaemonCore.recover(cfg, store.recover(), now=T0, insecure=True)
    ops = [("register_trader", dict(trader="T", account=1001, account_type="mt4_standard", leverage=100,
                                    commission_pct="0"))]
    for i, login in enumerate(investors):
        ops += [("deposit", dict(owner=f"I{i}", amount="100000")),
                ("subscribe", dict(investor=f"I{i}", trader="T", account=login, amount="100000"))]
    for op, args in ops:
        assert core.on_admin({"op": op, "args": args}, None, T0)["ok"]
    store.write(core.take_batch())
    return core, store


def worker(case: str, n: int) -> None:
    """The counted part runs in `eval` (callgrind's toggle); everything else outside it."""
    from bridge.copytrading import events as ev
    from bridge.daemon.core import SendResult
    from bridge.protocol import CommandResult, Direction, Hello, PositionClosed, PositionOpened, decode, encode

    ids, seqs, out = itertools.count(1), {}, []
    online = [2001] if case == "open" else list(range(100_000, 101_000))
    offline = [] if case == "open" else list(range(101_000, 103_000))
    core, store = _core(online + offline)

    def send(conn: bytes, frame: bytes) -> SendResult:
        out.append((conn, frame))
        return SendResult.OK

    def frame(cls: type, login: int, now: int, **body: object) -> bytes:
        seqs[login] = 1 if cls is Hello else seqs[login] + 1
        return encode(cls(id=next(ids), seq=seqs[login], ts=now, login=login, **body))

    def step(conn: bytes, f: bytes, now: int) -> None:
        core.on_frame(conn, None, f, now)
        store.write(core.take_batch())
        core.pump(send, now)
        core.take_feed()
        core.take_logs()

    step(b"t", frame(Hello, 1001, T0, **{**HELLO, "role": "trader"}), T0)
    for login in online:
        step(b"i", frame(Hello, login, T0, **HELLO), T0)
    for login in offline:
        core.feed_engine(ev.TerminalOffline(T0, login))
    out.clear()
    counted = compile("(core.on_frame(b't', None, f, now), store.write(core.take_batch()), core.pump(send, now))"
                      if case == "open" else "core.on_frame(b't', None, f, now)", case, "eval")
    g = {"core": core, "store": store, "send": send}
    now = T0
    for i in range(n + 20):  # the first 20 warm up, uncounted
        now += 1000
        f = frame(PositionOpened, 1001, now, ticket=100_000 + i, symbol="EURUSD", side="buy", volume=Decimal("0.1"),
                  price=Decimal("1.1"), sl=Decimal(0), tp=Decimal(0), time=now, magic=0, comment="")
        if i >= 20:
            g["f"], g["now"] = f, now
            eval(counted, g)  # noqa: S307 - our own constant expression
        else:
            core.on_frame(b"t", None, f, now)
        if case == "fanout":
            store.write(core.take_batch())
            core.pump(send, now)
        core.take_feed()
        core.take_logs()
        cmds = [decode(x, direction=Direction.TO_TERMINAL) for _, x in out]
        out.clear()
        for cmd in cmds:  # fill (open) or refuse (fan-out) each copy, so the state stays steady
            ok = case == "open"
            step(b"i", frame(CommandResult, cmd.login, now, key=cmd.key, ok=ok, retcode=10009 if ok else 10019,
                             ticket=500_000 + i if ok else 0, price=Decimal("1.1") if ok else Decimal(0),
                             volume=cmd.volume if ok else Decimal(0), time=now, message=""), now)
        if case == "open":
            step(b"t", frame(PositionClosed, 1001, now, ticket=100_000 + i, volume=Decimal("0.1"),
                             remaining=Decimal(0), price=Decimal("1.1"), time=now, reason="client",
                             profit=Decimal(0)), now)
            close = [decode(x, direction=Direction.TO_TERMINAL) for _, x in out]
            out.clear()
            for cmd in close:
                step(b"i", frame(PositionClosed, 2001, now, ticket=500_000 + i, volume=Decimal("0.1"),
                                 remaining=Decimal(0), price=Decimal("1.1"), time=now, reason="client",
                                 profit=Decimal(0)), now)
                step(b"i", frame(CommandResult, 2001, now, key=cmd.key, ok=True, retcode=10009,
                                 ticket=500_000 + i, price=Decimal("1.1"), volume=cmd.volume, time=now,
                                 message=""), now)
            out.clear()


def instructions(case: str, n: int) -> int:
    with tempfile.TemporaryDirectory() as d:
        outf = Path(d) / "cg.out"
        subprocess.run(["valgrind", "--tool=callgrind", "--collect-atstart=no", "--toggle-collect=builtin_eval",
                        f"--callgrind-out-file={outf}", sys.executable, __file__, "--worker", case, str(n)],
                       check=True, capture_output=True, cwd=str(ROOT),
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
        m = re.search(r"^totals: (\d+)", outf.read_text(), re.M)
        assert m is not None
        return int(m.group(1))


def main() -> None:
    if sys.argv[1:2] == ["--worker"]:
        worker(sys.argv[2], int(sys.argv[3]))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--opens", type=int, default=300)
    ap.add_argument("--fanouts", type=int, default=3)
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("count_copy_work.py needs valgrind (apt-get install valgrind)")
    figures = {}
    for case, n in (("open", args.opens), ("fanout", args.fanouts)):
        if n <= 0:  # --fanouts 0: the open only (the fan-out takes minutes under callgrind)
            continue
        per = (instructions(case, n) - instructions(case, 0)) // n
        figures[case] = per
        print(f"{case:<7} {per:>14,} instructions per {'open turn' if case == 'open' else 'fan-out on_frame'} "
              f"(n={n})", flush=True)
    result = {"bench": "count_copy_work", "open_instructions": figures.get("open"),
              "fanout_instructions": figures.get("fanout")}
    if "open" in figures and "fanout" in figures:
        result["fanout_in_opens"] = ratio = round(figures["fanout"] / figures["open"], 1)
        print(f"a 3 000-subscription fan-out (2 000 refusals) costs {ratio} open turns")
    print("BENCH " + json.dumps(result))


if __name__ == "__main__":
    main()
