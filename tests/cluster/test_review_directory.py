"""Adversarial review (issue 16 §2): a login that is already placed in one shard must not be
silently moved to another by a journal step of that other shard.

"Terminal routing: a directory in PostgreSQL maps login -> shard -> current owner's endpoint"
(issue 16, section 2); docs/scaling.md: "logins and trader names are unique in a cluster, the
directory maps each to one shard". Each shard's engine only knows its own accounts, so a
`subscribe` on s2 naming an account login that is s1's trader account is accepted by s2's
engine (`account_in_use` is checked per shard), and `LOGINS_UPSERT` (ON CONFLICT DO UPDATE)
moves the login's directory row to s2: trader T1's terminal is then redirected to s2 and T1's
deals no longer reach T1's investors on s1."""

from __future__ import annotations

import pytest

pytest.importorskip("psycopg")

from bridge.cluster.routing import Redirect, Serve, route  # noqa: E402
from bridge.daemon.cluster import ClusterDb, ShardStore, shard_url  # noqa: E402
from bridge.daemon.core import DaemonCore  # noqa: E402
from bridge.daemon.store_pg import PgStore  # noqa: E402
from ledgerkit import T0, config, take_shard  # noqa: E402


class DirShard:
    """A shard's core on its fenced ShardStore (so its steps maintain the directory), wired
    as the daemon wires it (server.py): the store's directory check before the engine.
    `wired=False`: a core that skips that check (a race past it), to see the step refused."""

    def __init__(self, url: str, shard: str, wired: bool = True) -> None:
        token = take_shard(url, shard)
        self.store = ShardStore(shard_url(url, shard), lock=False, fence=(shard, token))
        self.core = DaemonCore.recover(config(), self.store.recover(), now=T0, insecure=True)
        if wired:
            self.core.placement_refusal = self.store.placement_refusal

    def admin(self, op: str, **args: object) -> dict:
        reply = self.core.on_admin({"id": 1, "op": op, "args": args}, None, T0)
        self.store.write(self.core.take_batch())
        return reply

    def close(self) -> None:
        PgStore.close(self.store)  # no lease keeper in this test


def test_a_login_placed_in_s1_is_not_stolen_by_a_subscription_on_s2(pg_url: str) -> None:
    s1, s2 = DirShard(pg_url, "s1"), DirShard(pg_url, "s2")
    db = ClusterDb(pg_url)
    try:
        for shard, trader, account in ((s1, "T1", 1001), (s2, "T2", 2001)):
            reply = shard.admin("register_trader", trader=trader, account=account, account_type="mt4_standard",
                                leverage=100, commission_pct="20")
            assert reply["ok"] and reply["refused"] is None, reply
        assert db.directory() == {1001: "s1", 2001: "s2"}
        # the subscribe names T2: admin routing sends it to s2's owner, which runs it
        assert s2.admin("deposit", owner="I2", amount="5000")["ok"]
        reply = s2.admin("subscribe", investor="I2", trader="T2", account=1001, amount="1000")
        directory, (_now, leases) = db.directory(), db.view()
        # the promise: login 1001 stays T1's, on s1 (the request is refused, or at least the
        # directory row is not moved); today it is moved to s2
        assert directory[1001] == "s1", (reply, directory)
        assert not reply["ok"] and reply["code"] == "account_in_use" and "shard s1" in reply["detail"], reply
        assert not s2.core.engine.subscriptions  # s2's engine never saw it
        assert "Subscribe" not in {type_ for _seq, _now, type_, _body in s2.store.recover().events}  # nor its journal
        assert isinstance(route(1001, directory, leases, {"s1"}, T0), Serve)
        assert not isinstance(route(1001, directory, leases, {"s2"}, T0), Serve)
    finally:
        db.close()
        s1.close()
        s2.close()


