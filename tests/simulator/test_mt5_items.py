"""Issue 12 section 2, item by item: "MetaTrader5 scripts run unchanged on `simulator.mt5`"."""

import fnmatch
import os
import subprocess
import sys
import tomllib
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

import simulator.mt5 as mt5
from simulator.mt5._terminal import default_scenario_path

ROOT = Path(__file__).resolve().parents[2]

SHORT = """
[scenario]
name = "short"
start = 2024-01-09T07:00:00Z
duration = "{duration}"
seed = 3
mt5_history_bars = {history}
{extra}

[symbols.EURUSD]
start_bid = "1.09500"
spread_points = 6
volatility_points = "2"
interval_ms = 60000
{symbols}

[[accounts]]
id = "usd"
email = "usd@example.com"
type = "mt5_standard"
currency = "{currency}"
leverage = 500
deposit = "10000"
master_password = "UsdTrade2024"
investor_password = "UsdView2024"
"""


def _scenario(tmp_path, *, duration="2h", history=3000, extra="", symbols="", currency="USD", name="s.toml"):
    path = tmp_path / name
    path.write_text(SHORT.format(duration=duration, history=history, extra=extra, symbols=symbols,
                                 currency=currency))
    return str(path)


def _pair(symbol, bid, spread=8):
    return f'[symbols.{symbol}]\nstart_bid = "{bid}"\nspread_points = {spread}\nvolatility_points = "2"\n' \
           f"interval_ms = 60000\n"


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    for k in [k for k in os.environ if k.startswith("MTBRIDGE_")]:
        monkeypatch.delenv(k)
    mt5.shutdown()
    yield
    mt5.shutdown()


def _run_m(script_text, tmp_path, *args):
    script = tmp_path / "script.py"
    script.write_text(script_text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MTBRIDGE_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "simulator.mt5", *args, str(script)], capture_output=True,
                          text=True, timeout=300, env=env, cwd=tmp_path)


# --- 2.1 "`initialize()` with no arguments works: it opens a packaged default scenario" ----------

def test_initialize_without_arguments_opens_the_packaged_default_scenario():
    assert mt5.initialize() is True, mt5.last_error()
    account = mt5.account_info()
    assert account.currency == "USD" and account.balance == 10000.0
    names = {s.name for s in mt5.symbols_get()}
    assert {"EURUSD", "GBPUSD", "USDJPY", "USDCHF", "EURJPY", "GBPJPY", "XAUUSD"} <= names
    assert mt5.symbol_info_tick("USDJPY") is not None  # every default symbol is quoted
    assert mt5.terminal_info().path == os.path.abspath(default_scenario_path())


def test_the_default_scenario_is_package_data():
    # an installed (non-editable) package carries it: simulator/data is declared package data
    path = Path(default_scenario_path())
    assert path.is_file() and path.parent.parent == ROOT / "simulator"
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["simulator"]
    assert any(fnmatch.fnmatch(f"data/{path.name}", p) for p in patterns)


# --- 2.2 the order_send example's "sl": price - 100 * point, and a complete OrderSendResult -------

def test_prices_within_half_a_point_are_normalised_and_the_result_is_complete():
    mt5.initialize()
    symbol = "USDJPY"
    point = mt5.symbol_info(symbol).point
    price = mt5.symbol_info_tick(symbol).ask
    result = mt5.order_send({"action": mt5.TRADE_ACTION_DEAL, "symbol": symbol, "volume": 0.1,
                             "type": mt5.ORDER_TYPE_BUY, "price": price, "sl": price - 100 * point,
                             "tp": price + 100 * point, "deviation": 20, "magic": 234000,
                             "comment": "python script open", "type_time": mt5.ORDER_TIME_GTC,
                             "type_filling": mt5.ORDER_FILLING_RETURN})
    assert result.retcode == mt5.TRADE_RETCODE_DONE, result.comment
    (pos,) = mt5.positions_get(symbol=symbol)
    digits = mt5.symbol_info(symbol).digits
    assert pos.sl == round(price - 100 * point, digits) and pos.tp == round(price + 100 * point, digits)
    # every field filled like the real terminal; the order ticket is the position ticket
    assert result.order == pos.ticket and result.deal > 0 and result.volume == 0.1 and result.price == price
    assert result.bid > 0 and result.ask > result.bid and result.request_id > 0
    assert result.comment == "Request executed" and result.retcode_external == 0
    assert result.request.sl == price - 100 * point  # the request echoed as sent
    close = mt5.order_send({"action": mt5.TRADE_ACTION_DEAL, "symbol": symbol, "volume": 0.1,
                            "type": mt5.ORDER_TYPE_SELL, "position": result.order,
                            "price": mt5.symbol_info_tick(symbol).bid})
    assert close.retcode == mt5.TRADE_RETCODE_DONE and close.request_id == result.request_id + 1
    assert mt5.positions_total() == 0  # the close closed it, it did not open a new position


