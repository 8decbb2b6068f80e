"""`mtbridge completion bash|zsh` (review desk-and-ops, feature table: "shell completion |
absent | no argcomplete/shtab/completion code"): a script generated from the parser, checked by
`bash -n` and by running its completion function in a real bash."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.cli import build_parser, main
from bridge.completion import walk

ROOT = Path(__file__).resolve().parents[1]


def _script(shell: str) -> str:
    run = subprocess.run([sys.executable, "-m", "bridge.cli", "completion", shell], capture_output=True, text=True,
                         timeout=60, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    return run.stdout


def _complete(script: str, *words: str) -> list[str]:
    """COMPREPLY of the script's function for a command line whose last word is being typed."""
    line = " ".join(f"'{w}'" for w in ("mtbridge", *words))
    probe = (f"{script}\nCOMP_WORDS=({line}); COMP_CWORD={len(words)}; _mtbridge; "
             'printf "%s\\n" "${COMPREPLY[@]}"')
    run = subprocess.run(["bash", "--norc", "--noprofile", "-c", probe], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    return run.stdout.split()


def test_bash_script_lists_every_subcommand_and_is_valid_bash():
    script = _script("bash")
    assert subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True).returncode == 0
    top = next(n for n in walk(build_parser()) if n.path == "")
    commands = set(top.children)
    assert {"margin", "daemon", "keys", "admin", "monitor", "dashboard", "simulate", "demo", "history",
            "completion"} <= commands
    assert set(_complete(script, "")) >= commands | {"--help", "--version", "--log-level"}
    assert _complete(script, "ad") == ["admin"]
    assert "deposit" in _complete(script, "admin", "") and _complete(script, "admin", "dep") == ["deposit"]
    assert _complete(script, "admin", "deposit", "--am") == ["--amount"]
    assert _complete(script, "--log-level", "") == ["debug", "info", "warning", "error"]
    assert _complete(script, "keys", "terminal", "--role", "mo") == ["monitor"]
    assert {"deals", "trades", "subscriptions", "--desk-db"} <= set(_complete(script, "history", ""))
    assert _complete(script, "completion", "") == ["-h", "--help", "bash", "zsh"]


def test_zsh_script_uses_the_same_tables(capsys):
    assert main(["completion", "zsh"]) == 0
    z = capsys.readouterr().out
    assert z.startswith("#compdef mtbridge\n") and "bashcompinit" in z and "complete -o default -F _mtbridge" in z
    assert "admin|deposit" in z
    if shutil.which("zsh") is None:
        pytest.skip("no zsh here to check the syntax")
    assert subprocess.run(["zsh", "-n"], input=z, text=True, capture_output=True).returncode == 0


def test_unknown_shell_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["completion", "fish"])
    assert exc.value.code == 2 and "invalid choice: 'fish'" in capsys.readouterr().err
