"""A warm standby (docs/scaling.md "Failover"): while a daemon waits for a shard's lease, it
keeps that shard's recovered state up to date by reading the journal, so a takeover reads and
replays only what was journaled since its last round instead of the whole recovery.

What it keeps, per shard waited for, on its own connection (read-only transactions, no row
lock, nothing written):

* the engine: the latest snapshot (`Engine.from_bytes`) plus every journal event after it,
  applied as they are committed (`engine.handle`, as a replay does);
* the command batches that may still hold pending commands (`seq_hi >= pending_from`),
  unpacked.

A round (every lease poll, `LeaseKeeper.acquire_any`'s idle time) reads the events after the
last one applied, or a newer snapshot when the engine is so far behind it that loading costs
less than replaying (`_load_pays`); its work is bounded by the time left before the next poll
(events in chunks of `CHUNK`; a snapshot load only when it fits).

At takeover (`take`, on the new owner's fenced connection, once the lease is held: nothing
more can be committed by the old owner) it applies the events after its last round, reads
`meta`, the logins and the command outcomes fresh, and returns the same `Recovery` and engine
a cold `PgStore.recover` + `DaemonCore.recover` would build (tests/cluster/test_warm_standby.py
compares them byte for byte). Whatever it cannot vouch for (an event gap, an engine error, a
`pending_from` below its batches, a journal whose event at `applied` is not the row applied or
whose newest snapshot went back: restored in place) makes it give up: the daemon then recovers
cold, as before.

Example: a standby of shard s1 whose owner journals a 10 000-investor fan-out applies its
10 000 `CommandFilled` events over the fan-out's rounds; killed mid fan-out, the owner leaves
the standby with the few hundred events of the last poll interval to apply after it took the
lease (figures: docs/scaling.md).
"""

from __future__ import annotations

import gc
import time
from typing import TYPE_CHECKING, Any

from bridge.copytrading.engine import Engine
from bridge.daemon import wire
from bridge.daemon.store import Recovery, _unpack_rows, pending_of
from bridge.daemon.store_pg import connect

if TYPE_CHECKING:
    from bridge.daemon.config import DaemonConfig

CHUNK = 1000  # events per read: the round checks its deadline between chunks
EVENT_S = 50e-6  # an event's decoding and handling before one is measured (~38 us at 10 000 subscriptions)
READ_TIMEOUT_MS = 5000  # a warm read that hangs (a dying server) fails instead of holding the poll
SNAPSHOT = "SELECT seq, parts FROM snapshots ORDER BY seq DESC LIMIT 1"
EVENTS = "SELECT seq, now, type, body FROM events WHERE seq > %s ORDER BY seq LIMIT %s"
EVENT_AT = "SELECT now, type, body FROM events WHERE seq = %s"
BATCHES = "SELECT id, seq_hi, rows FROM command_batches WHERE id > %s AND seq_hi >= %s ORDER BY id LIMIT %s"


class WarmBroken(Exception):
    """The warm state can no longer vouch for itself (the reason): it starts over."""


