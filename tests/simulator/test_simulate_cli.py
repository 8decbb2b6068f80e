"""`mtbridge simulate` as a user runs it: a subprocess, its output and exit status."""

import json
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
