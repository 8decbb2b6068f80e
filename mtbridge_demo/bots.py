"""The demo's seeded trader bots: one decision every few virtual minutes on their symbol."""

from __future__ import annotations

import random
from collections import Counter
from decimal import ROUND_DOWN, Decimal

from mtbridge_demo.plan import MINUTE, ZERO, TraderPlan
from simulator.server import TradeRequest, TradeServer
from simulator.server import retcodes as rc


class TraderBot:
    """A seeded trader: every few virtual minutes, one decision on its symbol.

    steady: 0.1-0.5 lots with SL 25-60 pips / TP 30-90 pips, trails stops, takes partial
    profits; scalper: 0.05-0.3 lots, tight stops, closes quickly; gambler: 1-2 lots, no
    stops, adds to losers and never closes (a small, highly levered account: a stop-out).
    """

    def __init__(self, plan_: TraderPlan, login: int, session, seed: int) -> None:
        self.plan = plan_
        self.login = login
        self.session = session
        self.rng = random.Random(f"demo-bot:{seed}:{plan_.id}")
        self.next_ms = 0
        self.actions: Counter[str] = Counter()

    def schedule(self, now: int) -> None:
        lo, hi = {"steady": (4, 16), "scalper": (2, 7), "gambler": (6, 20)}[self.plan.style]
        self.next_ms = now + MINUTE * self.rng.randrange(lo, hi)

    def _price(self, server: TradeServer, side: str, points_away: int, spec) -> Decimal:
        tick = server.symbol_tick(self.plan.symbol, self.login)
        ref = tick.bid if side == "buy" else tick.ask
        pts = int(ref.scaleb(spec.digits)) + points_away
        return Decimal(pts).scaleb(-spec.digits)

    def decide(self, server: TradeServer, spec) -> list[TradeRequest]:
        rng, p = self.rng, self.plan
        positions = server.positions(self.login, p.symbol)
        r = rng.randrange(100)
        lot = Decimal("0.01")
        if p.style == "gambler":
            if len(positions) < 4 and r < 70:
                side = ("buy", "sell")[rng.randrange(2)] if not positions else (
                    "buy" if positions[0].type == rc.POSITION_TYPE_BUY else "sell")
                vol = Decimal(100 + 10 * rng.randrange(11)) * lot
                self.actions["open"] += 1
                return [self._market(side, vol)]
            return []
        max_pos = 2 if p.style == "steady" else 3
        if not positions or (len(positions) < max_pos and r < 30):
            side = ("buy", "sell")[rng.randrange(2)]
            if p.style == "steady":
                vol, sl_pips, tp_pips = Decimal(10 * rng.randrange(1, 6)) * lot, rng.randrange(25, 61), \
                    rng.randrange(30, 91)
            else:
                vol, sl_pips, tp_pips = Decimal(5 * rng.randrange(1, 7)) * lot, rng.randrange(8, 21), \
                    rng.randrange(8, 26)
            sign = 1 if side == "buy" else -1
            # stops are set relative to the closing price (bid for a buy, ask for a sell)
            close_side = "buy" if side == "buy" else "sell"
            sl = self._price(server, close_side, -sign * sl_pips * 10, spec)
            tp = self._price(server, close_side, sign * tp_pips * 10, spec) if rng.randrange(4) else ZERO
            self.actions["open"] += 1
            return [self._market(side, vol, sl=sl, tp=tp)]
        pos = positions[rng.randrange(len(positions))]
        buy = pos.type == rc.POSITION_TYPE_BUY
        if r < 50 and pos.volume >= 2 * lot:
            half = (pos.volume / 2).quantize(lot, ROUND_DOWN)
            self.actions["partial_close"] += 1
            return [self._close(pos, half)]
        if r < 70:
            # move the stop to break-even or trail it 15-30 pips behind the price
            gap = rng.randrange(15, 31) * 10
            sl = self._price(server, "buy" if buy else "sell", -gap if buy else gap, spec)
            if (buy and sl <= pos.sl) or (not buy and pos.sl and sl >= pos.sl):
                return []
            self.actions["modify"] += 1
            return [TradeRequest(rc.TRADE_ACTION_SLTP, p.symbol, position=pos.ticket, sl=sl, tp=pos.tp)]
        if r < 85 or p.style == "scalper":
            self.actions["close"] += 1
            return [self._close(pos, pos.volume)]
        return []

    def _market(self, side: str, volume: Decimal, sl: Decimal = ZERO,
                tp: Decimal = ZERO) -> TradeRequest:
        return TradeRequest(rc.TRADE_ACTION_DEAL, self.plan.symbol, volume,
                            rc.ORDER_TYPE_BUY if side == "buy" else rc.ORDER_TYPE_SELL, sl=sl, tp=tp)

    def _close(self, pos, volume: Decimal) -> TradeRequest:
        buy = pos.type == rc.POSITION_TYPE_BUY
        return TradeRequest(rc.TRADE_ACTION_DEAL, pos.symbol, volume,
                            rc.ORDER_TYPE_SELL if buy else rc.ORDER_TYPE_BUY, position=pos.ticket)

