"""The cluster ledger on PostgreSQL: `mtbridge_cluster.ledger_accounts` and
`.ledger_transfers` (journal schema step 5, `LEDGER_DDL` in store_pg.py), written from the
transfer intents of bridge/cluster/ledger.py.

`apply(conn, transfer)` runs inside the caller's transaction: a shard's journal step
(`PgStore.step()`), so the step's events and its transfers commit together or not at all, and
the shard's fence covers both. A transfer is exactly once per key:

1. `INSERT .. ON CONFLICT (key) DO NOTHING` claims the key. A second transaction with the
   same key (another daemon racing on the same request) waits on the key's index entry until
   the first one ends: committed, it finds the row and returns that first result (nothing
   moved); rolled back, it claims the key itself.
2. A wallet debit is `UPDATE .. SET balance = balance - amount WHERE owner = .. AND balance >=
   amount`: the row lock orders two debits of one wallet, the second re-checks the balance the
   first left. No row changed: the transfer is stored `refused` (a repeat gets `refused` too).
3. A step waits for one lock only: the wallet it debits (and its own shard's account, which no
   other shard's step touches), before its engine runs. A credit to a wallet never waits: a
   row another step holds (`FOR UPDATE SKIP LOCKED` finds nothing) gets the transfer booked
   `posted = false`, counted by every balance read (`BALANCE`) and folded into the row by the
   next step that holds it. So two steps never wait on each other in a cycle (s1 funds from
   Z and credits A while s2 funds from A and credits Z: both commit).
4. The key's row keeps the request's digest (`request`: a repeat must match it) and what the
   request got (`outcome`, `record_outcome`: a repeat answers the same).

Example: wallet:I 1000; s1 and s2 both debit 700 at once: one gets `done` (wallet 300), the
other waits for its lock, re-checks 300 >= 700 and gets `refused`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal

from bridge.cluster.ledger import BROKER_IB, EXTERNAL, WALLET, LedgerError, Transfer, TransferResult, is_wallet
from bridge.daemon.store_pg import CLUSTER_DDL, CLUSTER_SCHEMA, LEDGER_DDL, LEDGER_DDL_6

C = CLUSTER_SCHEMA
# clearing accounts shared by every shard: no balance kept (it is minus the sum of their
# transfers), so they are never a lock every shard's step waits on
UNTRACKED = frozenset({EXTERNAL, BROKER_IB})


def ensure(conn) -> None:  # noqa: ANN001 - a psycopg connection
    """The ledger tables (idempotent): for a cluster whose journals predate step 5 (or 6).
    Nothing is run when they are there (a daemon role may lack the right to create schemas)."""
    if conn.execute(f"SELECT to_regclass('{C}.ledger_transfers')").fetchone()[0] is not None \
            and conn.execute("SELECT 1 FROM information_schema.columns WHERE table_schema = %s AND "
                             "table_name = 'ledger_transfers' AND column_name = 'posted'", (C,)).fetchone():
        return
    with conn.transaction():
        for sql in (CLUSTER_DDL[0], *CLUSTER_DDL[1:2], *LEDGER_DDL, *LEDGER_DDL_6):
            conn.execute(sql)


def lock_accounts(conn, accounts: Iterable[str]) -> None:  # noqa: ANN001
    """Create the rows that are missing and lock them all, in name order."""
    names = sorted({a for a in accounts if a not in UNTRACKED})
    if not names:
        return
    conn.execute(f"INSERT INTO {C}.ledger_accounts (owner) SELECT unnest(%s::text[]) ORDER BY 1 "
                 "ON CONFLICT DO NOTHING", (names,))
    conn.execute(f"SELECT owner FROM {C}.ledger_accounts WHERE owner = ANY(%s) ORDER BY owner FOR UPDATE",
                 (names,))


def apply(conn, t: Transfer) -> TransferResult:  # noqa: ANN001
    """Exactly once per key, in the caller's open transaction (see the module doc)."""
    claimed = conn.execute(
        f"INSERT INTO {C}.ledger_transfers (key, source, target, amount, kind, shard, status, at, request) "
        f"VALUES (%s, %s, %s, %s, %s, %s, 'done', {C}.now_ms(), %s) ON CONFLICT (key) DO NOTHING RETURNING key",
        (t.key, t.source, t.target, t.amount, t.kind, t.shard, t.request)).fetchone()
    if claimed is None:
        return first_result(conn, t.key)
    # the only lock a step may wait for: the wallet it debits (and its own shard's account)
    lock_accounts(conn, (a for a in (t.source, t.target) if a == t.source or not is_wallet(a)))
    if is_wallet(t.source):
        _fold(conn, t.source)
        debited = conn.execute(f"UPDATE {C}.ledger_accounts SET balance = balance - %s WHERE owner = %s "
                               "AND balance >= %s RETURNING owner", (t.amount, t.source, t.amount)).fetchone()
        if debited is None:
            conn.execute(f"UPDATE {C}.ledger_transfers SET status = 'refused' WHERE key = %s", (t.key,))
            return TransferResult(t, "refused", True)
    elif t.source not in UNTRACKED:
        conn.execute(f"UPDATE {C}.ledger_accounts SET balance = balance - %s WHERE owner = %s", (t.amount, t.source))
    if is_wallet(t.target):
        _credit(conn, t)
    elif t.target not in UNTRACKED:
        conn.execute(f"UPDATE {C}.ledger_accounts SET balance = balance + %s WHERE owner = %s", (t.amount, t.target))
    return TransferResult(t, "done", True)