def test_a_price_half_a_point_from_two_grid_prices_is_refused():
    mt5.initialize()
    tick = mt5.symbol_info_tick("EURUSD")
    tie = Decimal(repr(round(tick.bid - 0.001, 5))) + Decimal("0.000005")  # 1.094005: 1.09400 or 1.09401?
    r = mt5.order_send({"action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.1,
                        "type": mt5.ORDER_TYPE_BUY, "price": tick.ask, "sl": tie})
    assert r.retcode == mt5.TRADE_RETCODE_INVALID_STOPS and mt5.positions_total() == 0


# --- 2.3 "When the scenario ends, calls behave as with a terminal that has gone" -----------------

def test_a_polling_loop_ends_with_the_scenario(tmp_path):
    assert mt5.initialize(path=_scenario(tmp_path, duration="2h", history=0))
    quotes = 0
    while True:
        tick = mt5.symbol_info_tick("EURUSD")
        if tick is None:
            break
        quotes += 1
    assert quotes == 119  # one a minute for two hours, the first delivered by initialize()
    code, text = mt5.last_error()
    assert code == mt5.RES_E_INTERNAL_FAIL_CONNECT and "scenario 'short' ended" in text
    assert mt5.account_info() is None and mt5.positions_get() is None and mt5.version() is None
    assert mt5.last_error()[0] == mt5.RES_E_INTERNAL_FAIL_CONNECT
    mt5.sleep(60)
    assert mt5.last_error()[0] == mt5.RES_E_INTERNAL_FAIL_CONNECT


def test_python_m_ends_a_while_true_loop_with_a_message(tmp_path):
    scenario = _scenario(tmp_path, duration="1h", history=0)
    run = _run_m("import MetaTrader5 as mt5\nmt5.initialize()\nwhile True:\n    mt5.symbol_info_tick('EURUSD')\n",
                 tmp_path, "--scenario", scenario)
    assert run.returncode == 0, run.stderr
    assert "simulator.mt5: the script was stopped" in run.stderr and "scenario 'short' ended" in run.stderr


def test_sleeping_past_the_end_ends_the_script(tmp_path):
    scenario = _scenario(tmp_path, duration="1h", history=0)
    run = _run_m("import time\nimport MetaTrader5 as mt5\nmt5.initialize()\nwhile True:\n    time.sleep(600)\n"
                 "    print(mt5.symbol_info_tick('EURUSD').time)\n", tmp_path, "--scenario", scenario)
    assert run.returncode == 0, run.stderr
    assert len(run.stdout.split()) == 5 and "the script was stopped" in run.stderr  # 10, 20 .. 50 minutes


# --- 2.4 "every clock the script can read is virtual" ------------------------------------------

