"""simulator.mt5 driven like the real package: a real script, bad requests, queries."""

import math
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import simulator.mt5 as mt5
from simulator.runner import Simulation
from simulator.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
QUIET = ROOT / "examples" / "scenarios" / "quiet_week.toml"


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(QUIET)


@pytest.fixture()
def sim(scenario):
    s = Simulation(scenario, 1, scrypt_n=2)
    mt5.attach(s, step="tick")
    s.run_until(scenario.start_ms + 10 * 3_600_000)  # Monday 10:00
    yield s
    mt5.shutdown()


def test_the_example_script_runs_unchanged_on_the_simulator():
    env = {**os.environ, "MTBRIDGE_SCENARIO": str(QUIET), "MTBRIDGE_SEED": "1"}
    run = subprocess.run([sys.executable, str(ROOT / "examples" / "mt5_script.py")], capture_output=True,
                         text=True, timeout=60, env=env, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "version: 500" in out
    assert "account: USD leverage 1:500 balance 10000.00" in out
    assert "check: 0 Done" in out
    assert "open: 10009 DONE" in out
    assert "bad volume: 10014 True" in out
    assert "positions: 1 buy" in out
    assert "close: 10009" in out
    assert "deals: 2 entries [0, 1]" in out
    assert "M15 bars: 4 fields time,open,high,low,close" in out
    again = subprocess.run([sys.executable, str(ROOT / "examples" / "mt5_script.py")], capture_output=True,
                           text=True, timeout=60, env=env, cwd=ROOT)
    assert again.stdout == out  # deterministic


def test_initialize_with_a_missing_scenario_fails_with_last_error(monkeypatch):
    mt5.shutdown()
    monkeypatch.setenv("MTBRIDGE_SCENARIO", "no/such/scenario.toml")
    assert mt5.initialize() is False
    assert mt5.last_error()[0] == mt5.RES_E_INTERNAL_FAIL_INIT and "no such file" in mt5.last_error()[1]
    assert mt5.account_info() is None
    assert mt5.last_error()[0] == mt5.RES_E_INTERNAL_FAIL_CONNECT


def _state():
    return (mt5.account_info(), mt5.positions_get(), mt5.orders_get())


def _buy(**over):
    tick = mt5.symbol_info_tick("EURUSD")
    req = {"action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.1, "type": mt5.ORDER_TYPE_BUY,
           "price": tick.ask, "deviation": 10, "magic": 7, "type_filling": mt5.ORDER_FILLING_FOK}
    req.update(over)
    return req


@pytest.mark.parametrize("over, retcode", [
    ({"symbol": "NOPE"}, mt5.TRADE_RETCODE_INVALID),
    ({"volume": 0.001}, mt5.TRADE_RETCODE_INVALID_VOLUME),
    ({"price": math.nan}, mt5.TRADE_RETCODE_INVALID_PRICE),
    ({"sl": 9.0}, mt5.TRADE_RETCODE_INVALID_STOPS),  # a buy's SL above the market
])
def test_bad_requests_get_the_retcode_and_change_nothing(sim, over, retcode):
    mt5.attach(sim, step="none")
    before = _state()
    result = mt5.order_send(_buy(**over))
    assert result.retcode == retcode
    assert result.request.symbol == _buy(**over)["symbol"]
    assert _state() == before


def test_trade_lifecycle_and_queries(sim):
    mt5.attach(sim, step="none")
    login = mt5.account_info().login
    r = mt5.order_send(_buy(volume=0.2, comment="t"))
    assert r.retcode == mt5.TRADE_RETCODE_DONE and r.volume == 0.2 and isinstance(r.price, float)
    mine = mt5.positions_get(symbol="EURUSD")
    pos = [p for p in mine if p.magic == 7][0]
    assert mt5.positions_get(ticket=pos.ticket)[0] == pos
    assert mt5.positions_get(group="*,!EUR*") == ()
    assert mt5.positions_total() == len(mt5.positions_get())
    tick = mt5.symbol_info_tick("EURUSD")
    pend = mt5.order_send({"action": mt5.TRADE_ACTION_PENDING, "symbol": "EURUSD", "volume": 0.1,
                           "type": mt5.ORDER_TYPE_BUY_LIMIT, "price": round(tick.ask - 0.005, 5)})
    assert pend.retcode == mt5.TRADE_RETCODE_PLACED
    assert [o.ticket for o in mt5.orders_get(ticket=pend.order)] == [pend.order]
    assert mt5.order_send({"action": mt5.TRADE_ACTION_REMOVE, "order": pend.order}).retcode == 10009
    mt5.advance(3600)
    close = mt5.order_send({"action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.1,
                            "type": mt5.ORDER_TYPE_SELL, "position": pos.ticket})
    assert close.retcode == mt5.TRADE_RETCODE_DONE
    assert mt5.positions_get(ticket=pos.ticket)[0].volume == 0.1  # partial close
    deals = mt5.history_deals_get(position=pos.ticket)
    assert [d.entry for d in deals] == [mt5.DEAL_ENTRY_IN, mt5.DEAL_ENTRY_OUT]
    t0 = datetime(2024, 1, 8, tzinfo=timezone.utc)
    assert mt5.history_deals_total(t0, t0 + timedelta(days=1)) >= 3  # deposit + two deals
    assert mt5.history_deals_total(int(t0.timestamp()), int(t0.timestamp()) + 86400) == \
        mt5.history_deals_total(t0, t0 + timedelta(days=1))
    assert any(o.ticket == pend.order and o.state == mt5.ORDER_STATE_CANCELED
               for o in mt5.history_orders_get(t0, t0 + timedelta(days=1)))
    assert login == mt5.account_info().login


def test_time_policies(sim):
    mt5.attach(sim, step="tick")
    t1 = mt5.symbol_info_tick("EURUSD").time_msc
    t2 = mt5.symbol_info_tick("EURUSD").time_msc
    assert t2 > t1 or mt5.symbol_info_tick("GBPUSD").time_msc >= t1
    mt5.attach(sim, step="none")
    assert mt5.symbol_info_tick("EURUSD").time_msc == mt5.symbol_info_tick("EURUSD").time_msc
    before = mt5.now()
    mt5.sleep(90)
    assert mt5.now() == before + 90


def test_symbols_info_and_calculations(sim):
    mt5.attach(sim, step="none")
    assert mt5.symbols_total() == len(mt5.symbols_get())
    usd_not_eur = {s.name for s in mt5.symbols_get(group="*USD*,!EUR*")}
    assert "GBPUSD" in usd_not_eur and "EURUSD" not in usd_not_eur
    info = mt5.symbol_info("EURUSD")
    assert info.digits == 5 and info.point == 1e-05 and info.trade_contract_size == 100000.0
    assert info._asdict()["name"] == "EURUSD"
    assert mt5.symbol_info("NOPE") is None and mt5.last_error()[0] == mt5.RES_E_NOT_FOUND
    assert mt5.order_calc_profit(mt5.ORDER_TYPE_BUY, "EURUSD", 1.0, 1.1, 1.1010) == 100.0
    margin = mt5.order_calc_margin(mt5.ORDER_TYPE_BUY, "EURUSD", 1.0, 1.1)
    assert 0 < margin <= 110000 / 100
    assert mt5.order_calc_margin(mt5.ORDER_TYPE_BUY, "EURUSD", "x", 1.1) is None
    assert mt5.last_error()[0] == mt5.RES_E_INVALID_PARAMS


def test_market_data(sim):
    mt5.attach(sim, step="none")
    now = int(mt5.now())
    ticks = mt5.copy_ticks_range("EURUSD", now - 3600, now, mt5.COPY_TICKS_ALL)
    assert 55 <= len(ticks) <= 61 and ticks.dtype.names[0] == "time"
    assert len(mt5.copy_ticks_from("EURUSD", now - 3600, 10, mt5.COPY_TICKS_INFO)) == 10
    assert len(mt5.copy_ticks_from("EURUSD", now - 3600, 10, mt5.COPY_TICKS_TRADE)) == 0
    bars = mt5.copy_rates_range("EURUSD", mt5.TIMEFRAME_H1, now - 5 * 3600, now)
    assert len(bars) in (5, 6) and all(b["low"] <= b["open"] <= b["high"] for b in bars)
    assert len(mt5.copy_rates_from("EURUSD", mt5.TIMEFRAME_M5, now, 3)) == 3
    assert mt5.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_MN1, 0, 3) is None
    assert mt5.copy_rates_from_pos("EURUSD", 12345, 0, 3) is None


