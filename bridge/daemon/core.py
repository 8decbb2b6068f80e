"""DaemonCore: the daemon without I/O.

It takes raw frames (with the connection id and the CURVE key name the ZAP handler bound
to it), admin requests and clock ticks, each with `now`, and accumulates:

* a journal `Batch` (engine events, new commands, command results, records, logins), which
  the shell must commit (`take_batch()` -> `Store.write`) **before** calling `pump`;
* outbound frames, handed to the shell's `send(conn, frame) -> SendResult` by `pump()`;
  a command is removed from a terminal's queue only when its send succeeded, and stays
  pending (in memory and in the journal) until its `command_result` arrives;
* feed items (topic, map) for the PUB socket (`take_feed()`, stamped with the F2 envelope
  `ts`, `instance`, `fseq`; derived items such as `account.update`, `exposure`,
  `subscription.update` come from `bridge.daemon.feed.FeedModel`), and log lines as data
  (`take_logs()`).

Time comes in twice, both as data: `now` (wall ms, the daemon clock) and optionally
`mono_ns` (the shell's monotonic clock, nanoseconds), used only for the feed's latencies and
durations. Pass `mono_ns` to every entry point or to none (it then defaults to `now`).

It owns the sessions: per (connection, login) a `SequenceTracker` for inbound seq and a
counter for outbound seq (a connection whose key is bound to many logins runs one
independent session per login, each opened by its own `hello`), the key -> login
authorisation decision, and heartbeat / offline timers as plain numbers.

The engine (`bridge.copytrading.Engine`) is pure too; the core feeds it every event in
journal order, so recovery is: engine from the latest snapshot, then replay of the
journaled events after it (`DaemonCore.recover`).
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from itertools import islice
from typing import Any, Callable

from bridge.copytrading import events as ev
from bridge.copytrading.commands import BalanceOperation
from bridge.copytrading.engine import Engine
from bridge.copytrading.records import SubscriptionStarted, SubscriptionStopped
from bridge.copytrading.state import load as state_load
from bridge.daemon import wire
from bridge.daemon.config import DaemonConfig
from bridge.daemon.feed import FeedModel, ns_to_ms
from bridge.daemon.store import Batch, CommandRow, Recovery
from bridge.domain.errors import DomainError
from bridge.domain.trading import Side
from bridge.protocol import (AccountUpdate, CommandResult, Direction, Heartbeat, Hello, Limits,
                             PositionClosed, PositionModified, PositionOpened, ProtocolError,
                             SequenceTracker, decode)

# Daemon-level error codes (docs/operations.md); the protocol's own codes come from bridge.protocol.
LOGIN_NOT_BOUND = "login_not_bound"
UNKNOWN_KEY = "unknown_key"

_CLOSE_REASONS = {"client": "client", "sl": "sl", "tp": "tp", "so": "stop_out"}
ID_BLOCK = 10**9


class SendResult(Enum):
    OK = "ok"
    AGAIN = "again"  # high-water mark reached: retry later
    UNROUTABLE = "unroutable"  # the peer is gone (ROUTER_MANDATORY / EHOSTUNREACH)


Send = Callable[[bytes, bytes], SendResult]


@dataclass(slots=True)
class Session:
    conn: bytes
    login: int
    tracker: SequenceTracker = field(default_factory=SequenceTracker)
    started: bool = False
    role: str = "trader"  # the hello's role: trader (can trade) | investor (read only)
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
    blocked: bool = False  # last send hit the high-water mark or found no route
    seq0: int = 0  # outbound seq of connection-level errors (login 0)
    control0: deque = field(default_factory=deque)


@dataclass(slots=True)
class PendingCommand:
    row: CommandRow
    sent_at: int | None = None  # None = not on the wire since the terminal's last hello


@dataclass(slots=True)
class AwaitingClose:
    """A close result waiting for its closing deal (which carries the profit)."""

    key: str
    result: CommandResult
    since: int


class DaemonCore:
    def __init__(self, config: DaemonConfig, engine: Engine, *, now: int, insecure: bool = False,
                 recovery: Recovery | None = None, instance: str = "") -> None:
        self.config = config
        self.instance = instance or f"core-{now}"
        self.fseq = 0  # feed sequence of the last item taken (F2)
        self.mono = now * 1_000_000  # the shell's monotonic ns of the current input (latencies only)
        self.journal_lag_ms: str | None = None
        self.engine = engine
        self.insecure = insecure
        self.limits = Limits(max_frame_size=config.max_frame_size)
        self.now = now
        self.conns: dict[bytes, Conn] = {}
        self.session_of: dict[int, Session] = {}  # login -> its live session
        self.pending: dict[str, PendingCommand] = {}
        self.by_login: dict[int, dict[str, PendingCommand]] = {}
        self.known_logins: set[int] = set(recovery.logins) if recovery else set()
        self.seq = recovery.last_seq if recovery else 0
        self.snapshot_seq = recovery.snapshot_seq if recovery else 0
        self.snapshot_at = now
        self.next_tick = now + config.engine_tick_ms
        self.awaiting: dict[tuple[int, int], deque[AwaitingClose]] = {}
        self.deals: dict[tuple[int, int], deque[tuple[PositionClosed, int]]] = {}
        self.dirty: set[int] = set()  # logins whose session queue has something to send
        self._batch = Batch()
        self._feed: list[tuple[str, dict]] = []
        self._logs: list[tuple[str, str, dict]] = []
        self._step_records: list = []
        meta = recovery.meta if recovery else {}
        self.next_id = max(int(meta.get("id_hi", "0")), now * 1000, 1)
        self.id_hi = self.next_id + ID_BLOCK
        self._batch.meta["id_hi"] = str(self.id_hi)
        self.trader_of: dict[int, str] = {}
        self.investor_accounts: set[int] = set()
        self.sub_of_account: dict[int, int] = {}  # investor account -> its live subscription
        self._refresh_accounts()
        self.feed = FeedModel(self)
        if recovery:
            for row in recovery.pending:
                self._add_pending(row)

    # ------------------------------------------------------------------ construction
    @classmethod
    def recover(cls, config: DaemonConfig, recovery: Recovery, *, now: int, insecure: bool = False,
                instance: str = "") -> DaemonCore:
        """Engine = latest snapshot + replay of the journaled events after it."""
        if isinstance(recovery.snapshot, bytes):
            engine = Engine.from_bytes(recovery.snapshot, config.engine)
        elif recovery.snapshot is not None:  # a schema 1 journal's JSON
            engine = Engine.from_state(json.loads(recovery.snapshot), config.engine)
        else:
            engine = Engine(config.engine)
        for _seq, _now, type_name, body in recovery.events:
            engine.handle(wire.event_from(type_name, body))  # type: ignore[arg-type]
        core = cls(config, engine, now=now, insecure=insecure, recovery=recovery, instance=instance)
        core._log("info", "journal.recovered", snapshot_seq=recovery.snapshot_seq, replayed=len(recovery.events),
                  pending_commands=len(recovery.pending), logins=len(recovery.logins))
        for p in config.partners:  # IB agreements from the config, applied once
            if p.id not in engine.s.partners.partners:
                core.feed_engine(ev.PartnerRegistered(now, p.id, p.referrer, p.trader_rate_per_lot))
        return core

    # ------------------------------------------------------------------ outputs
    def take_batch(self) -> Batch:
        batch, self._batch = self._batch, Batch()
        return batch

    def take_feed(self, mono_ns: int | None = None) -> list[tuple[str, dict]]:
        """The feed items since the last call, in publication order, each stamped with the
        envelope (F2). Call after the batch was committed; `mono_ns` = now on the shell's
        monotonic clock (ends the latencies of refusals decided in the committed steps)."""
        self.feed.flush(self.now, self.mono if mono_ns is None else mono_ns)
        feed, self._feed = self._feed, []
        fseq, instance, now = self.fseq, self.instance, self.now
        for _topic, body in feed:
            fseq += 1
            if "ts" not in body:
                body["ts"] = now
            body["instance"] = instance
            body["fseq"] = fseq
        self.fseq = fseq
        return feed

    def publish_snapshot(self, now: int | None = None) -> None:
        """Queue a `snapshot` (F4): the full current state, after the pending deltas."""
        if now is not None:
            self.now = now
        self.feed.flush(self.now, self.mono)
        self.publish("snapshot", **self.feed.snapshot(self.now))

    def publish_stats(self, now: int | None = None) -> None:
        """Queue a `daemon.stats` (F12); the shell calls it every second (the liveness beat)."""
        if now is not None:
            self.now = now
        self.publish("daemon.stats", journal_seq=self.seq, journal_lag_ms=self.journal_lag_ms or "0",
                     pending_commands=len(self.pending), sessions=len(self.session_of))

    def note_commit(self, lag_ns: int) -> None:
        """The shell committed a step: `lag_ns` from the receipt of its oldest input to its commit."""
        self.journal_lag_ms = ns_to_ms(lag_ns)

    def timed(self, mono_ns: int) -> None:
        """The shell's monotonic time at the end of the input just handled (fanout durations)."""
        self.feed.timed(mono_ns)

    def take_logs(self) -> list[tuple[str, str, dict]]:
        logs, self._logs = self._logs, []
        return logs

    def _log(self, level: str, event: str, **kw: Any) -> None:
        self._logs.append((level, event, kw))

    def publish(self, topic: str, **body: Any) -> None:
        body.setdefault("ts", self.now)
        self._feed.append((topic, body))

    # ------------------------------------------------------------------ engine
    def feed_engine(self, event: ev.Event) -> tuple:
        """Journal `event` and run it through the engine; returns the step's records."""
        self.seq += 1
        seq = self.seq
        self._batch.events.append((seq, event.now, type(event).__name__, wire.event_body(event)))
        step = self.engine.handle(event)
        confirm = []
        feed = self.feed
        mono = self.mono
        if step.commands:
            rows = self._batch.commands
            origin = feed.origin
            for cmd in step.commands:
                if type(cmd) is not BalanceOperation:
                    origin[cmd.key] = mono
                row = wire.command_row(cmd, seq)
                rows.append(row)
                if type(cmd) is BalanceOperation:
                    self.publish("balance.operation", key=cmd.key, subscription=cmd.subscription,
                                 account=cmd.account, amount=str(cmd.amount), reason=cmd.reason)
                    if self.config.balance_operations == "confirm":
                        confirm.append(cmd.key)
                        continue
                self._add_pending(row)
        if step.records:
            recs = self._batch.records
            for rec in step.records:
                topic = wire.record_topic(rec)
                body = wire.plain(rec)
                recs.append((seq, topic, json.dumps(body, separators=(",", ":"))))
                self._feed.append((topic, body))  # type: ignore[arg-type]
                if type(rec) is SubscriptionStarted:
                    self.investor_accounts.add(rec.account)  # type: ignore[union-attr]
                    self.sub_of_account[rec.account] = rec.subscription  # type: ignore[union-attr]
                elif type(rec) is SubscriptionStopped:
                    sub = self.engine.subscriptions.get(rec.subscription)  # type: ignore[union-attr]
                    if sub is not None:
                        self.investor_accounts.discard(sub.account)
                        if self.sub_of_account.get(sub.account) == sub.id:
                            del self.sub_of_account[sub.account]
                feed.record(rec, body, event, mono)  # type: ignore[arg-type]
        if type(event) is ev.TraderRegistered:
            self._refresh_accounts()
        fanout = feed.event(event, len(step.commands), mono)
        if fanout is not None:
            self.publish("fanout", **fanout)
            feed.open_fanouts.append((self._feed[-1][1], mono))
        self._step_records.extend(step.records)
        for key in confirm:  # balance operations booked by the broker from the feed
            self._batch.results.append(("done", '{"confirmed":"daemon"}', event.now, key))
            self.feed_engine(ev.CommandFilled(event.now, key))
        return step.records

    def _refresh_accounts(self) -> None:
        self.trader_of = {t.account: t.id for t in self.engine.traders.values()}
        live = sorted((s for s in self.engine.subscriptions.values() if s.state.value != "stopped"),
                      key=lambda s: s.id)
        self.investor_accounts = {s.account for s in live}
        self.sub_of_account = {s.account: s.id for s in live}

    def _add_pending(self, row: CommandRow) -> None:
        p = PendingCommand(row)
        self.pending[row.key] = p
        self.by_login.setdefault(row.login, {})[row.key] = p
        s = self.session_of.get(row.login)
        if row.type != "balance" and s is not None and s.started and s.role == "trader":
            s.queue[row.key] = None
            self.dirty.add(row.login)

    def _finish(self, key: str, status: str, result: dict) -> PendingCommand | None:
        p = self.pending.pop(key, None)
        if p is None:
            return None
        per = self.by_login.get(p.row.login)
        if per is not None:
            per.pop(key, None)
            if not per:
                del self.by_login[p.row.login]
        s = self.session_of.get(p.row.login)
        if s is not None:
            s.queue.pop(key, None)
        self._batch.results.append((status, json.dumps(result, separators=(",", ":")), self.now, key))
        return p

    # ------------------------------------------------------------------ inbound frames
    def on_frame(self, conn_id: bytes, key_name: str | None, frame: bytes, now: int,
                 mono_ns: int | None = None) -> None:
        self.now = now
        self.mono = now * 1_000_000 if mono_ns is None else mono_ns
        conn = self.conns.get(conn_id)
        if conn is None:
            conn = self.conns[conn_id] = Conn(conn_id, key_name, now)
        conn.last_rx = now
        msg = decode(frame, direction=Direction.TO_DAEMON, limits=self.limits)
        if isinstance(msg, ProtocolError):
            self._log("warning", "protocol.refused", conn=conn_id.hex(), key=key_name, code=msg.code,
                      field=msg.field, detail=msg.detail)
            self.publish("protocol.error", key=key_name, code=msg.code, field=msg.field)
            if len(conn.sessions) == 1:
                s = next(iter(conn.sessions.values()))
                self._error(s, msg)
            else:
                conn.control0.append(("error", msg, 0))
                self.dirty.add(-1)
            return
        login = msg.login
        if not self._authorised(conn, login):
            err = ProtocolError(LOGIN_NOT_BOUND, f"key {key_name!r} is not bound to login {login}", "login",
                                msg.id)
            self._log("warning", "auth.login_refused", key=key_name, login=login, type=msg.TYPE)
            self.publish("auth.login_refused", key=key_name, login=login, type=msg.TYPE)
            conn.control0.append(("error", err, login))
            self.dirty.add(-1)
            return
        s = conn.sessions.get(login)
        if s is None:
            s = conn.sessions[login] = Session(conn_id, login)
        refused = s.tracker.accept(msg)
        if refused is not None:
            self._log("warning", "protocol.sequence", login=login, code=refused.code, detail=refused.detail)
            self._error(s, refused)
            return
        handler = _HANDLERS.get(type(msg))
        if handler is not None:
            handler(self, s, msg)

    def on_violation(self, conn_id: bytes, key_name: str | None, detail: str, now: int) -> None:
        """A message the transport delivered but the protocol forbids (e.g. several frames)."""
        self.now = now
        conn = self.conns.get(conn_id)
        if conn is None:
            conn = self.conns[conn_id] = Conn(conn_id, key_name, now)
        conn.last_rx = now
        self._log("warning", "protocol.refused", conn=conn_id.hex(), key=key_name, code="not_msgpack", detail=detail)
        conn.control0.append(("error", ProtocolError("not_msgpack", detail), 0))
        self.dirty.add(-1)

    def _authorised(self, conn: Conn, login: int) -> bool:
        if self.insecure and conn.key_name is None:
            return True
        entry = self.config.allow.by_name.get(conn.key_name or "")
        return entry is not None and entry.role in ("trader", "investor") and login in entry.login_set

    def _error(self, s: Session, err: ProtocolError) -> None:
        s.control.append(("error", err))
        self.dirty.add(s.login)

    # ------------------------------------------------------------------ message handlers
    def _on_hello(self, s: Session, m: Hello) -> None:
        now, login = self.now, m.login
        old = self.session_of.get(login)
        if old is not None and old is not s:
            self._drop_session(old)
        resume = login in self.known_logins
        if not resume:
            self.known_logins.add(login)
            self._batch.logins.append((login, now))
        s.started, s.role, s.out_seq = True, m.role, 0
        s.control.clear()
        s.control.append(("welcome", resume))
        s.queue.clear()
        self.session_of[login] = s
        self.dirty.add(login)
        conn = self.conns[s.conn]
        self._log("info", "terminal.online", login=login, key=conn.key_name, role=m.role, platform=m.platform,
                  positions=len(m.positions), resume=resume)
        self.publish("terminal.online", login=login, key=conn.key_name, role=m.role, platform=m.platform,
                     account_type=m.account_type, resume=resume, positions=len(m.positions))
        self.feed.hello(login, m, now)
        self.feed_engine(ev.TerminalOnline(now, login))
        if login in self.trader_of or self._is_investor(login):
            self.feed_engine(ev.AccountUpdated(now, login, m.balance, m.equity))
        trader = self.trader_of.get(login)
        if trader is not None:
            snap = tuple(ev.SnapshotPosition(p.ticket, p.symbol, Side(p.side), p.volume, p.price, p.time)
                         for p in m.positions)
            self.feed_engine(ev.TraderSnapshot(now, trader, snap))
        if m.role == "trader":  # a read-only (investor password) terminal is sent no commands
            for key, p in self.by_login.get(login, {}).items():
                if p.row.type != "balance":  # booked by the back office, never by a terminal
                    p.sent_at = None
                    s.queue[key] = None

    def _is_investor(self, login: int) -> bool:
        return login in self.investor_accounts

    def _on_heartbeat(self, s: Session, m: Heartbeat) -> None:
        pass  # conn.last_rx already moved

    def _on_position_opened(self, s: Session, m: PositionOpened) -> None:
        self.feed.position_opened(m.login, m.ticket, m.symbol, m.side, m.volume)
        trader = self.trader_of.get(m.login)
        if trader is not None:
            self.feed_engine(ev.TraderPositionOpened(self.now, trader, m.ticket, m.symbol, Side(m.side), m.volume,
                                                     m.price, m.time, m.sl or None, m.tp or None))
        else:
            self.publish("account.position_opened", login=m.login, ticket=m.ticket, symbol=m.symbol, side=m.side,
                         volume=str(m.volume), price=str(m.price), comment=m.comment)

    def _on_position_modified(self, s: Session, m: PositionModified) -> None:
        trader = self.trader_of.get(m.login)
        if trader is not None:
            self.feed_engine(ev.TraderPositionModified(self.now, trader, m.ticket, m.sl or None, m.tp or None))

    def _on_position_closed(self, s: Session, m: PositionClosed) -> None:
        self.feed.position_closed(m.login, m.ticket, m.remaining, m.reason, self.now)
        trader = self.trader_of.get(m.login)
        if trader is not None:
            self.feed_engine(ev.TraderPositionClosed(self.now, trader, m.ticket, m.volume, m.price,
                                                     _CLOSE_REASONS[m.reason], m.profit))
            return
        self.publish("account.position_closed", login=m.login, ticket=m.ticket, volume=str(m.volume),
                     remaining=str(m.remaining), reason=m.reason, profit=str(m.profit))
        if m.reason != "client":
            # so/sl/tp: the trade server closed the copy by itself (our closes are "client")
            self._closed_by_server(m)
            return
        k = (m.login, m.ticket)
        waiting = self.awaiting.get(k)
        if waiting:
            a = waiting.popleft()
            if not waiting:
                del self.awaiting[k]
            self._filled(a.key, a.result, m.profit)
        else:
            self.deals.setdefault(k, deque()).append((m, self.now))

    def _closed_by_server(self, m: PositionClosed) -> None:
        """Tell the engine about a copy closed without a command of ours, so it books the
        result and never asks to close that position again."""
        if self._is_investor(m.login):
            self.feed_engine(ev.CopyClosedByServer(self.now, m.login, m.ticket, m.volume, m.price, m.profit,
                                                   m.reason))

    def _on_account_update(self, s: Session, m: AccountUpdate) -> None:
        if m.login in self.trader_of or self._is_investor(m.login):
            self.feed_engine(ev.AccountUpdated(self.now, m.login, m.balance, m.equity))
        self.feed.account_update(m.login, m.balance, m.equity, m.margin, m.free_margin, m.leverage)

    def _on_command_result(self, s: Session, m: CommandResult) -> None:
        p = self.pending.get(m.key)
        if p is not None and p.row.login == m.login:
            self.feed.command_result(m.key, self.mono)
        if p is None or p.row.login != m.login:
            self._log("info", "command.result_ignored", login=m.login, key=m.key,
                      why="unknown or already answered" if p is None else "key belongs to another login")
            return
        if not m.ok:
            self._finish(m.key, "refused", _result_json(m))
            self.publish("command.result", key=m.key, login=m.login, ok=False, retcode=m.retcode,
                         message=m.message)
            self.feed_engine(ev.CommandRefused(self.now, m.key, m.retcode, m.message))
            return
        if p.row.type == "close":
            k = (m.login, p.row.ticket or m.ticket)
            deals = self.deals.get(k)
            if deals:
                deal, _ = deals.popleft()
                if not deals:
                    del self.deals[k]
                self._filled(m.key, m, deal.profit)
            else:
                self.awaiting.setdefault(k, deque()).append(AwaitingClose(m.key, m, self.now))
            return
        self._filled(m.key, m, Decimal(0))

    def _filled(self, key: str, m: CommandResult, profit: Decimal) -> None:
        if self._finish(key, "done", _result_json(m, profit)) is None:
            return
        self.publish("command.result", key=key, login=m.login, ok=True, retcode=m.retcode, ticket=m.ticket,
                     price=str(m.price), volume=str(m.volume), profit=str(profit))
        self.feed_engine(ev.CommandFilled(self.now, key, m.ticket or None, m.volume, m.price, profit))

    # ------------------------------------------------------------------ admin (back office)
    def on_admin(self, request: Any, key_name: str | None, now: int, mono_ns: int | None = None) -> dict:
        """One back-office request -> its reply map. See docs/operations.md, "Admin endpoint"."""
        self.now = now
        self.mono = now * 1_000_000 if mono_ns is None else mono_ns
        rid = request.get("id") if isinstance(request, dict) else None
        if not isinstance(request, dict) or not isinstance(request.get("op"), str):
            return {"id": rid, "ok": False, "error": "bad_request", "detail": "expected {op, args}"}
        if not self.insecure or key_name is not None:
            entry = self.config.allow.by_name.get(key_name or "")
            if entry is None or entry.role != "admin":
                self._log("warning", "auth.admin_refused", key=key_name, op=request["op"])
                self.publish("auth.admin_refused", key=key_name, op=request["op"])
                return {"id": rid, "ok": False, "error": "forbidden", "detail": "admin role required"}
        op, args = request["op"], request.get("args") or {}
        if not isinstance(args, dict):
            return {"id": rid, "ok": False, "error": "bad_request", "detail": "args must be a map"}
        try:
            if op in _ADMIN_EVENTS:
                event = _admin_event(_ADMIN_EVENTS[op], args, now)
                self._step_records = []
                self.feed_engine(event)
                records = [{"topic": wire.record_topic(r), **wire.plain(r)} for r in self._step_records]
                return {"id": rid, "ok": True, "records": records}
            if op == "balance_result":
                return {"id": rid, **self._balance_result(args)}
            if op == "status":
                return {"id": rid, "ok": True, **self.status()}
            if op == "copies":
                return {"id": rid, "ok": True, "copies": self.copy_map()}
        except (KeyError, TypeError, ValueError, DomainError) as exc:
            return {"id": rid, "ok": False, "error": "bad_args", "detail": f"{type(exc).__name__}: {exc}"}
        return {"id": rid, "ok": False, "error": "unknown_op", "detail": f"unknown op {op!r}"}

    def _balance_result(self, args: dict) -> dict:
        key = args["key"]
        p = self.pending.get(key)
        if p is None or p.row.type != "balance":
            return {"ok": False, "error": "unknown_key", "detail": f"no pending balance operation {key!r}"}
        if args.get("ok", True):
            self._finish(key, "done", {"confirmed": "backoffice"})
            self.feed_engine(ev.CommandFilled(self.now, key))
        else:
            self._finish(key, "refused", {"retcode": int(args.get("retcode", 0))})
            self.feed_engine(ev.CommandRefused(self.now, key, int(args.get("retcode", 0)),
                                               str(args.get("message", ""))))
        return {"ok": True}

    def status(self) -> dict:
        return {
            "sessions": sorted(self.session_of),
            "connections": len(self.conns),
            "pending_commands": len(self.pending),
            "journal_seq": self.seq,
            "subscriptions": {str(s.id): {"account": s.account, "trader": s.trader, "state": s.state.value,
                                          "copies": len(s.copies)}
                              for s in sorted(self.engine.subscriptions.values(), key=lambda x: x.id)},
        }

    def copy_map(self) -> dict:
        """subscription -> trader ticket -> the copy (investor ticket, volume, state)."""
        out: dict[str, dict] = {}
        for sub in sorted(self.engine.subscriptions.values(), key=lambda x: x.id):
            out[str(sub.id)] = {str(t): {"ticket": c.ticket, "volume": str(c.volume), "state": c.state.value}
                                for t, c in sorted(sub.copies.items())}
        return out

    # ------------------------------------------------------------------ time
    def tick(self, now: int, mono_ns: int | None = None) -> None:
        """Heartbeats due, silent terminals offline, resend timers, engine time."""
        self.now = now
        self.mono = now * 1_000_000 if mono_ns is None else mono_ns
        hb = self.config.heartbeat_ms
        dead_after = hb * self.config.offline_after
        for conn in list(self.conns.values()):
            if now - conn.last_rx > dead_after:
                self._drop_conn(conn, "silent")
                continue
            for s in conn.sessions.values():
                if s.started and now - s.last_tx >= hb and not s.control:
                    s.control.append(("heartbeat", None))
                    self.dirty.add(s.login)
        resend = self.config.resend_after_ms
        for p in self.pending.values():
            if p.sent_at is not None and now - p.sent_at >= resend:
                s = self.session_of.get(p.row.login)
                if s is not None and s.started and s.role == "trader":
                    p.sent_at = None
                    s.queue[p.row.key] = None
                    self.dirty.add(s.login)
        wait = self.config.close_profit_wait_ms
        for k in list(self.awaiting):
            q = self.awaiting[k]
            while q and now - q[0].since >= wait:
                a = q.popleft()
                self._log("warning", "command.close_without_deal", key=a.key, login=k[0], ticket=k[1])
                self._filled(a.key, a.result, Decimal(0))
            if not q:
                self.awaiting.pop(k, None)
        for k in list(self.deals):
            q = self.deals[k]
            while q and now - q[0][1] >= wait:  # no close of ours claimed it: a manual close
                self._closed_by_server(q.popleft()[0])
            if not q:
                del self.deals[k]
        if now >= self.next_tick:
            self.next_tick = now + self.config.engine_tick_ms
            self.feed_engine(ev.TimePassed(now))

    def _drop_conn(self, conn: Conn, why: str) -> None:
        for s in list(conn.sessions.values()):
            self._drop_session(s, why)
        self.conns.pop(conn.id, None)

    def _drop_session(self, s: Session, why: str = "replaced") -> None:
        conn = self.conns.get(s.conn)
        if conn is not None:
            conn.sessions.pop(s.login, None)
        if self.session_of.get(s.login) is s:
            del self.session_of[s.login]
            for p in self.by_login.get(s.login, {}).values():
                p.sent_at = None
            if why != "replaced":
                self._log("warning", "terminal.offline", login=s.login, why=why)
                self.publish("terminal.offline", login=s.login, why=why)
                self.feed.offline(s.login, why, self.now)
                self.feed_engine(ev.TerminalOffline(self.now, s.login))

    # ------------------------------------------------------------------ outbound
    def _ids(self) -> int:
        i = self.next_id
        self.next_id = i + 1
        if self.next_id > self.id_hi - ID_BLOCK // 10:
            self.id_hi = self.next_id + ID_BLOCK
            self._batch.meta["id_hi"] = str(self.id_hi)
        return i

    @property
    def has_backlog(self) -> bool:
        return bool(self.dirty)

    def pump(self, send: Send, now: int | None = None) -> int:
        """Send what is queued, session by session, until done or a peer blocks. Call only
        after the batch was committed. Returns the number of frames sent."""
        if now is not None:
            self.now = now
        now = self.now
        sent = 0
        if -1 in self.dirty:
            self.dirty.discard(-1)
            for conn in self.conns.values():
                while conn.control0:
                    _, err, login = conn.control0[0]
                    frame = wire.pack(_error_wire(err, self._ids(), conn.seq0 + 1, now, login))
                    r = send(conn.id, frame)
                    if r is SendResult.AGAIN:
                        self.dirty.add(-1)
                        break
                    conn.control0.popleft()
                    if r is SendResult.OK:
                        conn.seq0 += 1
                        sent += 1
        dirty, self.dirty = self.dirty, set()
        hb = self.config.heartbeat_ms
        magic = self.config.copy_magic
        pending = self.pending
        pack, command_wire = wire.pack, wire.command_wire
        for login in sorted(dirty):
            s = self.session_of.get(login)
            if s is None:
                s = self._orphan_session(login)
                if s is None:
                    continue
            conn = self.conns.get(s.conn)
            if conn is None:
                continue
            while s.control:
                kind, body = s.control[0]
                if kind == "welcome":
                    w = wire.simple_wire("welcome", self.next_id, 1, now, login, server_time=now,
                                         heartbeat_ms=hb, resume=body)
                elif kind == "heartbeat":
                    w = wire.simple_wire("heartbeat", self.next_id, s.out_seq + 1, now, login)
                else:
                    w = _error_wire(body, self.next_id, s.out_seq + 1, now, login)
                r = send(s.conn, wire.pack(w))
                if r is SendResult.AGAIN:
                    break
                s.control.popleft()
                if r is SendResult.OK:
                    self._ids()
                    s.out_seq = w["seq"]
                    s.last_tx = now
                    sent += 1
            if s.control:
                self.dirty.add(login)
                continue
            if not s.started:
                continue
            queue = s.queue
            if not queue:
                continue
            done = 0
            for key in queue:  # in queue order; removed below, after the loop
                p = pending.get(key)
                if p is None:
                    done += 1
                    continue
                frame = pack(command_wire(p.row, self.next_id, s.out_seq + 1, now, magic))
                r = send(s.conn, frame)
                if r is not SendResult.OK:
                    conn.blocked = True
                    self.dirty.add(login)
                    if r is SendResult.UNROUTABLE:
                        self._log("info", "send.unroutable", login=login, key=key)
                    break
                done += 1
                self._ids()
                s.out_seq += 1
                s.last_tx = now
                p.sent_at = now
                sent += 1
            if done == len(queue):
                queue.clear()
            else:
                for key in list(islice(queue, done)):
                    del queue[key]
        return sent

    def _orphan_session(self, login: int) -> Session | None:
        """A session that is not (yet) the login's live one, e.g. errors before hello."""
        for conn in self.conns.values():
            s = conn.sessions.get(login)
            if s is not None:
                return s
        return None

    # ------------------------------------------------------------------ snapshots
    def snapshot_due(self, now: int, every_events: int, every_ms: int) -> bool:
        if self.seq == self.snapshot_seq:
            return False
        return self.seq - self.snapshot_seq >= every_events or now - self.snapshot_at >= every_ms

    def snapshot(self, now: int) -> tuple[int, bytes]:
        """(seq, packed engine state) as of the last journaled event. Commit the batch first."""
        self.snapshot_seq, self.snapshot_at = self.seq, now
        return self.seq, self.engine.to_bytes()


