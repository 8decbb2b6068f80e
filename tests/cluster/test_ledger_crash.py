"""kill -9 of a shard's daemon around a money step: never a transfer twice, never one lost.

"Money that crosses shards: investor wallets and partner (IB) credits live in a ledger in
PostgreSQL; subscribe, stop, commission payouts and partner credits are transactional,
idempotent transfers (exactly once even when two daemons race on the same request)."
(issue 16, section 2)

The child process runs one shard (core, fenced journal, ledger: tests/cluster/ledgerkit.py)
and kills itself with SIGKILL at a crash point of the step: "step" (its transfers and events
written, the transaction not committed) or "committed" (committed, nothing of it sent: the
admin client never got its reply). The next life recovers from the journal, and the client
sends the same request again, as a client that got no reply does."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

pytest.importorskip("psycopg")

from ledgerkit import Shard, ledger_rows, register_trader, take_shard  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import os, signal, sys
from ledgerkit import Shard
url, token, op, point = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def crash(name):
    if name == point:
        os.kill(os.getpid(), signal.SIGKILL)
shard = Shard(url, "s1", token, crash)
if op == "subscribe":
    shard.admin("subscribe", "r-1", investor="I", trader="T", account=2001, amount="700")
else:
    shard.admin("stop", "stop-1", subscription=1, requester=None)
sys.exit(0)  # not reached: the crash point is on this request's path
"""


def run_child(url: str, token: int, op: str, point: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests" / "cluster")])}
    proc = subprocess.run([sys.executable, "-c", CHILD, url, str(token), op, point], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr


def subscribe_again(shard: Shard) -> dict:
    return shard.admin("subscribe", "r-1", investor="I", trader="T", account=2001, amount="700")


@pytest.mark.parametrize("point", ["step", "committed"])
def test_kill_9_around_a_subscribe_moves_the_money_exactly_once(pg_url: str, point: str) -> None:
    token = take_shard(pg_url, "s1")
    first = Shard(pg_url, "s1", token)
    first.admin("deposit", "dep-1", owner="I", amount="1000")
    register_trader(first, "T", 1001)
    seq_before = first.core.seq
    first.close()

    run_child(pg_url, token, "subscribe", point)
    rows, balances = ledger_rows(pg_url)
    after = Shard(pg_url, "s1", token)  # the next life: journal recovery
    if point == "step":  # not committed: neither the events nor the transfer exist
        assert [r for r in rows if r[0] == "req:subscribe:r-1"] == []
        assert balances["wallet:I"] == Decimal("1000") and after.core.seq == seq_before
        assert after.core.engine.subscriptions == {}
    else:  # committed together: the transfer, and the subscription in the journal
        assert [r for r in rows if r[0] == "req:subscribe:r-1"] == [
            ("req:subscribe:r-1", "wallet:I", "shard:s1", Decimal("700"), "done")]
        assert balances["wallet:I"] == Decimal("300") and len(after.core.engine.subscriptions) == 1

    reply = subscribe_again(after)  # the client got no reply: it sends the request again
    assert reply["ok"] and reply["transfer"]["status"] == "done"
    assert reply.get("repeated", False) is (point == "committed")
    rows, balances = ledger_rows(pg_url)
    assert [r[0] for r in rows].count("req:subscribe:r-1") == 1
    assert balances["wallet:I"] == Decimal("300") and balances["shard:s1"] == Decimal("700")
    assert len(after.core.engine.subscriptions) == 1 and after.wallet("I") == 0
    after.close()


@pytest.mark.parametrize("point", ["step", "committed"])
def test_kill_9_around_a_stop_returns_the_money_exactly_once(pg_url: str, point: str) -> None:
    token = take_shard(pg_url, "s1")
    first = Shard(pg_url, "s1", token)
    first.admin("deposit", "dep-1", owner="I", amount="1000")
    register_trader(first, "T", 1001)
    assert subscribe_again(first)["refused"] is None
    first.close()

    run_child(pg_url, token, "stop", point)
    after = Shard(pg_url, "s1", token)
    stopped = after.core.engine.subscriptions[1].state.value == "stopped"
    assert stopped is (point == "committed")
    reply = after.admin("stop", "stop-1", subscription=1, requester=None)  # sent again
    assert reply["ok"]
    if point == "committed":  # already stopped: the engine refuses the repeat, nothing moves
        assert reply["refused"]["code"] == "subscription_stopped"
    rows, balances = ledger_rows(pg_url)
    returns = [r for r in rows if r[1] == "shard:s1" and r[2] == "wallet:I"]
    assert [(r[3], r[4]) for r in returns] == [(Decimal("700"), "done")]
    assert balances["wallet:I"] == Decimal("1000") and balances["shard:s1"] == 0
    assert after.wallet("I") == 0
    after.close()