def test_login_with_investor_password_is_read_only(sim):
    mt5.attach(sim, step="none")
    login = mt5.account_info().login
    assert mt5.login(login, password="wrong") is False and mt5.last_error()[0] == mt5.RES_E_AUTH_FAILED
    assert mt5.login(login, password="AliceView1") is True
    assert mt5.account_info().trade_allowed is False
    assert mt5.order_send(_buy()).retcode == mt5.TRADE_RETCODE_TRADE_DISABLED


def test_times_are_trade_server_time(scenario):
    # The official package gives trade-server time; the simulated server keeps UTC.
    from dataclasses import replace

    from bridge.domain.servertime import BROKER_DEFAULT

    s = Simulation(replace(scenario, server_timezone=BROKER_DEFAULT), 1, scrypt_n=2)
    mt5.attach(s, step="none")
    try:
        s.run_until(scenario.start_ms + 10 * 3_600_000)
        utc_now = s.server.now_ms
        assert mt5.symbol_info_tick("EURUSD").time_msc == s.server.symbol_tick("EURUSD", None).time_msc + 7_200_000
        assert mt5.order_send(_buy(magic=9)).retcode == mt5.TRADE_RETCODE_DONE
        pos = [p for p in mt5.positions_get() if p.magic == 9][0]
        assert pos.time_msc == utc_now + 7_200_000 and pos.time == pos.time_msc // 1000
        # date arguments are server wall-clock times: the 10:00 UTC deal is at 12:00 server time
        monday = datetime(2024, 1, 8, tzinfo=timezone.utc)
        deals = mt5.history_deals_get(monday + timedelta(hours=11), monday + timedelta(hours=13))
        assert [d.position_id for d in deals if d.magic == 9] == [pos.ticket]
        assert [d for d in mt5.history_deals_get(monday + timedelta(hours=9), monday + timedelta(hours=11))
                if d.magic == 9] == []
        # a D1 bar opens at server midnight (Sunday 22:00 UTC)
        (bar,) = mt5.copy_rates_from("EURUSD", mt5.TIMEFRAME_D1, monday + timedelta(hours=12), 1)
        assert bar["time"] % 86_400 == 0 and bar["time"] == int(monday.timestamp())
    finally:
        mt5.shutdown()
