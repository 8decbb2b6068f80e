"""The feed's `snapshot` (F4, docs/monitoring.md): the full state for a monitor that joins late
or lost items, rebuilt only where something changed since the rows were last built.

Why: a snapshot rebuilt every row, and at 3 000 accounts with 9 000 positions that cost the
event loop 30-50 ms every `feed_snapshot_every_s`, plus 12-31 ms to encode its 2.4 MB. Between
two snapshots most rows do not change, and most of those that do were just rebuilt by the
deltas (`account.update`, `subscription.update`, `positions`). So `SnapshotFeed` keeps the last
row built for each login and subscription, marks a row stale when one of its inputs changes
without a delta rebuilding it, and a snapshot rebuilds the stale rows only; `SnapshotEncoder`
keeps the msgpack bytes of each row and encodes the new rows only. Both give the bytes of a
full rebuild (tests/daemon/test_feed_snapshot.py compares them after random link traffic).

A row is rebuilt (its inputs: `FeedModel.account` / `subscription` / `terminal_row`,
`PositionsFeed.positions_body`) when:

| row | rebuilt when |
|---|---|
| account of login L | a delta republished it (`accounts_dirty`); an engine event names L (`account`); L's subscription is named by a command (an open reserves margin); L went online or offline or changed role (the core's `session_of`, `trader_of`, `sub_of_account`, compared at each snapshot) |
| subscription S | a record, a command or a price tick names S; an engine event names S's account |
| positions of L | L's positions changed (`positions_dirty`); a copy of L filled or closed (the trader ticket it follows); L's subscription changed |
| terminal of L | hello, account_update or offline of L; L went online or offline |

Traders (a few), exposure and prices (a row per symbol), latencies (bounded) and tallies are
rebuilt every time. Example: 3 000 investors, a deal copied to each, the results back: the
deltas rebuilt those 3 000 accounts, subscriptions and positions as they published them; the
next snapshot rebuilds none, and encodes each account row as its cached bytes + `updated`.

Rows are never mutated once built (an unchanged row is the same object in every snapshot):
whoever reads a snapshot body must not change it.
"""

from __future__ import annotations

from collections.abc import Generator
from operator import attrgetter, is_
from typing import Any

import msgpack

from bridge.copytrading.subscription import SubState

_STOPPED = SubState.STOPPED
_SUBSCRIPTION = attrgetter("subscription")


class StampedRows(list):
    """The snapshot's account rows: each a cached account body (`bases`) plus the snapshot's
    stamps (`updated`), after the body's fields. A plain list of dicts to its readers; `bases`
    lets the encoder reuse each body's bytes."""

    __slots__ = ("bases", "stamps")

    def __init__(self, bases: list[dict], **stamps: Any) -> None:
        super().__init__([{**base, **stamps} for base in bases])
        self.bases, self.stamps = bases, stamps


