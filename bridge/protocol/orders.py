"""Pending order types: the one definition (issue 15 items 3 and 6).

The wire's `order_type` values, the engine's order kinds (bridge/copytrading/pending_state.py),
the simulated terminal's and the scenario runner's platform types all come from `OrderKind`.
`code` is the platform's number: MT4's OP_BUYLIMIT..OP_SELLSTOP and MT5's
ORDER_TYPE_BUY_LIMIT..ORDER_TYPE_SELL_STOP_LIMIT share 2..7 (MT5 reference, ENUM_ORDER_TYPE;
MT4 has no stop-limit, 6 and 7 do not exist there).
"""

from __future__ import annotations

from enum import Enum


class OrderKind(str, Enum):
    BUY_LIMIT = "buy_limit"
    SELL_LIMIT = "sell_limit"
    BUY_STOP = "buy_stop"
    SELL_STOP = "sell_stop"
    # MT5 only (ENUM_ORDER_TYPE, mql5.com/en/book/automation/experts/experts_order_type): "Buy
    # Limit pending order to be placed when the price reaches the specified upper level"; `price`
    # is that level, the wire's `stoplimit` the Limit order's price (MqlTradeRequest.stoplimit)
    BUY_STOP_LIMIT = "buy_stop_limit"
    SELL_STOP_LIMIT = "sell_stop_limit"

    @property
    def side(self) -> str:
        """The wire's side of the position a fill makes: "buy" or "sell"."""
        return "buy" if self.value.startswith("buy") else "sell"

    @property
    def stop_limit(self) -> bool:
        return self is OrderKind.BUY_STOP_LIMIT or self is OrderKind.SELL_STOP_LIMIT

    @property
    def code(self) -> int:
        """ENUM_ORDER_TYPE / MT4 OP_* number."""
        return _CODES[self]

    @property
    def reversed(self) -> OrderKind | None:
        """A reversed copy's kind at the same price: the opposite side that triggers at the same
        level (a buy limit waits below the market; a sell below the market is a sell stop).
        None for a stop-limit: its mirror (a sell stop-limit) triggers on the other side of the
        market, so no kind reverses it at the same two prices."""
        return _REVERSED.get(self)

    @classmethod
    def of_code(cls, code: int) -> OrderKind | None:
        """The kind of a platform order type number, None for a market order or another type."""
        return _BY_CODE.get(code)


_CODES = {OrderKind.BUY_LIMIT: 2, OrderKind.SELL_LIMIT: 3, OrderKind.BUY_STOP: 4, OrderKind.SELL_STOP: 5,
          OrderKind.BUY_STOP_LIMIT: 6, OrderKind.SELL_STOP_LIMIT: 7}
_BY_CODE = {v: k for k, v in _CODES.items()}
_REVERSED = {OrderKind.BUY_LIMIT: OrderKind.SELL_STOP, OrderKind.SELL_STOP: OrderKind.BUY_LIMIT,
             OrderKind.SELL_LIMIT: OrderKind.BUY_STOP, OrderKind.BUY_STOP: OrderKind.SELL_LIMIT}

ORDER_TYPES: tuple[str, ...] = tuple(k.value for k in OrderKind)  # the wire's order_type choices
# the kinds both platforms have (MT4: OP_BUYLIMIT..OP_SELLSTOP)
MT4_ORDER_KINDS: tuple[OrderKind, ...] = tuple(k for k in OrderKind if not k.stop_limit)
