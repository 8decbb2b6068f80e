"""One time base, end to end without sockets: simulated servers on UTC+2 and UTC-5, terminal
cores and the daemon core paired in memory (the `Wire` of test_terminals_daemon_core).

Every time on the wire is UTC, so "opened before the subscription" is decided to the second
whatever the broker's clock; the Sunday payout happens at Sunday 00:00 *server* time."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest
from test_terminals_daemon_core import INVESTOR, MASTER, Wire, trade

from bridge.copytrading.config import EngineConfig
from bridge.copytrading.engine import Engine
from bridge.daemon.config import DaemonConfig
from bridge.daemon.core import DaemonCore
from bridge.domain.servertime import ServerTimeZone
from simulator.prices import Tick
from simulator.server import TradeServer
from simulator.terminals import TerminalCore, login_sessions

HOUR = 3_600_000
MONDAY = 1704067200000  # 2024-01-01 00:00 UTC, a Monday (no summer time anywhere)
SATURDAY = MONDAY + 5 * 24 * HOUR


class RecordingWire(Wire):
    """The Wire, keeping the records of every batch the shell would commit."""

    def __init__(self, server, daemon) -> None:
        super().__init__(server, daemon)
        self.records: list[dict] = []

    def run(self) -> None:
        take = self.daemon.take_batch

        def keep():
            batch = take()
            self.records.extend(json.loads(body) | {"topic": topic} for _, topic, body in batch.records)
            return batch

        self.daemon.take_batch = keep
        try:
            super().run()
        finally:
            del self.daemon.take_batch


@pytest.mark.parametrize(("zone", "sunday_utc"), [
    (ServerTimeZone.parse("UTC+2"), SATURDAY + 22 * HOUR),  # Sunday 00:00 at UTC+2 = Saturday 22:00 UTC
    (ServerTimeZone.parse("UTC-5"), SATURDAY + 29 * HOUR),  # Sunday 00:00 at UTC-5 = Sunday 05:00 UTC
])
def test_subscription_boundary_and_payout_in_server_time(zone, sunday_utc):
    server = TradeServer(seed=5, start_ms=MONDAY + 10 * HOUR, scrypt_n=2**4, timezone=zone)
    server.on_tick(Tick("EURUSD", server.now_ms + 1000, D("1.10000"), D("1.10010")))
    logins = {}
    for name in ("trader", "early", "late"):
        email = f"{name}@example.com"
        server.register_client(email, name)
        logins[name] = server.open_account(email, "mt4_standard", "USD", 100, master_password=MASTER,
                                           investor_password=INVESTOR)
        server.deposit(logins[name], D(10000) if name == "trader" else D(2000), payer_email=email)
    config = EngineConfig(server_timezone=zone)
    daemon = DaemonCore(DaemonConfig(engine=config), Engine(config), now=server.now_ms, insecure=True)

    def admin(op, **args):
        reply = daemon.on_admin({"op": op, "args": args}, None, server.now_ms)
        assert reply["ok"], reply

    admin("register_trader", trader="T", account=logins["trader"], account_type="mt4_standard", leverage=100,
          commission_pct="20")
    for inv in ("early", "late"):
        admin("deposit", owner=inv, amount="2000")
    wire = RecordingWire(server, daemon)
    wire.attach(b"T", TerminalCore(server, login_sessions(server, [(logins["trader"], MASTER)])))
    wire.attach(b"I", TerminalCore(server, login_sessions(server, [(logins["early"], MASTER),
                                                                     (logins["late"], MASTER)])))
    wire.run()
    hellos = [m for m in wire.log if m[1] == "hello"]
    assert len(hellos) == 3

    # "early" subscribes; the trader opens 1 s later: copied
    admin("subscribe", investor="early", trader="T", account=logins["early"], amount="2000")
    server.advance_to(server.now_ms + 1000)
    first = trade(server, logins["trader"], "buy", "0.1")
    wire.poll()
    assert len(server.positions(logins["early"])) == 1

    # the trader opens; 1 s later "late" subscribes, then the terminal reports the open: refused
    second = trade(server, logins["trader"], "buy", "0.1")
    opened_at = server.now_ms
    server.advance_to(opened_at + 1000)
    admin("subscribe", investor="late", trader="T", account=logins["late"], amount="2000")
    wire.poll()
    refused = [r for r in wire.records if r.get("code") == "opened_before_subscription"]
    assert [r["trader_ticket"] for r in refused] == [second.position]
    assert server.positions(logins["late"]) == []
    assert len(server.positions(logins["early"])) == 2  # "early" copies both

    # profit for "early": the trader closes both at a higher price; the commission of the week is
    # settled on Sunday (§9, high-water mark), not at the closes
    server.on_tick(Tick("EURUSD", server.now_ms + 1000, D("1.10600"), D("1.10610")))
    for res in (first, second):
        trade(server, logins["trader"], "sell", "0.1", position=res.position)
    wire.poll()
    assert server.positions(logins["early"]) == []
    assert not any(r["topic"] == "record.commission_accrued" for r in wire.records)

    # the weekly payout: nothing a millisecond before Sunday 00:00 server time, then paid as of it
    def paid():
        return [r for r in wire.records if r["topic"] == "record.commission_paid"]

    daemon.tick(sunday_utc - 1)
    wire.run()
    assert paid() == []
    daemon.tick(sunday_utc - 1 + daemon.config.engine_tick_ms)  # the engine's next time step
    wire.run()
    (payout,) = paid()
    assert payout["now"] == sunday_utc and payout["reason"] == "weekly"
    (settled,) = [r for r in wire.records if r["topic"] == "record.commission_accrued"]
    assert (settled["now"], settled["reason"]) == (sunday_utc, "weekly")
    assert zone.to_server(sunday_utc) % (24 * HOUR) == 0