class SnapshotFeed:
    """A mixin of `FeedModel`: the snapshot's row caches and what makes a row stale."""

    core: Any
    terminals: dict
    positions: dict
    last_account: dict[int, dict]
    accounts_dirty: set[int]
    subs_dirty: set[int]
    positions_dirty: set[int]
    exposure: dict
    curves: dict
    latencies: Any
    tallies: dict
    started: int | None

    def init_snapshot_rows(self) -> None:
        self.stale_accounts: set[int] = set()
        self.stale_subs: set[int] = set()
        self.stale_positions: set[int] = set()
        self.stale_terminals: set[int] = set()
        self.sub_rows: dict[int, dict] = {}
        self.terminal_rows: dict[int, dict] = {}
        self.positions_rows: dict[int, dict] = {}
        self._seen_online: set[int] = set()  # the core's maps as of the last snapshot
        self._seen_traders: set[tuple[int, str]] = set()
        self._seen_subs: set[tuple[int, int]] = set()

    def commands_issued(self, commands: Any) -> None:
        """An engine step's commands: an open reserves margin and adds a copy in flight, with no
        record (its subscription and account figures change unpublished)."""
        self.stale_subs.update(map(_SUBSCRIPTION, commands))

    def _note_core_changes(self) -> None:
        """Logins whose online flag or role the core changed since the last snapshot (it changes
        these maps without telling the feed: a session dropped after it went silent, say)."""
        core = self.core
        online = set(core.session_of)
        flipped = online ^ self._seen_online
        traders, subs = set(core.trader_of.items()), set(core.sub_of_account.items())
        moved = {login for login, _ in traders ^ self._seen_traders}
        moved.update(login for login, _ in subs ^ self._seen_subs)
        self._seen_online, self._seen_traders, self._seen_subs = online, traders, subs
        self.stale_accounts |= flipped | moved
        self.stale_terminals |= flipped
        self.stale_positions |= moved
        engine_subs = core.engine.subscriptions
        for sid in self.stale_subs:
            sub = engine_subs.get(sid)
            if sub is not None:
                self.stale_accounts.add(sub.account)

    def snapshot(self, now: int, *, fresh: bool = False) -> dict:
        """F4: the full state. `fresh`: rebuild every row and keep none (the reference the
        cached rows must equal, byte for byte)."""
        core = self.core
        engine = core.engine
        if not fresh:
            self._note_core_changes()
        return {"journal_seq": core.seq, "accounts": self._account_rows(now, fresh),
                "exposure": self.exposure_rows(sorted(s for s, r in self.exposure.items() if r[0] or r[1])),  # type: ignore[attr-defined]
                "terminals": self._terminal_rows(fresh), "subscriptions": self._sub_rows(fresh),
                "traders": self._trader_rows(), "positions": self._positions_rows(fresh),
                "prices": [{"symbol": s, "bid": str(b), "ask": str(a)}
                           for s, (b, a) in sorted(engine.s.prices.items())],
                "latency": {"recent_ms": list(self.latencies)},
                "tallies": {**self.tallies, "since": self.started or now}}

    def _account_rows(self, now: int, fresh: bool) -> list[dict]:
        last, stale, dirty = self.last_account, self.stale_accounts, self.accounts_dirty
        bodies = []
        for login in self.logins():  # type: ignore[attr-defined]
            body = None if fresh or login in stale or login in dirty else last.get(login)
            if body is None:
                body, _ = self.account(login)  # type: ignore[attr-defined]
                if not fresh:
                    last[login] = body
            bodies.append(body)
        if not fresh:
            stale.clear()
        return StampedRows(bodies, updated=now)

    def terminal_row(self, login: int) -> dict:
        t = self.terminals.get(login)
        role, platform, since, why = (t.role, t.platform, t.since, t.why) if t is not None else ("", "", 0, "")
        return {"login": login, "online": login in self.core.session_of, "role": role,
                "platform": platform, "since": since, "why": why}

    def _terminal_rows(self, fresh: bool) -> list[dict]:
        cache, stale = self.terminal_rows, self.stale_terminals
        rows = []
        kept: dict[int, dict] = {}
        for login in sorted(set(self.core.known_logins) | set(self.terminals)):
            row = None if fresh or login in stale else cache.get(login)
            if row is None:
                row = self.terminal_row(login)
            kept[login] = row
            rows.append(row)
        if not fresh:
            self.terminal_rows = kept
            stale.clear()
        return rows

    def _sub_rows(self, fresh: bool) -> list[dict]:
        subs = self.core.engine.subscriptions
        cache, stale, dirty = self.sub_rows, self.stale_subs, self.subs_dirty
        rows = []
        kept: dict[int, dict] = {}
        for sid in sorted(subs):
            sub = subs[sid]
            if sub.state is _STOPPED:
                continue
            row = None if fresh or sid in stale or sid in dirty else cache.get(sid)
            if row is None:
                row = self.subscription(sub)  # type: ignore[attr-defined]
            kept[sid] = row
            rows.append(row)
        if not fresh:
            self.sub_rows = kept
            stale.clear()
        return rows

    def _trader_rows(self) -> list[dict]:
        traders = []
        for tid in sorted(self.core.engine.traders):
            body = self.trader(tid)  # type: ignore[attr-defined]
            if body is None:
                continue
            curve = self.curves.get(tid)
            if curve:
                body["curve"] = [[ts, str(eq)] for ts, eq in curve]
            traders.append(body)
        return traders

    def _positions_rows(self, fresh: bool) -> list[dict]:
        book, cache, stale, dirty = self.positions, self.positions_rows, self.stale_positions, self.positions_dirty
        rows = []
        kept: dict[int, dict] = {}
        for login in sorted(book):
            if not book[login]:
                continue
            row = None if fresh or login in stale or login in dirty else cache.get(login)
            if row is None:
                row = self.positions_body(login)  # type: ignore[attr-defined]
            kept[login] = row
            rows.append(row)
        if not fresh:
            self.positions_rows = kept
            stale.clear()
        return rows


