"""Built-in trading strategies for scenarios: small, deterministic, seeded.

A strategy is built with ``Strategy(rng, spec, **params)``: `rng` is its own
``random.Random`` stream, derived from the scenario seed, the account and the strategy's
index (`strategy_rng`), `spec` the symbol's `SymbolSpec`. The runner calls
``decide(view)`` at most once per ``every`` (a duration, default per strategy), on a quote of
the strategy's symbol; it returns trade requests (`simulator.server.TradeRequest`) which the
runner sends in order with DEAL_REASON_EXPERT. `view` is read-only (`StrategyView`): the
time, the account's quote, account snapshot and positions on the symbol.

Randomness uses only integer draws (``randrange``), never float arithmetic, and every
volume/price is a Decimal, so runs are identical on every platform.

- ``random``: a seeded random trader (opens/closes with given per-decision probabilities).
- ``martingale``: doubles down against the market and never cuts losses - on a small,
  highly levered account it ends in a stop-out.
- ``ma_cross``: a moving-average crossover on sampled bids (always in the market after the
  first cross; reverses on each cross).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import random
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any, Protocol

from bridge.domain.errors import DomainError
from bridge.domain.instruments import SymbolSpec
from bridge.domain.money import to_decimal
from simulator.durations import parse_duration
from simulator.server import retcodes as rc
from simulator.server.records import AccountInfo, PositionInfo, TickInfo, TradeRequest

__all__ = ["MaCross", "Martingale", "RandomTrader", "STRATEGIES", "StrategyLoadError", "StrategyParamError",
           "StrategyView", "is_strategy_ref", "load_strategy", "strategy_rng"]

ZERO = Decimal(0)


class StrategyParamError(ValueError):
    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key, self.problem = key, problem


def strategy_rng(seed: int, account_id: str, index: int) -> random.Random:
    """Random(first 8 bytes of sha256(f"{seed}:{account_id}:{index}"))."""
    digest = hashlib.sha256(f"strategy:{seed}:{account_id}:{index}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


class StrategyView(Protocol):
    now_ms: int

    def tick(self) -> TickInfo: ...

    def account(self) -> AccountInfo: ...

    def positions(self) -> list[PositionInfo]: ...


# --- parameter helpers -------------------------------------------------------------------------

def _dec(params: Mapping[str, Any], key: str, default: str, *, positive: bool = True) -> Decimal:
    v = params.get(key, default)
    if isinstance(v, float):
        raise StrategyParamError(key, f"write exact numbers as strings, e.g. \"{v}\"")
    try:
        d = to_decimal(v, key)
    except DomainError:
        raise StrategyParamError(key, f"{v!r} is not a number") from None
    if positive and d <= 0:
        raise StrategyParamError(key, f"must be positive, got {d}")
    return d


def _int(params: Mapping[str, Any], key: str, default: int, low: int = 0) -> int:
    v = params.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or v < low:
        raise StrategyParamError(key, f"expected an integer >= {low}, got {v!r}")
    return v


def _prob(params: Mapping[str, Any], key: str, default: str) -> int:
    """A probability as parts per 10 000 (integer comparisons only)."""
    p = _dec(params, key, default, positive=False)
    if not 0 <= p <= 1:
        raise StrategyParamError(key, f"must be between 0 and 1, got {p}")
    return int(p * 10_000)


def _every(params: Mapping[str, Any], default: str) -> int:
    v = params.get("every", default)
    try:
        return parse_duration(v)
    except ValueError as exc:
        raise StrategyParamError("every", str(exc)) from None


def _check_keys(params: Mapping[str, Any], allowed: set[str]) -> None:
    for k in params:
        if k not in allowed:
            raise StrategyParamError(k, f"unknown parameter (allowed: {', '.join(sorted(allowed))})")


def _market(spec: SymbolSpec, side: int, volume: Decimal, comment: str, magic: int,
            sl: Decimal = ZERO, tp: Decimal = ZERO) -> TradeRequest:
    return TradeRequest(action=rc.TRADE_ACTION_DEAL, symbol=spec.name, volume=volume, type=side,
                        sl=sl, tp=tp, magic=magic, comment=comment)


def _close(p: PositionInfo, comment: str) -> TradeRequest:
    opposite = rc.ORDER_TYPE_SELL if p.type == rc.POSITION_TYPE_BUY else rc.ORDER_TYPE_BUY
    return TradeRequest(action=rc.TRADE_ACTION_DEAL, symbol=p.symbol, volume=p.volume, type=opposite,
                        position=p.ticket, magic=p.magic, comment=comment)


def _clamp_volume(spec: SymbolSpec, volume: Decimal) -> Decimal:
    steps = ((volume - spec.volume_min) / spec.volume_step).to_integral_value(ROUND_DOWN)
    v = spec.volume_min + max(steps, ZERO) * spec.volume_step
    return min(v, spec.volume_max)


# --- strategies --------------------------------------------------------------------------------

@dataclass
class RandomTrader:
    """Each decision: with `close_probability` close one random open position; else with
    `open_probability` (and fewer than `max_positions` open) open a random side with a
    random volume in [volume_min, volume_max] (symbol steps), optional SL/TP in points."""

    KEYS = {"every", "open_probability", "close_probability", "volume_min", "volume_max", "max_positions",
            "sl_points", "tp_points", "magic"}
    rng: random.Random
    spec: SymbolSpec
    every_ms: int
    p_open: int
    p_close: int
    vmin: Decimal
    vmax: Decimal
    max_positions: int
    sl_points: int
    tp_points: int
    magic: int

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> dict:
        _check_keys(params, cls.KEYS)
        vmin, vmax = _dec(params, "volume_min", "0.01"), _dec(params, "volume_max", "0.10")
        if vmax < vmin:
            raise StrategyParamError("volume_max", f"{vmax} is below volume_min {vmin}")
        return dict(every_ms=_every(params, "15m"), p_open=_prob(params, "open_probability", "0.2"),
                    p_close=_prob(params, "close_probability", "0.1"), vmin=vmin, vmax=vmax,
                    max_positions=_int(params, "max_positions", 3, 1), sl_points=_int(params, "sl_points", 0),
                    tp_points=_int(params, "tp_points", 0), magic=_int(params, "magic", 1001))

    @classmethod
    def build(cls, rng: random.Random, spec: SymbolSpec, params: Mapping[str, Any]) -> RandomTrader:
        return cls(rng, spec, **cls.check_params(params))

    def decide(self, view: StrategyView) -> Sequence[TradeRequest]:
        rng, spec = self.rng, self.spec
        positions = view.positions()
        if positions and rng.randrange(10_000) < self.p_close:
            return [_close(positions[rng.randrange(len(positions))], "random close")]
        if len(positions) < self.max_positions and rng.randrange(10_000) < self.p_open:
            side = rc.ORDER_TYPE_BUY if rng.randrange(2) == 0 else rc.ORDER_TYPE_SELL
            lo = int((self.vmin - spec.volume_min) / spec.volume_step)
            hi = int((self.vmax - spec.volume_min) / spec.volume_step)
            volume = _clamp_volume(spec, spec.volume_min + rng.randint(max(lo, 0), max(hi, 0)) * spec.volume_step)
            sl = tp = ZERO
            tick = view.tick()
            sign = 1 if side == rc.ORDER_TYPE_BUY else -1
            ref = tick.ask if side == rc.ORDER_TYPE_BUY else tick.bid
            if self.sl_points:
                sl = ref - sign * self.sl_points * spec.point
            if self.tp_points:
                tp = ref + sign * self.tp_points * spec.point
            if sl < 0 or tp < 0:
                sl = tp = ZERO
            return [_market(spec, side, volume, "random open", self.magic, sl, tp)]
        return []


@dataclass
class Martingale:
    """Opens `volume` on `side` (buy, sell, or random per cycle); each time the market moves
    `step_points` against the newest position, opens `multiplier` x its volume on the same
    side (capped by the symbol's maximum). Closes everything when the floating profit
    reaches `take_profit` (money; 0 = never). It never cuts losses."""

    KEYS = {"every", "volume", "multiplier", "step_points", "take_profit", "side", "magic"}
    rng: random.Random
    spec: SymbolSpec
    every_ms: int
    volume: Decimal
    multiplier: Decimal
    step_points: int
    take_profit: Decimal
    side: str
    magic: int
    cycle_side: int = -1

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> dict:
        _check_keys(params, cls.KEYS)
        side = params.get("side", "random")
        if side not in ("buy", "sell", "random"):
            raise StrategyParamError("side", f"expected buy, sell or random, got {side!r}")
        return dict(every_ms=_every(params, "1m"), volume=_dec(params, "volume", "0.10"),
                    multiplier=_dec(params, "multiplier", "2"), step_points=_int(params, "step_points", 100, 1),
                    take_profit=_dec(params, "take_profit", "0", positive=False), side=side,
                    magic=_int(params, "magic", 2002))

    @classmethod
    def build(cls, rng: random.Random, spec: SymbolSpec, params: Mapping[str, Any]) -> Martingale:
        return cls(rng, spec, **cls.check_params(params))

    def decide(self, view: StrategyView) -> Sequence[TradeRequest]:
        spec = self.spec
        positions = view.positions()
        if not positions:
            if self.side == "random":
                self.cycle_side = rc.ORDER_TYPE_BUY if self.rng.randrange(2) == 0 else rc.ORDER_TYPE_SELL
            else:
                self.cycle_side = rc.ORDER_TYPE_BUY if self.side == "buy" else rc.ORDER_TYPE_SELL
            return [_market(spec, self.cycle_side, _clamp_volume(spec, self.volume), "martingale 1", self.magic)]
        floating = sum((p.profit + p.swap for p in positions), ZERO)
        if self.take_profit and floating >= self.take_profit:
            return [_close(p, "martingale take profit") for p in positions]
        newest = max(positions, key=lambda p: p.ticket)
        tick = view.tick()
        if newest.type == rc.POSITION_TYPE_BUY:
            adverse = (newest.price_open - tick.ask) / spec.point
            side = rc.ORDER_TYPE_BUY
        else:
            adverse = (tick.bid - newest.price_open) / spec.point
            side = rc.ORDER_TYPE_SELL
        if adverse >= self.step_points:
            volume = _clamp_volume(spec, newest.volume * self.multiplier)
            return [_market(spec, side, volume, f"martingale {len(positions) + 1}", self.magic)]
        return []


@dataclass
class MaCross:
    """Samples the bid once per decision; when the `fast`-sample mean crosses the
    `slow`-sample mean, closes the opposite position and opens `volume` with the cross."""

    KEYS = {"every", "fast", "slow", "volume", "magic"}
    rng: random.Random  # unused: the strategy is deterministic given the prices
    spec: SymbolSpec
    every_ms: int
    fast: int
    slow: int
    volume: Decimal
    magic: int
    samples: deque | None = None
    last_sign: int = 0

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> dict:
        _check_keys(params, cls.KEYS)
        fast, slow = _int(params, "fast", 5, 1), _int(params, "slow", 20, 2)
        if fast >= slow:
            raise StrategyParamError("fast", f"must be below slow ({fast} >= {slow})")
        return dict(every_ms=_every(params, "15m"), fast=fast, slow=slow, volume=_dec(params, "volume", "0.10"),
                    magic=_int(params, "magic", 3003))

    @classmethod
    def build(cls, rng: random.Random, spec: SymbolSpec, params: Mapping[str, Any]) -> MaCross:
        return cls(rng, spec, **cls.check_params(params))

    def decide(self, view: StrategyView) -> Sequence[TradeRequest]:
        if self.samples is None:
            self.samples = deque(maxlen=self.slow)
        self.samples.append(view.tick().bid)
        if len(self.samples) < self.slow:
            return []
        values = list(self.samples)
        fast = sum(values[-self.fast:], ZERO) / self.fast
        slow = sum(values, ZERO) / self.slow
        sign = (fast > slow) - (fast < slow)
        if sign == 0 or sign == self.last_sign:
            return []
        first = self.last_sign == 0
        self.last_sign = sign
        if first:
            return []  # wait for a real cross, not the initial ordering
        want = rc.POSITION_TYPE_BUY if sign > 0 else rc.POSITION_TYPE_SELL
        out: list[TradeRequest] = [_close(p, "ma cross exit") for p in view.positions() if p.type != want]
        out.append(_market(self.spec, rc.ORDER_TYPE_BUY if sign > 0 else rc.ORDER_TYPE_SELL,
                           _clamp_volume(self.spec, self.volume), "ma cross entry", self.magic))
        return out


STRATEGIES: dict[str, Any] = {"random": RandomTrader, "martingale": Martingale, "ma_cross": MaCross}


# --- a user's own strategy class ---------------------------------------------------------------

STRATEGY_METHODS = ("check_params", "build", "decide")  # the interface every strategy above has


class StrategyLoadError(ValueError):
    """A user strategy that cannot be used: the file, the class or its interface (one line)."""


def is_strategy_ref(kind: str) -> bool:
    """`path/to/file.py:ClassName` names a user's class; a bare word names a built-in strategy."""
    path, sep, name = kind.rpartition(":")
    return bool(sep) and path.endswith(".py") and bool(name)


def load_strategy(ref: str, base_dir: str | os.PathLike[str] = ".") -> type:
    """The class `ClassName` of `path/to/file.py:ClassName` (a relative path from `base_dir`),
    with the interface of the built-in strategies: classmethods ``check_params(params) -> dict``
    and ``build(rng, spec, params)``, and ``decide(view) -> [TradeRequest]`` on an instance that
    has ``every_ms``. StrategyLoadError (one line) when the file, the class or a method is
    missing, or the file fails to import."""
    if not is_strategy_ref(ref):
        raise StrategyLoadError(f"{ref!r}: expected path/to/file.py:ClassName")
    path_text, _, name = ref.rpartition(":")
    path = Path(base_dir) / path_text
    if not path.is_file():
        raise StrategyLoadError(f"{path_text}: no such file")
    module_name = "mtbridge_user_strategy_" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise StrategyLoadError(f"{path_text}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's file: any error is reported as one line
        where = ""
        tb = exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == str(path):
                where = f" (line {tb.tb_lineno})"
            tb = tb.tb_next
        raise StrategyLoadError(f"{path_text}: cannot import{where}: {type(exc).__name__}: {exc}") from None
    cls = getattr(module, name, None)
    if not isinstance(cls, type):
        found = sorted(n for n, v in vars(module).items()
                       if isinstance(v, type) and v.__module__ == module_name)
        raise StrategyLoadError(f"{path_text}: no class {name!r} (classes: {', '.join(found) or 'none'})")
    missing = [m for m in STRATEGY_METHODS if not callable(getattr(cls, m, None))]
    if missing:
        raise StrategyLoadError(f"{path_text}:{name} is not a strategy: no {', '.join(missing)} "
                                f"(needs {', '.join(STRATEGY_METHODS)}, as the built-in strategies; docs/simulator.md)")
    return cls


def check_user_params(cls: type, params: Mapping[str, Any]) -> None:
    """`cls.check_params`, its own errors as StrategyParamError (a user's class may raise anything)."""
    try:
        cls.check_params(dict(params))  # type: ignore[attr-defined]
    except StrategyParamError:
        raise
    except Exception as exc:
        raise StrategyParamError("params", f"{cls.__name__}.check_params: {type(exc).__name__}: {exc}") from None
