"""The cluster shell: leases, fencing and the login directory on PostgreSQL, run from the pure
decisions of bridge/cluster (lease.decide, routing.route).

A daemon with a `[cluster]` table serves the shards it holds the lease of. Each shard has its
own journal: the journal tables of bridge/daemon/store_pg.py in the database schema
`shard_<name>`, opened with `fence=(shard, token)` so every write checks the token. The
`LeaseKeeper` thread renews every `renew_ms` on its own connection; when a lease is lost it
calls `on_lost` (the daemon stops: fail-stop, its writes are refused anyway).

Example: `ClusterDb(url).add_shard("s1")`; `keeper = LeaseKeeper(url, cfg)`; `token =
keeper.acquire("s1", timeout_s=10)` waits until the lease is free (expired or released) and
takes it; `PgStore(shard_url(url, "s1"), lock=False, fence=("s1", token))` is its journal.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from bridge.cluster.config import NAME, ClusterConfig
from bridge.cluster.directory import claims, placement_refusal, placements, route_admin
from bridge.cluster.lease import Acquire, Drain, Lease, Lost, Release, Renew, decide
from bridge.cluster.routing import Route, route
from bridge.daemon.config import StartupError
from bridge.daemon.store_pg import CLUSTER_DDL, CLUSTER_SCHEMA, FENCE_BODY, PgStore, connect

if TYPE_CHECKING:
    from bridge.copytrading.engine import Engine
    from bridge.daemon.config import DaemonConfig
    from bridge.daemon.store import Recovery
    from bridge.daemon.warm_standby import WarmShard

C = CLUSTER_SCHEMA
# Added after journal step 4 (which created the tables); run with CLUSTER_DDL by a ClusterDb
# start that finds the schema behind (`ddl_applied`): the owner's admin endpoint (admin
# routing) and trader names -> shard (a request naming a trader is routed to its shard), the
# owner's feed (monitors aggregate).
ROUTING_DDL: tuple[str, ...] = (
    f"ALTER TABLE {C}.leases ADD COLUMN IF NOT EXISTS admin text NOT NULL DEFAULT ''",
    f"ALTER TABLE {C}.leases ADD COLUMN IF NOT EXISTS feed text NOT NULL DEFAULT ''",
    f"CREATE TABLE IF NOT EXISTS {C}.traders (name text PRIMARY KEY, shard text NOT NULL REFERENCES {C}.shards)",
)
# A journal step places rows, insert-only: a row placed in another shard stays (the step is
# then refused, PlacementConflict). `mtbridge cluster assign` (LOGINS_ASSIGN) alone moves one.
LOGINS_PLACE = f"INSERT INTO {C}.directory VALUES (%s, %s) ON CONFLICT (login) DO NOTHING"
TRADERS_PLACE = f"INSERT INTO {C}.traders VALUES (%s, %s) ON CONFLICT (name) DO NOTHING"
PLACED_ELSEWHERE = (f"SELECT 'account', login::text, shard FROM {C}.directory WHERE login = ANY(%s) AND shard <> %s "
                    f"UNION ALL SELECT 'trader', name, shard FROM {C}.traders WHERE name = ANY(%s) AND shard <> %s")
LOGINS_ASSIGN = (f"INSERT INTO {C}.directory VALUES (%s, %s) ON CONFLICT (login) DO UPDATE SET shard = excluded.shard "
                 "WHERE directory.shard <> excluded.shard")


# A schema change on the lease table (ALTER TABLE: ACCESS EXCLUSIVE) queues every shard's fence
# behind it while it waits for a step in flight: it waits this long at most, then steps back
# and tries again (backoff doubling up to 1 s), for at most DDL_WAIT_S.
DDL_LOCK_TIMEOUT_MS = 200
DDL_WAIT_S = 60
CLUSTER_TABLES = ("shards", "leases", "directory", "traders")


def ddl_applied(conn) -> bool:  # noqa: ANN001 - a psycopg connection
    """Is the cluster schema current (its tables, the lease routing columns, this version's
    fence)? Read from the catalog only: a start on a current cluster runs no DDL and takes no
    lock on the lease table."""
    tables = " AND ".join(f"to_regclass('{C}.{t}') IS NOT NULL" for t in CLUSTER_TABLES)
    row = conn.execute(
        f"SELECT to_regnamespace('{C}') IS NOT NULL AND {tables} AND (SELECT count(*) FROM pg_attribute WHERE "
        f"attrelid = to_regclass('{C}.leases') AND attname IN ('admin', 'feed') AND NOT attisdropped) = 2 "
        f"AND to_regprocedure('{C}.now_ms()') IS NOT NULL AND (SELECT prosrc FROM pg_proc WHERE oid = "
        f"to_regprocedure('{C}.fence(text,bigint)')) IS NOT DISTINCT FROM %s", (FENCE_BODY,)).fetchone()
    return bool(row[0])


class PlacementConflict(RuntimeError):
    """A step would place a login or trader name the directory has in another shard (two
    shards racing to place the same new one): the step is rolled back, nothing of it written."""


def journal_schema(shard: str) -> str:
    return f"shard_{shard}"


def shard_url(url: str, shard: str) -> str:
    """The journal URL of a shard: the cluster's database, the shard's schema first on the
    search path (a libpq URI option, percent-encoded). The schema is quoted there as it is in
    `add_shard`'s CREATE SCHEMA: unquoted, PostgreSQL folds it to lower case, and shard S1
    would open shard s1's journal. Example: postgresql://u@db/mtb ->
    postgresql://u@db/mtb?options=-csearch_path%3D%22shard_S1%22 (schema "shard_S1")"""
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D%22{journal_schema(shard)}%22"


