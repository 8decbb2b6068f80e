"""The journal on PostgreSQL: the `Store` Protocol of bridge/daemon/store.py, with the same
tables and the same semantics, chosen by `journal.url = "postgresql://..."` (docs/operations.md,
"Running on PostgreSQL").

Same guarantees as the SQLite journal:

* one step = one transaction (`write`), committed before anything of it is sent; its
  statements travel in one pipeline (one round trip), so a step costs a commit, not a
  round trip per row;
* a fan-out's commands are one `command_batches` row (msgpack), their outcomes a row each;
* recovery = the latest snapshot + replay of the events after it, commands pending from
  `pending_from` (meta);
* one daemon per journal: a session-level **advisory lock** held by the connection that
  writes. The server drops it when that connection ends, however the daemon ends (kill -9
  closes its socket), so a restart is never blocked by a dead daemon; a daemon that lost its
  connection cannot write either (every write goes through the locked session), and a
  snapshot written by the worker thread's own connection commits only while the writing
  session still holds the lock.

Durability: a commit returns once the server has it, so a kill -9 of the daemon never loses a
committed step. `journal.synchronous = "full"` forces `synchronous_commit = on` for the
session (flushed to disk, and to synchronous standbys, before the commit returns); "normal"
keeps what the server or role sets (PostgreSQL's default is `on` too).

Schema: versioned migrations (`MIGRATIONS`), each in one transaction with its version bump in
`meta.schema`, applied at start under the lock (or by `mtbridge daemon --migrate`). A journal
newer than this code is refused.

Example: `PgStore("postgresql://mtbridge@db1/mtbridge")` on an empty database creates schema 6;
a second daemon on the same URL waits `LOCK_WAIT_S` for the lock, then is refused with
`journal postgresql://mtbridge@db1/mtbridge is in use by mtbridge daemon pid 4711 on host desk-1
since 2026-12-01T20:41:07Z (PostgreSQL backend 80211)`.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import weakref
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bridge.daemon.config import StartupError
from bridge.daemon.config import redact_url as redact
from bridge.daemon.store import (_CID, _SEQ, Batch, CommandRow, JournalLocked, Recovery, _pack_rows, _unpack_rows,
                                 commands_of, pending_of)

CLUSTER_SCHEMA = "mtbridge_cluster"
FENCED = "MTB01"  # SQLSTATE of a write refused by the fence
# The fence, checked first in every transaction of a shard's journal: the lease row still has
# this token *and an owner* (a released lease keeps its token until the next acquire: the
# releasing daemon's late writes must not pass meanwhile). ClusterDb compares the installed
# body with this one to know whether to replace it (bridge/daemon/cluster.py `ddl_applied`).
FENCE_BODY = (
    " DECLARE cur bigint; holder text; BEGIN "
    f"SELECT token, owner INTO cur, holder FROM {CLUSTER_SCHEMA}.leases WHERE shard = p_shard FOR SHARE; "
    "IF cur IS DISTINCT FROM p_token THEN RAISE EXCEPTION 'shard % is fenced: token % is not the lease''s (%)', "
    f"p_shard, p_token, cur USING ERRCODE = '{FENCED}'; END IF; "
    "IF holder = '' THEN RAISE EXCEPTION 'shard % is fenced: its lease (token %) was released', "
    f"p_shard, p_token USING ERRCODE = '{FENCED}'; END IF; END ")
# The cluster's tables (bridge/daemon/cluster.py runs these too, before any journal exists).
# A lease row is compare-and-swapped on `token`; `fence` locks it FOR SHARE, so a takeover
# (an UPDATE of the row) waits for a write in flight, and a write after it sees the new token.
CLUSTER_DDL: tuple[str, ...] = (
    "SELECT pg_advisory_xact_lock(1836344173)",  # 'mtbm': one cluster migration at a time
    f"CREATE SCHEMA IF NOT EXISTS {CLUSTER_SCHEMA}",
    f"CREATE TABLE IF NOT EXISTS {CLUSTER_SCHEMA}.shards (shard text PRIMARY KEY, journal_schema text NOT NULL "
    "UNIQUE, created_at bigint NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS {CLUSTER_SCHEMA}.leases (shard text PRIMARY KEY REFERENCES {CLUSTER_SCHEMA}.shards, "
    "owner text NOT NULL DEFAULT '', endpoint text NOT NULL DEFAULT '', token bigint NOT NULL DEFAULT 0, "
    "expires_at bigint NOT NULL DEFAULT 0, handover_to text NOT NULL DEFAULT '')",
    f"CREATE TABLE IF NOT EXISTS {CLUSTER_SCHEMA}.directory (login bigint PRIMARY KEY, shard text NOT NULL "
    f"REFERENCES {CLUSTER_SCHEMA}.shards)",
    f"CREATE OR REPLACE FUNCTION {CLUSTER_SCHEMA}.now_ms() RETURNS bigint LANGUAGE sql VOLATILE AS "
    "$$ SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint $$",
    f"CREATE OR REPLACE FUNCTION {CLUSTER_SCHEMA}.fence(p_shard text, p_token bigint) RETURNS void "
    f"LANGUAGE plpgsql AS $${FENCE_BODY}$$",
)

# The cluster ledger (bridge/daemon/ledger_pg.py, docs/scaling.md "Money that crosses shards").
# `source`/`target`: SQL reserves FROM and TO. A wallet's floor is the CHECK: a debit's
# `UPDATE .. WHERE balance >= amount` refuses first, the CHECK is the last word.
LEDGER_DDL: tuple[str, ...] = (
    f"CREATE TABLE IF NOT EXISTS {CLUSTER_SCHEMA}.ledger_accounts (owner text PRIMARY KEY, "
    "balance numeric NOT NULL DEFAULT 0, CHECK (balance >= 0 OR owner NOT LIKE 'wallet:%'))",
    f"CREATE TABLE IF NOT EXISTS {CLUSTER_SCHEMA}.ledger_transfers (key text PRIMARY KEY, id bigint GENERATED "
    "ALWAYS AS IDENTITY UNIQUE, source text NOT NULL, target text NOT NULL, amount numeric NOT NULL "
    "CHECK (amount > 0), kind text NOT NULL, shard text NOT NULL, status text NOT NULL, at bigint NOT NULL)",
)
# Journal schema step 6 (docs/scaling.md "Money that crosses shards"): a key remembers the
# request that claimed it (`request`: its digest, so one id for another request is
# `bad_request`) and what that request got (`outcome`: JSON, so a repeat answers the same);
# a credit to a wallet another step holds is booked `posted = false` (counted in the balance
# by every read, folded into the row by the next step that holds it): credits never wait.
LEDGER_DDL_6: tuple[str, ...] = (
    f"ALTER TABLE {CLUSTER_SCHEMA}.ledger_transfers ADD COLUMN IF NOT EXISTS request text NOT NULL DEFAULT '', "
    "ADD COLUMN IF NOT EXISTS outcome text NOT NULL DEFAULT '', ADD COLUMN IF NOT EXISTS posted boolean NOT NULL "
    "DEFAULT true",
    f"CREATE INDEX IF NOT EXISTS ledger_transfers_unposted ON {CLUSTER_SCHEMA}.ledger_transfers (target) "
    "WHERE NOT posted",
)

# (version, what it does, statements). Never edit a released step: add the next one.
MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (1, "the journal tables (the SQLite journal's schema 3)", (
        "CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL)",
        "CREATE TABLE events (seq bigint PRIMARY KEY, now bigint NOT NULL, type text NOT NULL, body text NOT NULL)",
        "CREATE TABLE snapshots (seq bigint PRIMARY KEY, taken_at bigint NOT NULL, state bytea NOT NULL, "
        "parts integer)",
        "CREATE TABLE snapshot_parts (seq bigint NOT NULL, part integer NOT NULL, data bytea NOT NULL, "
        "PRIMARY KEY (seq, part))",
        "CREATE TABLE command_batches (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
        "seq_hi bigint NOT NULL, cid_hi bigint NOT NULL, rows bytea NOT NULL)",
        "CREATE TABLE command_results (cid bigint PRIMARY KEY, key text NOT NULL, status text NOT NULL, "
        "result text NOT NULL, done_at bigint NOT NULL)",
        "CREATE TABLE records (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, seq bigint NOT NULL, "
        "topic text NOT NULL, body text NOT NULL)",
        "CREATE TABLE logins (login bigint PRIMARY KEY, first_seen bigint NOT NULL)",
    )),
    # Records are the back office's to query in SQL (commissions, partner credits, refusals by
    # topic, over a period): an index for `WHERE topic = ... ORDER BY id`, and the command
    # batches by `seq_hi` for recovery's `seq_hi >= pending_from` (the table only grows).
    (2, "indexes: records by topic, command batches by seq_hi", (
        "CREATE INDEX records_topic ON records (topic, id)",
        "CREATE INDEX command_batches_seq_hi ON command_batches (seq_hi)",
    )),
    # Measured (benchmarks/bench_fanout_daemon.py): a 10 000-command batch is a ~700 KB row,
    # and the default pglz TOAST compression made its commit ~20 ms; lz4 ~8 ms, uncompressed
    # ~10 ms (more WAL). Snapshot pieces are the same kind of write. A server built without
    # lz4 stores them uncompressed instead.
    (3, "command batches and snapshot pieces: lz4 compression (or none), not pglz", tuple(
        f"DO $$ BEGIN ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION lz4; "
        f"EXCEPTION WHEN OTHERS THEN ALTER TABLE {table} ALTER COLUMN {column} SET STORAGE EXTERNAL; END $$"
        for table, column in (("command_batches", "rows"), ("snapshot_parts", "data"), ("snapshots", "state")))),
    # Daemons sharded by trader (docs/scaling.md): the shared tables every shard's journal
    # checks its writes against, in their own schema. Idempotent, and serialised by a
    # transaction lock: several shards' journals migrate at once on a new cluster. A role that
    # may not create schemas in its database (a journal in a schema it owns) skips them: a
    # single daemon does not need them, and a cluster's daemons create them (ClusterDb).
    (4, "cluster: shards, leases (fencing tokens), the login directory", (
        CLUSTER_DDL[0],
        "DO $step$ BEGIN IF has_database_privilege(current_database(), 'CREATE') "
        f"OR to_regnamespace('{CLUSTER_SCHEMA}') IS NOT NULL THEN "
        + " ".join(f"EXECUTE $s${sql}$s$;" for sql in CLUSTER_DDL[1:]) + " END IF; END $step$",
    )),
    # Money that crosses shards (docs/scaling.md): the cluster ledger, same rules as step 4.
    (5, "cluster: the ledger (wallets and shard accounts, idempotent transfers)", (
        CLUSTER_DDL[0],
        "DO $step$ BEGIN IF has_database_privilege(current_database(), 'CREATE') "
        f"OR to_regnamespace('{CLUSTER_SCHEMA}') IS NOT NULL THEN "
        + " ".join(f"EXECUTE $s${sql}$s$;" for sql in (*CLUSTER_DDL[1:2], *LEDGER_DDL)) + " END IF; END $step$",
    )),
    # The ledger's keys remember their request and its outcome; credits that never wait (above).
    (6, "cluster: ledger transfers' request digest, first outcome, unposted credits", (
        CLUSTER_DDL[0],
        f"DO $step$ BEGIN IF to_regclass('{CLUSTER_SCHEMA}.ledger_transfers') IS NOT NULL THEN "
        + " ".join(f"EXECUTE $s${sql}$s$;" for sql in LEDGER_DDL_6) + " END IF; END $step$",
    )),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]
LOCK_CLASS = "mtbridge journal"  # + the schema: one journal per database schema
_OPEN: weakref.WeakSet = weakref.WeakSet()  # stores of this process (their sockets closed in forked children)


def connect(url: str, application_name: str = "mtbridge"):  # noqa: ANN201 - psycopg.Connection
    """A connection, or a one-line StartupError (psycopg missing, server unreachable, refused)."""
    try:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict
    except ImportError:
        raise StartupError("journal.url needs the PostgreSQL driver: pip install 'mtbridge[postgres]' "
                           "(psycopg 3)") from None
    try:
        params = conninfo_to_dict(url)
    except psycopg.Error as exc:  # journal.url is checked when the config is read; a URL from code is not
        raise StartupError(f"journal {redact(url)}: {' '.join(str(exc).split())}") from None
    # a dead peer (a partitioned host) is noticed in ~25 s, not the kernel's two hours: on this
    # side (keepalives*) and on the server's (tcp_keepalives_*, set for the session once
    # connected), which then drops the daemon's session, and with it its locks
    for key, value in (("connect_timeout", "10"), ("keepalives", "1"), ("keepalives_idle", "10"),
                       ("keepalives_interval", "5"), ("keepalives_count", "3"),
                       ("application_name", application_name)):
        params.setdefault(key, value)
    conn = None
    try:
        conn = psycopg.connect(autocommit=True, **params)
        if "tcp_keepalives" not in params.get("options", ""):  # a statement, not startup options: poolers allow it
            conn.execute("SELECT set_config('tcp_keepalives_idle', '10', false), "
                         "set_config('tcp_keepalives_interval', '5', false), set_config('tcp_keepalives_count', '3', false)")
        return conn
    except psycopg.Error as exc:
        if conn is not None:
            conn.close()
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise StartupError(f"cannot open journal {redact(url)}: {reason}") from None


def lock_key(schema: str) -> int:
    """The journal lock's advisory key: one per database schema."""
    return zlib.crc32(f"{LOCK_CLASS}:{schema}".encode()) | (0x6D74 << 32)


