"""`mtbridge cluster ledger adopt-wallets`: a shard's engine wallets from before `ledger =
true` move into the cluster ledger exactly once, kill -9 or not (bridge/daemon/ledger_ops.py).

"Money that crosses shards: investor wallets and partner (IB) credits live in a ledger in
PostgreSQL; subscribe, stop, commission payouts and partner credits are transactional,
idempotent transfers (exactly once even when two daemons race on the same request)."
(issue 16, section 2)"""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

pytest.importorskip("psycopg")

from bridge.cli import main  # noqa: E402
from bridge.daemon.cluster import ClusterDb, shard_url  # noqa: E402
from bridge.daemon.core import DaemonCore  # noqa: E402
from bridge.daemon.store_pg import PgStore  # noqa: E402
from ledgerkit import T0, Shard, config, ledger_rows, register_trader, take_shard  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
# the adoption in a child process that kills itself with SIGKILL after its first committed step
CHILD = """
import os, signal, sys
from ledgerkit import config
from bridge.daemon.ledger_ops import adopt_wallets
adopt_wallets(sys.argv[1], "s1", config(), batch=1, on_point=lambda name: os.kill(os.getpid(), signal.SIGKILL))
sys.exit(0)  # not reached: there are two wallets to adopt
"""
PRE_LEDGER = {"I": Decimal("1000"), "J": Decimal("250"), "K": Decimal("30.55")}


def release(url: str, shard: str, token: int) -> None:
    """The shard's daemon stops cleanly (ledgerkit's shards hold the lease by hand)."""
    db = ClusterDb(url)
    assert db.release(shard, token, f"node-{shard}")
    db.close()


def pre_ledger_shard(url: str) -> None:
    """Shard s1 run without the ledger: the engine's wallets are the money. I 1 000, J 250,
    K 30.55 deposited; I invests 400 with T; J withdraws 50. Engine wallets: I 600, J 200,
    K 30.55; 400 in the subscription."""
    token = take_shard(url, "s1")
    store = PgStore(shard_url(url, "s1"), lock=False, fence=("s1", token))
    core = DaemonCore.recover(config(), store.recover(), now=T0, insecure=True)

    def op(name: str, **args: object) -> dict:
        reply = core.on_admin({"id": None, "op": name, "args": args}, None, T0)
        store.write(core.take_batch())
        assert reply["ok"] and reply.get("refused") is None, reply
        return reply

    for owner, amount in PRE_LEDGER.items():
        op("deposit", owner=owner, amount=str(amount))
    op("register_trader", trader="T", account=1001, account_type="mt4_standard", leverage=100, commission_pct="20")
    op("subscribe", investor="I", trader="T", account=2001, amount="400")
    op("withdraw", owner="J", amount="50")
    assert dict(core.engine.wallets.balances) == {"I": 600, "J": 200, "K": Decimal("30.55")}
    store.close()
    release(url, "s1", token)


def adopt(capsys, url: str) -> tuple[int, str]:  # noqa: ANN001
    status = main(["cluster", "ledger", "adopt-wallets", "--url", url, "--shard", "s1", "--batch", "1"])
    out = capsys.readouterr()
    return status, out.out + out.err


def check(capsys, url: str) -> tuple[int, str]:  # noqa: ANN001
    status = main(["cluster", "ledger", "check", "--url", url])
    out = capsys.readouterr()
    return status, out.out


