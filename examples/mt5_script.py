"""A MetaTrader5 Python script that runs against the real terminal or the simulator.

On Windows with the official package (``pip install MetaTrader5``) and a running terminal,
it uses the real API. Elsewhere it uses ``simulator.mt5``; choose the scenario with::

    MTBRIDGE_SCENARIO=examples/scenarios/quiet_week.toml MTBRIDGE_SEED=1 python examples/mt5_script.py

It uses only the documented MetaTrader5 API (plus `sleep`, which the simulator provides to
let virtual time pass, falling back to time.sleep on the real package).
"""

import sys
import time
from datetime import datetime, timedelta, timezone

try:
    import MetaTrader5 as mt5
except ImportError:  # not on Windows: the simulated terminal
    import simulator.mt5 as mt5

sleep = getattr(mt5, "sleep", time.sleep)
SYMBOL = "EURUSD"


def main() -> int:
    if not mt5.initialize():
        print("initialize() failed:", mt5.last_error())
        return 1
    print("version:", mt5.version()[0])
    account = mt5.account_info()
    print(f"account: {account.currency} leverage 1:{account.leverage} balance {account.balance:.2f}")

    info = mt5.symbol_info(SYMBOL)
    if info is None or not mt5.symbol_select(SYMBOL, True):
        print("symbol unavailable:", mt5.last_error())
        return 1
    print(f"symbol: {info.name} digits {info.digits} contract {info.trade_contract_size:.0f} "
          f"min lot {info.volume_min}")
    print("groups *USD*,!EUR*:", sorted(s.name for s in mt5.symbols_get(group="*USD*,!EUR*"))[:3])

    for _ in range(60):  # watch the market for a while
        tick = mt5.symbol_info_tick(SYMBOL)
    print(f"tick: bid {tick.bid:.5f} ask {tick.ask:.5f} spread {round((tick.ask - tick.bid) / info.point)}")

    margin = mt5.order_calc_margin(mt5.ORDER_TYPE_BUY, SYMBOL, 0.5, tick.ask)
    print(f"margin for 0.5 lot: {margin:.2f}")

    point = info.point
    request = {
        "action": mt5.TRADE_ACTION_DEAL, "symbol": SYMBOL, "volume": 0.5, "type": mt5.ORDER_TYPE_BUY,
        "price": tick.ask, "sl": round(tick.bid - 300 * point, info.digits),
        "tp": round(tick.bid + 600 * point, info.digits), "deviation": 20, "magic": 234000,
        "comment": "python script open", "type_time": mt5.ORDER_TIME_GTC,
        "type_filling": mt5.ORDER_FILLING_FOK,
    }
    check = mt5.order_check(request)
    print("check:", check.retcode, check.comment)
    result = mt5.order_send(request)
    print("open:", result.retcode, "DONE" if result.retcode == mt5.TRADE_RETCODE_DONE else result.comment)
    bad = mt5.order_send({**request, "volume": 0.001})
    print("bad volume:", bad.retcode, bad.retcode == mt5.TRADE_RETCODE_INVALID_VOLUME)

    for _ in range(30):
        sleep(60)  # one virtual minute at a time in the simulator
    positions = mt5.positions_get(symbol=SYMBOL)
    mine = [p for p in positions if p.magic == 234000]
    print("positions:", len(mine), "buy" if mine and mine[0].type == mt5.POSITION_TYPE_BUY else "-")

    for p in mine:
        tick = mt5.symbol_info_tick(SYMBOL)
        close = mt5.order_send({
            "action": mt5.TRADE_ACTION_DEAL, "symbol": SYMBOL, "volume": p.volume,
            "type": mt5.ORDER_TYPE_SELL, "position": p.ticket, "price": tick.bid, "deviation": 20,
            "magic": 234000, "comment": "python script close", "type_filling": mt5.ORDER_FILLING_FOK,
        })
        print("close:", close.retcode)

    now = datetime.fromtimestamp(mt5.symbol_info_tick(SYMBOL).time, tz=timezone.utc)
    deals = mt5.history_deals_get(now - timedelta(days=1), now + timedelta(minutes=1), group="*USD*")
    ours = [d for d in deals if d.magic == 234000]
    print("deals:", len(ours), "entries", [d.entry for d in ours])
    rates = mt5.copy_rates_from_pos(SYMBOL, mt5.TIMEFRAME_M15, 0, 4)
    print("M15 bars:", len(rates), "fields", ",".join(rates.dtype.names[:5]) if len(rates) else "-")
    ticks = mt5.copy_ticks_from(SYMBOL, now - timedelta(minutes=10), 5, mt5.COPY_TICKS_ALL)
    print("ticks:", len(ticks))
    print(f"equity: {mt5.account_info().equity:.2f}")
    mt5.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
