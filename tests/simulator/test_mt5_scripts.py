"""The official MetaTrader5 documentation examples (tests/simulator/mt5_scripts, verbatim) run
unchanged on the simulator, under ``python -m simulator.mt5 SCRIPT`` and with
``import simulator.mt5 as mt5`` (issue 12 section 2: "Scripts from the official
documentation must run as written, under `python -m simulator.mt5 SCRIPT` and with
`import simulator.mt5 as mt5`")."""

import importlib.util
import os
import re
import runpy
import subprocess
import sys
import time
from pathlib import Path

import pytest

import simulator.mt5 as mt5

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "tests" / "simulator" / "mt5_scripts"
NEEDS = {"copy_rates_from_pos.py": ("pandas",), "copy_ticks_from.py": ("pandas", "pytz"),
         "history_deals_get.py": ("pandas",)}


def _check(name: str, out: str) -> None:
    """What each example must print when it worked (it prints its failures and goes on)."""
    assert "failed" not in out and "not found" not in out, out
    if name == "order_send.py":
        opened = re.search(r"opened position with POSITION_TICKET=(\d+)", out)
        assert opened and int(opened.group(1)) > 0, out
        assert f"4. position #{opened.group(1)} closed" in out
        assert f"position={opened.group(1)}," in out.split("4. position")[1]  # the close named the position
    elif name == "order_check.py":
        assert "retcode=0" in out and "comment=Done" in out
    elif name == "order_calc_margin.py":
        assert len(re.findall(r"buy 0\.1 lot margin: \d+\.\d+ USD", out)) == 6
    elif name == "order_calc_profit.py":
        assert len(re.findall(r"profit on 300 points => \d+\.\d+ USD", out)) == 6
    elif name == "copy_rates_from_pos.py":
        assert "Display dataframe with data" in out and "tick_volume" in out
    elif name == "copy_ticks_from.py":
        assert int(re.search(r"Ticks received: (\d+)", out).group(1)) > 1000
        assert "time_msc" in out
    elif name == "history_deals_get.py":
        assert "deposit" in out  # the account's opening balance deal
    elif name == "symbol_info_tick.py":
        assert "Tick(time=" in out and "  bid=" in out


def _script_params():
    out = []
    for path in sorted(SCRIPTS.glob("*.py")):
        missing = [m for m in NEEDS.get(path.name, ()) if importlib.util.find_spec(m) is None]
        out.append(pytest.param(path, marks=pytest.mark.skipif(bool(missing), reason=f"needs {missing}"), id=path.stem))
    return out


@pytest.mark.parametrize("script", _script_params())
def test_official_example_under_python_m(script):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MTBRIDGE_")}
    env["PYTHONPATH"] = str(ROOT)
    run = subprocess.run([sys.executable, "-m", "simulator.mt5", str(script)], capture_output=True, text=True,
                         timeout=300, env=env, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    _check(script.name, run.stdout)


@pytest.mark.parametrize("script", _script_params())
def test_official_example_with_import(script, monkeypatch, capsys):
    # `import MetaTrader5 as mt5` in the script is `import simulator.mt5 as mt5`; time.sleep is
    # the one thing a module cannot take over, so the test lets it move virtual time
    for k in [k for k in os.environ if k.startswith("MTBRIDGE_")]:
        monkeypatch.delenv(k)
    monkeypatch.setitem(sys.modules, "MetaTrader5", mt5)
    monkeypatch.setattr(time, "sleep", mt5.sleep)
    mt5.shutdown()
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exc:
        assert exc.code in (None, 0)
    finally:
        mt5.shutdown()
    _check(script.name, capsys.readouterr().out)


def test_runner_help_describes_options_and_a_missing_script_is_one_line():
    # review (desk-and-ops, user 1 #12): `--help` had no descriptions and no --step; a missing
    # script ended in a FileNotFoundError traceback
    env = {k: v for k, v in os.environ.items() if not k.startswith("MTBRIDGE_")}
    env["PYTHONPATH"] = str(ROOT)
    helped = subprocess.run([sys.executable, "-m", "simulator.mt5", "--help"], capture_output=True, text=True,
                            timeout=60, env=env, cwd=ROOT)
    assert helped.returncode == 0
    for option in ("--scenario FILE", "--seed", "--step POLICY", "MTBRIDGE_STEP"):
        assert option in helped.stdout
    missing = subprocess.run([sys.executable, "-m", "simulator.mt5", "nope.py"], capture_output=True, text=True,
                             timeout=60, env=env, cwd=ROOT)
    assert missing.returncode == 2
    assert missing.stderr.strip() == "simulator.mt5: error: no such script: nope.py"