def test_adoption_killed_mid_way_and_run_again_moves_each_wallet_once(pg_url: str, capsys) -> None:  # noqa: ANN001
    pre_ledger_shard(pg_url)
    # `ledger = true` from here. I's money moves first (a top-up): the sweep takes I's whole
    # engine wallet, pre-ledger 600 included, from shard:s1 (the gap adoption's opening closes)
    token = take_shard(pg_url, "s1")
    s1 = Shard(pg_url, "s1", token)
    s1.admin("deposit", "dep-I", owner="I", amount="100")
    assert s1.admin("change_investment", "top-1", subscription=1, requester="I", amount="100")["refused"] is None
    assert s1.wallet("I") == 0 and s1.wallet("J") == 200
    s1.close()
    _rows, balances = ledger_rows(pg_url)
    assert balances == {"wallet:I": Decimal(600), "shard:s1": Decimal(-500)}
    status, out = check(capsys, pg_url)  # the pre-ledger money is not in the books yet
    assert status == 1 and "shard:s1: ledger -500.00, its journal says 730.55" in out and "adopt-wallets" in out

    status, out = adopt(capsys, pg_url)  # the shard's daemon still holds the lease: refused
    assert status == 2 and out.startswith("mtbridge cluster: error: shard s1 is owned by node-s1 (")
    assert out.strip().endswith("stop the daemons that serve it first (adoption writes its journal)")
    assert ledger_rows(pg_url)[1] == balances  # nothing changed
    release(pg_url, "s1", token)

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests" / "cluster")])}
    proc = subprocess.run([sys.executable, "-c", CHILD, pg_url], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == -9, proc.stderr
    rows, _ = ledger_rows(pg_url)
    assert [(r[2], r[3]) for r in rows if r[0].endswith(":adopt")] == [("wallet:J", Decimal(200))]  # J only

    status, out = adopt(capsys, pg_url)  # run again: the killed run's lease is taken back
    assert status == 0, out
    assert out.splitlines() == ["shard s1: 1 wallet(s) adopted, 30.55 in 1 step(s)",
                                "shard s1: opening 1000.00 (external -> shard:s1), key s1:opening"]
    status, out = adopt(capsys, pg_url)  # and once more: nothing left to move
    assert (status, out.strip()) == (0, "shard s1: 0 wallet(s) adopted, 0.00 in 0 step(s)")

    rows, balances = ledger_rows(pg_url)
    adopted = [(r[1], r[2], r[3], r[4]) for r in rows if r[0].endswith(":adopt")]
    assert adopted == [("external", "wallet:J", Decimal(200), "done"), ("external", "wallet:K", Decimal("30.55"), "done")]
    # 1 000 + 250 + 30.55 deposited, 50 withdrawn before the ledger: 1 230.55 now in the books
    assert balances == {"wallet:I": Decimal(600), "wallet:J": Decimal(200), "wallet:K": Decimal("30.55"),
                        "shard:s1": Decimal(500)}
    assert sum(balances.values()) == sum(PRE_LEDGER.values()) - 50 + 100  # + I's ledger deposit
    status, out = check(capsys, pg_url)
    assert status == 0, out

    s1 = Shard(pg_url, "s1", take_shard(pg_url, "s1"))  # a daemon takes the shard back
    assert dict(s1.core.engine.wallets.balances) == {"I": 0, "J": 0, "K": 0}
    assert s1.admin("stop", "stop-1", subscription=1, requester=None)["refused"] is None
    s1.close()
    _rows, balances = ledger_rows(pg_url)
    assert balances["wallet:I"] == Decimal(1100) and balances["shard:s1"] == 0  # I's 400 + 100 back
    assert check(capsys, pg_url)[0] == 0


def test_adopting_a_shard_born_with_the_ledger_moves_nothing(pg_url: str, capsys) -> None:  # noqa: ANN001
    token = take_shard(pg_url, "s1")
    s1 = Shard(pg_url, "s1", token)
    s1.admin("deposit", "d", owner="I", amount="100")
    register_trader(s1, "T", 1001)
    assert s1.admin("subscribe", "a", investor="I", trader="T", account=2001, amount="60")["refused"] is None
    s1.close()
    release(pg_url, "s1", token)
    before = ledger_rows(pg_url)
    status, out = adopt(capsys, pg_url)
    assert (status, out.strip()) == (0, "shard s1: 0 wallet(s) adopted, 0.00 in 0 step(s)")
    assert ledger_rows(pg_url) == before
    status = main(["cluster", "ledger", "adopt-wallets", "--url", pg_url, "--shard", "s9"])
    assert (status, capsys.readouterr().err.strip()) == (2, "mtbridge cluster: error: no shard 's9' (known: s1)")
    status = main(["cluster", "ledger", "adopt-wallets", "--url", pg_url, "--shard", "s1", "--batch", "0"])
    assert (status, capsys.readouterr().err.strip()) == (2, "mtbridge cluster: error: batch must be at least 1, got 0")
    assert ledger_rows(pg_url) == before