class SnapshotEncoder:
    """`snapshot` feed items -> their two frames, byte for byte what `wire.FeedEncoder` gives
    (msgpack is a concatenation: a map is its header + each key's and value's bytes).

    Each row list (accounts, terminals, subscriptions, positions) is encoded by chunks of
    `CHUNK` rows: a chunk whose rows are the very objects of the previous snapshot's chunk
    reuses its bytes (one C-level identity scan); otherwise each row reuses the bytes it had in
    the previous snapshot, and only new rows are packed. An account row (`StampedRows`) is
    cached as its body's header + fields; the snapshot's stamps are joined in between.

    `steps` encodes one chunk per step, so the shell can spread a large snapshot over loop
    turns: its rows never change once built, so the bytes are the same whenever they are made."""

    ROW_LISTS = ("accounts", "terminals", "subscriptions", "positions")
    CHUNK = 128

    def __init__(self) -> None:
        packer = msgpack.Packer(use_bin_type=True, default=str)  # wire.FeedEncoder's options
        self._pack, self._map, self._array = packer.pack, packer.pack_map_header, packer.pack_array_header
        # per row list: the previous snapshot's chunks, [(rows, the bytes of each)]
        self._chunks: dict[str, list[tuple[list, list[bytes]]]] = {k: [] for k in self.ROW_LISTS}

    def __call__(self, topic: str, body: dict[str, Any]) -> tuple[bytes, bytes]:
        steps = self.steps(topic, body)
        while True:
            try:
                next(steps)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]

    def steps(self, topic: str, body: dict[str, Any]) -> Generator[None, None, tuple[bytes, bytes]]:
        """A generator that encodes a chunk per `next()` and returns the two frames."""
        pack = self._pack
        parts = [self._map(len(body))]
        for key, value in body.items():
            parts.append(pack(key))
            if key in self._chunks and isinstance(value, list):
                parts.append(self._array(len(value)))
                yield from self._encode_rows(key, value, parts)
            else:
                parts.append(pack(value))
        return topic.encode(), b"".join(parts)

    def _encode_rows(self, section: str, rows: list, parts: list[bytes]) -> Generator[None, None, None]:
        pack = self._pack
        if type(rows) is StampedRows:
            objs, extra = rows.bases, len(rows.stamps)
            stamps = b"".join(pack(k) + pack(v) for k, v in rows.stamps.items())
        else:
            objs, extra, stamps = rows, 0, b""
        old_chunks = self._chunks[section]
        chunks: list[tuple[list, list[bytes]]] = []  # this snapshot's only: bounded by its size
        index: dict[int, tuple[Any, bytes]] | None = None  # the previous rows by id, built at the first miss
        size = self.CHUNK
        for n, start in enumerate(range(0, len(objs), size)):
            chunk = objs[start:start + size]
            old = old_chunks[n] if n < len(old_chunks) else None
            if old is not None and len(old[0]) == len(chunk) and all(map(is_, old[0], chunk)):
                got = old[1]
            else:
                if index is None:
                    index = {id(r): (r, b) for rs, bs in old_chunks for r, b in zip(rs, bs)}
                got = [self._piece(row, extra, index) for row in chunk]
            chunks.append((chunk, got))
            # a stamped row: the body's header (fields + stamps) and fields, then the stamps
            parts.append(stamps.join(got) + stamps if extra else b"".join(got))
            yield
        self._chunks[section] = chunks

    def _piece(self, row: Any, extra: int, cache: dict[int, tuple[Any, bytes]]) -> bytes:
        hit = cache.get(id(row))
        if hit is not None and hit[0] is row:
            return hit[1]
        packed = self._pack(row)
        if not extra:
            return packed
        return self._map(len(row) + extra) + packed[len(self._map(len(row))):]
