"""Terminal cores paired with the daemon core in memory (h11 style): no sockets, no clock.

Frames really go through the codec in both directions; the "network" is a list.
"""

from __future__ import annotations

from decimal import Decimal as D

from bridge.copytrading.engine import Engine
from bridge.daemon.config import DaemonConfig
from bridge.daemon.core import DaemonCore, SendResult
from bridge.protocol import Direction, decode, encode
from simulator.prices import Tick
from simulator.server import TradeRequest, TradeServer
from simulator.server import retcodes as rc
from simulator.terminals import TerminalCore, login_sessions

MONDAY = 1704067200000
HOUR = 3_600_000
MASTER, INVESTOR = "yS22Fr45", "Inv12345"


class Wire:
    """Terminal cores <-> a DaemonCore, delivering frames until nothing moves."""

    def __init__(self, server: TradeServer, daemon: DaemonCore) -> None:
        self.server, self.daemon = server, daemon
        self.terminals: dict[bytes, TerminalCore] = {}
        self.to_daemon: list[tuple[bytes, bytes]] = []
        self.log: list[tuple[str, str, int]] = []  # (direction, type, login)

    @property
    def now(self) -> int:
        return self.server.now_ms

    def attach(self, conn: bytes, core: TerminalCore) -> None:
        self.terminals[conn] = core
        self.send(conn, core.connect(self.now))

    def send(self, conn: bytes, messages) -> None:
        for m in messages:
            self.log.append(("up", m.TYPE, m.login))
            self.to_daemon.append((conn, encode(m)))

    def _deliver(self, conn: bytes, frame: bytes) -> SendResult:
        core = self.terminals.get(conn)
        if core is None:
            return SendResult.UNROUTABLE
        msg = decode(frame, direction=Direction.TO_TERMINAL)
        self.log.append(("down", msg.TYPE, msg.login))
        self.send(conn, core.receive(msg, self.now))
        return SendResult.OK

    def run(self) -> None:
        for _ in range(10_000):
            while self.to_daemon:
                conn, frame = self.to_daemon.pop(0)
                self.daemon.on_frame(conn, None, frame, self.now)
            self.daemon.take_batch()  # (the shell would commit it here)
            if not self.daemon.pump(self._deliver, self.now) and not self.to_daemon:
                return
        raise AssertionError("no quiescence")

    def poll(self) -> None:
        for conn, core in self.terminals.items():
            self.send(conn, core.poll(self.now))
        self.run()


def setup():
    server = TradeServer(seed=5, start_ms=MONDAY + 10 * HOUR, scrypt_n=2**4)
    server.on_tick(Tick("EURUSD", server.now_ms + 1000, D("1.10000"), D("1.10010")))
    logins = {}
    for name in ("trader", "inv1", "inv2"):
        email = f"{name}@example.com"
        server.register_client(email, name)
        login = server.open_account(email, "mt4_standard", "USD", 100, master_password=MASTER,
                                    investor_password=INVESTOR)
        server.deposit(login, D(10000) if name == "trader" else D(2000), payer_email=email)
        logins[name] = login
    daemon = DaemonCore(DaemonConfig(), Engine(), now=server.now_ms, insecure=True)

    def admin(op, **args):
        reply = daemon.on_admin({"op": op, "args": args}, None, server.now_ms)
        assert reply["ok"], reply
        return reply

    admin("register_trader", trader="T", account=logins["trader"], account_type="mt4_standard", leverage=100,
          commission_pct="20")
    for inv in ("inv1", "inv2"):
        admin("deposit", owner=inv, amount="2000")
        admin("subscribe", investor=inv, trader="T", account=logins[inv], amount="2000")
    daemon.take_batch()
    wire = Wire(server, daemon)
    trader = TerminalCore(server, login_sessions(server, [(logins["trader"], MASTER)]))
    investors = TerminalCore(server, login_sessions(server, [(logins["inv1"], MASTER), (logins["inv2"], MASTER)]))
    wire.attach(b"T", trader)
    wire.attach(b"I", investors)
    wire.run()
    assert trader.welcomed() and investors.welcomed()
    return server, daemon, wire, logins, investors


