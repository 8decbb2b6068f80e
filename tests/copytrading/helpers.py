"""A small world for engine tests: one engine, traders, investors, and a fake executor that
answers the engine's commands the way a trade server would (fills at a given price)."""

from __future__ import annotations

from decimal import Decimal as D
from itertools import count

from bridge.copytrading import (AccountUpdated, BalanceOperation, CloseCopy, CommandFilled, Engine,
                                EngineConfig, OpenCopy, Step, Subscribe, TraderPositionClosed,
                                TraderPositionOpened, TraderRegistered, WalletDeposited)
from bridge.domain import default_rules
from bridge.domain.sizing import VolumeMode
from bridge.domain.trading import Side, profit

# Monday 2024-06-03 00:00:00 UTC
T0 = 1_717_372_800_000
HOUR = 3_600_000
DAY = 24 * HOUR

RULES = default_rules()


class World:
    """Drives an Engine; `auto_fill` answers open/close commands at `self.prices[symbol]`."""

    def __init__(self, config: EngineConfig | None = None, now: int = T0) -> None:
        self.engine = Engine(config or EngineConfig())
        self.now = now
        self.prices: dict[str, D] = {}
        self.tickets = count(500_000)
        self.steps: list[Step] = []
        self.trader_tickets = count(1)

    def tick(self, ms: int = 1) -> int:
        self.now += ms
        return self.now

    def handle(self, event, fill: bool = True) -> Step:
        step = self.engine.handle(event)
        self.steps.append(step)
        if fill:
            for cmd in step.commands:
                self.answer(cmd)
        return step

    # ------------------------------------------------------------------ execution
    def answer(self, cmd) -> Step | None:
        if isinstance(cmd, OpenCopy):
            price = self.prices.get(cmd.symbol, cmd.reference_price)
            return self.handle(CommandFilled(self.tick(), cmd.key, next(self.tickets), cmd.volume, price))
        if isinstance(cmd, CloseCopy):
            sub = self.engine.subscriptions[cmd.subscription]
            copy = sub.copies[cmd.trader_ticket]
            spec = RULES.symbols.get(copy.symbol)
            price = self.prices.get(copy.symbol, copy.price)
            result = profit(spec, copy.side, cmd.volume, copy.price, price, "USD", RULES_RATES)
            return self.handle(CommandFilled(self.tick(), cmd.key, cmd.ticket, cmd.volume, price, result))
        if isinstance(cmd, BalanceOperation):
            return self.handle(CommandFilled(self.tick(), cmd.key), fill=False)
        return None

    # ------------------------------------------------------------------ shortcuts
    def trader(self, name: str = "T", account: int = 1000, *, account_type: str = "mt4_standard",
               leverage: int = 200, commission: str = "20", equity: str = "10000") -> Step:
        step = self.handle(TraderRegistered(self.tick(), name, account, account_type, leverage, D(commission)))
        self.handle(AccountUpdated(self.tick(), account, D(equity), D(equity)))
        return step

    def investor(self, name: str, trader: str = "T", account: int = 2000, amount: str = "1000", *,
                 mode: VolumeMode = VolumeMode.EQUAL, protection: str | None = None, leverage: int = 100,
                 deposit: str | None = None, account_type: str | None = None) -> int:
        self.handle(WalletDeposited(self.tick(), name, D(deposit or amount)))
        typed = {} if account_type is None else {"account_type": account_type}
        step = self.handle(Subscribe(self.tick(), name, trader, account, D(amount), mode=mode,
                                     protection_pct=None if protection is None else D(protection),
                                     leverage=leverage, **typed))
        started = [r for r in step.records if type(r).__name__ == "SubscriptionStarted"]
        assert started, step.records
        return started[0].subscription

    def open(self, volume: str = "1", symbol: str = "EURUSD", side: Side = Side.BUY, price: str = "1.10000",
             trader: str = "T", ticket: int | None = None, fill: bool = True,
             magic: int | None = None) -> tuple[int, Step]:
        ticket = ticket if ticket is not None else next(self.trader_tickets)
        self.prices.setdefault(symbol, D(price))
        step = self.handle(TraderPositionOpened(self.tick(), trader, ticket, symbol, side, D(volume), D(price),
                                                magic=magic), fill=fill)
        return ticket, step

    def close(self, ticket: int, volume: str, price: str | None = None, reason: str = "client",
              trader: str = "T", profit_: str = "0", symbol: str = "EURUSD", fill: bool = True) -> Step:
        if price is not None:
            self.prices[symbol] = D(price)
        return self.handle(TraderPositionClosed(self.tick(), trader, ticket, D(volume),
                                                self.prices.get(symbol, D("1.1")), reason, D(profit_)), fill=fill)

    def records(self, kind: type) -> list:
        return [r for s in self.steps for r in s.records if isinstance(r, kind)]

    def commands(self, kind: type) -> list:
        return [c for s in self.steps for c in s.commands if isinstance(c, kind)]


from bridge.domain.currency import Rates  # noqa: E402

RULES_RATES = Rates()


def of(step: Step, kind: type) -> list:
    return [x for x in (*step.commands, *step.records, *step.withdrawals) if isinstance(x, kind)]


def in_copy_trading_doc(text: str) -> bool:
    """Whether `text` appears verbatim (line wrapping aside) in docs/copy-trading.md, where the
    issue's items are quoted."""
    from pathlib import Path
    doc = (Path(__file__).resolve().parents[2] / "docs" / "copy-trading.md").read_text(encoding="utf-8")
    return " ".join(text.split()) in " ".join(doc.split())