class ClusterDb:
    """One connection to the cluster's tables."""

    def __init__(self, url: str, application_name: str = "mtbridge cluster", ddl: bool = True) -> None:
        self.conn = connect(url, application_name)
        if ddl:
            try:
                self._migrate()
            except BaseException:
                self.conn.close()
                raise

    def _migrate(self) -> None:
        """The cluster schema, brought up to date only when it is behind (`ddl_applied`); the
        DDL steps back when the lease table is busy (DDL_LOCK_TIMEOUT_MS) and tries again."""
        import psycopg

        deadline = time.monotonic() + DDL_WAIT_S
        pause = DDL_LOCK_TIMEOUT_MS / 1000
        while not ddl_applied(self.conn):
            try:
                with self.conn.transaction():
                    self.conn.execute(f"SET LOCAL lock_timeout = {DDL_LOCK_TIMEOUT_MS}")
                    for sql in (*CLUSTER_DDL, *ROUTING_DDL):
                        self.conn.execute(sql)
                return
            except psycopg.errors.LockNotAvailable:
                if time.monotonic() > deadline:
                    raise StartupError(f"cluster schema {C}: cannot update it, the lease table stayed busy for "
                                       f"{DDL_WAIT_S} s (a step or another schema change holding it)") from None
                time.sleep(pause)
                pause = min(2 * pause, 1.0)

    def close(self) -> None:
        self.conn.close()

    def broken(self) -> bool:
        """The connection is unusable (the server restarted, the backend was terminated)."""
        return self.conn.closed or bool(getattr(self.conn, "broken", False))

    def set_statement_timeout(self, ms: int) -> None:
        """A statement that hangs (a lock, a dying server) fails after `ms` instead of holding
        the renewing thread past its lease."""
        self.conn.execute(f"SET statement_timeout = {int(ms)}")

    def add_shard(self, shard: str) -> None:
        """Registers a shard (idempotent) and creates its journal schema."""
        if not NAME.match(shard):  # the one rule, also the config's
            raise ValueError(f"shard name {shard!r}: letters, digits and _ only, at most 40")
        with self.conn.transaction():
            self.conn.execute(f"INSERT INTO {C}.shards VALUES (%s, %s, {C}.now_ms()) ON CONFLICT DO NOTHING",
                              (shard, journal_schema(shard)))
            self.conn.execute(f"INSERT INTO {C}.leases (shard) VALUES (%s) ON CONFLICT DO NOTHING", (shard,))
            self.conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{journal_schema(shard)}"')

    def assign(self, logins: list[int], shard: str) -> None:
        """login -> shard in the directory (a trader, its investors: one shard)."""
        with self.conn.cursor() as cur:
            cur.executemany(LOGINS_ASSIGN, [(login, shard) for login in logins])

    def view(self) -> tuple[int, dict[str, Lease]]:
        """(database now, ms; every lease)."""
        with self.conn.transaction():
            now = self.conn.execute(f"SELECT {C}.now_ms()").fetchone()[0]
            rows = self.conn.execute(f"SELECT shard, owner, endpoint, token, expires_at, handover_to, admin, feed "
                                     f"FROM {C}.leases").fetchall()
        return now, {r[0]: Lease(*r) for r in rows}

    def directory(self) -> dict[int, str]:
        return dict(self.conn.execute(f"SELECT login, shard FROM {C}.directory").fetchall())

    def traders(self) -> dict[str, str]:
        """trader name -> shard (written with the trader's registration)."""
        return dict(self.conn.execute(f"SELECT name, shard FROM {C}.traders").fetchall())

    def acquire(self, shard: str, seen_token: int, node: str, endpoint: str, duration_ms: int,
                admin: str = "", feed: str = "", lock_timeout_ms: int = 0) -> int | None:
        """The CAS: the new token, or None if someone else changed the row first or it has not
        expired. `lock_timeout_ms`: None too when the row stays locked that long (a deposed
        owner's step still in flight holds it FOR SHARE until the server ends it): the caller
        polls again instead of waiting on it (0: wait)."""
        import psycopg

        try:
            with self.conn.transaction():
                if lock_timeout_ms:
                    self.conn.execute(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}")
                row = self.conn.execute(
                    f"UPDATE {C}.leases SET owner = %s, endpoint = %s, token = token + 1, expires_at = "
                    f"{C}.now_ms() + %s, handover_to = '', admin = %s, feed = %s WHERE shard = %s AND token = %s AND "
                    f"(expires_at <= {C}.now_ms() OR (owner = '' AND handover_to = %s)) RETURNING token",
                    (node, endpoint, duration_ms, admin, feed, shard, seen_token, node)).fetchone()
        except psycopg.errors.LockNotAvailable:
            return None
        return None if row is None else row[0]

    def renew(self, shard: str, token: int, node: str, duration_ms: int) -> bool:
        row = self.conn.execute(
            f"UPDATE {C}.leases SET expires_at = {C}.now_ms() + %s WHERE shard = %s AND token = %s AND owner = %s "
            "RETURNING token", (duration_ms, shard, token, node)).fetchone()
        return row is not None

    def release(self, shard: str, token: int, node: str, duration_ms: int = 0) -> bool:
        """Give the lease up (a clean stop): the next owner takes it without waiting. Handed
        over (`handover_to` set), it stays reserved to that node for `duration_ms`. The token
        stays: the next acquire bumps it."""
        row = self.conn.execute(
            f"UPDATE {C}.leases SET owner = '', expires_at = CASE WHEN handover_to = '' THEN 0 "
            f"ELSE {C}.now_ms() + %s END WHERE shard = %s AND token = %s AND owner = %s RETURNING token",
            (duration_ms, shard, token, node)).fetchone()
        return row is not None

    def hand_over(self, shard: str, to: str) -> bool:
        """Rebalancing: ask the shard's owner to drain it and release it to node `to`."""
        row = self.conn.execute(f"UPDATE {C}.leases SET handover_to = %s WHERE shard = %s RETURNING shard",
                                (to, shard)).fetchone()
        return row is not None


