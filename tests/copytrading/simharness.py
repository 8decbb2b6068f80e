"""In-memory harness: the engine's commands executed on the simulated trade server
(`simulator.server.TradeServer`), results and account updates fed back as events.

The trader trades on the server through `trade()` / `close()`; the harness turns the
server's answers into trader events, runs the engine, executes every command on the
investor account (market orders, balance operations) and feeds the fills back.
"""

from __future__ import annotations

from decimal import Decimal

from bridge.copytrading import (AccountUpdated, BalanceOperation, CloseCopy, CommandFilled, CommandRefused,
                                Engine, OpenCopy, PriceTick, Step, TraderPositionClosed, TraderPositionOpened)
from bridge.domain.trading import Side
from simulator.prices.tick import Tick
from simulator.server import TradeRequest, TradeServer
from simulator.server import retcodes as rc

PASSWORD, INVESTOR_PASSWORD = "Master123", "Invest123"


class SimHarness:
    def __init__(self, engine: Engine, start_ms: int, seed: int = 7) -> None:
        self.engine = engine
        self.server = TradeServer(seed=seed, start_ms=start_ms, scrypt_n=2 ** 4, journal_ticks=False)
        self.sessions: dict[int, object] = {}
        self.emails: dict[int, str] = {}
        self.steps: list[Step] = []

    @property
    def now(self) -> int:
        return self.server.now_ms

    # ------------------------------------------------------------------ set-up
    def account(self, email: str, account_type: str, leverage: int, deposit: Decimal | None = None) -> int:
        if self.server.client(email) is None:
            self.server.register_client(email, email.split("@")[0])
        login = self.server.open_account(email, account_type, "USD", leverage, master_password=PASSWORD,
                                         investor_password=INVESTOR_PASSWORD)
        assert isinstance(login, int), login
        self.sessions[login] = self.server.login(login, PASSWORD)
        self.emails[login] = email
        if deposit:
            self.server.deposit(login, deposit, payer_email=email)
        return login

    # ------------------------------------------------------------------ the loop
    def feed(self, event) -> Step:
        step = self.engine.handle(event)
        self.steps.append(step)
        for cmd in step.commands:
            self.execute(cmd)
        return step

    def execute(self, cmd) -> None:
        login = cmd.account
        if isinstance(cmd, BalanceOperation):
            if cmd.amount > 0:
                result = self.server.deposit(login, cmd.amount, payer_email=self.emails[login])
            else:
                result = self.server.withdraw(login, -cmd.amount)
            if hasattr(result, "code"):
                self.feed(CommandRefused(self.now, cmd.key, 10006, str(result)))
            else:
                self.feed(CommandFilled(self.now, cmd.key))
        elif isinstance(cmd, OpenCopy):
            order = rc.ORDER_TYPE_BUY if cmd.side is Side.BUY else rc.ORDER_TYPE_SELL
            res = self.server.order_send(self.sessions[login], TradeRequest(
                rc.TRADE_ACTION_DEAL, cmd.symbol, cmd.volume, order, comment=cmd.key[:31]))
            if res.ok:
                self.feed(CommandFilled(self.now, cmd.key, res.position, res.volume, res.price))
            else:
                self.feed(CommandRefused(self.now, cmd.key, res.retcode, res.comment))
        elif isinstance(cmd, CloseCopy):
            pos = next(p for p in self.server.positions(login) if p.ticket == cmd.ticket)
            order = rc.ORDER_TYPE_SELL if pos.type == rc.ORDER_TYPE_BUY else rc.ORDER_TYPE_BUY
            res = self.server.order_send(self.sessions[login], TradeRequest(
                rc.TRADE_ACTION_DEAL, pos.symbol, cmd.volume, order, position=cmd.ticket))
            if res.ok:
                deal = next(d for d in self.server.history_deals(login) if d.ticket == res.deal)
                result = deal.profit + deal.swap + deal.commission + deal.fee
                self.feed(CommandFilled(self.now, cmd.key, cmd.ticket, res.volume, res.price, result))
            else:
                self.feed(CommandRefused(self.now, cmd.key, res.retcode, res.comment))
        self.update(login)

    def update(self, login: int) -> None:
        info = self.server.account_info(login)
        self.feed(AccountUpdated(self.now, login, info.balance, info.equity))

    def tick(self, symbol: str, bid: str, ask: str, ms: int = 1000) -> None:
        tick = Tick(symbol, self.now + ms, Decimal(bid), Decimal(ask))
        self.server.on_tick(tick)
        self.feed(PriceTick(tick.time_ms, symbol, tick.bid, tick.ask))

    # ------------------------------------------------------------------ the trader's side
    def trade(self, trader: str, login: int, symbol: str, side: Side, volume: str) -> int:
        order = rc.ORDER_TYPE_BUY if side is Side.BUY else rc.ORDER_TYPE_SELL
        res = self.server.order_send(self.sessions[login], TradeRequest(rc.TRADE_ACTION_DEAL, symbol,
                                                                      Decimal(volume), order))
        assert res.ok, res
        self.feed(TraderPositionOpened(self.now, trader, res.position, symbol, side, res.volume, res.price))
        return res.position

    def close(self, trader: str, login: int, ticket: int, volume: str) -> None:
        pos = next(p for p in self.server.positions(login) if p.ticket == ticket)
        order = rc.ORDER_TYPE_SELL if pos.type == rc.ORDER_TYPE_BUY else rc.ORDER_TYPE_BUY
        res = self.server.order_send(self.sessions[login], TradeRequest(rc.TRADE_ACTION_DEAL, pos.symbol,
                                                                      Decimal(volume), order, position=ticket))
        assert res.ok, res
        deal = next(d for d in self.server.history_deals(login) if d.ticket == res.deal)
        self.feed(TraderPositionClosed(self.now, trader, ticket, res.volume, res.price, "client",
                                       deal.profit + deal.swap + deal.commission + deal.fee))
        self.update(login)