def trade(server, login, side, volume, **kw):
    session = server.login(login, MASTER)
    otype = rc.ORDER_TYPE_BUY if side == "buy" else rc.ORDER_TYPE_SELL
    res = server.order_send(session, TradeRequest(rc.TRADE_ACTION_DEAL, "EURUSD", D(volume), otype, **kw),
                            reason=rc.DEAL_REASON_CLIENT)
    assert res.ok, res
    return res


def test_trader_events_become_copies_and_closes_through_the_daemon_core():
    server, daemon, wire, logins, _ = setup()
    res = trade(server, logins["trader"], "buy", "0.5")
    wire.poll()
    copies = {login: server.positions(login) for login in (logins["inv1"], logins["inv2"])}
    assert all(len(p) == 1 and p[0].volume == D("0.5") and p[0].magic == daemon.config.copy_magic
               for p in copies.values()), copies
    cm = daemon.copy_map()
    assert [c["state"] for sub in cm.values() for c in sub.values()] == ["open", "open"]
    assert not daemon.pending
    # partial close by the trader: copies close their share; the profit comes from the deal report
    trade(server, logins["trader"], "sell", "0.2", position=res.position)
    wire.poll()
    assert [p.volume for login in (logins["inv1"], logins["inv2"]) for p in server.positions(login)] == [
        D("0.3"), D("0.3")]
    # stop loss on the trader: reason sl travels, copies close
    server.order_send(server.login(logins["trader"], MASTER),
                      TradeRequest(rc.TRADE_ACTION_SLTP, "EURUSD", position=res.position, sl=D("1.09900")))
    wire.poll()
    server.on_tick(Tick("EURUSD", server.now_ms + 1000, D("1.09890"), D("1.09900")))
    wire.poll()
    assert not server.positions(logins["inv1"]) and not server.positions(logins["inv2"])
    assert not daemon.pending and not daemon.awaiting
    reasons = sorted({c.comment for login in (logins["inv1"], logins["inv2"])
                      for c in server.history_deals(login) if c.entry == rc.DEAL_ENTRY_OUT})
    assert all("close" in r for r in reasons), reasons  # each close deal carries its key


def test_investor_terminal_restart_answers_resent_commands_from_the_server():
    """The daemon re-sends an unanswered open after a reconnect; a restarted terminal that
    lost its key table must not open a second position."""
    server, daemon, wire, logins, investors = setup()
    trade(server, logins["trader"], "buy", "0.4")
    wire.send(b"T", wire.terminals[b"T"].poll(wire.now))
    # deliver the trader event, let the daemon send its opens, but lose the answers:
    # the investor terminal "crashes" after executing them
    for conn, frame in wire.to_daemon:
        daemon.on_frame(conn, None, frame, wire.now)
    wire.to_daemon.clear()
    daemon.take_batch()
    lost: list[bytes] = []

    def crash_after_execute(conn: bytes, frame: bytes) -> SendResult:
        if conn == b"I":
            msg = decode(frame, direction=Direction.TO_TERMINAL)
            investors.receive(msg, wire.now)  # executed on the server, replies lost
            lost.append(frame)
            return SendResult.OK
        return wire._deliver(conn, frame)

    daemon.pump(crash_after_execute, wire.now)
    assert len(lost) == 2 and len(daemon.pending) == 2
    assert [len(server.positions(logins[x])) for x in ("inv1", "inv2")] == [1, 1]

    restarted = TerminalCore(server, login_sessions(server, [(logins["inv1"], MASTER), (logins["inv2"], MASTER)]),
                             next_id=10**6)
    wire.attach(b"I2", restarted)  # hello again: the daemon re-queues the pending commands
    wire.run()
    assert not daemon.pending
    assert [len(server.positions(logins[x])) for x in ("inv1", "inv2")] == [1, 1]  # no second execution
    cm = daemon.copy_map()
    assert sorted(c["ticket"] for sub in cm.values() for c in sub.values()) == sorted(
        server.positions(logins[x])[0].ticket for x in ("inv1", "inv2"))
