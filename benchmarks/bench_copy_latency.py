"""Copy latency over loopback, one investor: trader terminal sends `position_opened` (or
`position_closed`) -> investor terminal receives the `open` (`close`) command.

Measured beside a bare pyzmq DEALER -> ROUTER -> DEALER forward of the same bytes in the
same run (a forwarder subprocess that only relays). Both paths run CURVE unless --insecure.
The daemon runs as a subprocess (`python -m bridge.cli daemon`) with its SQLite
journal (WAL, synchronous=normal) in a temporary directory.

    .venv/bin/python benchmarks/bench_copy_latency.py [--samples 2000] [--insecure]

Targets: p99 <= 1 ms, and <= 3x the bare forward's p99.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import zmq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bridge.daemon.client import AdminClient, TerminalClient, next_message_id, wait_until  # noqa: E402
from bridge.daemon.testing import DaemonProcess, make_setup  # noqa: E402
from bridge.protocol import CommandResult, Direction, PositionClosed, PositionOpened, decode, encode  # noqa: E402

TRADER, INV = 1001, 2001
GAP = 0.002  # s between timed events (same for the bare forward)

FORWARDER = r"""
import sys, zmq
ctx = zmq.Context()
r = ctx.socket(zmq.ROUTER)
if sys.argv[1] != "-":
    r.curve_server = True
    r.curve_secretkey = sys.argv[1].encode()
r.bind("tcp://127.0.0.1:*")
print(r.getsockopt(zmq.LAST_ENDPOINT).decode(), flush=True)
peer = None
while True:
    ident, frame = r.recv_multipart()
    if frame == b"register":
        peer = ident
        continue
    if frame == b"stop":
        break
    r.send_multipart([peer, frame])
