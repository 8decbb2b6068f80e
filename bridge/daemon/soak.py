"""An in-process soak driver for `DaemonCore` (tests and benchmarks; not used by the daemon).

Clean copy traffic without sockets: one trader opens a position, every investor fills its
copy, the trader closes, every investor fills the close and reports its closing deal, again
and again. The core runs as the shell runs it: each input, then the batch committed to a
real SQLite journal, then `pump`, `take_feed`, `take_logs`; ticks between inputs, engine
snapshots and WAL checkpoints on schedule. `containers()` counts the entries of every
container of the core, the feed model and the engine that could grow with traffic.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path
from typing import Any

from bridge.daemon.config import parse_config
from bridge.daemon.core import DaemonCore, SendResult
from bridge.daemon.store import SqliteStore
from bridge.protocol import (AccountUpdate, Close, CommandResult, Direction, Hello, Open, PositionClosed,
                             PositionOpened, decode, encode)

T0 = 1_700_000_000_000
TRADER = 1001
HELLO = dict(platform="MT4", account_type="mt4_standard", currency="USD", leverage=100,
             balance=Decimal(100_000), equity=Decimal(100_000), positions=())


class Soak:
    """A core with one trader and `investors` subscriptions, and the terminals that drive it."""

    def __init__(self, tmp: Path, investors: int = 3, snapshot_every: int = 5000,
                 mixed: bool = False) -> None:
        cfg = parse_config({"daemon": {"heartbeat_ms": 1000}, "engine": {"server_timezone": "UTC"}})
        self.store = SqliteStore(tmp / "soak.db")
        self.core = DaemonCore.recover(cfg, self.store.recover(), now=T0, insecure=True)
        self.now = T0
        self.ids = itertools.count(1)
        self.seqs: dict[int, int] = {}
        self.snapshot_every = snapshot_every
        self.out: dict[int, list] = {}
        self.blocked: set[int] = set()  # investor logins whose pipe is full (opens withdrawn)
        self.mixed = mixed
        self.investors = [2001 + k for k in range(investors)]
        ops: list[tuple[str, dict]] = [("register_trader", dict(trader="T", account=TRADER, account_type="mt4_standard",
                                                                leverage=100, commission_pct="0"))]
        for k, login in enumerate(self.investors):
            ops += [("deposit", dict(owner=f"I{k}", amount="1000")),
                    ("subscribe", dict(investor=f"I{k}", trader="T", account=login, amount="1000"))]
        for op, args in ops:
            assert self.core.on_admin({"op": op, "args": args}, None, T0)["ok"]
        self.store.write(self.core.take_batch())
        for login in [TRADER, *self.investors]:
            self.send(login, Hello, role="trader" if login == TRADER else "investor", **HELLO)
        self.cycles = 0
        self.ticket = 0

    def send(self, login: int, cls: type, **body: Any) -> None:
        core = self.core
        self.now += 1
        seq = self.seqs[login] = 1 if cls is Hello else self.seqs[login] + 1
        conn = b"t" if login == TRADER else b"i"  # one connection speaks for every investor login
        core.on_frame(conn, None, encode(cls(id=next(self.ids), seq=seq, ts=self.now, login=login,
                                                            **body)), self.now)
        self.store.write(core.take_batch())
        core.pump(self._net, self.now)
        core.take_feed()
        core.take_logs()

    def _net(self, conn: bytes, frame: bytes) -> SendResult:
        if conn != b"t":  # the trader is only told heartbeats: nothing to read
            m = decode(frame, direction=Direction.TO_TERMINAL)
            if m.login in self.blocked:
                return SendResult.AGAIN
            if isinstance(m, (Open, Close)):
                self.out.setdefault(m.login, []).append(m)
        return SendResult.OK

    def _commands(self, login: int, cls: type) -> list:
        return [m for m in self.out.pop(login, ()) if isinstance(m, cls)]

    def tick(self) -> None:
        core = self.core
        self.now += 1
        core.tick(self.now)
        self.store.write(core.take_batch())
        core.pump(self._net, self.now)
        core.take_feed()
        core.take_logs()
        if core.seq - core.snapshot_seq >= self.snapshot_every:  # on the loop here (the daemon forks)
            seq, state = core.snapshot(self.now)
            self.store.save_snapshot(seq, self.now, state)
            self.store.checkpoint()

    def cycle(self) -> None:
        """One trader round trip copied to every investor: len(investors) executions. With
        `mixed`, some round trips take the other settled paths: an open withdrawn (the
        investor's pipe full until the trader closed, t % 5), refused by the investor's server
        (t % 7), a copy closed by the server's stop loss before the trader closes (t % 11), a
        trader close in two parts (t % 13)."""
        self.ticket += 1
        t = self.ticket
        inv = self.investors
        mixed = self.mixed
        if mixed and t % 5 == 0:
            self.blocked = {inv[0]}
        price, close = Decimal("1.1"), Decimal("1.1") + Decimal(t % 7 - 3) / 1000
        profit = (close - price) * 10_000
        self.send(TRADER, PositionOpened, ticket=t, symbol="EURUSD", side="buy", volume=Decimal("0.2"), price=price,
                  sl=Decimal(0), tp=Decimal(0), time=self.now, magic=0, comment="")
        for k, login in enumerate(inv):
            for m in self._commands(login, Open):  # as a terminal reports it: the position, then the result
                if mixed and t % 7 == 0 and k == 1 % len(inv):
                    self.send(login, CommandResult, key=m.key, ok=False, retcode=10019, ticket=0, price=Decimal(0),
                              volume=Decimal(0), time=self.now, message="no money")
                    continue
                ticket = t * 1000 + k
                self.send(login, PositionOpened, ticket=ticket, symbol=m.symbol, side=m.side, volume=m.volume,
                          price=price, sl=m.sl, tp=m.tp, time=self.now, magic=m.magic, comment=m.comment)
                self.send(login, CommandResult, key=m.key, ok=True, retcode=10009, ticket=ticket, price=price,
                          volume=m.volume, time=self.now, message="")
                if mixed and t % 11 == 0 and k == 2 % len(inv):
                    self.send(login, PositionClosed, ticket=ticket, volume=m.volume, remaining=Decimal(0),
                              price=price, time=self.now, reason="sl", profit=Decimal(-1))
        parts = [Decimal("0.1"), Decimal("0.1")] if mixed and t % 13 == 0 else [Decimal("0.2")]
        left = Decimal("0.2")
        for part in parts:
            left -= part
            self.send(TRADER, PositionClosed, ticket=t, volume=part, remaining=left, price=close, time=self.now,
                      reason="client", profit=profit * part)
            self._investor_closes(t, close, profit, left)
        self.blocked = set()
        if t % 10 == 0:  # the terminals' figures, as real terminals report them
            for login in [TRADER, *inv]:
                bal = Decimal(100_000) + t % 100
                self.send(login, AccountUpdate, balance=bal, equity=bal, margin=Decimal(0), free_margin=bal,
                          leverage=100)
        self.now += 1000  # a second per round trip: resend timers, heartbeats, liveness all run
        self.tick()
        self.cycles += 1

    def _investor_closes(self, t: int, close: Decimal, profit: Decimal, left: Decimal) -> None:
        """Copies are sized like the trader's position here: what stays open is `left`."""
        for login in self.investors:
            for m in self._commands(login, Close):  # the closing deal, then the result (or the reverse)
                deal = dict(ticket=m.ticket, volume=m.volume, remaining=left, price=close, time=self.now,
                            reason="client", profit=profit * m.volume)
                result = dict(key=m.key, ok=True, retcode=10009, ticket=m.ticket, price=close, volume=m.volume,
                              time=self.now, message="")
                first, then = ((PositionClosed, deal), (CommandResult, result))[:: 1 if t % 2 else -1]
                self.send(login, first[0], **first[1])
                self.send(login, then[0], **then[1])


def containers(core: DaemonCore) -> dict[str, int]:
    """Entries of every container of the core, its feed model and its engine that traffic
    could grow; the soak test asserts none grows with the number of executions."""
    out: dict[str, int] = {}

    def count(prefix: str, obj: object) -> None:
        for name in sorted(getattr(type(obj), "__slots__", ()) or vars(obj)):
            value = getattr(obj, name, None)
            if isinstance(value, (dict, list, set, tuple)) or type(value).__name__ == "deque":
                out[f"{prefix}.{name}"] = _size(value)

    count("core", core)
    count("feed", core.feed)
    count("engine", core.engine)
    count("engine.s", core.engine.s)
    count("engine.s.partners", core.engine.s.partners)
    for sub in core.engine.subscriptions.values():
        count(f"sub{sub.id}", sub)
    for t in core.engine.traders.values():
        count(f"trader.{t.id}", t)
    for login, s in core.session_of.items():
        count(f"session{login}", s)
    out["aggregate"] = sum(_size(v) for v in vars(core.aggregate).values() if isinstance(v, (dict, list, set)))
    return out


def _size(value: Any) -> int:
    """Entries, nested containers counted by their entries (a dict of deques: every item)."""
    if isinstance(value, dict):
        return len(value) + sum(_size(v) for v in value.values() if isinstance(v, (dict, list, set)))
    return len(value)
