"""The checks of the kill -9 scenario (bridge/daemon/crash_testing.py) catch what they name:
a run that is clean passes, and each kind of loss or duplication is reported."""

from __future__ import annotations

from decimal import Decimal

from bridge.daemon.crash_testing import KillRun


def clean() -> KillRun:
    """Two investors, trader ticket 7 open and copied once each, ticket 8 copied and closed."""
    run = KillRun([3001, 3002], kills=3, settled=True, open_positions={7})
    for login, sub in ((3001, 1), (3002, 2)):
        for t in (7, 8):
            run.executions[f"s{sub}-t{t}-open-1"] = 1
            run.opens.append((login, f"s{sub}-t{t}-open-1"))
            run.rows.append((f"s{sub}-t{t}-open-1", login, "open", "done"))
        run.executions[f"s{sub}-t8-close-1"] = 1
        run.rows.append((f"s{sub}-t8-close-1", login, "close", "done"))
        run.opens.append((login, f"s{sub}-t7-open-1"))  # a re-send of the same key: not a second copy
        run.copies[str(sub)] = {"7": {"ticket": 900 + sub, "volume": "0.1"}}
        run.held[login] = {(7, 900 + sub, Decimal("0.1"))}
    return run


def test_a_clean_run_has_no_violation() -> None:
    assert clean().violations() == []


def test_each_kind_of_loss_or_duplication_is_reported() -> None:
    run = clean()
    run.executions["s1-t7-open-1"] = 2
    assert run.violations() == ["s1-t7-open-1 executed 2 times"]

    run = clean()
    run.executions["s1-t7-open-2"] = 1  # a second key for the same copy, executed
    run.opens.append((3001, "s1-t7-open-2"))
    run.rows.append(("s1-t7-open-2", 3001, "open", "done"))
    assert run.violations() == ["login 3001 trader ticket 7 opened 2 times"]

    run = clean()
    run.rows.append(("s2-t9-open-1", 3002, "open", "pending"))  # journaled, never executed nor answered
    assert run.violations() == ["journaled but not executed ['s2-t9-open-1'], executed but not journaled []",
                                "s2-t9-open-1: pending"]

    run = clean()
    run.held[3002] = set()  # the engine believes a copy the terminal does not hold
    assert run.violations()[0].startswith("subscription 2: engine [(7, 902")

    run = clean()
    run.settled, run.diagnosis = False, "pending=..."
    assert run.violations() == ["never settled: pending=..."]
