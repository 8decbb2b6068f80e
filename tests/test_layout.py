"""The package arrows (docs/architecture.md): the bridge never imports the simulator, the demo
or the native MQL host; they plug their commands into `mtbridge` through an entry-point group."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bridge.cli import COMMANDS_GROUP, plugin_commands, plugin_entries

ROOT = Path(__file__).resolve().parents[1]
#: packages that may import the bridge, never the other way round
ABOVE_THE_BRIDGE = ("simulator", "mtbridge_demo", "mqlnative")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in a file, static or by a literal name
    (`importlib.import_module("x")`, `__import__("x")`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Name) and node.func.id == "__import__")
                   or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module"))):
            found.append((node.lineno, node.args[0].value))
    return found


def test_no_module_under_bridge_imports_the_simulator_or_the_demo() -> None:
    files = sorted((ROOT / "bridge").rglob("*.py"))
    assert len(files) > 50  # the whole package was read
    wrong = [f"{path.relative_to(ROOT)}:{line} imports {module}"
             for path in files for line, module in imported_modules(path)
             if module.split(".")[0] in ABOVE_THE_BRIDGE]
    assert wrong == []


def test_the_scanner_sees_every_kind_of_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import simulator.server\nfrom mtbridge_demo.run import run_demo\n"
                      "def f():\n    from simulator import prices\n    importlib.import_module('mqlnative.host')\n")
    assert [m for _, m in imported_modules(sample)] == ["simulator.server", "mtbridge_demo.run", "simulator",
                                                        "mqlnative.host"]


def test_simulate_and_demo_are_registered_in_pyproject_and_found_by_the_cli() -> None:
    table = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"][COMMANDS_GROUP]
    assert table == {"simulate": "simulator.commands:add_commands", "demo": "mtbridge_demo.commands:add_commands"}
    assert plugin_entries() == list(table.items())
    from mtbridge_demo.commands import add_commands as demo_commands
    from simulator.commands import add_commands as simulate_commands

    assert plugin_commands() == [simulate_commands, demo_commands]


def test_a_package_that_is_not_installed_is_skipped_and_a_broken_one_is_not(tmp_path: Path, monkeypatch) -> None:
    assert plugin_commands([("ghost", "mtbridge_no_such_package.commands:add_commands")]) == []
    broken = tmp_path / "mtbridge_broken_plugin.py"
    broken.write_text("import mtbridge_missing_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="mtbridge_missing_dependency"):
        plugin_commands([("broken", "mtbridge_broken_plugin:add_commands")])


def test_the_commands_stay_where_users_find_them() -> None:
    run = subprocess.run([sys.executable, "-m", "bridge.cli", "--help"], capture_output=True, text=True,
                         timeout=60, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    listed = {line.split()[0] for line in run.stdout.splitlines() if line.startswith("    ") and line.split()}
    assert {"margin", "copy-volume", "daemon", "keys", "monitor", "simulate", "demo"} <= listed
    demo = subprocess.run([sys.executable, "-m", "bridge.cli", "demo", "--help"], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert demo.returncode == 0 and "--dashboard" in demo.stdout


def test_an_installed_distribution_answers_from_its_metadata(tmp_path: Path, monkeypatch) -> None:
    from importlib.metadata import EntryPoint

    import bridge.cli

    installed = [EntryPoint("simulate", "simulator.commands:add_commands", COMMANDS_GROUP)]
    monkeypatch.setattr(bridge.cli, "entry_points", lambda group: installed if group == COMMANDS_GROUP else [])
    assert plugin_entries(tmp_path / "no-pyproject.toml") == [("simulate", "simulator.commands:add_commands")]
    other = tmp_path / "pyproject.toml"
    other.write_text('[project]\nname = "someone-else"\n')
    assert plugin_entries(other) == [("simulate", "simulator.commands:add_commands")]  # not our checkout


def test_licence_is_an_spdx_string_so_setuptools_prints_no_deprecation_box():
    # review (desk-and-ops, user 1 #9): `license = { text = ... }` made every install print
    # setuptools' "project.license as a TOML table is deprecated" box; the SPDX string form
    # (PEP 639) needs setuptools >= 77 in the isolated build
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "Apache-2.0"
    assert "setuptools>=77" in project["build-system"]["requires"]
