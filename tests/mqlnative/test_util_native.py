"""Util.mqh's one reader of MT4's server-written order comments, run natively (MQL4 branch):
"to #N" names the remainder, "from #N" the parent (exactly N: "from #1005" is not a child of
#100), "[sl]"/"[tp]" anywhere and "so:" only at the start give the close reason."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from mqlnative.build import build

PROBE = Path(__file__).resolve().parent / "probe" / "Scripts" / "MtbCommentProbe.mql"

EXPECTED = {  # comment -> (remainder, parent, close reason)
    "to #1005": (1005, 0, "client"),
    "from #1000": (0, 1000, "client"),
    "from #1005": (0, 1005, "client"),
    "s1-t36000000-open-1[sl]": (0, 0, "sl"),
    "s1-t36000000-open-1[tp]": (0, 0, "tp"),
    "so: 18.3%/520.00/2841.20": (0, 0, "so"),
    "also: hedge": (0, 0, "client"),  # a trader's own comment, closed by hand
    "partial close": (0, 0, "client"),
    "from #x": (0, 0, "client"),
    "": (0, 0, "client"),
}


def test_mt4_comment_readers(tmp_path: Path) -> None:
    if shutil.which("g++") is None:
        pytest.fail("g++ is missing: run scripts/install-mql-toolchain.sh (make test does)")
    result = build(PROBE, "mql4", "exe", out_root=tmp_path)
    assert result.ok, result.log[-4000:]
    run = subprocess.run([str(result.output)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    got = {}
    for line in run.stdout.splitlines():
        parts = line.split("|")
        if len(parts) == 4:
            got[parts[0]] = (int(parts[1]), int(parts[2]), parts[3])
    assert got == EXPECTED
