"""The monitoring feed's periodic `snapshot` (F4) at N accounts: CPU on the event loop (issue 10).

An in-memory `DaemonCore` (no sockets): one trader, N investor accounts subscribed and online
on 10 connections, `--deals` trader deals copied to each and filled (N x deals positions).
Then, `--rounds` times each, what happens between two periodic snapshots, and a snapshot
(flush, snapshot, encoding of the item), in two cases:

* **quiet**: a price tick per symbol and 1 % of the accounts report new figures;
* **deal**: the same and a trader deal copied to every account (filled, or its opens still in
  flight, every other round): every account, subscription and positions row changes.

Measured in the same run, on the same state:

* **full**: every row rebuilt (`FeedModel.snapshot(now, fresh=True)`) and encoded whole
  (`wire.FeedEncoder`): what the daemon did before;
* **kept**: the rows kept between snapshots, only the stale ones rebuilt, the bytes of the
  unchanged ones reused (`feed_snapshot.SnapshotFeed`, `SnapshotEncoder`): what it does now.

Both give the same bytes (checked every round). Figures are CPU time of this thread
(`time.thread_time_ns`, not wall time: the machine is shared), medians over the rounds. The
daemon's collector settings are used (gc frozen after the set-up, threshold 50 000).

    .venv/bin/python benchmarks/bench_feed_snapshot.py [--accounts 3000] [--deals 3] [--rounds 5]
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import statistics
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from time import thread_time_ns

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bridge.daemon.config import parse_config  # noqa: E402
from bridge.daemon.core import DaemonCore, SendResult  # noqa: E402
from bridge.daemon.feed_snapshot import SnapshotEncoder  # noqa: E402
from bridge.daemon.store import SqliteStore  # noqa: E402
from bridge.daemon.wire import FeedEncoder  # noqa: E402
from bridge.protocol import AccountUpdate, CommandResult, Direction, Hello, Open, PositionOpened, decode, encode  # noqa: E402

T0 = 1_700_000_000_000
TRADER = 1001
FIRST = 100_000
HELLO = dict(platform="MT4", account_type="mt4_standard", currency="USD", leverage=100, balance=Decimal(1000),
             equity=Decimal(1000), positions=())


class Desk:
    """A core, its journal and the terminals' side (answers opens at once)."""

    def __init__(self, tmp: Path, accounts: int) -> None:
        self.store = SqliteStore(tmp / "j.db")
        cfg = parse_config({"engine": {"server_timezone": "UTC"}})
        self.core = DaemonCore.recover(cfg, self.store.recover(), now=T0, insecure=True, instance="bench")
        self.out: list[tuple[bytes, bytes]] = []
        self.ids = itertools.count(1)
        self.seq: dict[int, int] = {}
        self.tickets = itertools.count(10**6)
        self.admin("register_trader", trader="T", account=TRADER, account_type="mt4_standard", leverage=100,
                   commission_pct="20")
        for i in range(accounts):
            self.admin("deposit", owner=f"I{i}", amount="1000")
            self.admin("subscribe", investor=f"I{i}", trader="T", account=FIRST + i, amount="1000")
        self.send(b"t", TRADER, Hello, T0, role="trader", **HELLO)
        for i in range(accounts):
            self.send(b"c%d" % (i % 10), FIRST + i, Hello, T0, role="investor", **HELLO)
        self.commit(T0)

    def admin(self, op: str, **args: object) -> None:
        assert self.core.on_admin({"op": op, "args": args}, None, T0, 0)["ok"]

    def net(self, conn: bytes, frame: bytes) -> SendResult:
        self.out.append((conn, frame))
        return SendResult.OK

    def send(self, conn: bytes, login: int, cls: type, now: int, **body: object) -> None:
        seq = self.seq[login] = 1 if cls is Hello else self.seq[login] + 1
        self.core.on_frame(conn, None, encode(cls(id=next(self.ids), seq=seq, ts=now, login=login, **body)), now, 0)

    def commit(self, now: int) -> None:
        self.store.write(self.core.take_batch())
        self.core.pump(self.net, now)
        self.core.take_feed(0)
        self.core.take_logs()

    def deal(self, ticket: int, now: int, fill: bool = True) -> None:
        self.send(b"t", TRADER, PositionOpened, now, ticket=ticket, symbol="EURUSD", side="buy", volume=Decimal("0.1"),
                  price=Decimal("1.1"), sl=Decimal(0), tp=Decimal(0), time=now, magic=0, comment="")
        self.commit(now)
        sent, self.out = self.out, []
        if not fill:
            return
        for conn, frame in sent:
            m = decode(frame, direction=Direction.TO_TERMINAL)
            if isinstance(m, Open):
                t = next(self.tickets)
                self.send(conn, m.login, PositionOpened, now + 10, ticket=t, symbol=m.symbol, side=m.side,
                          volume=m.volume, price=Decimal("1.1"), sl=Decimal(0), tp=Decimal(0), time=now + 10,
                          magic=m.magic, comment=m.comment)
                self.send(conn, m.login, CommandResult, now + 10, key=m.key, ok=True, retcode=10009, ticket=t,
                          price=Decimal("1.1"), volume=m.volume, time=now + 10, message="")
        self.commit(now + 20)

    def between_snapshots(self, r: int, now: int, accounts: int, deal: bool) -> None:
        """A price tick per symbol, 1 % of the accounts report; a deal (every other one filled)."""
        for sym, bid in (("EURUSD", Decimal("1.1") + Decimal(r) / 10000), ("GBPUSD", Decimal("1.27"))):
            self.admin("price", symbol=sym, bid=str(bid), ask=str(bid + Decimal("0.0001")))
        for i in range(0, accounts, 100):
            login = FIRST + (i + r) % accounts
            self.send(b"c%d" % (login % 10), login, AccountUpdate, now, balance=Decimal(1000),
                      equity=Decimal(1000) + r, margin=Decimal(0), free_margin=Decimal(1000) + r, leverage=100)
        if deal:
            self.deal(900 + r, now, fill=r % 2 == 0)
        self.commit(now)