class WarmShard:
    """One shard's warm state. `round(deadline)` while waiting; `take(conn)` once the lease is
    held; `close()` otherwise."""

    def __init__(self, url: str, config: DaemonConfig, name: str = "") -> None:
        self.url = url  # the shard's journal URL (cluster.shard_url)
        self.config = config
        self.name = name
        self.conn: Any = None
        self.engine: Engine | None = None
        self.applied = 0  # seq of the last event in the engine (or of the snapshot it was loaded from)
        self.applied_row: tuple | None = None  # the journal's event at `applied` (now, type, body): what it was
        self.snapshot_seq = 0  # the newest snapshot seen: a cold recovery's base
        self.batches: list[tuple[int, int, tuple]] = []  # (id, seq_hi, rows) with seq_hi >= batches_from, id order
        self.batches_from = 0  # the pending_from the cached batches were chosen with
        self.batch_id = 0  # the highest batch id read
        self.load_s = 0.0  # how long the last snapshot load took (a round starts one only if it fits)
        self.event_s = EVENT_S  # what applying one event costs (measured: the last chunk's mean)
        self.stats = {"rounds": 0, "snapshots_loaded": 0, "events_applied": 0, "restarts": 0}
        self.problem = ""  # why the state last started over

    # ------------------------------------------------------------------ while waiting
    def round(self, deadline: float) -> None:
        """Bounded catch-up until `deadline` (time.monotonic()). A failed read or a state that
        cannot vouch for itself is dropped (the next round starts over); never raises."""
        try:
            conn = self._connection()
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                self._catch_up(conn, deadline)
            self.stats["rounds"] += 1
        except Exception as exc:  # noqa: BLE001 - the standby keeps waiting; the takeover can go cold
            self._start_over(f"{type(exc).__name__}: {' '.join(str(exc).split())}")
            if self.conn is not None and (self.conn.closed or getattr(self.conn, "broken", False)):
                self.conn = None

    def _catch_up(self, conn: Any, deadline: float, bounded: bool = True) -> int:
        """Snapshot if behind it, events after `applied`, new command batches; events applied."""
        snap = conn.execute(SNAPSHOT).fetchone()
        latest = snap[0] if snap else 0
        if self.engine is not None:
            self._check_identity(conn, latest)
        if self.engine is None or (latest > self.applied and self._load_pays(latest, deadline if bounded else None)):
            self._load(conn, snap)
        self.snapshot_seq = max(self.snapshot_seq, latest)
        applied = self._apply(conn, deadline if bounded else None)
        self._read_batches(conn, deadline if bounded else None)
        return applied

    def _check_identity(self, conn: Any, latest: int) -> None:
        """The journal still holds what the engine was built from: its newest snapshot did not
        go back and its event at `applied` is the one applied (one indexed row read). Seqs alone
        cannot tell: a journal restored in place to an earlier point and written on again by
        another owner reaches the same seqs with other events."""
        if latest < self.snapshot_seq:
            raise WarmBroken(f"the newest snapshot went back from {self.snapshot_seq} to {latest}")
        if self.applied and self._row_at(conn, self.applied) != self.applied_row:
            raise WarmBroken(f"the journal's event {self.applied} is not the one applied (restored, or shorter)")

    @staticmethod
    def _row_at(conn: Any, seq: int) -> tuple | None:
        row = conn.execute(EVENT_AT, (seq,)).fetchone()
        return tuple(row) if row is not None else None

    def _load_pays(self, latest: int, deadline: float | None) -> bool:
        """Behind a newer snapshot: load it only when replaying the events up to it would cost
        more (their measured cost against the last load's) and, in a round, when the load fits
        before `deadline`; else the events are replayed (they stay in the journal), in chunks.
        Example: 38 us an event, a load 250 ms: a standby 2 000 events behind replays them
        (76 ms); one 50 000 behind (started late) loads the snapshot."""
        if (latest - self.applied) * self.event_s <= self.load_s:
            return False
        return deadline is None or time.monotonic() + self.load_s <= deadline

    def _load(self, conn: Any, snap: tuple | None) -> None:
        t = time.monotonic()
        if self.engine is not None:
            gc.unfreeze()  # the engine being replaced was frozen: let its cycles be collected
        self.engine = None
        cfg = self.config
        if snap is None:
            self.engine, self.applied = Engine(cfg.engine, cfg.rules), 0
        else:
            seq, parts = snap
            if parts is None:
                state = bytes(conn.execute("SELECT state FROM snapshots WHERE seq = %s", (seq,)).fetchone()[0])
            else:
                pieces = [bytes(r[0]) for r in conn.execute(
                    "SELECT data FROM snapshot_parts WHERE seq = %s AND part < %s ORDER BY part", (seq, parts))]
                if len(pieces) != parts:
                    raise WarmBroken(f"snapshot {seq} has {len(pieces)} of {parts} parts")
                state = b"".join(pieces)
            self.engine, self.applied = wire.replayed_engine(cfg, state, []), seq
        self.applied_row = self._row_at(conn, self.applied) if self.applied else None
        # the server's start collects and freezes the heap (gc.freeze): done here, while idle,
        # the takeover's collection scans only what was built since
        gc.collect()
        gc.freeze()
        self.load_s = time.monotonic() - t
        self.stats["snapshots_loaded"] += 1

    def _apply(self, conn: Any, deadline: float | None) -> int:
        engine = self.engine
        assert engine is not None
        applied = 0
        while True:
            rows = conn.execute(EVENTS, (self.applied, CHUNK)).fetchall()
            t = time.monotonic()
            for seq, now, type_name, body in rows:
                if seq != self.applied + 1:  # journal seqs are consecutive: a gap is a read we cannot trust
                    raise WarmBroken(f"event {seq} after {self.applied}")
                try:
                    engine.handle(wire.event_from(type_name, body))  # type: ignore[arg-type]
                except Exception as exc:  # the cold replay would fail the same way: it reports it
                    raise WarmBroken(f"event {seq}: {type(exc).__name__}: {exc}") from None
                self.applied, self.applied_row = seq, (now, type_name, body)
            if len(rows) >= 100:
                self.event_s = (time.monotonic() - t) / len(rows)
            applied += len(rows)
            self.stats["events_applied"] += len(rows)
            if len(rows) < CHUNK or (deadline is not None and time.monotonic() > deadline):
                return applied

    def _read_batches(self, conn: Any, deadline: float | None) -> None:
        row = conn.execute("SELECT value FROM meta WHERE key = 'pending_from'").fetchone()
        pending_from = int(row[0]) if row else 0
        if pending_from < self.batches_from:  # it went back: the cache may lack batches it now needs
            self.batches, self.batch_id = [], 0
        self.batches_from = pending_from
        self.batches = [b for b in self.batches if b[1] >= pending_from]
        while deadline is None or time.monotonic() < deadline:
            rows = conn.execute(BATCHES, (self.batch_id, pending_from, 8)).fetchall()
            for id_, seq_hi, blob in rows:
                self.batches.append((id_, seq_hi, _unpack_rows(blob)))
                self.batch_id = id_
            if len(rows) < 8:
                return

    def _start_over(self, why: str) -> None:
        if self.engine is not None:
            gc.unfreeze()
        self.engine, self.applied, self.applied_row, self.snapshot_seq = None, 0, None, 0
        self.batches, self.batches_from, self.batch_id = [], 0, 0
        self.problem = why
        self.stats["restarts"] += 1

    def _connection(self) -> Any:
        if self.conn is None:
            self.conn = connect(self.url, f"mtbridge warm standby {self.name}"[:63])
            self.conn.execute(f"SET statement_timeout = {READ_TIMEOUT_MS}")
        return self.conn

    def close(self) -> None:
        """The reading connection only (`take` still uses the engine after it)."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def drop(self) -> None:
        """Not taken over: the connection and the engine go."""
        self.close()
        self.engine = None

    # ------------------------------------------------------------------ at takeover
    def take(self, conn: Any) -> tuple[Recovery, Engine, int] | None:
        """(recovery, its engine, events applied now) read on `conn` (the new owner's journal
        connection, the lease held), or None: recover cold. The warm state is consumed.

        No transaction around the reads: with the lease held nobody else commits to the
        journal any more (the old owner's steps are fenced, and a step in flight at the
        takeover had to end before the lease could change), and an open transaction on the
        owner's connection would be ended by its idle_in_transaction_session_timeout while
        the events are applied."""
        self.close()
        if self.engine is None:
            return None
        try:
            caught_up = self._catch_up(conn, 0.0, bounded=False)
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            pending = self._pending(conn, int(meta.get("pending_from", "0")))
            if pending is None:
                raise WarmBroken(f"pending_from {meta.get('pending_from')}: command batches not all cached")
            logins = frozenset(r[0] for r in conn.execute("SELECT login FROM logins"))
            last = max(conn.execute("SELECT max(seq) FROM events").fetchone()[0] or 0, self.snapshot_seq)
            if last != self.applied:
                raise WarmBroken(f"the journal ends at {last}, the warm engine at {self.applied}")
        except Exception as exc:  # noqa: BLE001 - the cold recovery reads it all again (and reports a real error)
            self._start_over(f"{type(exc).__name__}: {' '.join(str(exc).split())}")
            return None
        engine, self.engine = self.engine, None
        assert engine is not None
        return Recovery(self.snapshot_seq, None, [], pending, logins, meta, last), engine, caught_up

    def _pending(self, conn: Any, pending_from: int) -> list | None:
        """`PgStore._pending` from the cached batches: the same rows in the same (id) order;
        None when the cache cannot answer (its batches were chosen above `pending_from`, or
        the table holds a batch it never read)."""
        if pending_from < self.batches_from:
            return None
        mine = [b for b in self.batches if b[1] >= pending_from]
        count = conn.execute("SELECT count(*) FROM command_batches WHERE seq_hi >= %s AND id <= %s",
                             (pending_from, self.batch_id)).fetchone()[0]
        if count != len(mine):
            return None
        rows: list[tuple] = []
        for _id, _seq_hi, unpacked in mine:
            rows.extend(unpacked)
        if not rows:
            return []
        low = min(r[2] for r in rows)
        done = {k for (k,) in conn.execute("SELECT key FROM command_results WHERE cid >= %s", (low,))}
        return pending_of(rows, done)


class WarmShards:
    """The warm state of every shard a standby waits for, one round each per lease poll
    (`idle`, called by `LeaseKeeper.acquire_any` with the poll's deadline)."""

    def __init__(self, shard_urls: dict[str, str], config: DaemonConfig, node: str = "") -> None:
        self.shards = {s: WarmShard(url, config, f"{node}/{s}") for s, url in shard_urls.items()}
        self._next = 0

    def idle(self, deadline: float) -> None:
        """Rounds until `deadline`, each poll starting with the next shard (round-robin): a
        shard whose round uses up the poll (a busy owner, a standby started late) leaves the
        next one the first round of the next poll, so each of N shards gets a round at least
        every N polls."""
        names = list(self.shards)
        if not names:
            return
        first, self._next = self._next % len(names), (self._next + 1) % len(names)
        for i in range(len(names)):
            if time.monotonic() >= deadline:
                return
            self.shards[names[(first + i) % len(names)]].round(deadline)

    def pop(self, shard: str) -> WarmShard | None:
        """The shard taken over (its state goes to the store); the others are dropped."""
        taken = self.shards.pop(shard, None)
        self.close()
        return taken

    def close(self) -> None:
        for warm in self.shards.values():
            warm.drop()
        self.shards = {}