class LeaseKeeper:
    """The leases of one daemon: `acquire` at start, then a thread renewing every renew_ms
    and refreshing the routing view (directory + leases) the daemon's hello answers from."""

    def __init__(self, url: str, cfg: ClusterConfig, on_lost: Callable[[str, str], None] | None = None,
                 on_drain: Callable[[str, str], None] | None = None) -> None:
        self.cfg = cfg
        self._url = url
        self._app = f"mtbridge lease keeper {cfg.node}"[:63]
        self.db = ClusterDb(url, self._app)
        self.held: dict[str, int] = {}
        self.on_lost = on_lost or (lambda shard, why: None)
        self.on_drain = on_drain or (lambda shard, to: None)  # called once per hand-over request
        self.draining: dict[str, str] = {}  # shard -> the node it is handed over to
        self.paused = False  # tests: a daemon that stops renewing (a GC pause, a partition)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._view: tuple[int, float, dict[int, str], dict[str, Lease]] = (0, time.monotonic(), {}, {})
        self._traders: dict[str, str] = {}

    def acquire(self, shard: str, timeout_s: float = 0) -> int:
        """Wait until `shard`'s lease can be taken, take it; its token."""
        return self.acquire_any((shard,), timeout_s)[1]

    def acquire_any(self, shards: tuple[str, ...], timeout_s: float = 0,
                    idle: Callable[[float], None] | None = None) -> tuple[str, int]:
        """A standby: poll every renew_ms (or at the expiry of a lease, when sooner) until one
        of `shards` can be taken (the first in name order), take it; (shard, token).
        StartupError after `timeout_s` (0: wait forever). `idle(deadline)`: work to do between
        polls, bounded by `deadline` (time.monotonic(); a warm standby's rounds)."""
        deadline = time.monotonic() + timeout_s if timeout_s else None
        while True:
            polled = time.monotonic()
            now, leases = self.db.view()
            for action in decide(leases, self.held, self.cfg.node, [*self.held, *shards], now, self.cfg.lease):
                if isinstance(action, Acquire) and action.shard in shards:
                    token = self.db.acquire(action.shard, action.seen_token, self.cfg.node, self.cfg.endpoint,
                                            self.cfg.lease.duration_ms, self.cfg.admin_endpoint,
                                            self.cfg.feed_endpoint, lock_timeout_ms=self.statement_timeout_ms())
                    if token is not None:
                        with self._lock:
                            self.held[action.shard] = token
                        self.refresh()
                        return action.shard, token
            missing = [s for s in shards if s not in leases]
            if missing:
                raise StartupError(f"cluster: no shard {missing[0]!r} in {CLUSTER_SCHEMA}.shards "
                                   "(journal.create = true registers the config's shards)")
            if deadline is not None and time.monotonic() > deadline:
                held = ", ".join(f"{s} by {leases[s].owner or 'nobody'}" for s in shards)
                raise StartupError(f"cluster: no shard free within {timeout_s} s (held: {held})")
            next_poll = polled + self.poll_wait_s(leases, shards, now)
            if idle is not None:
                idle(next_poll)
            time.sleep(max(0.0, next_poll - time.monotonic()))

    def poll_wait_s(self, leases: dict[str, Lease], shards: tuple[str, ...], now: int) -> float:
        """Until the next poll: renew_ms, or less when a lease of `shards` expires sooner (the
        database's clock; + 2 ms so the poll lands after it): a dead owner's shard is taken
        at its expiry, not up to a poll interval later. An expired lease this poll could not
        take (the CAS raced, or a step in flight held the row): again after 10 ms. The CAS
        still checks the expiry. Example: renew 300 ms, s1 expires in 120 ms -> 0.122 s."""
        wait_ms = self.cfg.lease.renew_ms
        for shard in shards:
            lease = leases.get(shard)
            if lease is not None:
                left = lease.expires_at - now
                wait_ms = min(wait_ms, left + 2 if left > 0 else 10)
        return wait_ms / 1000

    def statement_timeout_ms(self) -> int:
        """Shorter than the renew interval: a hung round fails in time for the next one."""
        return max(1, self.cfg.lease.renew_ms * 3 // 4)

    def start(self) -> None:
        self.db.set_statement_timeout(self.statement_timeout_ms())
        self._thread = threading.Thread(target=self._run, name=f"lease-keeper-{self.cfg.node}", daemon=True)
        self._thread.start()

    def tick(self) -> None:
        """One round: decide on the current rows, run the actions, refresh the routing view."""
        if self.paused:
            return
        now, leases = self.db.view()
        with self._lock:
            held = dict(self.held)
        for action in decide(leases, held, self.cfg.node, self.cfg.shards, now, self.cfg.lease):
            if isinstance(action, Renew):
                if not self.db.renew(action.shard, action.token, self.cfg.node, self.cfg.lease.duration_ms):
                    self._lost(action.shard, "renewal refused: the lease moved")
            elif isinstance(action, Lost):
                self._lost(action.shard, action.why)
            elif isinstance(action, Release):
                self.db.release(action.shard, action.token, self.cfg.node, self.cfg.lease.duration_ms)
                with self._lock:
                    self.held.pop(action.shard, None)
            elif isinstance(action, Drain) and action.shard not in self.draining:
                self.draining[action.shard] = action.to
                self.on_drain(action.shard, action.to)
        self.refresh()

    def _lost(self, shard: str, why: str) -> None:
        with self._lock:
            self.held.pop(shard, None)
        self.on_lost(shard, why)

    def refresh(self) -> None:
        now, leases = self.db.view()
        directory, traders = self.db.directory(), self.db.traders()
        self._view, self._traders = (now, time.monotonic(), directory, leases), traders

    def route(self, login: int) -> Route:
        """For a hello: serve, redirect, or no owner (from the last refreshed view)."""
        now, at, directory, leases = self._view
        with self._lock:
            mine = frozenset(self.held)
        return route(login, directory, leases, mine, now + int((time.monotonic() - at) * 1000))

    def route_admin(self, request: object) -> Route:
        """For an admin request: serve here, or the owner of the shard it concerns."""
        (now, at, directory, leases), traders = self._view, self._traders
        with self._lock:
            mine = frozenset(self.held)
        return route_admin(request, directory, traders, leases, mine, now + int((time.monotonic() - at) * 1000))

    def hand_over(self, timeout_s: float) -> Lease | None:
        """Rebalancing, after the daemon's last step and snapshot: stop renewing, release the
        drained shards (reserved to their targets), and wait until the target holds the
        lease: its row then names the endpoint the terminals are sent to. None after
        `timeout_s` (the target never came: the terminals find the new owner by themselves)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            held, self.held = dict(self.held), {}
        for shard, token in held.items():
            self.db.release(shard, token, self.cfg.node, self.cfg.lease.duration_ms)
        deadline = time.monotonic() + timeout_s
        while True:
            _, leases = self.db.view()
            moved = [leases[s] for s in held if s in leases and leases[s].owner
                     and leases[s].owner != self.cfg.node]
            if moved:
                return moved[0]
            if time.monotonic() > deadline:
                return None
            time.sleep(self.cfg.lease.renew_ms / 1000 / 4)

    def _reconnect(self) -> None:
        """A new connection in place of a broken one (a restarted database kills every session)."""
        fresh = ClusterDb(self._url, self._app, ddl=False)
        try:
            fresh.set_statement_timeout(self.statement_timeout_ms())
        except BaseException:
            fresh.close()
            raise
        old, self.db = self.db, fresh
        old.close()

    def _run(self) -> None:
        """Renew until stopped. A failed round (the database unreachable) is retried, on a new
        connection if the old one broke (reconnects spaced by a backoff doubling from renew_ms,
        bounded to a quarter lease so several fit in one); once a whole lease duration passed
        without a round succeeding, the leases are given up (another daemon may hold them by
        now, and the fence refuses this one's writes anyway)."""
        renew_s = self.cfg.lease.renew_ms / 1000
        max_backoff_s = max(renew_s, self.cfg.lease.duration_ms / 4000)
        ok_at = time.monotonic()
        backoff_s, reconnect_at = renew_s, 0.0
        while not self._stop.wait(renew_s):
            try:
                if self.db.broken():
                    if time.monotonic() < reconnect_at:
                        raise ConnectionError("the cluster database connection is broken; reconnecting")
                    reconnect_at = time.monotonic() + backoff_s
                    backoff_s = min(backoff_s * 2, max_backoff_s)
                    self._reconnect()
                self.tick()
                ok_at, backoff_s = time.monotonic(), renew_s
            except Exception as exc:  # noqa: BLE001 - any driver error: retried until the lease lapses
                if time.monotonic() - ok_at < self.cfg.lease.duration_ms / 1000:
                    continue
                with self._lock:
                    shards = list(self.held)
                for shard in shards:
                    self._lost(shard, f"renewal failed: {' '.join(str(exc).split()) or type(exc).__name__}")
                return

    def close(self, release: bool = True) -> None:
        """Stop renewing; `release` expires the held leases now (a clean stop)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if release:
            with self._lock:
                held = dict(self.held)
            for shard, token in held.items():
                self.db.release(shard, token, self.cfg.node, self.cfg.lease.duration_ms)
        self.db.close()


class ShardStore(PgStore):
    """A shard's journal with the daemon's lease keeper: `route_login` answers hellos
    (sessions._redirected), `close` stops renewing and releases the lease (a clean stop hands
    the shard over at once)."""

    keeper: LeaseKeeper
    warm: WarmShard | None = None  # the standby's warm state of this shard, until the start takes it
    warm_problem = ""  # why the warm state was not used (the log says it)
    warm_stats: dict[str, int] | None = None  # its rounds, loads, events applied (the log says them)
    acquired_at = 0.0  # time.perf_counter() when the lease was taken (the start's timing begins there)

    def route_login(self, login: int) -> Route:
        return self.keeper.route(login)

    def route_admin(self, request: object) -> Route:
        return self.keeper.route_admin(request)

    def placement_refusal(self, op: str, args: dict) -> tuple[str, str, str] | None:
        """Before the engine sees a request that would place a login or a trader name: the
        directory's rows for them, read now on the journal's connection (inside the step's
        transaction when a cluster-ledger step holds one open), and the pure verdict
        (bridge/cluster/directory.py `placement_refusal`)."""
        logins, traders = claims(op, args)
        if not (logins or traders):
            return None
        with self._thread_lock:
            placed = dict(self.conn.execute(f"SELECT login, shard FROM {C}.directory WHERE login = ANY(%s)",
                                            (logins,)).fetchall())
            named = dict(self.conn.execute(f"SELECT name, shard FROM {C}.traders WHERE name = ANY(%s)",
                                           (traders,)).fetchall())
        return placement_refusal(op, args, placed, named, self.fence[0])

    def extra_writes(self, cur, batch) -> None:  # noqa: ANN001 - psycopg cursor, store.Batch
        """Directory maintenance, in the journal step's own transaction (after its fence):
        a trader registered here and the investor accounts of its subscriptions are placed in
        this shard (bridge/cluster/directory.py). Insert-only: a replayed step writes the same
        rows (nothing changes); a row another shard placed first (a race past
        `placement_refusal`) refuses the whole step (PlacementConflict: rolled back, the
        daemon stops and recovers without it)."""
        if not (batch.events or batch.records):
            return
        shard = self.fence[0]
        logins, traders = placements(batch.events, batch.records, shard)
        if logins:
            cur.executemany(LOGINS_PLACE, logins)
        if traders:
            cur.executemany(TRADERS_PLACE, traders)
        if logins or traders:
            cur.execute(PLACED_ELSEWHERE, ([login for login, _ in logins], shard, [name for name, _ in traders], shard))
            clash = cur.fetchone()
            if clash is not None:
                raise PlacementConflict(f"shard {shard}: {clash[0]} {clash[1]} is placed in shard {clash[2]} (the "
                                        "cluster directory); step not written")

    def draining_to(self) -> str | None:
        """The node this daemon's shard is being handed over to (`mtbridge cluster hand-over`)."""
        return next(iter(self.keeper.draining.values()), None)

    def hand_over(self) -> Lease | None:
        """Release the drained shard and wait (at most a lease duration and a poll) for the
        target to take it; the new lease row, or None."""
        cfg = self.keeper.cfg.lease
        return self.keeper.hand_over((cfg.duration_ms + 2 * cfg.renew_ms) / 1000)

    def take_warm(self) -> tuple[Recovery, Engine, int] | None:
        """At start, once: what the standby kept warm, caught up to the end of the journal on
        this (fenced) connection: (recovery, its engine, events applied now), or None (cold
        start, or a warm state that could not vouch for itself: `recover` as always)."""
        warm, self.warm = self.warm, None
        if warm is None:
            return None
        with self._thread_lock:
            taken = warm.take(self.conn)
        self.warm_problem = warm.problem
        self.warm_stats = dict(warm.stats)
        return taken

    def close(self) -> None:
        warm, self.warm = self.warm, None
        try:
            if warm is not None:  # never taken (a start that failed first): its connection is still open
                warm.drop()
        finally:
            try:
                super().close()
            finally:
                self.keeper.close(release=True)


def _exit_lost(shard: str, why: str) -> None:
    """Fail-stop: a daemon that lost its lease exits at once (status 3). Its journal is fenced
    (nothing it could still write would commit), its terminals reconnect and are redirected,
    and its supervisor restarts it as a standby."""
    sys.stderr.write(f"mtbridge: lost the lease of shard {shard}: {why}; exiting\n")
    sys.stderr.flush()
    os._exit(3)


def _stop_for_drain(shard: str, to: str) -> None:
    """Rebalancing: stop cleanly (SIGTERM: the last step committed, a final snapshot); the
    store's close then releases the lease, reserved to `to`, which takes it at once."""
    sys.stderr.write(f"mtbridge: handing shard {shard} over to {to}; stopping\n")
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGTERM)


def open_shard(url: str, cfg: ClusterConfig, synchronous: str = "normal", create: bool = True,
               on_lost: Callable[[str, str], None] = _exit_lost,
               on_drain: Callable[[str, str], None] = _stop_for_drain,
               daemon: DaemonConfig | None = None) -> ShardStore:
    """The daemon's start in a cluster: register the config's shards (create), wait for the
    lease of one of them (a standby waits here, keeping the shards' state warm when `daemon`,
    the daemon's config, is given and `cluster.warm_standby` is on), open its journal fenced by
    the token, renew."""
    keeper = LeaseKeeper(url, cfg, on_lost, on_drain)
    warm = None
    try:
        if create:
            for shard in cfg.shards:
                keeper.db.add_shard(shard)
        if daemon is not None and cfg.warm_standby:
            from bridge.daemon.warm_standby import WarmShards  # the engine's modules: daemons only, not tools

            warm = WarmShards({s: shard_url(url, s) for s in cfg.shards}, daemon, cfg.node)
        shard, token = keeper.acquire_any(cfg.shards, cfg.acquire_timeout_s, warm.idle if warm else None)
        acquired_at = time.perf_counter()
        store = ShardStore(shard_url(url, shard), synchronous, create=create, lock=False, fence=(shard, token),
                           step_timeout_ms=cfg.lease.step_ms)
    except BaseException:
        if warm is not None:
            warm.close()
        keeper.close(release=True)
        raise
    store.keeper = keeper
    store.acquired_at = acquired_at
    store.warm = warm.pop(shard) if warm is not None else None
    keeper.start()
    return store