"""


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def bare_forward(samples: list[bytes], curve: tuple[str, str, str] | None) -> list[float]:
    """(server secret, client public, client secret) or None."""
    proc = subprocess.Popen([sys.executable, "-c", FORWARDER, curve[0] if curve else "-"],
                            stdout=subprocess.PIPE, text=True)
    try:
        endpoint = proc.stdout.readline().strip()  # type: ignore[union-attr]
        ctx = zmq.Context()
        socks = []
        for _ in range(2):
            s = ctx.socket(zmq.DEALER)
            s.linger = 0
            if curve:
                s.curve_serverkey = zmq.curve_public(curve[0].encode())
                s.curve_publickey, s.curve_secretkey = curve[1].encode(), curve[2].encode()
            s.connect(endpoint)
            socks.append(s)
        a, b = socks
        b.send(b"register")
        time.sleep(0.3)
        out = []
        for frame in samples:
            time.sleep(GAP)
            t0 = time.perf_counter_ns()
            a.send(frame)
            b.recv()
            out.append((time.perf_counter_ns() - t0) / 1000)
        a.send(b"stop")
        for s in socks:
            s.close()
        ctx.term()
        return out
    finally:
        proc.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--insecure", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    setup = make_setup(tmp, {"trader": ([TRADER], "trader"), "investor": ([INV], "investor"),
                             "ops": ([], "admin")}, heartbeat_ms=1000)
    daemon = DaemonProcess(setup.config_path, insecure=args.insecure).start()
    curve = None if args.insecure else setup.curve
    admin = AdminClient(daemon.endpoints["admin"], curve("ops") if curve else None)
    admin("register_trader", trader="T", account=TRADER, account_type="mt4_standard", leverage=100,
          commission_pct="0")
    admin("deposit", owner="I", amount="1000000")
    admin("subscribe", investor="I", trader="T", account=INV, amount="1000000")
    trader = TerminalClient(daemon.endpoints["router"], curve("trader") if curve else None)
    inv = TerminalClient(daemon.endpoints["router"], curve("investor") if curve else None)
    trader.hello(TRADER)
    inv.hello(INV)
    assert wait_until(lambda: trader.sessions[TRADER].welcomed and inv.sessions[INV].welcomed, [inv, trader])

    ts, tis = trader.sessions[TRADER], inv.sessions[INV]
    frames_sent: list[bytes] = []
    lat_open: list[float] = []
    lat_close: list[float] = []
    ticket_base = 100_000
    inv_ticket = 500_000

    def tmsg(cls, **body):  # noqa: ANN001, ANN202
        ts.seq += 1
        return encode(cls(id=next_message_id(), seq=ts.seq, ts=int(time.time() * 1000), login=TRADER, **body))

    def imsg(cls, **body):  # noqa: ANN001, ANN202
        tis.seq += 1
        return encode(cls(id=next_message_id(), seq=tis.seq, ts=int(time.time() * 1000), login=INV, **body))

    def await_command(kind: str):  # noqa: ANN202
        while True:
            msg = decode(inv.sock.recv(), direction=Direction.TO_TERMINAL)
            if getattr(msg, "TYPE", "") == kind:
                return msg

    total = args.samples + args.warmup
    for i in range(total):
        ticket = ticket_base + i
        now = int(time.time() * 1000)
        f_open = tmsg(PositionOpened, ticket=ticket, symbol="EURUSD", side="buy", volume=Decimal("0.1"),
                      price=Decimal("1.1"), sl=Decimal(0), tp=Decimal(0), time=now, magic=0, comment="")
        time.sleep(GAP)  # one event at a time: the latency of a copy, not of a queue
        t0 = time.perf_counter_ns()
        trader.sock.send(f_open)
        cmd = await_command("open")
        t1 = time.perf_counter_ns()
        inv_ticket += 1
        inv.sock.send(imsg(CommandResult, key=cmd.key, ok=True, retcode=10009, ticket=inv_ticket,
                           price=Decimal("1.1"), volume=cmd.volume, time=now, message=""))
        time.sleep(GAP)  # let the fill land before the trader closes
        f_close = tmsg(PositionClosed, ticket=ticket, volume=Decimal("0.1"), remaining=Decimal(0),
                       price=Decimal("1.1"), time=now, reason="client", profit=Decimal(0))
        t2 = time.perf_counter_ns()
        trader.sock.send(f_close)
        cmd = await_command("close")
        t3 = time.perf_counter_ns()
        inv.sock.send(imsg(PositionClosed, ticket=inv_ticket, volume=Decimal("0.1"), remaining=Decimal(0),
                           price=Decimal("1.1"), time=now, reason="client", profit=Decimal(0)))
        inv.sock.send(imsg(CommandResult, key=cmd.key, ok=True, retcode=10009, ticket=inv_ticket,
                           price=Decimal("1.1"), volume=cmd.volume, time=now, message=""))
        if i >= args.warmup:
            lat_open.append((t1 - t0) / 1000)
            lat_close.append((t3 - t2) / 1000)
            frames_sent.append(f_open)
        if i % 200 == 0:  # heartbeats for both sessions
            trader.heartbeat()
            inv.heartbeat()
    for c in (trader, inv):
        c.close()
    admin.close()
    daemon.terminate()

    bare_curve = None
    if not args.insecure:
        k = setup.keys["trader"]
        bare_curve = (setup.server.secret, k.public, k.secret)  # type: ignore[assignment]
    bare_forward(frames_sent[: args.warmup], bare_curve)  # warm-up
    bare = bare_forward(frames_sent, bare_curve)

    def line(name: str, xs: list[float]) -> str:
        return (f"{name:<34} n={len(xs):<5} p50={pct(xs, 50):8.1f} us  p99={pct(xs, 99):8.1f} us  "
                f"mean={statistics.fmean(xs):8.1f} us")

    print(f"copy latency over loopback, 1 investor, CURVE={'off' if args.insecure else 'on'}, "
          f"journal=SQLite WAL synchronous=normal")
    print(line("bare DEALER->ROUTER->DEALER", bare))
    print(line("daemon: position_opened -> open", lat_open))
    print(line("daemon: position_closed -> close", lat_close))
    ratio = pct(lat_open, 99) / pct(bare, 99)
    print(f"open p99 / bare p99 = {ratio:.2f}x   (targets: p99 <= 1000 us: "
          f"{'met' if pct(lat_open, 99) <= 1000 else 'MISSED'}; <= 3x bare: {'met' if ratio <= 3 else 'MISSED'})")


if __name__ == "__main__":
    main()
