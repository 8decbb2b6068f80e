"""Strict mode: a market order refused where a live MT5 server may refuse it (opt-in).

By default the simulated server fills a market order at the current quote whatever the
request's `price`, `deviation` and `type_filling` say (docs/simulator.md, "Accepted here, may
be refused live"). With `TradeServer.strict` (a scenario's `strict = true`, `mtbridge simulate
--strict`, `python -m simulator.mt5 --strict`) a market order (TRADE_ACTION_DEAL, opening or
closing) is refused, in this order:

* no price, or price 0 -> TRADE_RETCODE_INVALID_PRICE (10015): send the current ask (buy) /
  bid (sell) from `symbol_info_tick()`, as the order_send example of the MetaTrader5 docs does;
* a price more than `deviation` points from the current fill price -> TRADE_RETCODE_REQUOTE
  (10004), the instant-execution answer (the result carries the current bid/ask to retry with);
* filling ORDER_FILLING_RETURN -> TRADE_RETCODE_INVALID_FILL (10030): the simulated symbols
  are market execution with SYMBOL_FILLING_FOK | SYMBOL_FILLING_IOC (what `symbol_info()`
  reports), and RETURN is not a market-execution policy.

A Python int `volume` is the facade's check (`simulator.mt5._trading`): the server never sees
the Python type. Pending orders, SL/TP and removals are not affected.
"""

from __future__ import annotations

from decimal import Decimal

from simulator.server import retcodes as rc
from simulator.server.records import TradeRequest
from simulator.server.state import _Refused

MARKET_FILLINGS = (rc.ORDER_FILLING_FOK, rc.ORDER_FILLING_IOC)  # symbol_info().filling_mode FOK | IOC
_FILLING_NAMES = {rc.ORDER_FILLING_FOK: "FOK", rc.ORDER_FILLING_IOC: "IOC", rc.ORDER_FILLING_RETURN: "RETURN"}


def check_market_order(request: TradeRequest, price: Decimal, fill: Decimal, point: Decimal, buy: bool) -> None:
    """Raise _Refused when a live server may refuse this market order (see the module doc).
    `price`: the request's price on the point grid; `fill`: the current ask (buy) / bid (sell)."""
    side = "ask" if buy else "bid"
    if not price:
        raise _Refused(rc.TRADE_RETCODE_INVALID_PRICE,
                       f"strict: a market order needs a price (the current {side} {fill})")
    off = int(abs(price - fill) / point)
    deviation = max(int(request.deviation), 0)
    if off > deviation:
        raise _Refused(rc.TRADE_RETCODE_REQUOTE, f"requote: price {price} is {off} points from the current "
                                                 f"{side} {fill} (deviation {deviation})")
    if request.type_filling not in MARKET_FILLINGS:
        name = _FILLING_NAMES.get(request.type_filling, repr(request.type_filling))
        raise _Refused(rc.TRADE_RETCODE_INVALID_FILL, f"strict: filling mode {name} is not supported "
                                                      "(market execution: FOK or IOC)")
