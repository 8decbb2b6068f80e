"""Issue 12 section 4: "Break the `simulator/scenario.py` <-> `simulator/strategies.py` import
cycle." The shared piece (durations) lives in `simulator.durations`; imports point one way:
scenario -> strategies -> durations."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):  # lazy imports inside functions count too
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_strategies_does_not_import_scenario():
    assert "simulator.scenario" not in _imported_modules(ROOT / "simulator" / "strategies.py")
    assert not any(m.startswith("simulator") for m in _imported_modules(ROOT / "simulator" / "durations.py"))


def test_importing_strategies_alone_does_not_load_scenario():
    code = "import sys, simulator.strategies; print('simulator.scenario' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_scenario_still_exports_parse_duration():
    from simulator import durations, scenario
    assert scenario.parse_duration is durations.parse_duration
    assert scenario.parse_duration("1d12h") == 36 * 3_600_000
