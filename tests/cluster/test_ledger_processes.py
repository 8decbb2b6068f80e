"""Two daemon processes (shards s1 and s2) spend one ledger wallet at once, each sending every
request twice (a client's retry): never more than the wallet, each request once.

"Money that crosses shards: investor wallets and partner (IB) credits live in a ledger in
PostgreSQL; subscribe, stop, commission payouts and partner credits are transactional,
idempotent transfers (exactly once even when two daemons race on the same request)."
(issue 16, section 2)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

pytest.importorskip("psycopg")

from ledgerkit import Shard, ledger_rows, register_trader, take_shard  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 8
CHILD = """
import json, sys
from ledgerkit import Shard
url, shard, token, trader, base = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
d = Shard(url, shard, token)
out = []
for i in range(int(sys.argv[6])):
    for attempt in (1, 2):  # the request, then its retry with the same id
        r = d.admin("subscribe", f"{shard}-{i}", investor="I", trader=trader, account=base + i, amount="100")
        out.append([f"{shard}-{i}", attempt, r["transfer"]["status"], bool(r.get("repeated")), (r.get("refused") or {}).get("code")])
print(json.dumps({"replies": out, "subscriptions": len(d.core.engine.subscriptions), "wallet": str(d.wallet("I"))}))
"""


def test_two_processes_spending_one_wallet_never_overdraw_it_and_fund_each_request_once(pg_url: str) -> None:
    tokens = {s: take_shard(pg_url, s) for s in ("s1", "s2")}
    setup = {"s1": ("T1", 1001, 2000), "s2": ("T2", 1002, 3000)}
    first = Shard(pg_url, "s1", tokens["s1"])
    first.admin("deposit", "dep-1", owner="I", amount="1000")  # 10 x 100: less than 2 x 8 asked
    first.close()
    for shard, (trader, account, _) in setup.items():
        d = Shard(pg_url, shard, tokens[shard])
        register_trader(d, trader, account)
        d.close()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests" / "cluster")])}
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, pg_url, shard, str(tokens[shard]), trader, str(base),
                               str(ROUNDS)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for shard, (trader, _, base) in setup.items()]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
        results.append(json.loads(out))

    replies = [r for res in results for r in res["replies"]]
    funded = {rid for rid, attempt, status, repeated, code in replies if attempt == 1 and status == "done"}
    assert len(funded) == 10  # the wallet's 1 000, no more, no less (16 asked for 1 600)
    for rid, attempt, status, repeated, code in replies:
        if attempt == 1:
            assert not repeated and (code is None) == (rid in funded)
        else:  # the retry: the first result, nothing moved again
            assert repeated and status == ("done" if rid in funded else "refused")
    assert sum(res["subscriptions"] for res in results) == 10
    assert all(Decimal(res["wallet"]) == 0 for res in results)
    rows, balances = ledger_rows(pg_url)
    keys = [r[0] for r in rows]
    assert len(keys) == len(set(keys)) == 1 + 2 * ROUNDS
    assert balances["wallet:I"] == 0
    assert balances["shard:s1"] + balances["shard:s2"] == Decimal(1000)
