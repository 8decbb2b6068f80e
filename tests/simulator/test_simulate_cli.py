"""`mtbridge simulate` as a user runs it: a subprocess, its output and exit status."""

import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "scenarios"
SCENARIOS = sorted(EXAMPLES.glob("*.toml"))


def mtbridge(*args):
    return subprocess.run([sys.executable, "-m", "bridge.cli", *args], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)


def test_there_are_at_least_three_examples():
    assert len(SCENARIOS) >= 3


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_shipped_scenario_runs(path):
    run = mtbridge("simulate", "--scenario", str(path))
    assert run.returncode == 0, run.stderr
    assert "Journal digest: " in run.stdout
    assert run.stderr == ""  # no progress bar when stderr is not a terminal
    if path.stem == "stop_out":
        line = next(x for x in run.stdout.splitlines() if x.startswith("gambler"))
        assert int(line.split()[-3]) >= 1  # stop-out events


def test_json_journal_and_determinism(tmp_path):
    journal = tmp_path / "j.jsonl"
    args = ("simulate", "--scenario", str(EXAMPLES / "quiet_week.toml"), "--seed", "4", "--until", "36h")
    run = mtbridge(*args, "--json", "--journal", str(journal))
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert len(summary["digest"]) == 64 and summary["seed"] == 4
    assert summary["end_ms"] - summary["start_ms"] == 36 * 3_600_000
    assert {a["id"] for a in summary["accounts"]} == {"alice", "bob"}
    assert set(summary["accounts"][0]) >= {"balance", "equity", "margin_level", "trades", "swaps",
                                           "margin_calls", "stop_outs"}
    import hashlib
    data = journal.read_bytes()
    assert hashlib.sha256(data).hexdigest() == summary["digest"]
    assert json.loads(data.splitlines()[0])["kind"] == "scenario"
    again = json.loads(mtbridge(*args, "--json").stdout)
    assert again["digest"] == summary["digest"]
    other = json.loads(mtbridge(*args[:-3], "5", "--until", "36h", "--json").stdout)
    assert other["digest"] != summary["digest"]


def test_bad_scenarios_exit_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text((EXAMPLES / "quiet_week.toml").read_text().replace('volume = "0.50"', 'volume = "lots"'))
    run = mtbridge("simulate", "--scenario", str(bad))
    assert run.returncode == 2
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and "orders[1].volume" in lines[0]
    assert "Traceback" not in run.stderr

    broken = tmp_path / "broken.toml"
    broken.write_text("[scenario]\nname = 'x'\nstart = nope\n")
    run = mtbridge("simulate", "--scenario", str(broken))
    assert run.returncode == 2 and run.stderr.startswith(f"mtbridge simulate: error: {broken}:3: invalid TOML")

    run = mtbridge("simulate", "--scenario", str(tmp_path / "none.toml"))
    assert run.returncode == 2 and "no such file" in run.stderr

    run = mtbridge("simulate", "--scenario", str(EXAMPLES / "quiet_week.toml"), "--until", "soon")
    assert run.returncode == 2 and "--until" in run.stderr and len(run.stderr.splitlines()) == 1


def test_text_table_has_currency_deposits_and_net_result():
    # review (desk-and-ops, user 1 #8): a USD and a EUR account side by side with no currency
    # column; deposits and net P/L only in --json
    path = next(p for p in SCENARIOS if p.stem == "stop_out")
    text = mtbridge("simulate", "--scenario", str(path)).stdout
    report = json.loads(mtbridge("simulate", "--scenario", str(path), "--json").stdout)
    head = next(x for x in text.splitlines() if x.startswith("account"))
    assert head.split()[3:7] == ["ccy", "deposits", "balance", "equity"] and "net P/L" in head
    for acc in report["accounts"]:
        cells = next(x for x in text.splitlines() if x.startswith(acc["id"] + " ")).split()
        net = Decimal(acc["equity"]) - Decimal(acc["deposits"]) + Decimal(acc["withdrawals"])
        assert cells[3] == acc["currency"] and Decimal(cells[7]) == net


def test_report_has_return_and_max_drawdown_per_account():
    """Review desk-and-ops user 1 #8: "Deposits, net P/L, return %, drawdown and a trade list are
    missing" from the `simulate` report."""
    from simulator.runner import Simulation
    from simulator.scenario import load_scenario

    path = next(p for p in SCENARIOS if p.stem == "stop_out")
    report = json.loads(mtbridge("simulate", "--scenario", str(path), "--json").stdout)
    text = mtbridge("simulate", "--scenario", str(path)).stdout
    head = next(x for x in text.splitlines() if x.startswith("account")).split()
    assert head[head.index("P/L") + 1: head.index("P/L") + 4] == ["return", "max", "DD"]
    sim = Simulation(load_scenario(path))
    peaks: dict[int, Decimal] = {}
    worst: dict[int, Decimal] = {}

    def see() -> None:  # equity from the server, sampled each simulated minute, like the report says
        for login in sim.logins.values():
            eq = sim.server.account_info(login).equity
            peaks[login] = max(peaks.get(login, eq), eq)
            worst[login] = max(worst.get(login, Decimal(0)), (peaks[login] - eq) * 100 / peaks[login])

    minute = None
    while sim.step_tick():
        if sim.server.now_ms // 60_000 != minute:
            minute = sim.server.now_ms // 60_000
            see()
    sim.run_until(sim.end_ms)
    see()
    for acc in report["accounts"]:
        net = Decimal(acc["equity"]) - Decimal(acc["deposits"]) + Decimal(acc["withdrawals"])
        assert Decimal(acc["return_pct"]) == (net * 100 / Decimal(acc["deposits"])).quantize(Decimal("0.01"))
        assert Decimal(acc["max_drawdown_pct"]) == worst[acc["login"]].quantize(Decimal("0.01"))
        cells = next(x for x in text.splitlines() if x.startswith(acc["id"] + " ")).split()
        assert cells[8] == f"{Decimal(acc['return_pct']):+}%" and cells[9] == f"{acc['max_drawdown_pct']}%"
    gambler = next(a for a in report["accounts"] if a["id"] == "gambler")
    assert Decimal(gambler["max_drawdown_pct"]) > 90  # stopped out five times: most of its money gone


def test_progress_bar_shows_the_simulated_date():
    """Review desk-and-ops user 1 #13: "`simulating ━━━━╸━━━ 34.6% 0:00:10` — percent and elapsed,
    but no ETA and no simulated date"."""
    import io

    from rich.console import Console

    from bridge.progress import progress_bar
    from simulator.commands import simulated_date, with_date
    from simulator.runner import Simulation
    from simulator.scenario import load_scenario

    scenario = load_scenario(next(p for p in SCENARIOS if p.stem == "quiet_week"))
    out = io.StringIO()
    seen: list[tuple[int, int]] = []
    with progress_bar("simulating", console=Console(file=out, force_terminal=True, width=120)) as bar:
        def spy(done: int, total: int, note: str = "") -> None:
            seen.append((done, total))
            bar(done, total, note=note)

        Simulation(scenario).run(progress=with_date(spy, scenario.start_ms), every=2000)
    drawn = out.getvalue()
    done, total = seen[-1]
    assert done == total and len(seen) > 2
    # the last frame (drawn when the bar stops) names the simulated end, e.g. 'at 2024-01-13 00:00 UTC'
    assert f"at {simulated_date(scenario.start_ms + total)}" in drawn
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", simulated_date(scenario.start_ms))
