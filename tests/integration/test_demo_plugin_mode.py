"""`mtbridge demo --mode plugin` (issue 14, item 4): investors without terminals, served by the
gateway plugin on the trade server; the business results equal the terminal mode's.

Seed 003 §14: "The Investors do not have access to the trading terminal." In plugin mode no
investor account is logged in; the daemon cannot tell, so every figure it produces is the
same as in terminal mode for the same seed. Two fields differ, by design:

* `config.mode` (and `config.traders_by`): the mode the run was asked for;
* `server_digest`: the trade server's journal holds, in terminal mode, the investor
  terminal's logins (and its session ids on each request); in plugin mode, none, and a
  `dealer_action` line before each request the gateway sends. The orders, deals and
  positions on every account are the same, hence the daemon's `records_digest` is equal.
"""

from __future__ import annotations

import argparse
import asyncio
import json

import pytest

from mtbridge_demo.commands import add_commands
from mtbridge_demo.plan import DemoConfig
from mtbridge_demo.run import run_demo

pytestmark = pytest.mark.integration

LEGITIMATELY_DIFFERENT = ("server_digest",)


def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mtbridge")
    add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.handler(args)


def test_plugin_mode_gives_the_terminal_modes_business_results(capsys) -> None:
    small = dict(seed=3, traders=3, investors=8, hours=2)
    assert cli(["demo", "--json", "--mode", "plugin", "--no-progress",
                *[f"--{k}={v}" for k, v in small.items()]]) == 0
    plugin = json.loads(capsys.readouterr().out)["results"]
    terminal = json.loads(json.dumps(asyncio.run(run_demo(DemoConfig(**small)))["results"]))
    assert plugin["config"].pop("mode") == "plugin" and terminal["config"].pop("mode") == "terminal"
    assert plugin["server_digest"] != terminal["server_digest"]  # the journal's logins and dealer lines
    for field in LEGITIMATELY_DIFFERENT:
        plugin.pop(field), terminal.pop(field)
    assert plugin == terminal
    # the run did copy: a comparison of two empty runs would prove nothing
    assert plugin["copies"]["opened"] > 0 and sum(plugin["copies"]["closed_by_reason"].values()) > 0
    # traders served by the gateway as well: the same again (the mode fields aside)
    at_server = json.loads(json.dumps(asyncio.run(run_demo(DemoConfig(**small, mode="plugin",
                                                                      traders_by="plugin")))["results"]))
    assert (at_server["config"].pop("mode"), at_server["config"].pop("traders_by")) == ("plugin", "plugin")
    assert plugin["config"].pop("traders_by") == terminal["config"].pop("traders_by") == "terminal"
    for field in LEGITIMATELY_DIFFERENT:
        at_server.pop(field)
    assert at_server == terminal


def test_plugin_mode_is_deterministic_and_the_report_names_the_mode(capsys) -> None:
    cfg = DemoConfig(seed=4, traders=2, investors=4, hours=1, mode="plugin")
    first, second = (asyncio.run(run_demo(cfg))["results"] for _ in range(2))
    assert first == second
    assert cli(["demo", "--mode", "plugin", "--seed", "4", "--traders", "2", "--investors", "4", "--hours", "1",
                "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].endswith(", plugin mode)")
    assert "Mode: plugin (traders in EA terminals; investors without terminals, served by the gateway plugin" in text


def test_an_unknown_mode_is_refused_by_the_parser(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli(["demo", "--mode", "server"])
    assert exit_.value.code == 2
    assert "invalid choice: 'server'" in capsys.readouterr().err
    assert cli(["demo", "--traders-by", "plugin", "--hours", "1"]) == 2
    assert capsys.readouterr().err.strip() == ("mtbridge demo: error: --traders-by plugin needs --mode plugin "
                                               "(the gateway plugin)")
    with pytest.raises(ValueError, match="traders_by plugin needs mode plugin"):
        DemoConfig(traders_by="plugin")