def _credit(conn, t: Transfer) -> None:  # noqa: ANN001
    """A credit never waits: a wallet row another step holds (`SKIP LOCKED` finds nothing) gets
    the credit booked unposted, counted by every read and folded by the next step that holds it."""
    if conn.execute(f"SELECT 1 FROM {C}.ledger_accounts WHERE owner = %s", (t.target,)).fetchone() is None:
        # a new wallet (an insert waits only for a step creating the same row: it holds nothing else)
        conn.execute(f"INSERT INTO {C}.ledger_accounts (owner) VALUES (%s) ON CONFLICT DO NOTHING", (t.target,))
    held = conn.execute(f"SELECT owner FROM {C}.ledger_accounts WHERE owner = %s FOR UPDATE SKIP LOCKED",
                        (t.target,)).fetchone()
    if held is None:
        conn.execute(f"UPDATE {C}.ledger_transfers SET posted = false WHERE key = %s", (t.key,))
        return
    _fold(conn, t.target)
    conn.execute(f"UPDATE {C}.ledger_accounts SET balance = balance + %s WHERE owner = %s", (t.amount, t.target))


def _fold(conn, account: str) -> None:  # noqa: ANN001 - the caller holds the account's row
    """Post the committed unposted credits of `account` into its row."""
    conn.execute(f"WITH posted AS (UPDATE {C}.ledger_transfers SET posted = true WHERE target = %s AND NOT posted "
                 f"RETURNING amount) UPDATE {C}.ledger_accounts SET balance = balance + (SELECT sum(amount) FROM "
                 "posted) WHERE owner = %s AND EXISTS (SELECT 1 FROM posted)", (account, account))


def record_outcome(conn, key: str, outcome: dict) -> None:  # noqa: ANN001
    """What the request that claimed `key` got, for a repeat to answer the same."""
    conn.execute(f"UPDATE {C}.ledger_transfers SET outcome = %s WHERE key = %s",
                 (json.dumps(outcome, sort_keys=True, default=str), key))


def first_result(conn, key: str) -> TransferResult:  # noqa: ANN001
    row = conn.execute(f"SELECT key, source, target, amount, kind, shard, request, status, outcome "
                       f"FROM {C}.ledger_transfers WHERE key = %s", (key,)).fetchone()
    if row is None:
        raise LedgerError(f"transfer {key}: not in the ledger")
    return TransferResult(Transfer(*row[:7]), row[7], False, json.loads(row[8]) if row[8] else None)


# a tracked account's balance: its row plus the credits not yet folded into it
BALANCE = (f"a.balance + coalesce((SELECT sum(t.amount) FROM {C}.ledger_transfers t WHERE t.target = a.owner "
            "AND NOT t.posted), 0)")


def balance(conn, account: str) -> Decimal:  # noqa: ANN001
    row = conn.execute(f"SELECT {BALANCE} FROM {C}.ledger_accounts a WHERE owner = %s", (account,)).fetchone()
    return Decimal(0) if row is None else row[0]


def balances(conn, prefix: str = "") -> dict[str, Decimal]:  # noqa: ANN001
    return dict(conn.execute(f"SELECT owner, {BALANCE} FROM {C}.ledger_accounts a WHERE starts_with(owner, %s) "
                             "ORDER BY owner", (prefix,)).fetchall())


def wallet_page(conn, after: str | None, limit: int) -> tuple[list[tuple[str, Decimal]], bool]:  # noqa: ANN001
    """(owner, balance) of the ledger wallets after owner `after`, by owner; more beyond `limit`?"""
    rows = conn.execute(f"SELECT substr(owner, %s), {BALANCE} FROM {C}.ledger_accounts a WHERE starts_with(owner, %s) "
                        "AND owner > %s ORDER BY owner LIMIT %s",
                        (len(WALLET) + 1, WALLET, WALLET + (after or ""), limit + 1)).fetchall()
    return rows[:limit], len(rows) > limit


def transfers(conn, shard: str | None = None) -> list[TransferResult]:  # noqa: ANN001
    """Every transfer (of one shard), in the order they were claimed."""
    rows = conn.execute(f"SELECT key, source, target, amount, kind, shard, request, status FROM {C}.ledger_transfers "
                        "WHERE %s::text IS NULL OR shard = %s ORDER BY id", (shard, shard)).fetchall()
    return [TransferResult(Transfer(*r[:7]), r[7], False) for r in rows]
