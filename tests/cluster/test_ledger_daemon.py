"""The cluster ledger in a real daemon process (`[cluster] ledger = true`), killed with -9
and restarted: the admin API moves money through the ledger, exactly once per request id.

"Money that crosses shards: investor wallets and partner (IB) credits live in a ledger in
PostgreSQL; subscribe, stop, commission payouts and partner credits are transactional,
idempotent transfers (exactly once even when two daemons race on the same request)."
(issue 16, section 2)"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

pytest.importorskip("psycopg")

from bridge.daemon.client import AdminClient  # noqa: E402
from bridge.daemon.cluster_testing import node_config  # noqa: E402
from bridge.daemon.testing import DaemonProcess, make_setup  # noqa: E402
from ledgerkit import ledger_rows  # noqa: E402

pytestmark = pytest.mark.integration


def call(admin: AdminClient, rid: str, op: str, **args: object) -> dict:
    """A request with a text id: the client's idempotency token."""
    return admin.request({"id": rid, "op": op, "args": {k: str(v) if isinstance(v, Decimal) else v
                                                         for k, v in args.items()}}, timeout=60)


def test_a_ledger_daemon_killed_and_restarted_moves_each_request_once(tmp_path: Path, pg_url: str) -> None:
    setup = make_setup(tmp_path, {"ops": ([], "admin")}, journal_url=pg_url)
    cfg = node_config(setup, "d1", tmp_path / "d1", lease_ms=1500, renew_ms=300)
    cfg.write_text(cfg.read_text() + "ledger = true\n")
    daemon = DaemonProcess(cfg).start(timeout=120)
    admin = AdminClient(daemon.endpoints["admin"], setup.curve("ops"))
    try:
        assert admin("register_trader", trader="T", account=1001, account_type="mt4_standard", leverage=100,
                     commission_pct="10")["refused"] is None
        assert call(admin, "dep-1", "deposit", owner="I", amount="1000")["wallets"] == [{"owner": "I", "balance": "1000"}]
        sub = call(admin, "sub-1", "subscribe", investor="I", trader="T", account=2001, amount="700")
        assert sub["refused"] is None and sub["transfer"]["status"] == "done"
        assert call(admin, "w", "wallet", owner="I")["wallets"] == [{"owner": "I", "balance": "300"}]
        admin.close()
        daemon.kill()  # kill -9; the restart waits for the lease to lapse, recovers the journal
        daemon.proc.wait(60)
        daemon = DaemonProcess(cfg).start(timeout=120)
        admin = AdminClient(daemon.endpoints["admin"], setup.curve("ops"))
        again = call(admin, "sub-1", "subscribe", investor="I", trader="T", account=2001, amount="700")
        assert again["repeated"] and again["transfer"]["key"] == "req:subscribe:sub-1"
        assert call(admin, "dep-1", "deposit", owner="I", amount="1000")["transfer"]["repeated"]
        stop = admin("stop", subscription=1, requester=None)
        assert stop["refused"] is None
        assert call(admin, "w2", "wallet", owner="I")["wallets"] == [{"owner": "I", "balance": "1000.00"}]
        rows, balances = ledger_rows(pg_url)
        assert [r[0] for r in rows].count("req:subscribe:sub-1") == 1
        assert balances == {"shard:s1": Decimal(0), "wallet:I": Decimal(1000)}
    finally:
        admin.close()
        daemon.terminate()
