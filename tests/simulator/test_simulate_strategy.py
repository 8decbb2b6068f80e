"""`mtbridge simulate --strategy path/to/file.py:ClassName`, and a scenario's [[strategies]]
table naming a file: a user's own strategy class with the built-in strategies' interface.

Review (issue 13, user 1, item 8): "You can't run your own Python strategy through `simulate`
to get this summary".
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.commands import with_user_strategy
from simulator.runner import Simulation
from simulator.scenario import ScenarioError, load_scenario
from simulator.strategies import StrategyLoadError, load_strategy

ROOT = Path(__file__).resolve().parents[2]
QUIET = ROOT / "examples" / "scenarios" / "quiet_week.toml"
EXAMPLE = "examples/strategies/breakout.py:Breakout"


def simulate(*args: str, scenario: Path = QUIET) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bridge.cli", "simulate", "--scenario", str(scenario), *args],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_the_example_strategy_trades_the_first_account_deterministically(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    scenario = with_user_strategy(load_scenario(QUIET), EXAMPLE)
    (spec,) = scenario.strategies
    assert (spec.account, spec.symbol) == (scenario.accounts[0].id, scenario.feeds[0].symbol)
    runs = []
    for _ in range(2):
        sim = Simulation(scenario, 1, until_ms=scenario.start_ms + 3 * 86_400_000, scrypt_n=2 ** 10)
        summary = sim.run()
        login = sim.logins[spec.account]
        mine = [d for d in sim.server.history_deals(login) if d.comment.startswith("breakout")]
        runs.append((summary.digest, [(d.ticket, d.comment) for d in mine]))
    assert runs[0] == runs[1]
    comments = {c for _, c in runs[0][1]}
    assert comments == {"breakout", "breakout exit"}  # it opened and it closed


def test_cli_runs_it_and_reports_the_summary_and_trades() -> None:
    run = simulate("--strategy", EXAMPLE, "--until", "3d", "--json")
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    base = json.loads(simulate("--until", "3d", "--json").stdout)
    alice = {a["id"]: a for a in summary["accounts"]}["alice"]
    assert alice["trades"] > {a["id"]: a for a in base["accounts"]}["alice"]["trades"]
    assert summary["digest"] != base["digest"]


def test_a_scenario_table_names_the_file_with_its_parameters(tmp_path: Path) -> None:
    shutil.copy(ROOT / "examples" / "strategies" / "breakout.py", tmp_path / "mine.py")
    text = QUIET.read_text(encoding="utf-8") + (
        '\n[[strategies]]\naccount = "bob"\nkind = "mine.py:Breakout"\nsymbol = "EURUSD"\nevery = "30m"\n'
        'lookback = 3\n')
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    scenario = load_scenario(path)
    (spec,) = scenario.strategies
    assert spec.cls.__name__ == "Breakout" and dict(spec.params) == {"every": "30m", "lookback": 3}
    sim = Simulation(scenario, 1, until_ms=scenario.start_ms + 86_400_000, scrypt_n=2 ** 10)
    (strat, *_), = sim._strategies["EURUSD"]
    assert (strat.every_ms, strat.lookback) == (1_800_000, 3)
    # a parameter the class refuses: file, line, key, the class's own message
    path.write_text(text.replace("lookback = 3", "lookbak = 3"), encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"s\.toml:\d+: strategies\[0\]\.params: Breakout\.check_params: "
                                            r"ValueError: unknown parameter 'lookbak'"):
        load_scenario(path)
    path.write_text(text.replace("mine.py:Breakout", "gone.py:Breakout"), encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"strategies\[0\]\.kind: gone\.py: no such file"):
        load_scenario(path)


@pytest.mark.parametrize(("body", "ref", "message"), [
    (None, "nope.py:X", "nope.py: no such file"),
    ("class Other:\n    pass\n", "s.py:Mine", "s.py: no class 'Mine' (classes: Other)"),
    ("class Mine:\n    def decide(self, view):\n        return []\n", "s.py:Mine",
     "s.py:Mine is not a strategy: no check_params, build (needs check_params, build, decide, as the built-in "
     "strategies; docs/simulator.md)"),
    ("import math\n\nx = 1 / 0\n", "s.py:Mine", "s.py: cannot import (line 3): ZeroDivisionError: division by zero"),
    ("def broken(:\n", "s.py:Mine", "s.py: cannot import: SyntaxError: invalid syntax (s.py, line 1)"),
])
def test_a_missing_file_class_or_interface_is_one_line(tmp_path: Path, body, ref, message) -> None:
    if body is not None:
        (tmp_path / "s.py").write_text(body, encoding="utf-8")
    with pytest.raises(StrategyLoadError) as exc:
        load_strategy(ref, tmp_path)
    assert str(exc.value) == message


def test_cli_errors_exit_2_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("class Mine:\n    check_params = build = decide = None\n", encoding="utf-8")
    run = simulate("--strategy", f"{bad}:Mine")
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.splitlines() == [f"mtbridge simulate: error: --strategy: {bad}:Mine is not a strategy: no "
                                       "check_params, build, decide (needs check_params, build, decide, as the "
                                       "built-in strategies; docs/simulator.md)"]
    # build() fails at run time: one line too
    bad.write_text("class Mine:\n    @classmethod\n    def check_params(cls, p):\n        return {}\n"
                   "    @classmethod\n    def build(cls, rng, spec, p):\n        raise RuntimeError('no spec')\n"
                   "    def decide(self, view):\n        return []\n", encoding="utf-8")
    run = simulate("--strategy", f"{bad}:Mine", "--until", "1h")
    assert run.returncode == 2
    assert run.stderr.splitlines() == [f"mtbridge simulate: error: strategies[0] {bad}:Mine: build failed: "
                                       "RuntimeError: no spec"]
