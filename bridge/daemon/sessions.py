"""Connections, sessions and liveness of `DaemonCore` (sans-I/O).

A *connection* is one DEALER peer (a ZeroMQ routing id, authenticated as one CURVE key);
a *session* is one login spoken for on it, opened by its own `hello`. The rules
(docs/protocol.md §6, "Session life cycle"):

* **Admission before decoding.** Each key has a token bucket (`daemon.rate_limit_*`). A frame
  over the rate is discarded undecoded; the key gets one `rate_limited` error and one
  `abuse` feed item per interval; a key over its rate for `abuse_disconnect_after_ms` is
  banned for `abuse_ban_ms`: its connections are cut (the shell shuts their sockets) and the
  ZAP handler refuses its reconnects meanwhile.
* **Silence is judged by what the daemon could have read.** `read_at` is the last time the
  shell found the socket empty; a connection is silent when nothing came from it for
  `heartbeat_ms * offline_after` *before* `read_at`, so a daemon that was paused or busy
  never blames its peers for its own lag. Silence makes a session *offline* (a monitoring
  and copy-decision state): the session stays, and its login's next frame brings it back
  online; nothing that arrives is refused for having been late.
* **Transport loss** (the shell's socket monitor reports it, with libzmq's own ZMTP
  heartbeats judging dead peers in its I/O thread) puts the connection's sessions offline at
  once; a frame that still comes on it brings its session back (monitor events may lag the
  frames). A connection silent `FORGET_AFTER` offline periods is forgotten (the memory
  bound) once its transport is gone or it holds no live session: a later frame gets
  `not_started`, the terminal says `hello` again, and `welcome.last_id` makes it send again
  whatever the daemon never journaled. A connection whose transport survived (a slow reader,
  a terminal whose thread blocked) keeps its sessions however long it is silent: its first
  frame after the wake brings each login back without a hello (no session churn, no
  `not_started` storm). That stays bounded: a login has one live session, so the kept
  connections are at most the allow-list's logins.
* **Roles.** The `hello` role must be the key's role (trader or investor); a mismatch is an
  `error` (`role_mismatch`) and no session starts.
* **Replay.** Message ids per login only grow, across connections and restarts (persisted in
  the journal's meta as `id:<login>`): an id not above the last accepted one is refused
  (`id_replay`).
* **Bounds.** Per session at most `CONTROL_MAX` control frames (errors, heartbeats, welcome)
  wait to be sent; past it the oldest error is dropped and counted.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bridge.copytrading import events as ev
from bridge.daemon import netting
from bridge.daemon.limits import TokenBucket
from bridge.domain.trading import Side
from bridge.protocol import Direction, Heartbeat, Hello, ProtocolError, SequenceTracker, decode

if TYPE_CHECKING:
    from bridge.daemon.core import DaemonCore

# Daemon-level error codes (docs/protocol.md §8); the protocol's own codes come from bridge.protocol.
LOGIN_NOT_BOUND = "login_not_bound"
UNKNOWN_KEY = "unknown_key"
ROLE_MISMATCH = "role_mismatch"
ID_REPLAY = "id_replay"
RATE_LIMITED = "rate_limited"

CONTROL_MAX = 64  # control frames waiting per session (errors beyond it are dropped, counted)
FORGET_AFTER = 4  # a connection silent this many offline periods is forgotten (memory bound)
OFFLINE_PER_TICK = 256  # sessions marked offline per liveness pass


@dataclass(slots=True)
class Session:
    conn: bytes
    login: int
    tracker: SequenceTracker = field(default_factory=SequenceTracker)
    started: bool = False
    role: str = "trader"  # the hello's role, equal to the key's: trader | investor
    online: bool = True  # False while the connection is silent (monitoring state only)
    prev_id: int = 0  # the login's last journaled message id before the frame being handled
    out_seq: int = 0  # seq of the last message sent
    last_tx: int = 0
    control: deque = field(default_factory=deque)  # (type, body) built at send time
    queue: dict = field(default_factory=dict)  # command keys to send, in order (ordered set)


@dataclass(slots=True)
class Conn:
    id: bytes
    key_name: str | None
    last_rx: int
    sessions: dict[int, Session] = field(default_factory=dict)
    silent: bool = False
    gone: bool = False  # the shell's socket monitor reported the transport lost
    seq0: int = 0  # outbound seq of connection-level errors (login 0)
    control0: deque = field(default_factory=deque)


class SessionsMixin:
    """The session half of `DaemonCore` (state lives on the core; see core.py)."""

    # ------------------------------------------------------------------ admission
    def _bucket(self: DaemonCore, key: str) -> TokenBucket:
        b = self.buckets.get(key)
        if b is None:
            cfg = self.config
            entry = self.config.allow.by_name.get(key)
            logins = len(entry.logins) if entry is not None else 1
            rate = max(cfg.rate_limit_min_per_s, cfg.rate_limit_per_login_per_s * logins)
            b = self.buckets[key] = TokenBucket(rate, rate * cfg.rate_limit_burst_ms / 1000)
        return b

    def _admit(self: DaemonCore, conn_id: bytes, key_name: str | None, now: int) -> Conn | None:
        """The connection, if this frame is within its key's rate; None = discarded undecoded."""
        key = key_name if key_name is not None else "conn:" + conn_id.hex()
        b = self._bucket(key)
        if b.banned_until > now:  # cut, and still draining what it queued: costs a look-up
            self.frames_discarded += 1
            return None
        conn = self.conns.get(conn_id)
        if conn is None:
            conn = self._new_conn(conn_id, key_name, now)
        if b.take(now):
            return conn
        self.frames_discarded += 1
        if self.aggregate.note(now, "abuse.rate_limited", key, key=key):
            self._log("warning", "abuse.rate_limited", key=key, rate_per_s=b.rate_per_s, conn=conn_id.hex())
            self.publish("abuse", key=key, action="rate_limited", rate_per_s=int(b.rate_per_s))
            self._error0(conn, ProtocolError(RATE_LIMITED, f"more than {int(b.rate_per_s)} frames/s from this "
                                             "key: frames are being discarded", ""), 0)
        assert b.over_since is not None
        if now - b.over_since >= self.config.abuse_disconnect_after_ms:
            b.banned_until = now + self.config.abuse_ban_ms
            b.over_since = None
            self._log("warning", "abuse.disconnected", key=key, banned_ms=self.config.abuse_ban_ms)
            self.publish("abuse", key=key, action="disconnected", banned_until=b.banned_until)
            victims = [c for c in self.conns.values()
                       if c.id == conn_id or (key_name is not None and c.key_name == key_name)]
            for c in victims:
                self.disconnects.append(c.id)
                self._drop_conn(c, "abuse")
        return None

    def is_banned(self: DaemonCore, key_name: str, now: int) -> bool:
        """For the ZAP handler: refuse the reconnects of a banned key."""
        b = self.buckets.get(key_name)
        return b is not None and b.banned_until > now

    def take_disconnects(self: DaemonCore) -> list[bytes]:
        """Connections the shell must cut (banned keys)."""
        out, self.disconnects = self.disconnects, []
        return out

    # ------------------------------------------------------------------ inbound frames
    def on_frame(self: DaemonCore, conn_id: bytes, key_name: str | None, frame: bytes, now: int,
                 mono_ns: int | None = None) -> None:
        self.now = now
        self.mono = now * 1_000_000 if mono_ns is None else mono_ns
        conn = self._admit(conn_id, key_name, now)
        if conn is None:
            return
        conn.last_rx = now
        conn.silent = False
        msg = decode(frame, direction=Direction.TO_DAEMON, limits=self.limits)
        if isinstance(msg, ProtocolError):
            self.refusal("protocol.refused", key_name, code=msg.code, field=msg.field, detail=msg.detail,
                          conn=conn_id.hex())
            if len(conn.sessions) == 1:
                self._error(next(iter(conn.sessions.values())), msg)
            else:
                self._error0(conn, msg, 0)
            return
        login = msg.login
        if not self._authorised(conn, login):
            err = ProtocolError(LOGIN_NOT_BOUND, f"key {key_name!r} is not bound to login {login}", "login", msg.id)
            self.refusal("auth.login_refused", key_name, login=login, type=msg.TYPE)
            self._error0(conn, err, login)
            return
        s = conn.sessions.get(login)
        if s is None:
            s = conn.sessions[login] = Session(conn_id, login)
        last_id = self.last_ids.get(login, 0)
        if msg.id <= last_id:
            self.refusal("protocol.id_replay", key_name, login=login, id=msg.id, last=last_id)
            self._error(s, ProtocolError(ID_REPLAY, f"message id {msg.id} <= last accepted id {last_id} of login "
                                         f"{login}: ids must keep growing across connections", "id", msg.id))
            return
        refused = s.tracker.accept(msg)
        if refused is not None:
            self.refusal("protocol.sequence", key_name, login=login, code=refused.code, detail=refused.detail)
            self._error(s, refused)
            return
        s.prev_id = last_id  # what was journaled before this frame (a hello's welcome says it)
        self.last_ids[login] = msg.id
        self.ids_dirty.add(login)
        if not s.online and s.started and self.session_of.get(login) is s:
            self._revive(s)
        handler = self.handlers.get(type(msg))
        if handler is not None:
            handler(self, s, msg)

    def _new_conn(self: DaemonCore, conn_id: bytes, key_name: str | None, now: int) -> Conn:
        conn = self.conns[conn_id] = Conn(conn_id, key_name, now)
        return conn

    def on_violation(self: DaemonCore, conn_id: bytes, key_name: str | None, detail: str, now: int) -> None:
        """A message the transport delivered but the protocol forbids (e.g. several frames)."""
        self.now = now
        conn = self._admit(conn_id, key_name, now)
        if conn is None:
            return
        conn.last_rx = now
        self.refusal("protocol.refused", key_name, code="not_msgpack", detail=detail, conn=conn_id.hex())
        self._error0(conn, ProtocolError("not_msgpack", detail), 0)

    def on_disconnected(self: DaemonCore, conn_id: bytes, now: int) -> None:
        """The transport is gone (the shell's socket monitor): its sessions go offline at once.
        They are not dropped: a monitor event can lag behind the frames (and an fd be reused),
        so a frame that still comes brings its session back; a connection that stays quiet is
        forgotten by the silence rule."""
        self.now = now
        conn = self.conns.get(conn_id)
        if conn is not None:
            conn.gone = True
        if conn is not None and not conn.silent:
            conn.silent = True
            self.going_offline.extend((s, "disconnected") for s in conn.sessions.values())

    def on_read_idle(self: DaemonCore, now: int) -> None:
        """The shell read the socket until it was empty at `now` (the liveness reference)."""
        self.read_at = now
        self.tracks_reads = True

    def refusal(self: DaemonCore, event: str, key: str | None, **fields: Any) -> None:
        """A refusal: logged in full the first time per (event, key) and interval, counted
        after that (summarised by `tick`); always on the feed, aggregated the same way."""
        self.refused_counts[(event, str(fields.get("code") or fields.get("reason") or ""))] += 1
        if self.aggregate.note(self.now, event, str(key), key=key, **fields):
            self._log("warning", event, key=key, **fields)
            self.publish(event, key=key, **{k: v for k, v in fields.items() if k != "detail"})

    def _authorised(self: DaemonCore, conn: Conn, login: int) -> bool:
        if self.insecure and conn.key_name is None:
            return True
        entry = self.config.allow.by_name.get(conn.key_name or "")
        return entry is not None and entry.role in ("trader", "investor") and login in entry.login_set

    def _error(self: DaemonCore, s: Session, err: ProtocolError) -> None:
        if len(s.control) >= CONTROL_MAX:
            self._drop_oldest_error(s.control)
        s.control.append(("error", err))
        if self.session_of.get(s.login) is s:
            self.dirty.add(s.login)
        else:  # not (or no longer) the login's live session: the error still reaches its sender
            self.orphans.add((s.conn, s.login))

    def _error0(self: DaemonCore, conn: Conn, err: ProtocolError, login: int) -> None:
        if len(conn.control0) >= CONTROL_MAX:
            conn.control0.popleft()
            self.errors_dropped += 1
        conn.control0.append(("error", err, login))
        self.dirty.add(-1)

    def _drop_oldest_error(self: DaemonCore, control: deque) -> None:
        for i, (kind, _body) in enumerate(control):
            if kind == "error":
                del control[i]
                self.errors_dropped += 1
                return
        control.popleft()

    # ------------------------------------------------------------------ hello / heartbeat
    # [cluster] (bridge/daemon/cluster.py): login -> the pure route (Serve | Redirect | NoOwner)
    # of bridge/cluster/routing.py; None = one daemon serves every login
    route_login: Any = None
    route_admin: Any = None  # admin request -> Serve | Redirect | NoOwner (bridge/cluster/directory.py)
    shard: str = ""  # [cluster]: the shard this daemon serves (named in its admin replies)
    # [cluster]: (op, args) -> (code, field, detail) when the request would place a login or a
    # trader name the directory has in another shard (bridge/cluster/directory.py)
    placement_refusal: Any = None

    def redirect_all(self: DaemonCore, shard: str, endpoint: str) -> int:
        """Rebalancing: this daemon handed its shard over; tell every started session where the
        new owner is (an unsolicited `redirect`, the session's next seq, docs/protocol.md).
        Commands still queued are dropped here: the new owner sends them from the journal."""
        n = 0
        for login, s in self.session_of.items():
            if not s.started:
                continue
            s.queue.clear()
            s.control.append(("moved", (shard, endpoint)))
            self.dirty.add(login)
            n += 1
        return n

    def _redirected(self: DaemonCore, s: Session, login: int) -> bool:
        """Daemons sharded by trader: a login of a shard this daemon does not hold is answered
        `redirect` (seq 1, docs/protocol.md) and nothing of its hello is journaled."""
        target = self.route_login(login)
        shard = getattr(target, "shard", None)
        if shard is None:  # Serve
            return False
        s.started = False
        s.tracker = SequenceTracker()
        s.control.append(("redirect", (shard, getattr(target, "endpoint", ""))))
        self.orphans.add((s.conn, login))
        return True

    def _on_hello(self: DaemonCore, s: Session, m: Hello) -> None:
        now, login = self.now, m.login
        if self.route_login is not None and self._redirected(s, login):
            return
        conn = self.conns[s.conn]
        entry = self.config.allow.by_name.get(conn.key_name or "")
        if entry is not None and entry.role != m.role:
            s.started = False
            s.tracker = SequenceTracker()
            self.refusal("auth.role_mismatch", conn.key_name, login=login, role=m.role, key_role=entry.role)
            self._error(s, ProtocolError(ROLE_MISMATCH, f"hello says role {m.role!r} but key {conn.key_name!r} "
                                         f"has role {entry.role!r}", "role", m.id))
            return
        old = self.session_of.get(login)
        if old is not None and old is not s:
            self._drop_session(old)
        resume = login in self.known_logins
        if not resume:
            self.known_logins.add(login)
            self._batch.logins.append((login, now))
        s.started, s.role, s.out_seq, s.online = True, m.role, 0, True
        s.control.clear()
        s.control.append(("welcome", (resume, s.prev_id)))
        s.queue.clear()
        self.session_of[login] = s
        self.dirty.add(login)
        self.utc_offsets[login] = m.utc_offset_ms
        expected = self.config.engine.server_timezone.offset_ms(now)
        if m.utc_offset_ms != expected:  # a terminal on another server, or a wrong zone in the config
            self.refusal("terminal.utc_offset_mismatch", conn.key_name, login=login, reported=m.utc_offset_ms,
                         configured=expected)
        self._log("info", "terminal.online", login=login, key=conn.key_name, role=m.role, platform=m.platform,
                  positions=len(m.positions), resume=resume)
        self.publish("terminal.online", login=login, key=conn.key_name, role=m.role, platform=m.platform,
                     account_type=m.account_type, resume=resume, positions=len(m.positions),
                     utc_offset_ms=self.utc_offsets[login])
        self.feed.hello(login, m, now)
        self.feed.note_swaps(login, m.positions)
        self.feed_engine(ev.TerminalOnline(now, login))
        if login in self.trader_of or self._is_investor(login):
            self.feed_engine(ev.AccountUpdated(now, login, m.balance, m.equity))
        snap = tuple(ev.SnapshotPosition(p.ticket, p.symbol, Side(p.side), p.volume, p.price, p.time, p.magic)
                     for p in m.positions)
        trader = self.trader_of.get(login)
        if m.margin_mode == "netting":  # kept even before the account is a trader's (registered later)
            self.netting[login] = {p.ticket: p.symbol for p in m.positions}
        else:
            self.netting.pop(login, None)
        if trader is not None and m.margin_mode == "netting":
            netting.hello(self, trader, m, now)  # positions by symbol: read through the netting translator
        elif trader is not None:
            self.feed_engine(ev.TraderSnapshot(now, trader, snap))
        elif self._is_investor(login):
            self.investor_hello(login, snap, now)
        for key, p in self.by_login.get(login, {}).items():
            if p.row.type != "balance":  # booked by the back office, never by a terminal
                p.sent_at = None
                s.queue[key] = None

    def _on_heartbeat(self: DaemonCore, s: Session, m: Heartbeat) -> None:
        pass  # conn.last_rx already moved

    # ------------------------------------------------------------------ liveness
    def _liveness(self: DaemonCore, now: int) -> None:
        hb = self.config.heartbeat_ms
        dead_after = hb * self.config.offline_after
        reference = self.read_at
        for conn in list(self.conns.values()):
            quiet = reference - conn.last_rx
            if quiet > dead_after * FORGET_AFTER and (conn.gone or not self._holds_live_session(conn)):
                self._drop_conn(conn, "silent")
                continue
            if quiet > dead_after and not conn.silent:
                conn.silent = True
                self.going_offline.extend((s, "silent") for s in conn.sessions.values())
            # a walk, not a heap of deadlines: ~40 ns a session, where a heap costs ~1 us a
            # heartbeat and lands them all in one pass (benchmarks/bench_tick_cost.py)
            for s in conn.sessions.values():
                if s.started and now - s.last_tx >= hb and not s.control:
                    s.control.append(("heartbeat", None))
                    self.dirty.add(s.login)

        # A connection carrying thousands of logins goes quiet at once: its sessions are marked
        # offline a bounded number per tick, so no loop turn pays for all of them.
        going, budget = self.going_offline, OFFLINE_PER_TICK
        while going and budget:
            s, why = going.popleft()
            conn = self.conns.get(s.conn)
            if conn is not None and conn.silent and s.started and s.online and self.session_of.get(s.login) is s:
                s.online = False
                self._offline(s.login, why)
                budget -= 1

    def _holds_live_session(self: DaemonCore, conn: Conn) -> bool:
        session_of = self.session_of
        return any(session_of.get(login) is s for login, s in conn.sessions.items())

    def _revive(self: DaemonCore, s: Session) -> None:
        """A frame for a session judged silent: it is back, as it was (each login by its own frame);
        what was sent to it and is still unanswered goes again (the resend timer skips silent ones)."""
        s.online = True
        for key, p in self.by_login.get(s.login, {}).items():
            if p.sent_at is None and p.row.type != "balance":
                s.queue[key] = None
                self.dirty.add(s.login)
        key = self.conns[s.conn].key_name
        self._log("info", "terminal.online", login=s.login, key=key, resumed=True)
        self.publish("terminal.online", login=s.login, key=key, role=s.role, resumed=True)
        self.feed_engine(ev.TerminalOnline(self.now, s.login))

    def _offline(self: DaemonCore, login: int, why: str) -> None:
        self._log("warning", "terminal.offline", login=login, why=why)
        self.publish("terminal.offline", login=login, why=why)
        self.feed.offline(login, why, self.now)
        self.feed_engine(ev.TerminalOffline(self.now, login))

    def _drop_conn(self: DaemonCore, conn: Conn, why: str) -> None:
        for s in list(conn.sessions.values()):
            self._drop_session(s, why)
        self.conns.pop(conn.id, None)
        if conn.key_name is None:  # a keyless (insecure) connection's bucket dies with it, unless banned
            b = self.buckets.get("conn:" + conn.id.hex())
            if b is not None and b.banned_until <= self.now:
                del self.buckets["conn:" + conn.id.hex()]

    def _drop_session(self: DaemonCore, s: Session, why: str = "replaced") -> None:
        conn = self.conns.get(s.conn)
        if conn is not None:
            conn.sessions.pop(s.login, None)
        if self.session_of.get(s.login) is s:
            del self.session_of[s.login]
            for p in self.by_login.get(s.login, {}).values():
                p.sent_at = None
            if why != "replaced" and s.online:
                self._offline(s.login, why)
