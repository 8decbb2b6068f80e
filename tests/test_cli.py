"""`mtbridge` as a user runs it: a subprocess, its stdout, stderr and exit status."""

import json
import subprocess
import sys

import pytest

SEED_STEPS = ["buy", "1", "GBPUSD@1.4584", "buy", "5", "EURUSD@1.3175", "buy", "10", "GBPUSD@1.4590",
              "buy", "30", "EURUSD@1.3164", "buy", "20", "EURUSD@1.3188"]


def mtbridge(*args):
    return subprocess.run([sys.executable, "-m", "bridge.cli", *args], capture_output=True, text=True, timeout=60)


def test_margin_json_reproduces_the_seed():
    run = mtbridge("margin", "--leverage", "1000", "--currency", "USD", "--json", *SEED_STEPS, "close", "3")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["margin"] == "37713.90"
    assert [s["margin"] for s in report["steps"]] == ["145.84", "1409.18", "5117.95", "25927.90", "77815.60",
                                                      "37713.90"]
    brackets = report["groups"][0]["brackets"]
    assert [(b["leverage"], b["amount"]) for b in brackets] == [
        (1000, "200000.00"), (500, "1800000.00"), (200, "4000000.00"), (100, "1391390.00")]


def test_margin_text_shows_brackets_and_total():
    run = mtbridge("margin", "--leverage", "1000", "--currency", "USD", "--account-type", "standard", *SEED_STEPS)
    assert run.returncode == 0
    assert "Total margin: 77815.60 USD" in run.stdout
    assert "850390.00 / 25" in run.stdout


def test_each_position_converts_at_its_own_open_price():
    """Issue 12 item 1.1 (seed 003: the rate of a pair is its price at the position's open):
    `buy 1 USDJPY@150.000 buy 1 USDJPY@100.000` prints step 1 as the first position alone does."""
    both = mtbridge("margin", "--leverage", "1000", "--currency", "USD", "--json",
                    "buy", "1", "USDJPY@150.000", "buy", "1", "USDJPY@100.000")
    alone = mtbridge("margin", "--leverage", "1000", "--currency", "USD", "--json", "buy", "1", "USDJPY@150.000")
    assert both.returncode == 0 and alone.returncode == 0, both.stderr + alone.stderr
    first = json.loads(both.stdout)["steps"][0]["margin"]
    assert first == json.loads(alone.stdout)["margin"] == "100.00"  # 1 lot = 100 000 USD at 1:1000
    assert json.loads(both.stdout)["margin"] == "200.00"


def test_copy_volume_examples():
    run = mtbridge("copy-volume", "--mode", "proportional", "--investor-equity", "200", "--trader-equity", "500",
                   "--investor-leverage", "100", "--trader-leverage", "200", "--volume", "1")
    assert (run.returncode, run.stdout) == (0, "0.20\n")
    assert mtbridge("copy-volume", "--mode", "equal", "--volume", "0.325").stdout == "0.33\n"
    assert json.loads(mtbridge("copy-volume", "--mode", "proportional", "--investor-equity", "200",
                               "--trader-equity", "500", "--investor-leverage", "100", "--trader-leverage", "200",
                               "--volume", "1", "--json").stdout) == {"volume": "0.20", "rejected": None}
    assert json.loads(mtbridge("copy-volume", "--mode", "equal", "--volume", "0.004", "--json").stdout) == {
        "volume": None, "rejected": "below_min_volume"}
    assert json.loads(mtbridge("copy-volume", "--mode", "equal", "--volume", "150", "--json").stdout) == {
        "volume": None, "rejected": "above_max_volume"}


def test_copy_volume_across_currencies():
    # seed 003 §4.5.2 with an 800 EUR trader (1 000 USD at EURUSD 1.25) and a 1 000 USD investor
    base = ("copy-volume", "--mode", "proportional", "--investor-equity", "1000", "--trader-equity", "800",
            "--trader-currency", "eur", "--investor-leverage", "100", "--trader-leverage", "100", "--volume", "1")
    assert mtbridge(*base, "--rate", "EURUSD=1.25").stdout == "1.00\n"
    assert json.loads(mtbridge(*base, "--json").stdout) == {"volume": None, "rejected": "no_rate"}
    cents = mtbridge("copy-volume", "--mode", "proportional", "--investor-equity", "100000", "--investor-currency",
                     "USC", "--trader-equity", "1000", "--investor-leverage", "100", "--trader-leverage", "100",
                     "--volume", "1")
    assert cents.stdout == "1.00\n"


@pytest.mark.parametrize("args, needle", [
    (["margin", "--leverage", "1000", "--currency", "USD", "buy", "1", "FOO@1.1"], "unknown symbol"),
    (["margin", "--leverage", "1000", "--currency", "USD", "buy", "-1", "EURUSD@1.1"], "must be positive"),
    (["margin", "--leverage", "1000", "--currency", "USD", "buy", "0", "EURUSD@1.1"], "must be positive"),
    (["margin", "--leverage", "1000", "--currency", "USD", "buy", "1", "EURUSD1.1"], "SYMBOL@PRICE"),
    (["margin", "--leverage", "1000", "--currency", "USD", "buy", "NaN", "EURUSD@1.1"], "not a finite number"),
    (["margin", "--leverage", "1000", "--currency", "USD", "buy", "1", "EURUSD@inf"], "not a finite number"),
    (["margin", "--leverage", "1000", "--currency", "XXX", "buy", "1", "EURUSD@1.1"], "unknown currency"),
    (["margin", "--leverage", "1000", "--currency", "USD", "buy", "1", "GBPUSD@1e30"], "out of range"),
    (["copy-volume", "--mode", "equal", "--volume", "1e400"], "out of range"),
    (["copy-volume", "--mode", "proportional", "--investor-equity", "1e12", "--trader-equity", "1e-12",
      "--investor-leverage", "100000000000000000000000", "--trader-leverage", "1", "--volume", "1e12"], "out of range"),
    (["margin", "--leverage", "1000", "--currency", "USD", "--rate", "USDJPY=1e13", "buy", "1", "EURJPY@160"],
     "out of range"),
    (["margin", "--leverage", "1000", "--currency", "USD", "buy", "1", "USDJPY@150", "buy", "1", "EURGBP@0.85"],
     "no rate"),
    (["margin", "--leverage", "0", "--currency", "USD", "buy", "1", "EURUSD@1.1"], "at least 1"),
    (["margin", "--currency", "USD", "buy", "1", "EURUSD@1.1"], "--leverage"),
    (["copy-volume", "--mode", "proportional", "--volume", "1"], "needs --investor-equity"),
    (["copy-volume", "--mode", "equal", "--volume", "nan"], "not a finite number"),
    (["copy-volume", "--mode", "sideways", "--volume", "1"], "invalid choice"),
])
def test_bad_input_is_one_line_and_exit_2(args, needle):
    run = mtbridge(*args)
    assert run.returncode == 2
    assert needle in run.stderr
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_help_everywhere():
    for args in (["--help"], ["margin", "--help"], ["copy-volume", "--help"]):
        run = mtbridge(*args)
        assert run.returncode == 0 and "usage:" in run.stdout


def test_help_names_docs_not_internal_seed_clauses():
    # review (desk-and-ops, user 1 #10): `mtbridge --help` said "(seed 004)" and "(seed 003 §4.5, §5)"
    for args in (["--help"], ["margin", "--help"], ["copy-volume", "--help"]):
        out = mtbridge(*args).stdout
        assert "seed 00" not in out and "§" not in out
