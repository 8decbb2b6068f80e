"""Volume modes (issue 15 item 1): the seed's two exactly as §4.5, plus fixed, multiplier and
balance_ratio; the seed's §5 limits always apply after the mode, then the symbol's own."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal as D

import pytest

from bridge.copytrading import AccountUpdated, CopyRefused, OpenCopy, SetCopySettings
from bridge.daemon import wire
from bridge.domain.sizing import VolumeMode, copy_volume
from tests.copytrading.helpers import World

# Seed 003 verbatim (its non-breaking spaces included, as \xa0)
SEED_4_5 = ("4.5.2. in proportion to the Investor's funds: the trade volume depends on the ratio of the "
            'leverage and equity for both Trader and Investor Accounts, and is calculated as follows: '
            'Investor Volume\xa0= (Investor Equity\xa0/ Trader Equity)\xa0× (Leverage Investor\xa0/ Leverage '
            'Trader)\xa0× Trader Volume. Example: The Trader Account equity is $500, and leverage is\xa01:200. '
            'The Investor Account equity is $200, and leverage is\xa01:100. 1\xa0lot trade is opened on the '
            'Trader Account. The volume of the copied trade, therefore, is 200/500\xa0× 100/200\xa0× 1\xa0= '
            '0.2\xa0lots.')
SEED_4_5_1 = ('4.5.1. equal copying 1-to-1 means that the volume of the trade the Trader opens equals the '
              'volume of the copier trade, opened for the Investor.')
SEED_5_2 = ('5.2. The minimum copied order volume is 0.01\xa0lots. However, copied orders with a volume '
            'below 0.005\xa0lots will be rejected, while copied trades from 0.005\xa0lots and above will be '
            'rounded to 0.01\xa0lots.')
SEED_5_4 = ('5.4. If the copied trade volume exceeds 100\xa0lots after the calculations, then the trade will '
            'not be opened on the Investor Account.')
ISSUE_CLI = ("`mtbridge copy-volume` gains the modes: `--mode fixed --fixed-volume 0.5 --volume 3` prints `0.50`; "
             "`--mode multiplier --multiplier 1.5 --volume 0.33` prints `0.50` (0.495 half up); `--mode "
             "balance_ratio --investor-balance 200 --trader-balance 1000 --volume 1` prints `0.20`; each respects "
             "the seed's limits and rejects bad input with exit status 2.")


def mtbridge(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "import sys; from bridge.cli import main; sys.exit(main())", *args],
                          capture_output=True, text=True, check=False)


# ---------------------------------------------------------------------- the domain's formula
def test_the_seed_modes_are_unchanged():
    assert "200/500\xa0× 100/200\xa0× 1\xa0= 0.2\xa0lots" in SEED_4_5
    assert copy_volume("proportional", D("1"), investor_equity=D("200"), trader_equity=D("500"),
                       investor_leverage=100, trader_leverage=200).volume == D("0.20")
    assert "equals the volume of the copier trade" in SEED_4_5_1
    assert copy_volume("equal", D("0.37")).volume == D("0.37")


@pytest.mark.parametrize("mode, kw, trader, expected", [
    ("fixed", {"fixed_volume": D("0.5")}, "3", "0.50"),
    ("multiplier", {"multiplier": D("1.5")}, "0.33", "0.50"),  # 0.495 half up
    ("balance_ratio", {"investor_balance": D("200"), "trader_balance": D("1000")}, "1", "0.20"),
])
def test_the_issue_examples_in_the_domain(mode, kw, trader, expected):
    decision = copy_volume(mode, D(trader), **kw)
    assert str(decision.volume) == expected


@pytest.mark.parametrize("mode, kw, trader, reason, raw", [
    # §5.2: below 0.005 refused; 0.005 .. 0.01 -> 0.01, after the mode
    ("multiplier", {"multiplier": D("0.1")}, "0.04", "below_min_volume", "0.004"),
    ("fixed", {"fixed_volume": D("0.004")}, "1", "below_min_volume", "0.004"),
    # §5.4: above 100 lots after the calculations: not opened (never clamped)
    ("multiplier", {"multiplier": D("2")}, "60", "above_max_volume", "120"),
    ("balance_ratio", {"investor_balance": D("100000"), "trader_balance": D("100")}, "1", "above_max_volume",
     "1000"),
])
def test_the_seed_limits_apply_after_every_mode(mode, kw, trader, reason, raw):
    assert "below 0.005\xa0lots will be rejected" in SEED_5_2 and "will not be opened" in SEED_5_4
    decision = copy_volume(mode, D(trader), **kw)
    assert (decision.volume, decision.reason, decision.raw) == (None, reason, D(raw))


def test_between_half_and_one_hundredth_is_one_hundredth_in_every_mode():
    assert "from 0.005\xa0lots and above will be rounded to 0.01\xa0lots" in SEED_5_2
    assert copy_volume("multiplier", D("0.05"), multiplier=D("0.1")).volume == D("0.01")  # 0.005
    assert copy_volume("fixed", D("9"), fixed_volume=D("0.007")).volume == D("0.01")
    assert copy_volume("balance_ratio", D("1"), investor_balance=D("6"), trader_balance=D("1000")).volume == D("0.01")


def test_balance_ratio_compares_balances_in_one_currency():
    from bridge.domain.currency import Rates
    # an 800 EUR trader balance is 1 000 USD at EURUSD 1.25: 1 000 USD / 1 000 USD x 1 lot
    d = copy_volume("balance_ratio", D("1"), investor_balance=D("1000"), trader_balance=D("800"),
                    trader_currency="EUR", rates=Rates({"EURUSD": D("1.25")}))
    assert d.volume == D("1.00")
    assert copy_volume("balance_ratio", D("1"), investor_balance=D("1000"), trader_balance=D("800"),
                       trader_currency="EUR").reason == "no_rate"


# ---------------------------------------------------------------------- the command line
def test_the_issue_cli_examples():
    assert "prints `0.50`" in ISSUE_CLI
    assert mtbridge("copy-volume", "--mode", "fixed", "--fixed-volume", "0.5", "--volume", "3").stdout == "0.50\n"
    assert mtbridge("copy-volume", "--mode", "multiplier", "--multiplier", "1.5", "--volume", "0.33").stdout == "0.50\n"
    assert mtbridge("copy-volume", "--mode", "balance_ratio", "--investor-balance", "200", "--trader-balance", "1000",
                    "--volume", "1").stdout == "0.20\n"
    # the seed's limits: not opened, said so
    assert mtbridge("copy-volume", "--mode", "multiplier", "--multiplier", "2", "--volume", "60",
                    "--json").stdout == '{"volume": null, "rejected": "above_max_volume"}\n'


@pytest.mark.parametrize("args, needle", [
    (["--mode", "fixed", "--volume", "1"], "fixed mode needs --fixed-volume"),
    (["--mode", "multiplier", "--volume", "1"], "multiplier mode needs --multiplier"),
    (["--mode", "balance_ratio", "--investor-balance", "200", "--volume", "1"], "needs --trader-balance"),
    (["--mode", "multiplier", "--multiplier", "-1", "--volume", "1"], "multiplier: must be a factor > 0"),
    (["--mode", "fixed", "--fixed-volume", "0", "--volume", "1"], "fixed_volume: must be lots > 0"),
    (["--mode", "fixed", "--fixed-volume", "abc", "--volume", "1"], "not a number"),
    (["--mode", "balance_ratio", "--investor-balance", "x", "--trader-balance", "1", "--volume", "1"],
     "not a number"),
    (["--mode", "sideways", "--volume", "1"], "invalid choice"),
])
def test_bad_input_is_one_line_and_exit_2(args, needle):
    run = mtbridge("copy-volume", *args)
    assert run.returncode == 2, run.stdout
    assert needle in run.stderr and len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr


# ---------------------------------------------------------------------- in the engine
def opens(step) -> list[D]:
    return [c.volume for c in step.commands if isinstance(c, OpenCopy)]


def test_the_engine_sizes_each_mode_from_one_source():
    w = World()
    w.trader(equity="1000", leverage=100)
    subs = {mode: w.investor(f"I{i}", account=2000 + i, amount="200") for i, mode in
            enumerate(("fixed", "multiplier", "balance_ratio", "equal"))}
    w.handle(SetCopySettings(w.tick(), subs["fixed"], None, mode="fixed", fixed_volume="0.05"))
    w.handle(SetCopySettings(w.tick(), subs["multiplier"], None, mode="multiplier", multiplier="0.15"))
    w.handle(SetCopySettings(w.tick(), subs["balance_ratio"], None, mode="balance_ratio"))
    _, step = w.open("0.33")
    by_sub = {c.subscription: c.volume for c in step.commands if isinstance(c, OpenCopy)}
    assert by_sub == {subs["fixed"]: D("0.05"), subs["multiplier"]: D("0.05"),  # 0.0495 half up
                      subs["balance_ratio"]: D("0.07")}  # 200 / 1000 x 0.33 = 0.066
    # the seed's equal copy of 0.33 lots needs more margin than 200 USD: refused as it always was,
    # with the figures (why not copied, for every subscription)
    (refused,) = [r for r in step.records if isinstance(r, CopyRefused)]
    assert (refused.subscription, refused.code) == (subs["equal"], "no_money")
    assert set(wire.plain(refused)["details"]) == {"volume", "equity", "margin"}


def test_a_mode_refusal_carries_the_figures():
    w = World()
    w.trader(equity="1000")
    sub = w.investor("I1", amount="200")
    w.handle(SetCopySettings(w.tick(), sub, None, mode="multiplier", multiplier="0.01"))
    _, step = w.open("0.33")
    (refused,) = [r for r in step.records if isinstance(r, CopyRefused)]
    assert refused.code == "below_min_volume"
    assert refused.details == {"mode": "multiplier", "trader_volume": "0.33", "raw_volume": "0.0033",
                               "multiplier": "0.01", "limit": "0.005"}


def test_balance_ratio_reads_the_trader_balance_at_the_deal():
    w = World()
    w.trader(equity="1000")
    sub = w.investor("I1", amount="500")
    w.handle(SetCopySettings(w.tick(), sub, None, mode=VolumeMode.BALANCE_RATIO))
    w.handle(AccountUpdated(w.tick(), 1000, D("2000"), D("1500")))  # balance, not equity
    _, step = w.open("1")
    assert opens(step) == [D("0.25")]
