"""Strict mode: market orders refused where a live MT5 server may refuse them (opt-in).

docs/simulator.md, "Accepted here, may be refused live": "a market order with no `price`,
`price: 0.0` or a price far from the quote fills at the current quote (a real server may requote
or refuse a price beyond `deviation`); `volume: 1` (a Python int) is taken as 1.0 lot (the real
package documents `volume` as a float)."

The request of the MetaTrader5 docs' order_send example (mt5ordersend_py): `"price": price`
(`symbol_info_tick(symbol).ask`), `"deviation": 20`, `"type_filling": mt5.ORDER_FILLING_RETURN`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import simulator.mt5 as mt5
from simulator.runner import Simulation
from simulator.scenario import load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[2]
QUIET = ROOT / "examples" / "scenarios" / "quiet_week.toml"


def attached(strict: bool) -> Simulation:
    scenario = load_scenario(QUIET)
    s = Simulation(scenario, 1, scrypt_n=2, strict=strict)
    mt5.attach(s, step="none")  # the quote stands still between calls: prices compare exactly
    s.run_until(scenario.start_ms + 10 * 3_600_000)  # Monday 10:00
    return s


@pytest.fixture(params=[False, True], ids=["default", "strict"])
def sim(request):
    s = attached(request.param)
    yield s
    mt5.shutdown()


def docs_request(**changes) -> dict:
    """The order_send example's request, buying 0.1 EURUSD at the ask."""
    tick = mt5.symbol_info_tick("EURUSD")
    req = {"action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.1, "type": mt5.ORDER_TYPE_BUY,
           "price": tick.ask, "deviation": 20, "magic": 234000, "comment": "python script open",
           "type_time": mt5.ORDER_TIME_GTC, "type_filling": mt5.ORDER_FILLING_RETURN}
    req.update(changes)
    return {k: v for k, v in req.items() if v is not None}


def test_each_case_default_fills_strict_refuses(sim: Simulation) -> None:
    strict = sim.server.strict
    point = mt5.symbol_info("EURUSD").point
    fok = mt5.ORDER_FILLING_FOK
    cases = [  # (request changes, the strict retcode or None for the facade's RES_E_INVALID_PARAMS)
        ({"volume": 1, "type_filling": fok}, None),
        ({"price": None, "type_filling": fok}, mt5.TRADE_RETCODE_INVALID_PRICE),
        ({"price": 0.0, "type_filling": fok}, mt5.TRADE_RETCODE_INVALID_PRICE),
        ({"price": mt5.symbol_info_tick("EURUSD").ask - 100 * point, "type_filling": fok},
         mt5.TRADE_RETCODE_REQUOTE),
        ({}, mt5.TRADE_RETCODE_INVALID_FILL),  # the docs example as written: RETURN
    ]
    for changes, code in cases:
        r = mt5.order_send(docs_request(**changes))
        if not strict:
            assert r.retcode == mt5.TRADE_RETCODE_DONE, (changes, r)  # accepted here, as documented
            continue
        if code is None:
            assert r is None and mt5.last_error() == (mt5.RES_E_INVALID_PARAMS,
                                                      'Invalid "volume" argument: expected a float, e.g. 1.0 (strict)')
            continue
        assert r.retcode == code, (changes, r)
        assert r.bid > 0 and r.ask > 0  # the current quote to retry with
        check = mt5.order_check(docs_request(**changes))
        assert check.retcode == code  # order_check says the same, before sending
    mine = [p for p in mt5.positions_get() if p.magic == 234000]
    assert len(mine) == (0 if strict else len(cases))  # strict: nothing opened


def test_strict_accepts_the_docs_example_with_a_listed_filling(sim: Simulation) -> None:
    r = mt5.order_send(docs_request(type_filling=mt5.ORDER_FILLING_FOK))
    assert r.retcode == mt5.TRADE_RETCODE_DONE
    point = mt5.symbol_info("EURUSD").point
    # a price 20 points off with deviation 20 is within it; the fill is at the current quote
    r = mt5.order_send(docs_request(type_filling=mt5.ORDER_FILLING_IOC,
                                    price=mt5.symbol_info_tick("EURUSD").ask + 20 * point))
    assert r.retcode == mt5.TRADE_RETCODE_DONE and r.price == mt5.symbol_info_tick("EURUSD").ask
    # closing: the bid, within deviation
    pos = next(p for p in mt5.positions_get() if p.magic == 234000)
    r = mt5.order_send({"action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": pos.volume,
                        "type": mt5.ORDER_TYPE_SELL, "position": pos.ticket,
                        "price": mt5.symbol_info_tick("EURUSD").bid, "deviation": 0,
                        "type_filling": mt5.ORDER_FILLING_FOK})
    assert r.retcode == mt5.TRADE_RETCODE_DONE
    if sim.server.strict:
        stale = docs_request(type_filling=mt5.ORDER_FILLING_FOK,
                             price=mt5.symbol_info_tick("EURUSD").ask - 21 * point)
        r = mt5.order_send(stale)
        assert r.retcode == mt5.TRADE_RETCODE_REQUOTE
        assert r.comment == (f"requote: price {stale['price']:.5f} is 21 points from the current ask "
                             f"{mt5.symbol_info_tick('EURUSD').ask:.5f} (deviation 20)")


def _digest(args: list[str]) -> str:
    run = subprocess.run([sys.executable, "-m", "bridge.cli", "simulate", *args], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    return run.stdout.rsplit("Journal digest: ", 1)[1].strip()


def test_default_runs_are_unchanged_and_strict_is_opt_in(tmp_path: Path) -> None:
    stop_out = ROOT / "examples" / "scenarios" / "stop_out.toml"
    text = stop_out.read_text(encoding="utf-8")
    assert parse_scenario(text).strict is False
    strict_file = tmp_path / "strict.toml"
    strict_file.write_text(text.replace("[scenario]\n", "[scenario]\nstrict = true\n", 1), encoding="utf-8")
    assert load_scenario(strict_file).strict is True
    base = _digest(["--scenario", str(stop_out), "--until", "1d"])
    by_flag = _digest(["--scenario", str(stop_out), "--until", "1d", "--strict"])
    by_file = _digest(["--scenario", str(strict_file), "--until", "1d"])
    assert by_flag == by_file != base  # the simulator's own orders now carry the price
    # the built-in strategies and scripted orders trade as before: their orders carry the current
    # price, so every answer (fills, and the martingale's no-money refusals) is the default run's
    answers = []
    for path in (stop_out, strict_file):
        sim = Simulation(load_scenario(path), 1, scrypt_n=2)
        sim.run_until(sim.scenario.start_ms + 86_400_000)
        answers.append([(r["retcode"], r["deal"], r["price"], r["volume"]) for r in sim.server.journal.records("answer")
                        if r["op"] == "order_send"])
    assert answers[0] and answers[1] == answers[0]
    assert sum(code == mt5.TRADE_RETCODE_DONE for code, *_ in answers[1]) > 10
