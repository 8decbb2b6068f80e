"""A user strategy for `mtbridge simulate --strategy examples/strategies/breakout.py:Breakout`.

The same interface as the built-in strategies (simulator/strategies.py): `check_params`
validates the scenario's parameters, `build` makes the strategy from its own seeded random
stream and the symbol, `decide(view)` returns trade requests, at most once per `every_ms`.

Breakout: samples the bid once per decision; buys `volume` when the bid rises above the
highest of the previous `lookback` samples, closes when it falls below the lowest.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal

from simulator.server import retcodes as rc
from simulator.server.records import TradeRequest


class Breakout:
    def __init__(self, spec, every_ms: int, lookback: int, volume: Decimal) -> None:
        self.spec, self.every_ms, self.lookback, self.volume = spec, every_ms, lookback, volume
        self.bids: deque = deque(maxlen=lookback)

    @classmethod
    def check_params(cls, params: dict) -> dict:
        unknown = set(params) - {"every", "lookback", "volume"}
        if unknown:
            raise ValueError(f"unknown parameter {sorted(unknown)[0]!r} (allowed: every, lookback, volume)")
        every = params.get("every", "15m")  # "15m", "1h": minutes or hours
        every_ms = int(every[:-1]) * (60_000 if every.endswith("m") else 3_600_000)
        return {"every_ms": every_ms, "lookback": int(params.get("lookback", 8)),
                "volume": Decimal(params.get("volume", "0.10"))}

    @classmethod
    def build(cls, rng, spec, params: dict) -> Breakout:
        return cls(spec, **cls.check_params(params))  # no randomness: `rng` is not needed

    def decide(self, view) -> list[TradeRequest]:
        bid = view.tick().bid
        full = len(self.bids) == self.lookback
        high, low = (max(self.bids), min(self.bids)) if full else (None, None)
        self.bids.append(bid)
        if not full:
            return []
        mine = view.positions()
        if not mine and bid > high:
            return [TradeRequest(action=rc.TRADE_ACTION_DEAL, symbol=self.spec.name, volume=self.volume,
                                 type=rc.ORDER_TYPE_BUY, comment="breakout")]
        if mine and bid < low:
            return [TradeRequest(action=rc.TRADE_ACTION_DEAL, symbol=p.symbol, volume=p.volume,
                                 type=rc.ORDER_TYPE_SELL, position=p.ticket, comment="breakout exit") for p in mine]
        return []
