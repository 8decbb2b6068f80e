"""The in-memory world the gateway tests share: a simulated trade server, a trader's EA
terminal, investors served by a terminal or by the gateway plugin, and a `DaemonCore`, joined
by a `Wire` that passes every frame through the codec (no sockets, no clock)."""

from __future__ import annotations

from decimal import Decimal as D

from bridge.copytrading.engine import Engine
from bridge.daemon.config import DaemonConfig
from bridge.daemon.core import DaemonCore, SendResult
from bridge.protocol import Direction, decode, encode
from simulator.gateway import GatewayPlugin
from simulator.prices import Tick
from simulator.server import TradeRequest, TradeServer
from simulator.server.plugins.rules import default_plugins
from simulator.server import retcodes as rc
from simulator.terminals import TerminalCore, login_sessions

MONDAY = 1704067200000
HOUR = 3_600_000
MASTER, INVESTOR = "yS22Fr45", "Inv12345"
INVESTORS = ("inv1", "inv2", "inv3")


class Wire:
    """Protocol cores (terminals or gateway links) <-> a DaemonCore; frames go through the codec."""

    def __init__(self, server: TradeServer, daemon: DaemonCore) -> None:
        self.server, self.daemon = server, daemon
        self.ends: dict[bytes, object] = {}
        self.to_daemon: list[tuple[bytes, bytes]] = []
        self.up: dict[bytes, list[bytes]] = {}  # every frame each end sent, in order

    @property
    def now(self) -> int:
        return self.server.now_ms

    def attach(self, conn: bytes, core) -> None:
        self.ends[conn] = core
        self.send(conn, core.connect(self.now))

    def send(self, conn: bytes, messages) -> None:
        for m in messages:
            frame = encode(m)
            self.up.setdefault(conn, []).append(frame)
            self.to_daemon.append((conn, frame))

    def deliver(self, conn: bytes, frame: bytes) -> SendResult:
        end = self.ends.get(conn)
        if end is None:
            return SendResult.UNROUTABLE
        self.send(conn, end.receive(decode(frame, direction=Direction.TO_TERMINAL), self.now))
        return SendResult.OK

    def run(self) -> None:
        for _ in range(10_000):
            while self.to_daemon:
                conn, frame = self.to_daemon.pop(0)
                self.daemon.on_frame(conn, None, frame, self.now)
            self.daemon.take_batch()
            if not self.daemon.pump(self.deliver, self.now) and not self.to_daemon:
                return
        raise AssertionError("no quiescence")

    def poll(self) -> None:
        for conn, end in self.ends.items():
            self.send(conn, end.poll(self.now))
        self.run()


def world(mode: str):
    """A trader (an EA terminal) and three investors served by the gateway (mode "gateway") or
    by an investor terminal holding their master passwords (mode "terminal")."""
    gateway = GatewayPlugin(scan_all=mode == "gateway-scan-all") if mode.startswith("gateway") else None
    server = TradeServer(seed=5, start_ms=MONDAY + 10 * HOUR, scrypt_n=2**4,
                         plugins=None if gateway is None else [*default_plugins(), gateway])
    server.on_tick(Tick("EURUSD", server.now_ms + 1000, D("1.10000"), D("1.10010")))
    logins = {}
    for name in ("trader", *INVESTORS):
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
    for inv in INVESTORS[:2]:  # inv3 subscribes to nothing: an idle account the gateway serves
        admin("deposit", owner=inv, amount="2000")
        admin("subscribe", investor=inv, trader="T", account=logins[inv], amount="2000")
    daemon.take_batch()
    wire = Wire(server, daemon)
    investor_logins = [logins[x] for x in INVESTORS]
    if mode == "gateway-both":  # the trader served by the gateway too, under its trader key
        gateway.serve({"trader": [logins["trader"]], "investor": investor_logins})
        wire.attach(b"T", gateway.links["trader"])
    else:
        wire.attach(b"T", TerminalCore(server, login_sessions(server, [(logins["trader"], MASTER)])))
    if gateway is not None:
        if mode != "gateway-both":
            gateway.serve({"investor": investor_logins})
        wire.attach(b"I", gateway.links["investor"])
    else:
        wire.attach(b"I", TerminalCore(server, login_sessions(server, [(x, MASTER) for x in investor_logins]),
                                       role="investor"))
    wire.run()
    return server, daemon, wire, logins, gateway


def trade(server, login, side, volume, **kw):
    session = server.login(login, MASTER)
    otype = rc.ORDER_TYPE_BUY if side == "buy" else rc.ORDER_TYPE_SELL
    res = server.order_send(session, TradeRequest(rc.TRADE_ACTION_DEAL, "EURUSD", D(volume), otype, **kw),
                            reason=rc.DEAL_REASON_CLIENT)
    assert res.ok, res
    return res


def scenario(server, wire, logins) -> None:
    """Open, partial close, SL move, a quote that fires the SL: every kind of report and command."""
    res = trade(server, logins["trader"], "buy", "0.5")
    wire.poll()
    server.on_tick(Tick("EURUSD", server.now_ms + 1000, D("1.10020"), D("1.10030")))
    wire.poll()
    trade(server, logins["trader"], "sell", "0.2", position=res.position)
    wire.poll()
    server.order_send(server.login(logins["trader"], MASTER),
                      TradeRequest(rc.TRADE_ACTION_SLTP, "EURUSD", position=res.position, sl=D("1.09900")))
    wire.poll()
    server.on_tick(Tick("EURUSD", server.now_ms + 1000, D("1.09890"), D("1.09900")))
    wire.poll()