def test_every_clock_of_a_script_is_virtual(tmp_path):
    script = """
import time
from datetime import date, datetime, timedelta, timezone
import MetaTrader5 as mt5
mt5.initialize()
tick = mt5.symbol_info_tick("EURUSD")
r = mt5.order_send({"action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.1,
                    "type": mt5.ORDER_TYPE_BUY, "price": tick.ask})
time.sleep(90)
print("clocks", int(time.time()), datetime.now().isoformat(), datetime.utcnow().isoformat(), date.today())
print("server", mt5.symbol_info_tick("EURUSD").time)
deals = mt5.history_deals_get(datetime.now() - timedelta(days=1), datetime.now())
print("deals", [d.order for d in deals if d.order], r.order)
"""
    run = _run_m(script, tmp_path)
    assert run.returncode == 0, run.stderr
    lines = dict(line.split(" ", 1) for line in run.stdout.splitlines())
    epoch, local, utc, today = lines["clocks"].split()
    from datetime import datetime, timezone
    server_time = int(lines["server"])  # trade-server wall clock as seconds, like MetaTrader5
    assert datetime.fromisoformat(local).replace(tzinfo=timezone.utc).timestamp() == server_time
    assert datetime.fromisoformat(utc).replace(tzinfo=timezone.utc).timestamp() == int(epoch)
    assert server_time - int(epoch) == 2 * 3600  # the default server clock is UTC+2 in January
    assert today == local[:10] and local.startswith("2024-01-09")
    orders, opened = lines["deals"].rsplit(" ", 1)
    assert orders == f"[{opened}]"  # history_deals_get(now - 1 day, now) finds the deal


# --- 2.5 order_calc_margin / order_calc_profit across currencies -------------------------------

def _feed_mid(symbol):
    """The mid of the symbol's latest feed quote (no account markup): the conversion rate."""
    now = mt5.symbol_info(symbol).time
    (quote,) = mt5.copy_ticks_range(symbol, now, now, mt5.COPY_TICKS_ALL)[-1:]
    return (Decimal(repr(float(quote["bid"]))) + Decimal(repr(float(quote["ask"])))) / 2


def test_calculations_across_currencies(tmp_path):
    assert mt5.initialize(path=_scenario(tmp_path, symbols=_pair("USDJPY", "150.000"), name="usdjpy.toml"))
    # USDJPY on a USD account: the profit in JPY converts at the close price
    assert mt5.order_calc_profit(mt5.ORDER_TYPE_BUY, "USDJPY", 1.0, 150.0, 150.3) == \
        float((Decimal("100000") * Decimal("0.3") / Decimal("150.3")).quantize(Decimal("0.01")))
    # a margin of 1 lot of USDJPY at 1:500 is 100 000 USD / 500 on the first tier
    assert mt5.order_calc_margin(mt5.ORDER_TYPE_BUY, "USDJPY", 1.0, 150.0) == 200.0
    mt5.shutdown()
    assert mt5.initialize(path=_scenario(tmp_path, symbols=_pair("EURJPY", "160.000"), name="eurjpy.toml"))
    mid = _feed_mid("EURUSD")
    # EURJPY: JPY -> EUR at the given price, EUR -> USD at the EURUSD quote (no USDJPY needed)
    profit = mt5.order_calc_profit(mt5.ORDER_TYPE_BUY, "EURJPY", 1.0, 160.0, 160.5)
    assert profit == float((Decimal("100000") * Decimal("0.5") / Decimal("160.5") * mid).quantize(Decimal("0.01")))
    assert mt5.order_calc_margin(mt5.ORDER_TYPE_BUY, "EURJPY", 1.0, 160.0) == \
        float((Decimal("100000") * mid / 500).quantize(Decimal("0.01")))


def test_gold_on_a_eur_account(tmp_path):
    gold = '[symbols.XAUUSD]\nstart_bid = "2000.00"\nspread_points = 25\nvolatility_points = "5"\ninterval_ms = 60000\n'
    assert mt5.initialize(path=_scenario(tmp_path, symbols=gold, currency="EUR"))
    mid = _feed_mid("EURUSD")
    profit = mt5.order_calc_profit(mt5.ORDER_TYPE_BUY, "XAUUSD", 1.0, 2000.0, 2010.0)
    contract = Decimal(repr(mt5.symbol_info("XAUUSD").trade_contract_size))
    assert profit == float((contract * 10 / mid).quantize(Decimal("0.01")))
    assert mt5.order_calc_margin(mt5.ORDER_TYPE_BUY, "XAUUSD", 0.01, 2000.0) > 0


# --- 2.6 "copy_rates_from_pos(symbol, TIMEFRAME_M1, 0, 50) at the start returns" 50 bars -------