def _result_json(m: CommandResult, profit: Decimal | None = None) -> dict:
    out = {"ok": m.ok, "retcode": m.retcode, "ticket": m.ticket, "price": str(m.price), "volume": str(m.volume),
           "time": m.time, "message": m.message}
    if profit is not None:
        out["profit"] = str(profit)
    return out


def _error_wire(err: ProtocolError, id_: int, seq: int, ts: int, login: int) -> dict:
    return wire.simple_wire("error", id_, seq, ts, login, code=err.code, detail=err.detail[:1000],
                            ref_id=err.ref_id, field=err.field[:200])


_HANDLERS: dict[type, Callable[[DaemonCore, Session, Any], None]] = {
    Hello: DaemonCore._on_hello,
    Heartbeat: DaemonCore._on_heartbeat,
    PositionOpened: DaemonCore._on_position_opened,
    PositionModified: DaemonCore._on_position_modified,
    PositionClosed: DaemonCore._on_position_closed,
    AccountUpdate: DaemonCore._on_account_update,
    CommandResult: DaemonCore._on_command_result,
}

_ADMIN_EVENTS: dict[str, type] = {
    "deposit": ev.WalletDeposited, "withdraw": ev.WalletWithdrawn, "register_trader": ev.TraderRegistered,
    "set_commission": ev.TraderCommissionChanged, "cap_commission": ev.CommissionCapSet,
    "register_partner": ev.PartnerRegistered, "assign_client": ev.ClientAssigned, "subscribe": ev.Subscribe,
    "edit": ev.EditSettings, "resume": ev.Resume, "stop": ev.StopCopying, "price": ev.PriceTick,
}  # fmt: skip


def _admin_event(cls: type, args: dict, now: int) -> ev.Event:
    import dataclasses
    import typing

    hints = typing.get_type_hints(cls, vars(ev))
    names = [f.name for f in dataclasses.fields(cls) if f.name != "now"]
    for k in args:
        if k not in names:
            raise ValueError(f"unknown argument {k!r} (known: {', '.join(names)})")
    kw: dict[str, Any] = {"now": now}
    for f in dataclasses.fields(cls):
        if f.name == "now" or f.name not in args:
            continue
        v = args[f.name]
        if isinstance(v, float):
            v = repr(v)
        hint = hints[f.name]
        if hint is object:  # EditSettings: mode / protection_pct
            kw[f.name] = Decimal(v) if f.name == "protection_pct" and v is not None else v
        else:
            kw[f.name] = state_load(hint, v)
    return cls(**kw)  # type: ignore[no-any-return]
