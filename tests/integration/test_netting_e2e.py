"""Issue 15 item 9 end to end over real sockets: an MT5 netting trader copied to an MT4 and an
MT5 (hedging) investor. The daemon runs in its own thread (real ROUTER, CURVE, SQLite journal);
the simulated terminals run on the test's asyncio loop against one simulated trade server.
Poll-until waits on conditions only."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal as D
from pathlib import Path

import pytest
import zmq.utils.z85  # noqa: F401 - the daemon's ZAP handler needs the submodule imported

from bridge.daemon.client import AdminClient
from bridge.daemon.config import load_config
from bridge.daemon.running import DaemonThread
from bridge.daemon.testing import make_setup
from simulator.prices import Tick
from simulator.server import TradeRequest, TradeServer
from simulator.server import retcodes as rc
from simulator.terminals import TerminalClient, TerminalCore, login_sessions
from tests.integration.test_terminals_e2e import HOUR, MASTER, INVESTOR, MONDAY, until, wall_ms

pytestmark = pytest.mark.integration

ITEM_9 = ("**Cross-platform**: a trader on MT5 copied to an investor on MT4 and the reverse, including an MT5 "
          "netting trader (its position changes become opens, partial closes and reversals for the copies).")
ENGINE = ('eligible_trader_types = ["mt4_standard", "mt4_pro", "mt5_standard", "mt5_pro"]\n'
          'trader_platforms = ["MT4", "MT5"]\ninvestor_platforms = ["MT4", "MT5"]\nopen_validity_ms = 600000')
ACCOUNTS = (("trader", "mt5_standard", "netting"), ("mt4", "mt4_standard", None), ("mt5", "mt5_standard", None))


class World:
    def __init__(self, tmp: Path) -> None:
        self.t0, self.wall0 = MONDAY + 10 * HOUR, wall_ms()
        self.server = TradeServer(seed=11, start_ms=self.t0, scrypt_n=2**4)
        self.quote()
        self.logins: dict[str, int] = {}
        for name, account_type, mode in ACCOUNTS:
            email = f"{name}@example.com"
            self.server.register_client(email, name)
            self.logins[name] = self.server.open_account(email, account_type, "USD", 100, master_password=MASTER,
                                                         investor_password=INVESTOR, margin_mode=mode)
            self.server.deposit(self.logins[name], D(10000), payer_email=email)
        self.setup = make_setup(tmp, {"trader": ([self.logins["trader"]], "trader"),
                                      "investors": ([self.logins["mt4"], self.logins["mt5"]], "investor"),
                                      "ops": ([], "admin")}, heartbeat_ms=200, engine=ENGINE)
        self.daemon = DaemonThread(load_config(self.setup.config_path), clock=self.clock).start()
        self.clients: list[TerminalClient] = []

    def clock(self) -> int:
        return self.t0 + wall_ms() - self.wall0

    def quote(self) -> None:
        self.server.on_tick(Tick("EURUSD", max(self.clock(), self.server.now_ms), D("1.10000"), D("1.10010")))

    def back_office(self) -> None:
        admin = AdminClient(self.daemon.endpoints["admin"], self.setup.curve("ops"))
        assert admin("register_trader", trader="T", account=self.logins["trader"], account_type="mt5_standard",
                     leverage=100, commission_pct="20")["ok"]
        for name, account_type in (("mt4", "mt4_standard"), ("mt5", "mt5_standard")):
            assert admin("deposit", owner=name, amount="5000")["ok"]
            assert admin("subscribe", investor=name, trader="T", account=self.logins[name], amount="5000",
                         account_type=account_type)["ok"]

    def terminal(self, name: str, logins: list[int]) -> TerminalClient:
        core = TerminalCore(self.server, login_sessions(self.server, [(x, MASTER) for x in logins]),
                            next_id=time.time_ns() // 1000, role=self.setup.roles.get(name))
        client = TerminalClient(core, self.daemon.endpoints["router"], poll_interval=0.02, backoff=(0.05, 0.5),
                                name=name, clock=self.clock, server_key=self.setup.server.public,
                                public_key=self.setup.keys[name].public, secret_key=self.setup.keys[name].secret)
        self.clients.append(client)
        return client

    def trade(self, side: str, volume: str) -> None:
        self.quote()
        otype = rc.ORDER_TYPE_BUY if side == "buy" else rc.ORDER_TYPE_SELL
        res = self.server.order_send(self.server.login(self.logins["trader"], MASTER),
                                     TradeRequest(rc.TRADE_ACTION_DEAL, "EURUSD", D(volume), otype),
                                     reason=rc.DEAL_REASON_CLIENT)
        assert res.ok, res

    def copies(self, name: str) -> list[tuple[str, D]]:
        return sorted(("buy" if p.type == rc.POSITION_TYPE_BUY else "sell", p.volume)
                      for p in self.server.positions(self.logins[name]))

    async def close(self) -> None:
        for c in self.clients:
            await c.stop()
        self.daemon.stop()


def test_mt5_netting_trader_copied_to_mt4_and_mt5_hedging_investors(tmp_path: Path) -> None:
    assert "including an MT5 netting trader (its position changes become opens, partial closes and reversals" in ITEM_9
    # (netting deal, the copies each investor must then hold, with exact volumes; equal mode)
    steps = [("buy", "1.00", [("buy", D("1.00"))]),  # an open
             ("buy", "0.50", [("buy", D("0.50")), ("buy", D("1.00"))]),  # an addition: one more copy
             ("sell", "0.40", [("buy", D("0.50")), ("buy", D("0.60"))]),  # a partial close, oldest first
             ("sell", "2.00", [("sell", D("0.90"))]),  # a reversal: everything closed, a 0.90 sell opened
             ("buy", "0.90", [])]  # closed

    async def main() -> None:
        w = World(tmp_path)
        try:
            w.back_office()
            trader = w.terminal("trader", [w.logins["trader"]])
            investors = w.terminal("investors", [w.logins["mt4"], w.logins["mt5"]])
            for c in (trader, investors):
                await c.start()
                await c.wait_welcomed(timeout=20)
            assert w.server.account_info(w.logins["trader"]).margin_mode == rc.ACCOUNT_MARGIN_MODE_RETAIL_NETTING
            for side, volume, expected in steps:
                w.trade(side, volume)
                await until(lambda: w.copies("mt4") == expected and w.copies("mt5") == expected,
                            what=f"copies {expected} after the trader's {side} {volume}")
            assert [p.platform for p in map(w.server.account_info, (w.logins["mt4"], w.logins["mt5"]))] == \
                ["MT4", "MT5"]
            assert trader.reconnects == [] and investors.reconnects == []
        finally:
            await w.close()

    asyncio.run(main())