def test_a_trader_name_of_s1_is_not_stolen_by_a_registration_addressed_to_s2(pg_url: str) -> None:
    """`register_trader --shard s2` (the explicit envelope wins over the trader name's shard)
    with a name s1 already has: s2's engine accepts it and TRADERS_UPSERT moves T1 -> s2, so
    every later admin request naming T1 (set_commission, disable_trader, subscribe) is routed
    to s2's T1, not to the T1 whose investors are on s1."""
    s1, s2 = DirShard(pg_url, "s1"), DirShard(pg_url, "s2")
    db = ClusterDb(pg_url)
    try:
        assert s1.admin("register_trader", trader="T1", account=1001, account_type="mt4_standard", leverage=100,
                        commission_pct="20")["ok"]
        reply = s2.admin("register_trader", trader="T1", account=2001, account_type="mt4_standard", leverage=100,
                         commission_pct="20")
        assert db.traders()["T1"] == "s1", (reply, db.traders())
        assert not reply["ok"] and reply["code"] == "duplicate_trader" and "shard s1" in reply["detail"], reply
        assert "T1" not in s2.core.engine.traders and 2001 not in db.directory()  # nothing placed, nothing kept
    finally:
        db.close()
        s1.close()
        s2.close()


def test_a_step_racing_past_the_check_is_refused_whole_and_nothing_of_it_is_journaled(pg_url: str) -> None:
    """The check before the engine reads the directory; a shard placing the same new login
    between that read and this step's commit (two shards racing) is caught by the step
    itself: its insert-only placement finds the other shard's row, and the whole step is
    rolled back (`PlacementConflict`; the daemon stops and recovers without it). Here s2's
    core skips the check, standing for the loser of that race."""
    from bridge.daemon.cluster import PlacementConflict

    s1, s2 = DirShard(pg_url, "s1"), DirShard(pg_url, "s2", wired=False)
    db = ClusterDb(pg_url)
    try:
        assert s1.admin("register_trader", trader="T1", account=1001, account_type="mt4_standard", leverage=100,
                        commission_pct="20")["ok"]
        before = s2.store.recover().last_seq
        with pytest.raises(PlacementConflict, match="account 1001 is placed in shard s1"):
            s2.admin("register_trader", trader="T2", account=1001, account_type="mt4_standard", leverage=100,
                     commission_pct="20")
        assert s2.store.recover().last_seq == before  # the step is not in s2's journal
        assert db.directory() == {1001: "s1"} and db.traders() == {"T1": "s1"}  # nor T2 in the directory
    finally:
        db.close()
        s1.close()
        s2.close()


def test_with_the_cluster_ledger_a_subscription_refused_by_the_directory_leaves_the_wallet_whole(
        pg_url: str) -> None:
    """The same refusal on a daemon whose wallets are on the cluster ledger: the check runs
    inside the funded step's transaction (on the journal's connection), the engine refuses
    nothing because it never sees the request, and the money the step took for it goes back
    to the investor's ledger wallet in the same transaction."""
    from decimal import Decimal

    from ledgerkit import ledger_rows

    from bridge.daemon.ledger_shell import ShardLedger

    s1, s2 = DirShard(pg_url, "s1"), DirShard(pg_url, "s2")
    ledger1, ledger2 = ShardLedger(s1.core, s1.store, "s1"), ShardLedger(s2.core, s2.store, "s2")
    db = ClusterDb(pg_url)

    def admin(ledger: ShardLedger, op: str, **args: object) -> dict:
        return ledger.admin({"id": None, "op": op, "args": args}, None, T0)

    try:
        for ledger, trader, account in ((ledger1, "T1", 1001), (ledger2, "T2", 2001)):
            assert admin(ledger, "register_trader", trader=trader, account=account, account_type="mt4_standard",
                         leverage=100, commission_pct="20")["ok"]
        assert admin(ledger2, "deposit", owner="I2", amount="5000")["ok"]
        reply = admin(ledger2, "subscribe", investor="I2", trader="T2", account=1001, amount="1000")
        assert not reply["ok"] and reply["code"] == "account_in_use" and "shard s1" in reply["detail"], reply
        assert db.directory()[1001] == "s1" and not s2.core.engine.subscriptions
        _transfers, balances = ledger_rows(pg_url)
        assert balances["wallet:I2"] == Decimal("5000")  # whatever moved for the step came back
        assert s2.core.engine.wallets.balance("I2") == 0  # nothing left in the engine's wallet
    finally:
        db.close()
        s1.close()
        s2.close()
