"""The command life cycle of `DaemonCore` (sans-I/O): pending -> sent -> answered.

A command is journaled (in the step's batch) before it is queued; `pump` puts it on the
wire after the commit; it stays pending (in memory and in the journal) until its
`command_result`. The states (docs/protocol.md §7, "Command life cycle"):

    pending --pump, send OK--> sent --command_result ok--> done (close: waits for its deal)
       |  ^                      |  \\--command_result refused--> refused
       |  \\--resend_after_ms / session restart (same key)
       \\--open past `expires`, never sent--> withdrawn (engine: CopyRefused "expired")
       \\--WithdrawOpen from the engine, never sent--> withdrawn ("trader_closed_before_copy")

An open is never put on the wire for the first time after its `expires`. An open that may
already have reached the terminal (sent once, or recovered from the journal after a
crash) is re-sent as it is to learn its outcome: the terminal answers from its result
table, or refuses it as expired; it can never execute late. Closes never expire.

Memory bound: pending commands are the opens within their validity plus the closes and
modifies of open copies; a slow reader's backlog beyond the socket's SNDHWM stays in the
journal and in `pending` (bounded by the same rule), never in an unbounded send buffer.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from itertools import islice
from typing import TYPE_CHECKING, Callable

from bridge.copytrading import events as ev
from bridge.daemon import wire
from bridge.daemon.store import CommandRow
from bridge.protocol import CommandResult, PositionClosed, ProtocolError

if TYPE_CHECKING:
    from bridge.daemon.core import DaemonCore
    from bridge.daemon.sessions import Session


# Opens withdrawn as expired per tick (~50 us each): a fan-out's 10 000 expiring together must
# not hold the loop for half a second; the rest go on the next ticks (they are never sent meanwhile).
EXPIRED_PER_TICK = 256


class SendResult(Enum):
    OK = "ok"
    AGAIN = "again"  # this peer's high-water mark reached: retry it later, go on with the others
    LATER = "later"  # the shell's turn is over: stop sending, the rest goes next turn
    UNROUTABLE = "unroutable"  # the peer is gone (ROUTER_MANDATORY / EHOSTUNREACH)


Send = Callable[[bytes, bytes], SendResult]


@dataclass(slots=True)
class PendingCommand:
    row: CommandRow
    sent_at: int | None = None  # None = not on the wire since the terminal's last hello
    maybe_delivered: bool = False  # sent at least once (or recovered: the daemon can't know)


@dataclass(slots=True)
class AwaitingClose:
    """A close result waiting for its closing deal (which carries the profit)."""

    key: str
    result: CommandResult
    since: int


class CommandsMixin:
    """The command half of `DaemonCore` (state lives on the core; see core.py)."""

    def _add_pending(self: DaemonCore, rows: list[CommandRow] | tuple[CommandRow, ...],
                     recovered: bool = False) -> None:
        """Track new commands (a fan-out's 10 000 in one call: a few dict stores each) and
        queue them on their logins' live sessions."""
        pending, by_login, session_of, dirty = self.pending, self.by_login, self.session_of, self.dirty
        last = self.expiry_last
        for row in rows:
            key, login = row.key, row.login
            p = PendingCommand(row, None, recovered)
            pending[key] = p
            expires = row.expires
            if expires and not recovered:
                # a fan-out's opens share one deadline: one heap entry for all of them
                if last is not None and last[0] == expires:
                    last[1].append(key)
                else:
                    last = (expires, [key])
                    heapq.heappush(self.expiry_order, last)
            per = by_login.get(login)
            if per is None:
                by_login[login] = {key: p}
            else:
                per[key] = p
            s = session_of.get(login)
            if s is not None and s.started and row.type != "balance":
                s.queue[key] = None
                dirty.add(login)
        self.expiry_last = last

    def _finish(self: DaemonCore, key: str, status: str, result: dict) -> PendingCommand | None:
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
        self._batch.results.append((p.row.cid, key, status, wire.compact_json(result), self.now))
        return p

    def withdraw_open(self: DaemonCore, key: str, reason: str) -> bool:
        """Take back an open that never reached the wire; the engine books the refusal.
        False (and nothing changes) if the open may already have been delivered."""
        p = self.pending.get(key)
        if p is None or p.row.type != "open" or p.maybe_delivered:
            return False
        self._finish(key, "withdrawn", {"reason": reason})
        self.publish("command.withdrawn", key=key, login=p.row.login, reason=reason)
        self.feed_engine(ev.OpenWithdrawn(self.now, key, reason))
        return True

    # ------------------------------------------------------------------ results
    def _on_command_result(self: DaemonCore, s: Session, m: CommandResult) -> None:
        p = self.pending.get(m.key)
        if p is None or p.row.login != m.login:
            why = "unknown or already answered" if p is None else "key belongs to another login"
            if self.aggregate.note(self.now, "command.result_ignored", str(m.login), login=m.login, why=why):
                self._log("info", "command.result_ignored", login=m.login, key=m.key, why=why)
            return
        self.feed.command_result(m.key, self.mono)
        if self.debug:
            self._log("debug", "command.answered", login=m.login, key=m.key, id=m.id, ok=m.ok, retcode=m.retcode,
                      ticket=m.ticket)
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

    def _filled(self: DaemonCore, key: str, m: CommandResult, profit: Decimal) -> None:
        if self._finish(key, "done", _result_json(m, profit)) is None:
            return
        self.publish("command.result", key=key, login=m.login, ok=True, retcode=m.retcode, ticket=m.ticket,
                     price=str(m.price), volume=str(m.volume), profit=str(profit))
        self.feed_engine(ev.CommandFilled(self.now, key, m.ticket or None, m.volume, m.price, profit))

    def _client_close_deal(self: DaemonCore, m: PositionClosed) -> None:
        """A closing deal made by a client request: pair it with our close result (profit)."""
        k = (m.login, m.ticket)
        waiting = self.awaiting.get(k)
        if waiting:
            a = waiting.popleft()
            if not waiting:
                del self.awaiting[k]
            self._filled(a.key, a.result, m.profit)
        else:
            self.deals.setdefault(k, deque()).append((m, self.now))

    # ------------------------------------------------------------------ timers
    def _command_timers(self: DaemonCore, now: int) -> None:
        """Resends and expiries, oldest first from two time-ordered queues (lazy: an entry
        whose command moved on is skipped), so a tick costs what is due, not what is pending."""
        resend = self.config.resend_after_ms
        sent, pending = self.sent_order, self.pending
        while sent and now - sent[0][0] >= resend:
            at, key = sent.popleft()
            p = pending.get(key)
            if p is None or p.sent_at != at:
                continue
            s = self.session_of.get(p.row.login)
            p.sent_at = None
            if s is not None and s.started and s.online:  # a silent session is sent again once heard
                s.queue[key] = None
                self.dirty.add(s.login)
        expiring, budget = self.expiry_order, EXPIRED_PER_TICK
        while expiring and expiring[0][0] < now and budget > 0:
            entry = expiring[0]
            if entry is self.expiry_last:
                self.expiry_last = None  # no fan-out extends an entry being withdrawn
            keys = entry[1]
            chunk = keys[:budget]  # a whole fan-out expiring at once is withdrawn over several ticks
            del keys[:budget]
            if not keys:
                heapq.heappop(expiring)
            for key in chunk:
                p = pending.get(key)
                if p is not None and not p.maybe_delivered:
                    self.withdraw_open(key, "expired")
                    budget -= 1
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

    # ------------------------------------------------------------------ outbound
    def _ids(self: DaemonCore) -> int:
        i = self.next_id
        self.next_id = i + 1
        if self.next_id > self.id_hi - self.ID_BLOCK // 10:
            self._reserve_ids()
        return i

    def _reserve_ids(self: DaemonCore) -> None:
        """Message ids journaled ahead (meta `id_hi`): a restart starts above any id ever sent."""
        self.id_hi = self.next_id + self.ID_BLOCK
        self._batch.meta["id_hi"] = str(self.id_hi)

    @property
    def has_backlog(self: DaemonCore) -> bool:
        """Something to send, or expired opens still to withdraw: the shell ticks again soon."""
        return bool(self.dirty) or bool(self.orphans) or bool(self.expiry_order and self.expiry_order[0][0] < self.now)

    def pump(self: DaemonCore, send: Send, now: int | None = None) -> int:
        """Send what is queued, session by session, until done or a peer blocks. Call only
        after the batch was committed. Returns the number of frames sent."""
        if now is not None:
            self.now = now
        now = self.now
        sent = 0
        self.send_later = False
        if -1 in self.dirty:
            self.dirty.discard(-1)
            sent += self._pump_conn_errors(send, now)
        if self.orphans:
            orphans, self.orphans = self.orphans, set()
            for conn_id, login in sorted(orphans):
                conn = self.conns.get(conn_id)
                s = conn.sessions.get(login) if conn is not None else None
                if s is not None:
                    n = self._pump_control(s, send, now)
                    if n < 0:
                        self.orphans.add((conn_id, login))
                    else:
                        sent += n
        dirty, self.dirty = self.dirty, set()
        return sent + self._pump_sessions(sorted(dirty), send, now)

    def _pump_conn_errors(self: DaemonCore, send: Send, now: int) -> int:
        sent = 0
        for conn in self.conns.values():
            while conn.control0:
                _, err, login = conn.control0[0]
                frame = wire.pack(_error_wire(err, self.next_id, conn.seq0 + 1, now, login))
                r = send(conn.id, frame)
                if r is SendResult.AGAIN or r is SendResult.LATER:
                    self.send_later = r is SendResult.LATER
                    self.dirty.add(-1)
                    break
                conn.control0.popleft()
                if r is SendResult.OK:
                    self._ids()
                    conn.seq0 += 1
                    sent += 1
        return sent

    def _pump_control(self: DaemonCore, s: Session, send: Send, now: int) -> int:
        """Welcome, heartbeats and errors first; -1 if the peer blocked before they all left."""
        sent = 0
        hb = self.config.heartbeat_ms
        login = s.login
        while s.control:
            kind, body = s.control[0]
            if kind == "welcome":
                resume, last_id = body
                w = wire.simple_wire("welcome", self.next_id, 1, now, login, server_time=now, heartbeat_ms=hb,
                                     resume=resume, **({"last_id": last_id} if last_id else {}),
                                     **({"quote_symbols": list(qs)} if (qs := self.quote_symbols) else {}))
            elif kind == "redirect":  # [cluster]: instead of welcome (sessions._redirected)
                w = wire.simple_wire("redirect", self.next_id, 1, now, login, shard=body[0], endpoint=body[1])
            elif kind == "moved":  # [cluster] rebalancing: unsolicited, the session's next seq
                w = wire.simple_wire("redirect", self.next_id, s.out_seq + 1, now, login, shard=body[0],
                                     endpoint=body[1])
            elif kind == "heartbeat":
                w = wire.simple_wire("heartbeat", self.next_id, s.out_seq + 1, now, login)
            else:
                w = _error_wire(body, self.next_id, s.out_seq + 1, now, login)
            r = send(s.conn, wire.pack(w))
            if r is SendResult.AGAIN or r is SendResult.LATER:
                self.send_later = r is SendResult.LATER
                return -1
            s.control.popleft()
            if r is SendResult.OK:
                self._ids()
                s.out_seq = w["seq"]
                s.last_tx = now
                sent += 1
        return sent

    def _pump_sessions(self: DaemonCore, order: list[int], send: Send, now: int) -> int:
        """Control frames, then queued commands, of these logins' sessions in this order. A
        connection whose pipe fills (AGAIN) is skipped for the rest of the call; LATER (the
        shell's turn is over) stops it, the rest staying dirty. One loop, its look-ups hoisted:
        a fan-out runs it 10 000 times, one command per session."""
        sent = 0
        full: set[bytes] = set()  # connections whose pipe filled up in this call: not retried now
        session_of, conns, pending, sent_order, dirty = (self.session_of, self.conns, self.pending, self.sent_order,
                                                         self.dirty)
        magic = self.config.copy_magic
        pack, command_wire, ok = wire.pack, wire.command_wire, SendResult.OK
        debug = self.debug
        for i, login in enumerate(order):
            s = session_of.get(login)
            if s is None:
                continue
            conn = s.conn
            if conn in full:
                dirty.add(login)
                continue
            if s.control:
                n = self._pump_control(s, send, now)
                if n < 0:
                    dirty.add(login)
                    full.add(conn)
                    if self.send_later:
                        dirty.update(order[i + 1:])
                        break
                    continue
                sent += n
            queue = s.queue
            if not (s.started and queue) or conn not in conns:
                continue
            done = before = sent
            for key in queue:  # in queue order; removed below, after the loop
                p = pending.get(key)
                if p is None:
                    done += 1
                    continue
                row = p.row
                if not p.maybe_delivered and row.expires and row.expires < now and row.type == "open":
                    done += 1  # never first-sent after its expiry; the next tick withdraws it (journaled)
                    continue
                seq = s.out_seq + 1
                id_ = self.next_id
                r = send(conn, pack(command_wire(row, id_, seq, now, magic)))
                if r is not ok:
                    dirty.add(login)
                    full.add(conn)
                    self.send_later = r is SendResult.LATER
                    if r is SendResult.UNROUTABLE:
                        self._log("info", "send.unroutable", login=login, key=key)
                    break
                done += 1
                self.next_id = id_ + 1
                if id_ >= self.id_hi - self.ID_BLOCK // 10:  # = self._ids(), inlined
                    self._reserve_ids()
                s.out_seq = seq
                p.sent_at = now
                if debug:
                    self._log("debug", "command.sent", login=login, key=key, type=row.type, id=id_, seq=seq,
                              resent=p.maybe_delivered)
                p.maybe_delivered = True
                sent_order.append((now, key))
                sent += 1
            if sent > before:
                s.last_tx = now
            done -= before
            if done == len(queue):
                queue.clear()
            else:
                for key in list(islice(queue, done)):
                    del queue[key]
            if self.send_later:
                dirty.update(order[i + 1:])
                break
        return sent


def _result_json(m: CommandResult, profit: Decimal | None = None) -> dict:
    out = {"ok": m.ok, "retcode": m.retcode, "ticket": m.ticket, "price": str(m.price), "volume": str(m.volume),
           "time": m.time, "message": m.message}
    if profit is not None:
        out["profit"] = str(profit)
    return out


def _error_wire(err: ProtocolError, id_: int, seq: int, ts: int, login: int) -> dict:
    return wire.simple_wire("error", id_, seq, ts, login, code=err.code, detail=err.detail[:1000],
                            ref_id=err.ref_id, field=err.field[:200])
