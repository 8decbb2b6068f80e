"""One source for the pending order kinds (issue 15, pending orders gap 5): bridge/protocol/orders.py.

The wire's `order_type` choices, the engine's kinds, the simulated terminal's and the scenario
runner's platform numbers all come from `OrderKind`; nothing else spells the list."""

from __future__ import annotations

import re
from pathlib import Path

from bridge.copytrading import pending_state
from bridge.protocol import orders
from bridge.protocol.orders import MT4_ORDER_KINDS, ORDER_TYPES, OrderKind
from bridge.protocol.schema import SCHEMA
from simulator import runner, scenario
from simulator.server import retcodes as rc
from simulator.terminals import orders as terminal_orders

ROOT = Path(__file__).resolve().parents[2]
# mql5.com, MQL5 book "Order types" (ENUM_ORDER_TYPE), verbatim
MT5_DOC = {"ORDER_TYPE_BUY_STOP_LIMIT": "Buy Limit pending order to be placed when the price reaches the specified "
                                        "upper level",
           "ORDER_TYPE_SELL_STOP_LIMIT": "Sell Limit pending order to be placed when the price reaches the specified "
                                         "lower level"}


def test_every_user_takes_the_one_definition():
    assert pending_state.OrderKind is OrderKind
    for type_ in ("order_placed", "place_order"):
        (field,) = [f for f in SCHEMA[type_].fields if f.name == "order_type"]
        assert field.choices == ORDER_TYPES == tuple(k.value for k in OrderKind)
    assert terminal_orders.KINDS == {k.code: k.value for k in OrderKind}
    assert set(runner._PENDING) == set(scenario.PENDING_ACTIONS) == {k.value for k in MT4_ORDER_KINDS}


def test_the_platform_numbers_are_the_servers():
    for kind in OrderKind:
        assert kind.code == getattr(rc, "ORDER_TYPE_" + kind.name), kind
        assert OrderKind.of_code(kind.code) is kind
    assert OrderKind.of_code(rc.ORDER_TYPE_BUY) is None
    assert set(MT5_DOC) == {"ORDER_TYPE_" + k.name for k in OrderKind if k.stop_limit}
    assert [k for k in OrderKind if k.stop_limit] == [OrderKind.BUY_STOP_LIMIT, OrderKind.SELL_STOP_LIMIT]
    assert OrderKind.BUY_STOP_LIMIT.side == "buy" and OrderKind.SELL_STOP_LIMIT.side == "sell"
    assert OrderKind.BUY_STOP_LIMIT.reversed is None and OrderKind.BUY_LIMIT.reversed is OrderKind.SELL_STOP


def test_no_other_python_module_spells_the_list():
    spelled = re.compile(r'"(?:buy|sell)_(?:limit|stop|stop_limit)"')
    found = [str(p.relative_to(ROOT)) for d in ("bridge", "simulator", "mtbridge_demo")
             for p in sorted((ROOT / d).rglob("*.py")) if spelled.search(p.read_text(encoding="utf-8"))]
    assert found == [str(Path(orders.__file__).relative_to(ROOT))]