def cpu_ms(f) -> tuple[float, object]:  # noqa: ANN001
    t = thread_time_ns()
    out = f()
    return (thread_time_ns() - t) / 1e6, out


def measure(desk: Desk, rounds: int, accounts: int, deal: bool, first: int, encoders: tuple) -> tuple[dict, int]:
    """CPU ms per round: full rebuild + FeedEncoder, kept rows + SnapshotEncoder (same bytes)."""
    feed = desk.core.feed
    kept_encoder, full_encoder = encoders
    times: dict[str, list[float]] = {"full_build": [], "full_encode": [], "kept_build": [], "kept_encode": []}
    size = 0
    for r in range(first, first + rounds):
        now = T0 + 100_000 + 5000 * r
        desk.between_snapshots(r, now, accounts, deal)
        feed.flush(now, 0)
        ms, ref = cpu_ms(lambda: feed.snapshot(now, fresh=True))  # noqa: B023
        times["full_build"].append(ms)
        ms, ref_frames = cpu_ms(lambda: full_encoder("snapshot", ref))  # noqa: B023
        times["full_encode"].append(ms)
        ms, body = cpu_ms(lambda: feed.snapshot(now))  # noqa: B023
        times["kept_build"].append(ms)
        ms, frames = cpu_ms(lambda: kept_encoder("snapshot", body))  # noqa: B023
        times["kept_encode"].append(ms)
        assert body == ref and frames == ref_frames, f"round {r}: the kept snapshot differs from a full rebuild"
        size = len(frames[1])  # type: ignore[index]
    med = {k: round(statistics.median(v), 2) for k, v in times.items()}
    med["full_total"] = round(med["full_build"] + med["full_encode"], 2)
    med["kept_total"] = round(med["kept_build"] + med["kept_encode"], 2)
    med["ratio"] = round(med["full_total"] / med["kept_total"], 1)
    return med, size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--accounts", type=int, default=3000)
    ap.add_argument("--deals", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    desk = Desk(Path(tempfile.mkdtemp(prefix="bench-feed-")), a.accounts)
    for d in range(a.deals):
        desk.deal(50 + d, T0 + 1000 * (d + 1))
    feed, encoders = desk.core.feed, (SnapshotEncoder(), FeedEncoder())
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)  # as the daemon runs
    encoders[0]("snapshot", feed.snapshot(T0))  # the daemon's first snapshot (at start) fills the caches
    quiet, _ = measure(desk, a.rounds, a.accounts, False, 0, encoders)
    busy, size = measure(desk, a.rounds, a.accounts, True, a.rounds, encoders)
    positions = sum(len(v) for v in feed.positions.values())
    print(f"feed snapshot: {a.accounts} accounts, ~{positions} positions, {size} bytes; CPU ms, median of {a.rounds}")
    for name, m in (("quiet", quiet), ("deal", busy)):
        print(f"  {name:5}  full rebuild + FeedEncoder  {m['full_build']:7.2f} + {m['full_encode']:6.2f} = "
              f"{m['full_total']:7.2f}   kept rows + SnapshotEncoder  {m['kept_build']:6.2f} + "
              f"{m['kept_encode']:6.2f} = {m['kept_total']:6.2f}   ({m['ratio']}x)")
    print("  same bytes as the full rebuild in every round")
    print("BENCH " + json.dumps({"accounts": a.accounts, "positions": positions, "bytes": size,
                                 "quiet": quiet, "deal": busy}))


if __name__ == "__main__":
    main()