def test_warm_up_history_before_the_start(tmp_path):
    path = _scenario(tmp_path, history=3000)
    assert mt5.initialize(path=path)
    rates = mt5.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_M1, 0, 50)
    assert len(rates) == 50 and np.all(np.diff(rates["time"]) == 60)
    assert rates["close"][-1] == 1.095  # the current bar: the scenario's first quote
    assert abs(rates["close"][-2] - 1.095) < 0.001  # the history leads into it
    assert len(mt5.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_M15, 0, 200)) == 200
    same = rates.copy()
    mt5.shutdown()
    assert mt5.initialize(path=path)
    assert np.array_equal(mt5.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_M1, 0, 50), same)  # deterministic
    mt5.shutdown()
    os.environ["MTBRIDGE_SEED"] = "4"
    try:
        assert mt5.initialize(path=path)
        assert not np.array_equal(mt5.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_M1, 0, 50), same)
    finally:
        del os.environ["MTBRIDGE_SEED"]


def test_warm_up_history_is_configurable_and_skips_the_weekend(tmp_path):
    path = Path(_scenario(tmp_path, history=10, name="monday.toml"))
    path.write_text(path.read_text().replace("2024-01-09T07:00:00Z", "2024-01-08T00:00:00Z")
                    .replace('duration = "2h"', 'duration = "2h"\nserver_timezone = "UTC"'))
    assert mt5.initialize(path=str(path))
    rates = mt5.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_M1, 0, 50)
    assert len(rates) == 11  # ten bars of history and the current one
    from datetime import datetime, timezone
    assert datetime.fromtimestamp(int(rates["time"][0]), timezone.utc).weekday() == 4  # Friday's close


# --- 2.7 numpy structured arrays with the official dtypes --------------------------------------

def test_rates_and_ticks_are_numpy_arrays_with_the_official_dtypes():
    mt5.initialize()
    rates = mt5.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_M5, 0, 20)
    assert rates.dtype == np.dtype([("time", "<i8"), ("open", "<f8"), ("high", "<f8"), ("low", "<f8"),
                                    ("close", "<f8"), ("tick_volume", "<u8"), ("spread", "<i4"),
                                    ("real_volume", "<u8")])
    ticks = mt5.copy_ticks_range("EURUSD", int(rates["time"][0]), int(rates["time"][-1]), mt5.COPY_TICKS_ALL)
    assert ticks.dtype == np.dtype([("time", "<i8"), ("bid", "<f8"), ("ask", "<f8"), ("last", "<f8"),
                                    ("volume", "<u8"), ("time_msc", "<i8"), ("flags", "<u4"),
                                    ("volume_real", "<f8")])
    assert rates["close"].dtype == np.float64 and len(rates["close"]) == 20
    assert np.all(rates["low"] <= rates["high"]) and np.all(ticks["bid"] < ticks["ask"])
    assert np.all(ticks["time_msc"] // 1000 == ticks["time"])
    assert len(mt5.copy_ticks_from("EURUSD", 0, 5, mt5.COPY_TICKS_TRADE)) == 0


def test_pandas_reads_rates_as_columns():
    pd = pytest.importorskip("pandas")
    mt5.initialize()
    frame = pd.DataFrame(mt5.copy_rates_from_pos("GBPUSD", mt5.TIMEFRAME_H1, 0, 10))
    assert list(frame.columns) == ["time", "open", "high", "low", "close", "tick_volume", "spread", "real_volume"]
    assert len(frame) == 10 and frame["close"].dtype == "float64"


def test_the_audits_stop_loss_is_accepted_on_the_grid():
    # issue 12 item 2.2: "refused today (`10016 sl: price 1.0941400000000001 has more than 5 digits`)"
    mt5.initialize()
    tick = mt5.symbol_info_tick("EURUSD")
    assert tick.bid - 1.09414 > 0.0005  # far enough below the market for a buy's stop loss
    r = mt5.order_send({"action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.1,
                        "type": mt5.ORDER_TYPE_BUY, "price": tick.ask, "sl": 1.0941400000000001})
    assert r.retcode == mt5.TRADE_RETCODE_DONE, r.comment
    assert mt5.positions_get(ticket=r.order)[0].sl == 1.09414
