"""Issue 11 section 3: MtBridgeSelfTest built natively from the MQL sources, both branches,
under AddressSanitizer/UBSan, passes every golden vector of tests/vectors/protocol_vectors.json."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from mqlnative.build import build

ROOT = Path(__file__).resolve().parents[2]
SELFTEST = ROOT / "mql" / "Scripts" / "MtBridgeSelfTest.mql"
VECTORS = json.loads((ROOT / "tests" / "vectors" / "protocol_vectors.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("branch", ["mql4", "mql5"])
def test_selftest_passes_every_golden_vector_under_sanitizers(branch: str, tmp_path: Path) -> None:
    result = build(SELFTEST, branch, "exe", sanitize=True, out_root=tmp_path)
    assert result.ok, result.log
    run = subprocess.run([str(result.output)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    assert "runtime error" not in run.stderr and "AddressSanitizer" not in run.stderr, run.stderr[-4000:]
    lines = run.stdout.splitlines()
    failed = [line for line in lines if line.startswith("FAIL ")]
    passed = [line.removeprefix("PASS ") for line in lines if line.startswith("PASS ")]
    assert failed == []
    assert passed == [v["name"] for v in VECTORS]
    summary = re.search(r"MtBridgeSelfTest: (\d+) of (\d+) vectors passed", run.stdout)
    assert summary and summary.group(1) == summary.group(2) == str(len(VECTORS))
