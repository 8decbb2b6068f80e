"""Shards with a cluster ledger on the session's real PostgreSQL (tests/conftest.py): a
`DaemonCore` per shard on its fenced journal, with its `ShardLedger`. No mocks."""

from __future__ import annotations

from decimal import Decimal

from bridge.daemon.cluster import ClusterDb, shard_url
from bridge.daemon.config import parse_config
from bridge.daemon.core import DaemonCore
from bridge.daemon.ledger_shell import ShardLedger
from bridge.daemon.store_pg import PgStore

T0 = 1_700_000_000_000
CONFIG = {"daemon": {"heartbeat_ms": 1000, "balance_operations": "confirm"}, "engine": {"server_timezone": "UTC"}}


def config():  # noqa: ANN201
    return parse_config(CONFIG)


def take_shard(url: str, shard: str) -> int:
    """Register `shard` and take its lease by hand (no keeper thread): its token."""
    db = ClusterDb(url)
    try:
        db.add_shard(shard)
        token = db.acquire(shard, db.view()[1][shard].token, f"node-{shard}", "", 3_600_000)
        assert token is not None
        return token
    finally:
        db.close()


class Shard:
    """One shard's daemon without sockets: core + fenced journal + ledger."""

    def __init__(self, url: str, shard: str, token: int, on_point=lambda name: None) -> None:  # noqa: ANN001
        self.url, self.name = url, shard
        self.store = PgStore(shard_url(url, shard), lock=False, fence=(shard, token))
        self.core = DaemonCore.recover(config(), self.store.recover(), now=T0, insecure=True)
        self.ledger = ShardLedger(self.core, self.store, shard, on_point)

    def admin(self, op: str, rid: object = None, now: int = T0, **args: object) -> dict:
        return self.ledger.admin({"id": rid, "op": op, "args": args}, None, now)

    def wallet(self, owner: str) -> Decimal:
        return self.core.engine.wallets.balance(owner)

    def close(self) -> None:
        self.store.close()


def register_trader(shard: Shard, trader: str, account: int) -> None:
    reply = shard.admin("register_trader", trader=trader, account=account, account_type="mt4_standard",
                        leverage=100, commission_pct="20")
    assert reply["ok"] and reply["refused"] is None, reply


def wait_for_a_blocked_session(url: str, timeout_s: float = 120) -> None:
    """Until another session of this database waits on a lock (a racing step blocked behind
    this one's open transaction): the race is then real, not two steps one after the other."""
    import time

    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                               "AND wait_event_type = 'Lock'").fetchone()
            if row[0]:
                return
            time.sleep(0.01)  # polling a condition, not a timing assumption
    raise AssertionError("no racing session blocked within the timeout")


def ledger_rows(url: str) -> tuple[list[tuple], dict]:
    """(every transfer as plain tuples, every account balance) read on a fresh connection."""
    import psycopg

    from bridge.daemon import ledger_pg

    with psycopg.connect(url, autocommit=True) as conn:
        rows = [(r.transfer.key, r.transfer.source, r.transfer.target, r.transfer.amount, r.status)
                for r in ledger_pg.transfers(conn)]
        return rows, ledger_pg.balances(conn)
