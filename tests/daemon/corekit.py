"""In-memory test kit for `DaemonCore`: a recording network, a configured core with one
trader and one subscribed investor, and a scripted terminal (h11 style: no sockets)."""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path

from bridge.daemon.config import parse_config
from bridge.daemon.core import DaemonCore, SendResult
from bridge.daemon.store import SqliteStore
from bridge.protocol import Direction, Hello, decode, encode

T0 = 1_700_000_000_000
H = dict(role="trader", platform="MT4", account_type="mt4_standard", currency="USD", leverage=100,
         balance=Decimal(1000), equity=Decimal(1000), positions=())


class Net:
    def __init__(self) -> None:
        self.out: list[tuple[bytes, object]] = []
        self.mode = SendResult.OK

    def __call__(self, conn: bytes, frame: bytes) -> SendResult:
        if self.mode is SendResult.OK:
            self.out.append((conn, decode(frame, direction=Direction.TO_TERMINAL)))
        return self.mode

    def take(self, conn: bytes | None = None) -> list:
        got = [m for c, m in self.out if conn is None or c == conn]
        self.out = [(c, m) for c, m in self.out if conn is not None and c != conn]
        return got


def make(tmp: Path, allow: list | None = None, insecure: bool = True, store=None, **daemon: object):  # noqa: ANN001, ANN201
    """(config, store, core): a trader T (1001) and an investor subscribed on 2001. `store`: a
    journal's store (tests/daemon/journalkit.py), by default a SQLite file in `tmp`."""
    data = {"security": {"allow": allow}} if allow else {}
    # the terminals here report UTC (utc_offset_ms 0 in H): so does the engine's server clock
    cfg = parse_config({**data, "daemon": {"heartbeat_ms": 1000, **daemon}, "engine": {"server_timezone": "UTC"}})
    store = store if store is not None else SqliteStore(tmp / "j.db")
    core = DaemonCore.recover(cfg, store.recover(), now=T0, insecure=True)
    for op, args in [("register_trader", dict(trader="T", account=1001, account_type="mt4_standard", leverage=100,
                                             commission_pct="0")),
                     ("deposit", dict(owner="I", amount="1000")),
                     ("subscribe", dict(investor="I", trader="T", account=2001, amount="1000"))]:
        assert core.on_admin({"op": op, "args": args}, None, T0)["ok"]
    store.write(core.take_batch())
    core.insecure = insecure
    return cfg, store, core


_IDS = itertools.count(1)  # message ids only grow, across connections and terminal restarts


class Term:
    def __init__(self, core: DaemonCore, store: SqliteStore, net: Net, conn: bytes, login: int) -> None:
        self.core, self.store, self.net, self.conn, self.login, self.seq = core, store, net, conn, login, 0

    def send(self, cls: type, now: int = T0, **body: object) -> list:
        self.seq = 1 if cls is Hello else self.seq + 1
        frame = encode(cls(id=next(_IDS), seq=self.seq, ts=now, login=self.login, **body))
        self.core.on_frame(self.conn, None, frame, now)
        self.store.write(self.core.take_batch())
        self.core.pump(self.net, now)
        return self.net.take(self.conn)


def opened(ticket: int, time: int = T0 + 1) -> dict:
    """A trader position's fields, opened at `time` (UTC ms: its copy is valid 5 s after it)."""
    return dict(ticket=ticket, symbol="EURUSD", side="buy", volume=Decimal("0.1"), price=Decimal("1.1"),
                sl=Decimal(0), tp=Decimal(0), time=time, magic=0, comment="")
