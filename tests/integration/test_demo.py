"""`mtbridge demo` end to end, small: real daemon, CURVE sockets, simulated terminals.

Two runs with the same seed must give identical `results` (timings may differ)."""

from __future__ import annotations

import argparse
import asyncio
import json
from decimal import Decimal

import pytest

from mtbridge_demo.commands import add_commands
from mtbridge_demo.plan import SHOWCASE, SUFFIX, DemoConfig
from mtbridge_demo.report import render_text
from mtbridge_demo.run import run_demo

pytestmark = pytest.mark.integration

SMALL = ["--seed", "3", "--traders", "3", "--investors", "8", "--hours", "2", "--no-progress"]


def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mtbridge")
    add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.handler(args)


def test_demo_results_are_identical_across_runs_with_the_same_seed(capsys) -> None:
    assert cli(["demo", "--json", *SMALL]) == 0
    first = json.loads(capsys.readouterr().out)
    second = asyncio.run(run_demo(DemoConfig(seed=3, traders=3, investors=8, hours=2)))
    assert set(first) == {"results", "timings"}
    assert first["results"] == json.loads(json.dumps(second["results"]))
    r = first["results"]
    assert r["subscriptions"]["started"] == 8
    assert r["copies"]["opened"] > 0 and sum(r["copies"]["closed_by_reason"].values()) > 0
    assert sum(t["positions_opened"] for t in r["traders"].values()) > 0
    assert first["timings"]["copy_latency_ms"]["samples"] > 0
    assert first["timings"]["transport"] == "CURVE"
    text = render_text(first)
    assert "Copies opened" in text and "Copy latency" in text
    # review (desk-and-ops, user 1 #9): a headline, human reason labels, amounts to cents
    lines = text.splitlines()
    assert lines[1].startswith(("Investors lost ", "Investors gained ")) and " USD invested (" in lines[1]
    for line in lines:
        if line.startswith(("Copies closed:", "Copies refused:")):
            assert "_" not in line, line
    assert "copy commands, opens and closes" in text


def test_another_seed_gives_another_run(capsys) -> None:
    a = asyncio.run(run_demo(DemoConfig(seed=3, traders=2, investors=4, hours=1)))
    b = asyncio.run(run_demo(DemoConfig(seed=4, traders=2, investors=4, hours=1)))
    assert a["results"]["server_digest"] != b["results"]["server_digest"]
    assert cli(["demo", "--seed", "4", "--traders", "2", "--investors", "4", "--hours", "1", "--no-progress"]) == 0
    assert "mtbridge demo - seed 4" in capsys.readouterr().out


def test_demo_refuses_zero_investors_with_one_line(capsys) -> None:
    # review (desk-and-ops, user 1 #11): `--investors 0 --hours 1` crashed with a traceback
    assert cli(["demo", "--investors", "0", "--hours", "1", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "mtbridge demo: error: need at least 1 trader, 1 investor and 1 hour"


def test_the_demo_shows_subscriptions_with_copy_settings(capsys) -> None:
    # issue 15: "The demo runs subscriptions with several settings (a multiplier follower, a reverse
    # follower, a cent account with a suffix map, a daily-loss-limited follower that trips) and its
    # report shows what each did; `--json` results stay deterministic."
    assert cli(["demo", "--json", *SMALL]) == 0
    first = json.loads(capsys.readouterr().out)
    assert cli(["demo", "--json", *SMALL]) == 0
    second = json.loads(capsys.readouterr().out)
    assert first["results"] == second["results"]
    shown = {x["role"]: x for x in first["results"]["copy_settings"]}
    assert set(shown) == {role for role, _ in SHOWCASE}
    reverse = shown["reverse follower"]
    assert reverse["copies_opened"] > 0 and reverse["sides"] == {"as_trader": 0, "reversed": reverse["copies_opened"]}
    suffixed = next(x for role, x in shown.items() if "suffix" in role)
    assert suffixed["currency"] == "USC"  # a Standard Cent account: its ledger in US cents
    assert suffixed["opened_by_symbol_side"] and all(k.split()[0].endswith(SUFFIX)
                                                      for k in suffixed["opened_by_symbol_side"])
    limited = shown["daily loss limit"]
    assert [t["limit"] for t in limited["limit_trips"]] == ["daily_loss_limit"]
    assert limited["refused_by_reason"].get("daily_loss_limit", 0) > 0
    for trip in limited["limit_trips"]:
        assert Decimal(trip["loss"]) >= Decimal(trip["allowed"])
    multiplier = shown["multiplier follower"]
    assert multiplier["settings"] == {"mode": "multiplier", "multiplier": "1.5"}
    assert sum(multiplier["refused_by_reason"].values()) + multiplier["copies_opened"] > 0  # it was offered deals
    text = render_text(first)
    assert "Copy settings (issue 15)" in text and "limit hit: daily loss limit" in text


def test_the_default_demo_prints_the_digests_the_readme_states() -> None:
    """README.md states what `make demo` (seed 7, default size) ends with; a change of behaviour
    that changes them must say so there (and in the closing note), never drift silently."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    stated = re.search(r"`make demo` \(seed 7\) ends with the digests `([0-9a-f]{16})` \(trade server journal\) and\s+"
                       r"`([0-9a-f]{16})` \(daemon records\)", readme)
    assert stated, "README.md no longer states the demo's digests in the expected sentence"
    results = asyncio.run(run_demo(DemoConfig(seed=7)))["results"]
    assert (results["server_digest"][:16], results["records_digest"][:16]) == stated.groups()