def schema_version(conn) -> int | None:  # noqa: ANN001
    """meta.schema, None on a database (schema) without a journal."""
    if conn.execute("SELECT to_regclass('meta')").fetchone()[0] is None:
        return None
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    return int(row[0]) if row else None


def lock_holder(conn, key: int) -> str | None:  # noqa: ANN001
    """Who holds the journal lock `key` in this database (None: nobody)."""
    row = conn.execute(
        "SELECT a.pid, a.application_name FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND ((l.classid::bigint << 32) | l.objid::bigint) = %s", (key,)).fetchone()
    if row is None:
        return None
    return f"{row[1] or 'another session'} (PostgreSQL backend {row[0]})"


def check(url: str) -> tuple[int | None, str | None]:
    """(schema version or None, lock holder or None) without waiting or changing anything."""
    conn = connect(url, "mtbridge check")
    try:
        key = lock_key(conn.execute("SELECT current_schema()").fetchone()[0] or "")
        return schema_version(conn), lock_holder(conn, key)
    finally:
        conn.close()


class Fenced(RuntimeError):
    """A shard's write refused: this daemon's lease token is no longer the shard's."""


class PgStore:
    """The journal in a PostgreSQL database (its current schema). `create=False` refuses a
    database without a journal (a mistyped URL must not start an empty state).

    `fence=(shard, token)`: a shard's journal in a cluster (bridge/daemon/cluster.py). Every
    write and snapshot then checks the lease token in its own transaction, and raises `Fenced`
    once another daemon took the shard over. Such a store takes no advisory lock (`lock=False`):
    the lease replaces it, and a paused owner's live session must not block the takeover.

    `step_timeout_ms` (a shard's journal: `LeaseConfig.step_ms`, below the lease duration): a
    fenced transaction holds the lease row FOR SHARE, which a takeover waits for; the server
    ends one whose statement runs longer than this (`statement_timeout`, set for the
    transaction) or that sits idle that long (`idle_in_transaction_session_timeout`: the
    daemon paused or partitioned inside a step), so a standby is never stuck behind it."""

    PART_BYTES = 1024 * 1024  # one snapshot piece per transaction
    extra_writes = None  # (cursor, batch) -> None: more rows in each step's transaction (a shard's directory)
    LOCK_WAIT_S = 5  # a killed daemon's session ends within ms of its socket closing

    def __init__(self, url: str, synchronous: str = "normal", keep_snapshots: int = 2, *, create: bool = True,
                 lock: bool = True, fence: tuple[str, int] | None = None, step_timeout_ms: int = 0) -> None:
        self.url = url
        self.fence = fence
        self.step_timeout_ms = max(int(step_timeout_ms), 0)
        self.keep_snapshots = max(keep_snapshots, 1)
        self.synchronous = synchronous
        started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.holder = f"mtbridge daemon pid {os.getpid()} on host {socket.gethostname()} since {started}"
        self.conn = connect(url, self.holder[:63])  # NAMEDATALEN
        self._thread_lock = threading.RLock()  # the main connection: the loop's writes, tools' reads; re-entered by
        # an engine rebuild (core.reload) inside a cluster-ledger step's open transaction
        _OPEN.add(self)
        try:
            self.schema_name = self.conn.execute("SELECT current_schema()").fetchone()[0]
            if self.schema_name is None:
                raise StartupError(f"journal {redact(url)}: no schema to create the journal in (search_path)")
            self.lock_key = lock_key(self.schema_name)
            self.backend_pid = self.conn.info.backend_pid
            self.locked = lock  # False: tools and tests that read beside a running daemon
            if lock:
                self._lock()
            self._session(self.conn)
            self.migrated_from = self._migrate(create)
            self._sweep_parts(self.conn)
        except BaseException:
            self.conn.close()
            raise

    def _session(self, conn) -> None:  # noqa: ANN001
        """The settings of each connection of this journal (the main one, a snapshot writer's)."""
        if self.synchronous == "full":
            conn.execute("SET synchronous_commit = on")
        if self.step_timeout_ms:
            conn.execute(f"SET idle_in_transaction_session_timeout = {self.step_timeout_ms}")

    def _check_fence(self, cur) -> None:  # noqa: ANN001 - a cursor or connection, first in the transaction
        """A shard's fence, and the time bound of the transaction it starts (see the class doc)."""
        if self.fence is None:
            return
        if self.step_timeout_ms:
            cur.execute(f"SELECT set_config('statement_timeout', %s, true), {CLUSTER_SCHEMA}.fence(%s, %s)",
                        (str(self.step_timeout_ms), *self.fence))
        else:
            cur.execute(f"SELECT {CLUSTER_SCHEMA}.fence(%s, %s)", self.fence)

    # ------------------------------------------------------------------ lock and schema
    def _lock(self) -> None:
        import psycopg

        conn = self.conn
        try:
            conn.execute(f"SET lock_timeout = '{int(self.LOCK_WAIT_S * 1000)}ms'")
            conn.execute("SELECT pg_advisory_lock(%s)", (self.lock_key,))
        except psycopg.errors.LockNotAvailable:
            holder = lock_holder(conn, self.lock_key) or "another session"
            raise JournalLocked(f"journal {redact(self.url)} is in use by {holder}") from None
        finally:
            conn.execute("RESET lock_timeout")

    def holds_lock(self, conn=None) -> bool:  # noqa: ANN001
        """Does the writing session still hold the journal lock (asked on `conn`)?"""
        row = (conn or self.conn).execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = %s AND objsubid = 1 "
            "AND ((classid::bigint << 32) | objid::bigint) = %s", (self.backend_pid, self.lock_key)).fetchone()
        return row[0] == 1

    def _migrate(self, create: bool) -> int | None:
        """Apply the steps above the journal's version, each in one transaction. Returns the
        version it started from (None: a new journal)."""
        import psycopg

        start = schema_version(self.conn)
        if start is None and not create:
            raise StartupError(f"journal {redact(self.url)} has no mtbridge journal (schema {self.schema_name}): "
                               "start a new one with --create-journal (config: journal.create = true)")
        if start is not None and start > SCHEMA_VERSION:
            raise StartupError(f"journal {redact(self.url)}: schema {start} is newer than this mtbridge "
                               f"(knows up to {SCHEMA_VERSION})")
        current = start or 0
        for version, _what, statements in MIGRATIONS:
            if version <= current:
                continue
            try:
                with self.conn.transaction():
                    for sql in statements:
                        self.conn.execute(sql)
                    self.conn.execute("INSERT INTO meta VALUES ('schema', %s) ON CONFLICT (key) DO UPDATE "
                                      "SET value = excluded.value", (str(version),))
            except psycopg.Error as exc:  # e.g. a table of another application with a journal's name
                hint = (": run `mtbridge daemon --migrate` as the tables' owner"
                        if isinstance(exc, psycopg.errors.InsufficientPrivilege) else "")
                raise StartupError(f"journal {redact(self.url)}: cannot migrate schema {current} -> {version} "
                                   f"({' '.join(str(exc).split())}){hint}") from None
            current = version
        return start

    # ------------------------------------------------------------------ the Store Protocol
    def recover(self) -> Recovery:
        with self._thread_lock:
            conn = self.conn
            snap = conn.execute("SELECT seq, state, parts FROM snapshots ORDER BY seq DESC LIMIT 1").fetchone()
            snap_seq, state = (snap[0], bytes(snap[1])) if snap else (0, None)
            if snap is not None and snap[2] is not None:
                pieces = [bytes(r[0]) for r in conn.execute(
                    "SELECT data FROM snapshot_parts WHERE seq = %s AND part < %s ORDER BY part", (snap_seq, snap[2]))]
                if len(pieces) != snap[2]:
                    raise RuntimeError(f"{redact(self.url)}: snapshot {snap_seq} has {len(pieces)} of {snap[2]} parts")
                state = b"".join(pieces)
            events = conn.execute("SELECT seq, now, type, body FROM events WHERE seq > %s ORDER BY seq",
                                  (snap_seq,)).fetchall()
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            pending = self._pending(int(meta.get("pending_from", "0")))
            logins = frozenset(r[0] for r in conn.execute("SELECT login FROM logins"))
            last = conn.execute("SELECT max(seq) FROM events").fetchone()[0] or 0
        return Recovery(snap_seq, state, events, pending, logins, meta, max(last, snap_seq))

    def _pending(self, pending_from: int) -> list[CommandRow]:
        rows: list[tuple] = []
        for (blob,) in self.conn.execute("SELECT rows FROM command_batches WHERE seq_hi >= %s ORDER BY id",
                                         (pending_from,)):
            rows.extend(_unpack_rows(blob))
        if not rows:
            return []
        low = min(r[2] for r in rows)
        return pending_of(rows, {k for (k,) in self.conn.execute("SELECT key FROM command_results WHERE cid >= %s",
                                                                 (low,))})

    def write(self, batch: Batch) -> None:
        """One transaction, its statements pipelined: BEGIN .. COMMIT in one round trip. The
        command batch goes as a binary parameter (%b): no hex text to encode and decode."""
        with self._thread_lock:
            conn = self.conn
            try:
                with conn.pipeline(), conn.cursor() as cur:
                    cur.execute("BEGIN")
                    self._check_fence(cur)
                    self.insert_batch(cur, batch)
                    cur.execute("COMMIT")
            except BaseException as exc:
                if not conn.closed:
                    conn.execute("ROLLBACK")  # a failed statement left the transaction aborted
                self._raise_fenced(exc)
                raise

    def insert_batch(self, cur, batch: Batch) -> None:  # noqa: ANN001 - a psycopg cursor in an open transaction
        """A step's rows (write's statements, without the transaction around them)."""
        if batch.events:
            cur.executemany("INSERT INTO events VALUES (%s, %s, %s, %s)", batch.events)
        if batch.commands:
            rows = batch.commands
            cur.execute("INSERT INTO command_batches (seq_hi, cid_hi, rows) VALUES (%s, %s, %b)",
                        (max(map(_SEQ, rows)), max(map(_CID, rows)), _pack_rows(rows)))
        if batch.results:
            cur.executemany("INSERT INTO command_results VALUES (%s, %s, %s, %s, %s) ON CONFLICT (cid) "
                            "DO UPDATE SET key = excluded.key, status = excluded.status, "
                            "result = excluded.result, done_at = excluded.done_at", batch.results)
        if batch.records:
            cur.executemany("INSERT INTO records (seq, topic, body) VALUES (%s, %s, %s)", batch.records)
        if batch.logins:
            cur.executemany("INSERT INTO logins VALUES (%s, %s) ON CONFLICT DO NOTHING", batch.logins)
        if batch.meta:
            cur.executemany("INSERT INTO meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE "
                            "SET value = excluded.value", list(batch.meta.items()))
        if self.extra_writes is not None:
            self.extra_writes(cur, batch)  # a shard's directory rows (cluster.ShardStore)

    @contextmanager
    def step(self) -> Iterator[Any]:
        """A journal step held open for other writes in the same transaction (the cluster
        ledger's transfers, bridge/daemon/ledger_pg.py): yields the connection after BEGIN and
        the fence check; commits on leaving, rolls back (nothing of it written) on an error."""
        with self._thread_lock:
            conn = self.conn
            try:
                conn.execute("BEGIN")
                self._check_fence(conn)
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if not conn.closed:
                    conn.execute("ROLLBACK")
                self._raise_fenced(exc)
                raise

    def save_snapshot(self, seq: int, taken_at: int, state: str | bytes) -> None:
        if isinstance(state, str):  # only a schema 1 SQLite journal ever held JSON text
            raise TypeError("a PostgreSQL journal stores packed engine snapshots (bytes)")
        with self._thread_lock:
            self._commit_snapshot(self.conn, seq, taken_at, state, None)
            self._sweep_parts(self.conn)

    def write_snapshot(self, seq: int, taken_at: int, state: bytes) -> None:
        """Pieces in short transactions on the worker thread's own connection; the row last,
        and only while the writing session holds the journal lock."""
        conn = connect(self.url, "mtbridge snapshot writer")
        try:
            self._session(conn)
            step = self.PART_BYTES
            parts = [state[i:i + step] for i in range(0, len(state), step)] or [b""]
            # a shard's fence is checked with every piece too: a deposed owner must not delete
            # or overwrite the pieces the new owner writes for the same seq
            def step_(sql: str, params: tuple) -> None:
                if self.fence is None:
                    conn.execute(sql, params)  # autocommit: one statement, one transaction
                    return
                with conn.transaction():
                    self._check_fence(conn)
                    conn.execute(sql, params)

            try:
                step_("DELETE FROM snapshot_parts WHERE seq = %s", (seq,))  # a killed writer's, same seq
                for i, piece in enumerate(parts):
                    step_("INSERT INTO snapshot_parts VALUES (%s, %s, %b) ON CONFLICT (seq, part) DO UPDATE "
                          "SET data = excluded.data", (seq, i, piece))
            except Exception as exc:  # noqa: BLE001 - re-raised below
                self._raise_fenced(exc)
                raise
            self._commit_snapshot(conn, seq, taken_at, b"", len(parts), fenced=True)
            self._sweep_parts(conn)
        finally:
            conn.close()

    def _raise_fenced(self, exc: BaseException) -> None:
        """A fence refusal as `Fenced`, one line (any other error: nothing)."""
        if getattr(exc, "sqlstate", None) == FENCED:
            raise Fenced(f"journal {redact(self.url)}: {getattr(exc.diag, 'message_primary', None) or exc}; "
                         "not written") from None

    def _commit_snapshot(self, conn, seq: int, taken_at: int, state: bytes, parts: int | None,  # noqa: ANN001
                         fenced: bool = False) -> None:
        try:
            self._commit_snapshot_fenced(conn, seq, taken_at, state, parts, fenced)
        except Exception as exc:  # noqa: BLE001 - re-raised below
            self._raise_fenced(exc)
            raise

    def _commit_snapshot_fenced(self, conn, seq: int, taken_at: int, state: bytes, parts: int | None,  # noqa: ANN001
                                fenced: bool) -> None:
        with conn.transaction():
            self._check_fence(conn)
            if fenced and self.locked and not self.holds_lock(conn):
                raise RuntimeError(f"snapshot {seq}: the daemon's journal session lost its lock; not written")
            if parts is not None:
                have = conn.execute("SELECT count(*) FROM snapshot_parts WHERE seq = %s AND part < %s",
                                    (seq, parts)).fetchone()[0]
                if have != parts:
                    raise RuntimeError(f"snapshot {seq}: {have} of {parts} parts written")
            conn.execute("INSERT INTO snapshots VALUES (%s, %s, %b, %s) ON CONFLICT (seq) DO UPDATE SET "
                         "taken_at = excluded.taken_at, state = excluded.state, parts = excluded.parts",
                         (seq, taken_at, state, parts))
            conn.execute("DELETE FROM snapshots WHERE seq NOT IN (SELECT seq FROM snapshots ORDER BY seq DESC "
                         "LIMIT %s)", (self.keep_snapshots,))

    @staticmethod
    def _sweep_parts(conn) -> None:  # noqa: ANN001
        """Pieces no snapshot row refers to, below the latest snapshot only (a snapshot being
        written always has a higher seq)."""
        conn.execute("DELETE FROM snapshot_parts WHERE seq < (SELECT max(seq) FROM snapshots) AND seq NOT IN "
                     "(SELECT seq FROM snapshots WHERE parts IS NOT NULL)")

    def command(self, key: str) -> tuple[CommandRow, str, str | None] | None:
        return next((c for c in self.commands() if c[0].key == key), None)

    def commands(self) -> list[tuple[CommandRow, str, str | None]]:
        with self._thread_lock:
            return read_commands(self.conn)

    def problem(self) -> str | None:
        """For /healthz: None while the writing session is up and holds the lock."""
        try:
            with self._thread_lock:
                if self.fence is not None:
                    row = self.conn.execute(f"SELECT token, owner FROM {CLUSTER_SCHEMA}.leases WHERE shard = %s",
                                            (self.fence[0],)).fetchone()
                    if row is None or row[0] != self.fence[1]:
                        return f"shard {self.fence[0]}: the lease moved to token {row[0] if row else '-'}"
                    if not row[1]:
                        return f"shard {self.fence[0]}: the lease was released"
                return None if not self.locked or self.holds_lock() else "the PostgreSQL session lost the journal lock"
        except Exception as exc:  # noqa: BLE001 - any driver error is the answer
            return f"{redact(self.url)}: {' '.join(str(exc).split()) or type(exc).__name__}"

    def close(self) -> None:
        """Ends the session: the server releases the journal lock with it."""
        self.conn.close()


def read_commands(conn, after_cid: int = 0, type_: str | None = None  # noqa: ANN001
                  ) -> list[tuple[CommandRow, str, str | None]]:
    """bridge.daemon.store.read_commands on a PostgreSQL journal."""
    blobs = [bytes(b) for (b,) in conn.execute("SELECT rows FROM command_batches WHERE cid_hi > %s ORDER BY id",
                                               (after_cid,))]
    results = conn.execute("SELECT key, status, result FROM command_results WHERE cid > %s ORDER BY cid DESC",
                           (after_cid,)).fetchall()
    return commands_of(blobs, results, after_cid, type_)


def _close_sessions_in_child() -> None:
    """A child forked for a snapshot must not keep the journal session's socket open: if it
    outlived a killed daemon, the server would not see the session end, and the lock would
    stay held. Closing the descriptor (not the connection: no Terminate message) is enough."""
    for store in list(_OPEN):
        try:
            os.close(store.conn.pgconn.socket)
        except Exception:  # noqa: BLE001 - already closed (OSError, or the driver's error)
            pass
    _OPEN.clear()


os.register_at_fork(after_in_child=_close_sessions_in_child)
