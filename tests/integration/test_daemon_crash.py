"""kill -9 at random points during fan-outs, restart, and nothing is lost or duplicated
(the scenario and its checks: bridge/daemon/crash_testing.py; the same at thousands of
investors: benchmarks/bench_kill_fanout.py).

60 investor subscriptions, 14 trader steps, a seeded RNG picking kill delays so kills land
before, during and after the journaling of a fan-out and while results come back. On both
journals: the SQLite file (with its write-ahead file) and PostgreSQL (`journal.url`, the
session's test server; there the journal lock is an advisory lock the server drops when the
killed daemon's connection closes).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.daemon.crash_testing import kill_during_fanouts

pytestmark = pytest.mark.integration

SEED = 20240611


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_kill_minus_9_during_fanout_loses_and_duplicates_nothing(tmp_path: Path, store: str, request) -> None:
    url = request.getfixturevalue("pg_url") if store == "postgres" else ""
    run = kill_during_fanouts(tmp_path, investors=60, steps=14, seed=SEED, journal_url=url)
    assert run.kills >= 3
    assert run.executions and run.copies  # the checks below have something to check
    assert run.violations() == []
