"""The on-call side of the cluster ledger (docs/operations.md "The cluster ledger"): paged
reads of balances and transfers, the facts the books check needs (bridge/cluster/ledger_books.py),
and the adoption of a shard's pre-ledger engine wallets. `mtbridge cluster ledger` is the CLI
(bridge/daemon/ledger_cli.py).

**Adoption** (`adopt_wallets`). Before `ledger = true`, a shard's engine wallets were the
money; after it, an engine wallet only moves to the ledger when its owner's money next moves,
and the sweep then takes it from `shard:S` (a pre-ledger deposit never entered `shard:S`). The
reading a broker would defend: moving client money between books is an operator's act, done
once, at a chosen moment, with an audit trail, not a side effect of a restart. So adoption is
an explicit command on a stopped shard (its lease free or expired: the command takes the lease,
so no daemon writes the shard's journal meanwhile, and a daemon that comes back finds the
adopted journal):

1. the shard's engine is recovered from its journal (snapshot + replay, as a daemon would);
2. every engine wallet holding money, in owner order, `batch` owners per step: the step
   journals `WalletWithdrawn(owner, balance)` at seq n and the transfer `S:<n>:adopt`
   external -> wallet:owner, in one fenced transaction (the same one as a daemon's step);
3. the opening `S:opening`: what the shard's journal says its subscriptions hold (ledger_books,
   point 3) minus `shard:S`, from (or to) `external`: the pre-ledger money invested, and any
   pre-ledger wallet a sweep already took from `shard:S`. Once: the key.

Kill -9 at any point: a step is committed whole or not at all; the next run recovers the
engine (the adopted wallets are 0 there) and continues with the rest. Each wallet is moved
once, by construction (the journal) and by key. A second run after a complete one moves nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from bridge.cluster import ledger as L
from bridge.cluster import ledger_books as B
from bridge.copytrading import events as ev
from bridge.daemon import ledger_pg
from bridge.daemon.cluster import ClusterDb, journal_schema, shard_url
from bridge.daemon.config import DaemonConfig, parse_config
from bridge.daemon.store_pg import CLUSTER_SCHEMA, PgStore

C = CLUSTER_SCHEMA
MAX_PAGE = 1000
ADOPTER = "ledger-adopt"  # the lease owner while adopting (`cluster status` shows it)
ADOPT_LEASE_MS = 600_000  # renewed every step; a killed run's lease is taken back by the next run
WALLET_EVENTS = ("WalletDeposited", "WalletWithdrawn")


def _has_ledger(conn) -> bool:  # noqa: ANN001
    return conn.execute(f"SELECT to_regclass('{C}.ledger_transfers')").fetchone()[0] is not None


def _need_ledger(conn) -> None:  # noqa: ANN001
    if not _has_ledger(conn):
        raise ValueError("this cluster has no ledger tables (no daemon ran with [cluster] ledger = true)")


# ---------------------------------------------------------------------- reads
def balances_page(conn, kind: str = "all", after: str = "", limit: int = 50  # noqa: ANN001
                  ) -> tuple[list[tuple[str, Decimal]], bool]:
    """(account, balance) by account name after `after` (shard accounts sort before wallets);
    more beyond `limit`?"""
    _need_ledger(conn)
    prefix = {"all": "", "wallet": L.WALLET, "shard": L.SHARD}[kind]
    rows = conn.execute(f"SELECT owner, {ledger_pg.BALANCE} FROM {C}.ledger_accounts a WHERE starts_with(owner, %s) "
                        "AND owner > %s ORDER BY owner LIMIT %s", (prefix, after, limit + 1)).fetchall()
    return rows[:limit], len(rows) > limit


@dataclass(frozen=True, slots=True)
class TransferRow:
    id: int
    key: str
    source: str
    target: str
    amount: Decimal
    kind: str
    shard: str
    status: str
    at: int

    def plain(self) -> dict:
        return {"id": self.id, "key": self.key, "from": self.source, "to": self.target, "amount": str(self.amount),
                "kind": self.kind, "shard": self.shard, "status": self.status, "at": self.at}


def transfers_page(conn, owner: str | None = None, shard: str | None = None, kind: str | None = None,  # noqa: ANN001
                   status: str | None = None, before: int | None = None, limit: int = 50
                   ) -> tuple[list[TransferRow], bool]:
    """Newest first (by claim order), filtered; `before`: ids below it (the next page)."""
    _need_ledger(conn)
    account = L.wallet(owner) if owner else None
    rows = conn.execute(
        f"SELECT id, key, source, target, amount, kind, shard, status, at FROM {C}.ledger_transfers WHERE "
        "(%(a)s::text IS NULL OR source = %(a)s OR target = %(a)s) AND (%(s)s::text IS NULL OR shard = %(s)s) "
        "AND (%(k)s::text IS NULL OR %(k)s = ANY(string_to_array(kind, '+'))) "
        "AND (%(st)s::text IS NULL OR status = %(st)s) AND (%(b)s::bigint IS NULL OR id < %(b)s) "
        "ORDER BY id DESC LIMIT %(n)s",
        {"a": account, "s": shard, "k": kind, "st": status, "b": before, "n": limit + 1}).fetchall()
    return [TransferRow(*r) for r in rows[:limit]], len(rows) > limit


def books(conn) -> B.Books:  # noqa: ANN001
    """Read the facts (one repeatable-read snapshot of the database) and check them. Sums in
    SQL; in memory only the seq-keyed transfers of one shard at a time."""
    _need_ledger(conn)
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        accounts = dict(conn.execute(f"SELECT owner, {ledger_pg.BALANCE} FROM {C}.ledger_accounts a").fetchall())
        flow = dict(conn.execute(
            f"SELECT account, sum(delta) FROM (SELECT target AS account, amount AS delta FROM {C}.ledger_transfers "
            f"WHERE status = 'done' UNION ALL SELECT source, -amount FROM {C}.ledger_transfers WHERE status = 'done') "
            "AS moves GROUP BY account").fetchall())
        done = conn.execute(f"SELECT count(*) FROM {C}.ledger_transfers WHERE status = 'done'").fetchone()[0]
        dup = dict(conn.execute(f"SELECT key, count(*) FROM {C}.ledger_transfers GROUP BY key "
                                "HAVING count(*) > 1").fetchall())
        shards = [r[0] for r in conn.execute(f"SELECT shard FROM {C}.shards ORDER BY shard")]
        facts = [_shard_facts(conn, s) for s in shards]
    return B.check(accounts, flow, done, dup, [f for f in facts if f is not None])


def _shard_facts(conn, shard: str) -> B.ShardFacts | None:  # noqa: ANN001
    schema = journal_schema(shard)
    if conn.execute("SELECT to_regclass(%s)", (f'"{schema}".events',)).fetchone()[0] is None:
        return None  # registered, never started: no journal, and no transfer can name it
    sums = dict.fromkeys(WALLET_EVENTS, Decimal(0))
    for type_, total in conn.execute(f'SELECT type, sum((body::json->>\'amount\')::numeric) FROM "{schema}".events '
                                     "WHERE type = ANY(%s) GROUP BY type", (list(WALLET_EVENTS),)):
        sums[type_] = total
    keyed = tuple(B.Moved(*r) for r in conn.execute(
        f"SELECT key, source, target, amount, shard FROM {C}.ledger_transfers WHERE shard = %s AND status = 'done' "
        "AND starts_with(key, %s) AND key ~ %s", (shard, f"{shard}:", B.seq_key(shard).pattern)))
    seqs = sorted(B.named_seqs(shard, (t.key for t in keyed)))
    named = {seq: B.Event(seq, type_, body["owner"], Decimal(body["amount"])) for seq, type_, body in (
        (r[0], r[1], json.loads(r[2])) for r in conn.execute(
            f'SELECT seq, type, body FROM "{schema}".events WHERE seq = ANY(%s) AND type = ANY(%s)',
            (seqs, list(WALLET_EVENTS))))}
    broker, opened = conn.execute(
        f"SELECT coalesce(sum(amount) FILTER (WHERE source = %s AND key ~ '^.*:[0-9]+:ib$'), 0), "
        f"bool_or(key = %s) FROM {C}.ledger_transfers WHERE shard = %s AND status = 'done'",
        (L.BROKER_IB, f"{shard}:opening", shard)).fetchone()
    return B.ShardFacts(shard, sums["WalletDeposited"], sums["WalletWithdrawn"], keyed, named, broker, bool(opened))


# ---------------------------------------------------------------------- adoption
@dataclass
class Adopted:
    wallets: list[tuple[str, Decimal]]  # moved by this run
    opening: Decimal | None  # booked by this run (None: none needed, or booked before)
    steps: int


def _take_lease(db: ClusterDb, shard: str) -> int:
    now, leases = db.view()
    lease = leases.get(shard)
    if lease is None:
        raise ValueError(f"no shard {shard!r} (known: {', '.join(sorted(leases)) or 'none'})")
    if lease.owner == ADOPTER:  # a killed run's: take it back now
        row = db.conn.execute(f"UPDATE {C}.leases SET token = token + 1, expires_at = {C}.now_ms() + %s "
                              "WHERE shard = %s AND token = %s AND owner = %s RETURNING token",
                              (ADOPT_LEASE_MS, shard, lease.token, ADOPTER)).fetchone()
        token = None if row is None else row[0]
    elif lease.owner and lease.expires_at > now:
        raise ValueError(f"shard {shard} is owned by {lease.owner} ({(lease.expires_at - now) / 1000:.1f} s of lease "
                         "left): stop the daemons that serve it first (adoption writes its journal)")
    else:
        token = db.acquire(shard, lease.token, ADOPTER, "", ADOPT_LEASE_MS)
    if token is None:
        raise ValueError(f"shard {shard}: its lease changed hands while taking it; try again")
    return token


def adopt_wallets(url: str, shard: str, config: DaemonConfig | None = None, batch: int = 500,
                  on_point: Callable[[str], None] = lambda name: None) -> Adopted:
    """The module doc's adoption. `on_point("committed")` after each committed step (a test's
    kill point)."""
    from bridge.daemon.core import DaemonCore

    if batch < 1:
        raise ValueError(f"batch must be at least 1, got {batch}")
    db = ClusterDb(url, "mtbridge ledger adopt")
    try:
        _need_ledger(db.conn)
        token = _take_lease(db, shard)
        store = None
        try:
            store = PgStore(shard_url(url, shard), lock=False, fence=(shard, token), create=False)
            now = db.view()[0]
            core = DaemonCore.recover(config or parse_config({}), store.recover(), now=now, insecure=True)
            core.now = now
            wallets = sorted((o, b) for o, b in core.engine.wallets.balances.items() if b > 0)
            done = Adopted([], None, 0)
            for i in range(0, len(wallets), batch):
                with store.step() as conn:
                    for owner, balance in wallets[i:i + batch]:
                        core.feed_engine(ev.WalletWithdrawn(now, owner, balance))
                        t = L.Transfer(f"{shard}:{core.seq}:adopt", L.EXTERNAL, L.wallet(owner), balance, "adopt",
                                       shard)
                        result = ledger_pg.apply(conn, t)
                        if not (result.first and result.done):
                            raise L.LedgerError(f"shard {shard}: {t.key} was {result.status} already; nothing adopted")
                    with conn.cursor() as cur:
                        store.insert_batch(cur, core.take_batch())
                done.wallets += wallets[i:i + batch]
                done.steps += 1
                on_point("committed")
                db.renew(shard, token, ADOPTER, ADOPT_LEASE_MS)
            if core.pending_batch():  # events the recovery fed (the config's partners), no wallet to adopt
                store.write(core.take_batch())
            done.opening = _opening(store, shard)
            return done
        finally:
            if store is not None:
                store.close()
            db.release(shard, token, ADOPTER)
    finally:
        db.close()


def _opening(store: PgStore, shard: str) -> Decimal | None:
    key = f"{shard}:opening"
    with store.step() as conn:
        if conn.execute(f"SELECT 1 FROM {C}.ledger_transfers WHERE key = %s", (key,)).fetchone():
            return None
        facts = _shard_facts(conn, shard)
        assert facts is not None, "a recovered shard has its journal"
        says = facts.deposited - facts.withdrawn + facts.broker
        gap = says - ledger_pg.balance(conn, L.shard_account(shard))
        if gap == 0:
            return None
        source, target = (L.EXTERNAL, L.shard_account(shard)) if gap > 0 else (L.shard_account(shard), L.EXTERNAL)
        ledger_pg.apply(conn, L.Transfer(key, source, target, abs(gap), "opening", shard))
        return gap
