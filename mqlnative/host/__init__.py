"""The Python side of running the real EA sources natively: terminal models on the simulated
trade server, served to the EA's runtime through host calls (docs/mql-e2e.md).

- `Mt5Terminal` / `Mt5Program`: positions, orders, deals, history selection, OrderSend /
  OrderCheck, OnTradeTransaction events in MT5's order, hedging and netting accounts;
- `Mt4Terminal` / `Mt4Program`: the order pool, partial-close chains ("to #N" / "from #N"),
  OrderSend / OrderClose / OrderModify with MQL4 error codes, MarketInfo, RefreshRates;
- shared: time on a `ManualClock` / `WallClock` in the server's zone, terminal-wide global
  variables, Print captured per program, account / symbol / terminal / MQL info;
- `Dispatcher` (msgpack host calls), `Constants` (values from the runtime's headers),
  `LoadedEA` (ctypes: one copy of the .so per EA instance).
"""

from mqlnative.host.clock import ManualClock, WallClock
from mqlnative.host.mt4 import Mt4Program, Mt4Terminal
from mqlnative.host.mt5 import Mt5Program, Mt5Terminal
from mqlnative.host.terminal import Enum, Out, Program, Terminal

__all__ = ["Enum", "ManualClock", "Mt4Program", "Mt4Terminal", "Mt5Program", "Mt5Terminal", "Out", "Program",
           "Terminal", "WallClock"]
