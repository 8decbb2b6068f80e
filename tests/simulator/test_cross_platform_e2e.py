"""Cross-platform copying end to end (issue 15 item 9): an MT5 trader copied to an MT4 investor
and an MT4 trader to an MT5 investor, on the simulated server through the simulated terminals
and the daemon core (frames through the codec both ways)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from bridge.copytrading import EngineConfig
from bridge.copytrading.engine import Engine
from bridge.daemon.config import DaemonConfig
from bridge.daemon.core import DaemonCore
from simulator.prices import Tick
from simulator.server import TradeServer
from simulator.terminals import TerminalCore, login_sessions
from tests.simulator.test_terminals_daemon_core import HOUR, INVESTOR, MASTER, MONDAY, Wire, trade

ITEM_9 = ("**Cross-platform**: a trader on MT5 copied to an investor on MT4 and the reverse, including an MT5 "
          "netting trader (its position changes become opens, partial closes and reversals for the copies).")
BOTH = EngineConfig(eligible_trader_types=("mt4_standard", "mt4_pro", "mt5_standard", "mt5_pro"),
                    trader_platforms=("MT4", "MT5"), investor_platforms=("MT4", "MT5"))


@pytest.mark.parametrize("trader_type, investor_type", [("mt5_standard", "mt4_standard"),
                                                        ("mt4_standard", "mt5_standard")])
def test_copied_across_platforms(trader_type, investor_type):
    assert "a trader on MT5 copied to an investor on MT4 and the reverse" in ITEM_9
    server = TradeServer(seed=5, start_ms=MONDAY + 10 * HOUR, scrypt_n=2**4)
    server.on_tick(Tick("EURUSD", server.now_ms + 1000, D("1.10000"), D("1.10010")))
    logins = {}
    for name, account_type in (("trader", trader_type), ("inv", investor_type)):
        email = f"{name}@example.com"
        server.register_client(email, name)
        logins[name] = server.open_account(email, account_type, "USD", 100, master_password=MASTER,
                                           investor_password=INVESTOR)
        server.deposit(logins[name], D(10000), payer_email=email)
    daemon = DaemonCore(DaemonConfig(), Engine(BOTH), now=server.now_ms, insecure=True)
    for op, args in (("register_trader", dict(trader="T", account=logins["trader"], account_type=trader_type,
                                               leverage=100, commission_pct="20")),
                     ("deposit", dict(owner="inv", amount="2000")),
                     ("subscribe", dict(investor="inv", trader="T", account=logins["inv"], amount="2000",
                                        account_type=investor_type))):
        reply = daemon.on_admin({"op": op, "args": args}, None, server.now_ms)
        assert reply["ok"], reply
    daemon.take_batch()
    wire = Wire(server, daemon)
    wire.attach(b"T", TerminalCore(server, login_sessions(server, [(logins["trader"], MASTER)])))
    wire.attach(b"I", TerminalCore(server, login_sessions(server, [(logins["inv"], MASTER)])))
    wire.run()
    res = trade(server, logins["trader"], "buy", "0.4")
    wire.poll()
    assert [p.volume for p in server.positions(logins["inv"])] == [D("0.4")]
    trade(server, logins["trader"], "sell", "0.1", position=res.position)  # a partial close
    wire.poll()
    assert [p.volume for p in server.positions(logins["inv"])] == [D("0.3")]
    trade(server, logins["trader"], "sell", "0.3", position=res.position)
    wire.poll()
    assert server.positions(logins["inv"]) == [] and not daemon.pending
