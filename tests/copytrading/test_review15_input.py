"""Review of issue 15 (adversarial): bad input gets a clear one-line error and changes nothing.

Issue 15: "`mtbridge copy-volume` gains the modes ... each respects the seed's limits and rejects
bad input with exit status 2." Settings: "validated (a clear error names the field and the rule)"."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bridge.copytrading import SetCopySettings
from bridge.copytrading.settings import CopySettings
from bridge.domain.errors import DomainError
from tests.copytrading.helpers import World


def mtbridge(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "import sys; from bridge.cli import main; sys.exit(main())", *args],
                          capture_output=True, text=True, check=False)


@pytest.mark.parametrize("args", [
    ("--mode", "multiplier", "--multiplier", "1e999999999", "--volume", "1"),
    ("--mode", "equal", "--volume", "1e999999999"),
    ("--mode", "fixed", "--fixed-volume", "1E+999999999999999999", "--volume", "1"),
    ("--mode", "balance_ratio", "--investor-balance", "1e999999999", "--trader-balance", "1", "--volume", "1"),
    ("--mode", "balance_ratio", "--investor-balance", "1000", "--trader-balance", "1e-999999999", "--volume", "1"),
    ("--mode", "proportional", "--investor-equity", "200", "--trader-equity", "1e-999999999",
     "--investor-leverage", "100", "--trader-leverage", "100", "--volume", "1"),
])
def test_copy_volume_huge_or_tiny_exponents_are_one_line_and_exit_2(args):
    done = mtbridge("copy-volume", *args)
    assert "Traceback" not in done.stderr, done.stderr[-300:]
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr[-300:])
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("text", ["\u00b2", "1001,\u00b3", "\u2460"])  # superscript two, three; circled one
def test_a_magic_list_with_a_unicode_digit_is_invalid_settings(text):
    """`str.isdigit()` is true for '²' but `int('²')` raises ValueError: not a DomainError, so
    the engine, the admin API and the dashboard get an exception instead of `invalid_settings`."""
    with pytest.raises(DomainError) as err:
        CopySettings.from_dict({"magics_allowed": text})
    assert err.value.code == "invalid_settings" and "magics_allowed" in err.value.detail


def test_set_copy_settings_with_a_unicode_digit_magic_is_refused_not_raised():
    w = World()
    w.trader()
    sub = w.investor("I1", amount="10000")
    step = w.handle(SetCopySettings(w.tick(), sub, "I1", magics_blocked="\u00b2"))  # must not raise
    assert any(getattr(r, "code", None) == "invalid_settings" for r in step.records)
    assert w.engine.subscriptions[sub].settings is None  # nothing changed


def test_a_magic_list_of_non_ascii_digits_is_not_silently_read_as_another_number():
    """'١٢٣' (Arabic-Indic digits) passes `isdigit` and `int()` reads it as 123: a magic the
    trader's EA never had. The wire's magic is an ASCII integer; anything else is a typo."""
    with pytest.raises(DomainError):
        CopySettings.from_dict({"magics_allowed": "\u0661\u0662\u0663"})


def test_the_admin_api_refuses_a_unicode_digit_magic_instead_of_answering_ok():
    """Through the daemon the engine's ValueError is caught and logged (`engine.error`), and the
    admin caller is answered `ok: true, refused: null`: told the change was made when nothing was."""
    from tests.simulator.test_cross_platform_e2e import _netting_world
    server, daemon, _wire, _logins, _ = _netting_world()
    reply = daemon.on_admin({"op": "set_copy_settings",
                             "args": {"subscription": 1, "requester": None, "magics_allowed": "\u00b2"}},
                            None, server.now_ms)
    assert not reply["ok"] or (reply["refused"] or {}).get("code") == "invalid_settings", reply


def test_copy_volume_modes_agree_on_the_seed_limits_for_a_long_decimal():
    """Issue item 1: "The seed's limits always apply after the mode: half-up to 0.01, below 0.005
    refused". equal refuses 0.004999... lots; multiplier 1 and balance_ratio 1:1 of the same
    volume round it to 0.005 in 28-digit context arithmetic first, and print 0.01."""
    volume = "0.00499999999999999999999999999999"
    equal = mtbridge("copy-volume", "--mode", "equal", "--volume", volume, "--json")
    times_one = mtbridge("copy-volume", "--mode", "multiplier", "--multiplier", "1", "--volume", volume, "--json")
    ratio = mtbridge("copy-volume", "--mode", "balance_ratio", "--investor-balance", "1", "--trader-balance", "1",
                     "--volume", volume, "--json")
    assert '"volume": null' in equal.stdout
    assert times_one.stdout == equal.stdout and ratio.stdout == equal.stdout, (times_one.stdout, ratio.stdout)
