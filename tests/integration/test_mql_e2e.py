"""The real EA sources, built natively, end to end against the simulated trade server and a real
`mtbridge daemon` over CURVE, compared with the Python simulated terminals: what `make mql-e2e`
runs (docs/mql-e2e.md).

The full scenario (opens, an SL/TP modification, two partial closes, a TP and an SL hit, an
investor EA restart right after an open, an investor terminal restart, an investor offline past
the open validity, a refusal for money, a stop-out, and the netting refusal) for MT4, MT5 and
MT4<->MT5 cross copying. The trade server and the daemon
run at the broker's usual zone (UTC+2/us), and in a second run (the short scenario) both at UTC-5 (the cross
configuration: both platforms as trader and as investor), where every time the EAs convert
has the other sign; the daemon must log no `terminal.utc_offset_mismatch` in either.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
from pathlib import Path

import pytest

from bridge.domain.servertime import ServerTimeZone
from mqlnative import e2e

pytestmark = pytest.mark.integration


# MT4->MT4 runs in `make mql-e2e` only: "cross" has the MT4 EAs as trader and as investor, "MT5"
# the netting account; the suite's time goes to them
@pytest.mark.parametrize(("zone", "only", "short"), [("UTC+2/us", ["MT5", "cross"], False), ("UTC-5", ["cross"], True)])
def test_eas_copy_exactly_like_the_python_terminals(tmp_path: Path, zone: str, only: list[str], short: bool) -> None:
    if shutil.which("g++") is None:
        pytest.fail("g++ is missing: run scripts/install-mql-toolchain.sh (make test does)")
    args = argparse.Namespace(short=short, seed=e2e.SEED, only=only, keep=str(tmp_path),
                              timezone=ServerTimeZone.parse(zone))
    line = asyncio.run(e2e.main_async(args))
    assert line.startswith("mql e2e: " + ", ".join(f"{c} ok" for c in only) + ": ")
    assert line.endswith(" closes, identical to the Python terminals")
    copies = int(line.split(": ")[2].split(" copies")[0])
    assert copies > 0
