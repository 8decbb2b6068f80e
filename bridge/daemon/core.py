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

The core is three concerns over one state: sessions and liveness (`sessions.py`), the
command life cycle and the sender (`lifecycle.py`), and the back office (`on_admin`); this
module holds the state, the engine step and the trading events.

The engine (`bridge.copytrading.Engine`) is pure too; the core feeds it every event in
journal order, so recovery is: engine from the latest snapshot, then replay of the
journaled events after it (`DaemonCore.recover`).
"""

from __future__ import annotations

from collections import Counter, deque
from typing import Any, Callable

from bridge.cluster.directory import admin_moved
from bridge.copytrading import events as ev
from bridge.copytrading.commands import BalanceOperation
from bridge.copytrading.engine import Engine
from bridge.copytrading.records import SubscriptionStarted, SubscriptionStopped
from bridge.daemon import admin, netting, wire
from bridge.daemon.config import DaemonConfig
from bridge.daemon.feed import FeedModel, ns_to_ms
from bridge.daemon.lifecycle import AwaitingClose, CommandsMixin, PendingCommand, Send, SendResult
from bridge.daemon.limits import LogAggregator, TokenBucket
from bridge.daemon.quotes import QUOTE_REFUSED, QuoteGate, check_quote
from bridge.daemon.sessions import (ID_REPLAY, LOGIN_NOT_BOUND, RATE_LIMITED, ROLE_MISMATCH, UNKNOWN_KEY, Conn,
                                    Session, SessionsMixin)
from bridge.daemon.store import Batch, Recovery
from bridge.domain.errors import DomainError
from bridge.domain.trading import Side
from bridge.daemon.orders import ORDER_HANDLERS
from bridge.protocol import (AccountUpdate, CommandResult, Heartbeat, Hello, Limits, PositionClosed,
                             PositionModified, PositionOpened, ProtocolError, Quotes)

__all__ = ["DaemonCore", "SendResult", "Send", "Session", "Conn", "PendingCommand", "LOGIN_NOT_BOUND",
           "UNKNOWN_KEY", "ROLE_MISMATCH", "ID_REPLAY", "RATE_LIMITED"]

ID_BLOCK = 10**9
_CLOSE_REASONS = {"client": "client", "sl": "sl", "tp": "tp", "so": "stop_out"}
_SIDES = {s.value: s for s in Side}  # the wire's side (validated) -> Side, without EnumMeta.__call__


class DaemonCore(SessionsMixin, CommandsMixin):
    ID_BLOCK = ID_BLOCK

    def __init__(self, config: DaemonConfig, engine: Engine, *, now: int, insecure: bool = False,
                 recovery: Recovery | None = None, instance: str = "") -> None:
        self.config = config
        self.instance = instance or f"core-{now}"
        self.fseq = 0  # feed sequence of the last item taken (F2)
        self.mono = now * 1_000_000  # the shell's monotonic ns of the current input (latencies only)
        self.journal_lag_ns: int | None = None  # of the last commit (text only when read: it is every step's)
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
        self.next_liveness = now
        self.awaiting: dict[tuple[int, int], deque[AwaitingClose]] = {}
        # (due, account, ticket) of copies an investor's snapshot lacked, in due order (the wait
        # is one constant, so appending keeps it sorted)
        self.vanishing: deque[tuple[int, int, int]] = deque()
        self.vanishing_keys: set[tuple[int, int]] = set()
        self.going_offline: deque[tuple[Session, str]] = deque()  # (session, why) to mark offline
        self.deals: dict[tuple[int, int], deque[tuple[PositionClosed, int]]] = {}
        self.dirty: set[int] = set()  # logins whose session queue has something to send
        self.sent_order: deque[tuple[int, str]] = deque()  # (sent_at, key): resend timer, oldest first
        self.expiry_order: list[tuple[int, list[str]]] = []  # heap of (expires, keys) of opens not yet sent
        self.expiry_last: tuple[int, list[str]] | None = None  # the newest entry, which a fan-out extends
        self._batch = Batch()
        self._feed: list[tuple[str, dict]] = []
        self._logs: list[tuple[str, str, dict]] = []
        self._step_records: list | None = None  # collected only while an admin request runs
        self.buckets: dict[str, TokenBucket] = {}  # per key (bounded by the allow-list)
        self.aggregate = LogAggregator(config.log_aggregate_ms)
        self.disconnects: list[bytes] = []  # connections the shell must cut
        self.send_later = False  # the last pump stopped on SendResult.LATER (the shell's turn was over)
        self.orphans: set[tuple[bytes, int]] = set()  # (conn, login) with errors for a non-live session
        self.errors_dropped = 0
        self.frames_discarded = 0  # over a key's rate, or from a banned key (never decoded)
        self.refused_counts: Counter[tuple[str, str]] = Counter()  # (event, code) -> refusals (metrics)
        self.read_at = now
        self.tracks_reads = False  # True once the shell reports when it found the socket empty
        self.utc_offsets: dict[int, int] = {}  # login -> its trade server's UTC offset (hello)
        self.netting: dict[int, dict[int, str]] = {}  # netting trader login -> its tickets' symbols (netting.py)
        # the conversion pairs every welcome asks terminals to quote (quotes.py)
        self.quote_symbols: tuple[str, ...] = engine.rules.conversion_symbols()
        self.quote_wanted = frozenset(self.quote_symbols)
        self.quote_gate = QuoteGate()
        self.handlers = _HANDLERS
        self.debug = False  # the shell's log writes debug lines: build the per-command ones (lifecycle.py)
        # The shell's journal reader (`Store.recover`): after an engine exception the engine is
        # rebuilt from the journal, so live state never keeps a half-handled event (see
        # _rebuild_engine). None (tests without a store): the engine is kept as it is.
        self.reload: Callable[[], Recovery] | None = None
        self.engine_failures = 0  # engine exceptions so far; the admin view turns one into a refusal
        self.last_engine_error = ""
        meta = recovery.meta if recovery else {}
        self.last_ids: dict[int, int] = {int(k[3:]): int(v) for k, v in meta.items() if k.startswith("id:")}
        self.ids_dirty: set[int] = set()
        self.next_id = max(int(meta.get("id_hi", "0")), now * 1000, 1)
        self.id_hi = self.next_id + ID_BLOCK
        self._batch.meta["id_hi"] = str(self.id_hi)
        self.trader_of: dict[int, str] = {}
        self.investor_accounts: set[int] = set()
        self.sub_of_account: dict[int, int] = {}  # investor account -> its live subscription
        self._refresh_accounts()
        self.feed = FeedModel(self)
        if recovery:
            self._add_pending(recovery.pending, recovered=True)

    # ------------------------------------------------------------------ construction
    @classmethod
    def recover(cls, config: DaemonConfig, recovery: Recovery, *, now: int, insecure: bool = False,
                instance: str = "", engine: Engine | None = None) -> DaemonCore:
        """Engine = latest snapshot + replay of the journaled events after it; or `engine`,
        that same engine already built (a warm standby's, bridge/daemon/warm_standby.py)."""
        warm = engine is not None
        if engine is None:
            engine = wire.replayed_engine(config, recovery.snapshot, recovery.events)
        core = cls(config, engine, now=now, insecure=insecure, recovery=recovery, instance=instance)
        core._log("info", "journal.recovered", snapshot_seq=recovery.snapshot_seq, replayed=len(recovery.events),
                  pending_commands=len(recovery.pending), logins=len(recovery.logins), warm=warm)
        for p in config.partners:  # IB agreements from the config, applied once
            if p.id not in engine.s.partners.partners:
                core.feed_engine(ev.PartnerRegistered(now, p.id, p.referrer, p.trader_rate_per_lot))
        return core

    # ------------------------------------------------------------------ outputs
    def pending_batch(self) -> Batch:
        """The batch being filled (read-only: the shell sizes its commit with it)."""
        return self._batch

    def take_batch(self) -> Batch:
        if self.ids_dirty:
            meta, ids = self._batch.meta, self.last_ids
            for login in self.ids_dirty:
                meta[f"id:{login}"] = str(ids[login])
            self.ids_dirty = set()
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

    def publish_stats(self, now: int | None = None, loop: dict | None = None) -> None:
        """Queue a `daemon.stats` (F12); the shell calls it every second (the liveness beat).
        `loop`: the shell's own measure of its event loop since the last one (`loop_lag_ms`:
        the longest a timer fired late, i.e. how long the loop was blocked; `turn_max_ms`: the
        longest frame turn)."""
        if now is not None:
            self.now = now
        self.publish("daemon.stats", journal_seq=self.seq, journal_lag_ms=self.journal_lag_ms or "0",
                     pending_commands=len(self.pending), sessions=len(self.session_of),
                     connections=len(self.conns), errors_dropped=self.errors_dropped,
                     frames_discarded=self.frames_discarded, **(loop or {}))

    def note_commit(self, lag_ns: int) -> None:
        """The shell committed a step: `lag_ns` from the receipt of its oldest input to its commit."""
        self.journal_lag_ns = lag_ns

    @property
    def journal_lag_ms(self) -> str | None:
        """The last commit's lag as exact ms text (daemon.stats, health), None before the first."""
        return None if self.journal_lag_ns is None else ns_to_ms(self.journal_lag_ns)

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
    def _rebuild_engine(self) -> None:
        """An exception may leave the engine half-way through an event (its clock advanced, a
        subscription changed, the commands lost). The event is not journaled, so the engine is
        rebuilt as recovery would build it: the journal plus this turn's uncommitted events.
        Live state then equals replayed state, and the time advance happens again, whole, on
        the next event."""
        if self.reload is None:
            return
        rec = self.reload()
        self.engine = wire.replayed_engine(self.config, rec.snapshot, [*rec.events, *self._batch.events])
        self._log("warning", "engine.rebuilt", snapshot_seq=rec.snapshot_seq,
                  replayed=len(rec.events) + len(self._batch.events))

    def feed_engine(self, event: ev.Event) -> tuple:
        """Run `event` through the engine and journal it; returns the step's records. An event
        the engine cannot handle is logged and never journaled, so recovery can't trip on it."""
        try:
            step = self.engine.handle(event)
        except Exception as exc:  # noqa: BLE001 - a bug or bad data must not take the daemon down
            self._log("error", "engine.error", event_type=type(event).__name__, error=f"{type(exc).__name__}: {exc}")
            self.publish("engine.error", event=type(event).__name__, error=f"{type(exc).__name__}: {exc}")
            self.engine_failures += 1
            self.last_engine_error = f"{type(exc).__name__}: {exc}"
            self._rebuild_engine()
            return ()
        self.seq += 1
        seq = self.seq
        self._batch.events.append((seq, event.now, type(event).__name__, wire.event_body(event)))
        confirm = []
        feed = self.feed
        mono = self.mono
        if step.commands:
            feed.commands_issued(step.commands)
            rows = wire.command_rows(step.commands, seq)
            self._batch.commands += rows
            origin = feed.origin
            queued = []
            for cmd, row in zip(step.commands, rows):
                if type(cmd) is BalanceOperation:
                    self.publish("balance.operation", key=cmd.key, subscription=cmd.subscription,
                                 account=cmd.account, amount=str(cmd.amount), reason=cmd.reason)
                    if self.config.balance_operations == "confirm":
                        confirm.append(cmd)
                        continue
                else:
                    origin[cmd.key] = mono
                queued.append(row)
            self._add_pending(queued)
        if step.records:
            recs = self._batch.records
            for rec in step.records:
                topic = wire.record_topic(rec)
                body = wire.plain(rec)
                recs.append((seq, topic, wire.compact_json(body)))
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
        for w in step.withdrawals:  # the trader closed: take back opens that never left
            self.withdraw_open(w.key, w.reason)
        fanout = feed.event(event, len(step.commands), mono)
        if fanout is not None:
            self.publish("fanout", **fanout)
            feed.open_fanouts.append((self._feed[-1][1], mono))
        if self._step_records is not None:
            self._step_records.extend(step.records)
        for cmd in confirm:  # balance operations booked by the broker from the feed
            self._batch.results.append((cmd.id, cmd.key, "done", '{"confirmed":"daemon"}', event.now))
            self.feed_engine(ev.CommandFilled(event.now, cmd.key))
        return step.records

    def _refresh_accounts(self) -> None:
        self.trader_of = {t.account: t.id for t in self.engine.traders.values()}
        live = sorted((s for s in self.engine.subscriptions.values() if s.state.value != "stopped"),
                      key=lambda s: s.id)
        self.investor_accounts = {s.account for s in live}
        self.sub_of_account = {s.account: s.id for s in live}

    # ------------------------------------------------------------------ trading events
    def _on_position_opened(self, s: Session, m: PositionOpened) -> None:
        self.feed.position_opened(m.login, m.ticket, m.symbol, m.side, m.volume, m.price)
        if m.swap:
            self.feed.note_swap(m.login, m.ticket, m.swap)
        trader = self.trader_of.get(m.login)
        if trader is not None and m.login in self.netting:
            netting.opened(self, trader, m)
        elif trader is not None:
            self.feed_engine(ev.TraderPositionOpened(self.now, trader, m.ticket, m.symbol, _SIDES[m.side], m.volume,
                                                     m.price, m.time, m.sl or None, m.tp or None, m.magic))
        else:
            self.publish("account.position_opened", login=m.login, ticket=m.ticket, symbol=m.symbol, side=m.side,
                         volume=str(m.volume), price=str(m.price), comment=m.comment)

    def _on_position_modified(self, s: Session, m: PositionModified) -> None:
        self.feed.note_swap(m.login, m.ticket, m.swap)
        trader = self.trader_of.get(m.login)
        if trader is not None and m.login in self.netting:
            netting.modified(self, trader, m)
        elif trader is not None:
            pos = self.engine.traders[trader].positions.get(m.ticket)
            if pos is not None and (pos.sl, pos.tp) == (m.sl or None, m.tp or None):
                return  # a swap change alone (the rollover): nothing to mirror to the copies
            self.feed_engine(ev.TraderPositionModified(self.now, trader, m.ticket, m.sl or None, m.tp or None))

    def _on_position_closed(self, s: Session, m: PositionClosed) -> None:
        self.feed.position_closed(m.login, m.ticket, m.remaining, m.reason, self.now)
        trader = self.trader_of.get(m.login)
        if trader is not None and m.login in self.netting:
            self.publish("account.position_closed", login=m.login, ticket=m.ticket, volume=str(m.volume),
                         remaining=str(m.remaining), reason=m.reason, profit=str(m.profit), price=str(m.price))
            netting.closed(self, trader, m)
            return
        if trader is not None:
            pos = self.engine.traders[trader].positions.get(m.ticket)
            if pos is None or pos.volume <= m.remaining:
                # already applied: a deal re-reported after a reconnect whose hello snapshot
                # had reconciled it (the position is gone, or no bigger than what remains)
                self._log("info", "trader.close_already_applied", login=m.login, ticket=m.ticket,
                          remaining=str(m.remaining))
                return
            # the trader's own deal on the feed too: the desk keeps each account's closed deals
            self.publish("account.position_closed", login=m.login, ticket=m.ticket, volume=str(m.volume),
                         remaining=str(m.remaining), reason=m.reason, profit=str(m.profit), price=str(m.price))
            self.feed_engine(ev.TraderPositionClosed(self.now, trader, m.ticket, m.volume, m.price,
                                                     _CLOSE_REASONS[m.reason], m.profit))
            return
        self.publish("account.position_closed", login=m.login, ticket=m.ticket, volume=str(m.volume),
                     remaining=str(m.remaining), reason=m.reason, profit=str(m.profit), price=str(m.price))
        if m.reason != "client" or (m.login, m.ticket) in self.vanishing_keys:
            # so/sl/tp: the trade server closed the copy by itself (our closes are "client"); or
            # the deal that explains a copy the investor's snapshot lacked (closed by hand
            # while the link was down): booked now, with its real profit
            self.vanishing_keys.discard((m.login, m.ticket))
            self._closed_by_server(m)
            return
        self._client_close_deal(m)

    def _closed_by_server(self, m: PositionClosed) -> None:
        """Tell the engine about a copy closed without a command of ours, so it books the
        result and never asks to close that position again."""
        if self._is_investor(m.login):
            self.feed_engine(ev.CopyClosedByServer(self.now, m.login, m.ticket, m.volume, m.price, m.profit,
                                                   m.reason))

    def investor_hello(self, login: int, snap: tuple, now: int) -> None:
        """An investor's hello snapshot is the truth about its copies (docs/protocol.md §6.3):
        a copy it lacks is settled by the closing deal the terminal reports next, or after
        `close_profit_wait_ms` as vanished (profit estimated 0)."""
        self.feed_engine(ev.InvestorSnapshot(now, login, snap))
        sub = self.engine.subscriptions.get(self.sub_of_account.get(login, -1))
        if sub is None:
            return
        due = now + self.config.close_profit_wait_ms
        for copy in sub.copies.values():
            if copy.vanished and copy.ticket is not None and (login, copy.ticket) not in self.vanishing_keys:
                self.vanishing.append((due, login, copy.ticket))
                self.vanishing_keys.add((login, copy.ticket))

    def _settle_vanished(self, now: int) -> None:
        q = self.vanishing
        while q and q[0][0] <= now:
            _, account, ticket = q.popleft()
            self.vanishing_keys.discard((account, ticket))
            self.feed_engine(ev.CopyVanished(now, account, ticket))  # a no-op if a deal settled it meanwhile

    def _is_investor(self, login: int) -> bool:
        return login in self.investor_accounts

    def _on_account_update(self, s: Session, m: AccountUpdate) -> None:
        if m.login in self.trader_of or self._is_investor(m.login):
            self.feed_engine(ev.AccountUpdated(self.now, m.login, m.balance, m.equity))
        self.feed.account_update(m.login, m.balance, m.equity, m.margin, m.free_margin, m.leverage)

    def _on_quotes(self, s: Session, m: Quotes) -> None:
        """A terminal's quotes of the conversion pairs: each checked on its own, the good ones
        through the gate (dedupe, one PriceTick per symbol per second; quotes.py)."""
        now, refused, first = self.now, 0, None
        prices = self.engine.s.prices
        for i, q in enumerate(m.quotes):
            why = check_quote(q, self.quote_wanted, now)
            if why is not None:
                refused += 1
                first = first or (f"quotes[{i}].{why[0]}", why[1])
                continue
            if self.quote_gate.offer(q.symbol, q.bid, q.ask, prices.get(q.symbol), now):
                self.feed_engine(ev.PriceTick(now, q.symbol, q.bid, q.ask))
        if first is not None:
            key = self.conns[s.conn].key_name
            self.refusal("protocol.quote_refused", key, login=m.login, field=first[0], detail=first[1],
                         refused=refused)
            self._error(s, ProtocolError(QUOTE_REFUSED, f"{first[1]} ({refused} of {len(m.quotes)} quotes "
                                         "refused; the others were used)", first[0], m.id))

    def _feed_held_quotes(self, now: int) -> None:
        for symbol, bid, ask in self.quote_gate.due(now):
            self.feed_engine(ev.PriceTick(now, symbol, bid, ask))

    # ------------------------------------------------------------------ admin (back office)
    def on_admin(self, request: Any, key_name: str | None, now: int, mono_ns: int | None = None) -> dict:
        """One back-office request (a decoded map, or the raw frame) -> its reply map. The
        API (ops, arguments, errors) is data in `bridge.daemon.admin`; docs/protocol.md §14."""
        self.now = now
        self.mono = now * 1_000_000 if mono_ns is None else mono_ns
        if isinstance(request, (bytes, bytearray, memoryview)):
            request = admin.decode_frame(bytes(request), self.config.max_frame_size)
        if not self.insecure or key_name is not None:
            entry = self.config.allow.by_name.get(key_name or "")
            if entry is None or entry.role != "admin":
                self.refusal("auth.admin_refused", key_name, op=admin.peek(request)[1])
                return admin.forbidden(request)
        if self.route_admin is not None:  # [cluster]: answered by the owner of the shard it concerns
            moved = admin_moved(request, self.route_admin(request))
            if moved is not None:
                return moved
            if isinstance(request, dict) and "shard" in request:  # addressed to this shard: served here
                request = {k: v for k, v in request.items() if k != "shard"}
            return {**self._admin(request, now), "shard": self.shard}  # which shard answered
        return self._admin(request, now)

    def _admin(self, request: Any, now: int) -> dict:
        parsed = admin.parse_request(request)
        if isinstance(parsed, admin.AdminError):
            return admin.error_reply(parsed)
        # [cluster]: a login or trader name placed in another shard never reaches this engine
        clash = None if self.placement_refusal is None else self.placement_refusal(parsed.op.name, parsed.args)
        if clash is not None:
            return admin.error_reply(admin.AdminError(parsed.id, admin.REFUSED, clash[2], clash[1], code=clash[0]))
        return admin.run(parsed, AdminView(self), now)

    def collect_records(self, run: Callable[[], object]) -> list:
        """Every record of the steps `run` makes (its follow-up steps included)."""
        self._step_records = []
        try:
            run()
            return self._step_records
        finally:
            self._step_records = None

    def book_balance_result(self, key: str, ok: bool, retcode: int, message: str) -> bool:
        """The back office's answer for a pending balance operation; False if there is none."""
        p = self.pending.get(key)
        if p is None or p.row.type != "balance":
            return False
        if ok:
            self._finish(key, "done", {"confirmed": "backoffice"})
            self.feed_engine(ev.CommandFilled(self.now, key))
        else:
            self._finish(key, "refused", {"retcode": retcode})
            self.feed_engine(ev.CommandRefused(self.now, key, retcode, message))
        return True

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
        """Heartbeats due, silent connections offline, resend and expiry timers, engine time.
        Silence is measured up to `read_at` (see `on_read_idle`); a caller that never reports
        its reads (in-memory tests) is taken to have read everything before each tick."""
        self.now = now
        self.mono = now * 1_000_000 if mono_ns is None else mono_ns
        if not self.tracks_reads:
            self.read_at = now
        if now >= self.next_liveness:  # a tenth of a heartbeat is precise enough, and cheap
            self.next_liveness = now + max(10, self.config.heartbeat_ms // 10)
            self._liveness(now)
        self._command_timers(now)
        if self.vanishing:
            self._settle_vanished(now)
        if self.quote_gate.held:
            self._feed_held_quotes(now)
        for event, key, repeats, fields in self.aggregate.due(now):
            self._log("warning", event + ".repeated", key=key, repeats=repeats, **{k: v for k, v in fields.items()
                                                                                   if k != "key"})
            self.publish("refusals.repeated", event=event, key=key, repeats=repeats)
        if now >= self.next_tick:
            self.next_tick = now + self.config.engine_tick_ms
            self.feed_engine(ev.TimePassed(now))

    # ------------------------------------------------------------------ snapshots
    def snapshot(self, now: int) -> tuple[int, bytes]:
        """(seq, packed engine state) as of the last journaled event. Commit the batch first."""
        self.snapshot_taken(now)
        return self.seq, self.engine.to_bytes()

    def snapshot_taken(self, now: int) -> None:
        """A snapshot of the engine as of `self.seq` is being written (here or off the loop).
        Also journals (with the next batch) `pending_from`, the event seq of the oldest pending
        command: recovery reads the command batches from there on (store.py). A lower bound
        whenever it lands: later commands only have higher seqs."""
        self.snapshot_seq, self.snapshot_at = self.seq, now
        oldest = min((p.row.seq for p in self.pending.values()), default=self.seq + 1)
        self._batch.meta["pending_from"] = str(oldest)


_HANDLERS: dict[type, Callable[[DaemonCore, Session, Any], None]] = {
    Hello: DaemonCore._on_hello,
    Heartbeat: DaemonCore._on_heartbeat,
    PositionOpened: DaemonCore._on_position_opened,
    PositionModified: DaemonCore._on_position_modified,
    PositionClosed: DaemonCore._on_position_closed,
    AccountUpdate: DaemonCore._on_account_update,
    CommandResult: DaemonCore._on_command_result,
    Quotes: DaemonCore._on_quotes,
    **ORDER_HANDLERS,  # pending orders (issue 15 item 6): bridge/daemon/orders.py
}

class AdminView:
    """A `DaemonCore` as `admin.AdminCore`: every record of a request's steps."""

    def __init__(self, core: DaemonCore) -> None:
        self.core = core

    def feed_engine(self, event: ev.Event) -> list:
        failures = self.core.engine_failures
        records = self.core.collect_records(lambda: self.core.feed_engine(event))
        if self.core.engine_failures != failures:  # never "ok" for a request the engine failed on
            raise DomainError("engine_error", f"the engine failed on this request ({self.core.last_engine_error}); "
                              "the failed step was not applied (the daemon's log has engine.error)")
        return records

    def balance_result(self, key: str, ok: bool, retcode: int, message: str) -> list | None:
        done: list[bool] = []
        records = self.core.collect_records(lambda: done.append(self.core.book_balance_result(key, ok, retcode,
                                                                                             message)))
        return records if done[0] else None

    def status(self) -> dict:
        return self.core.status()

    def copy_map(self) -> dict:
        return self.core.copy_map()

    @property
    def engine(self) -> Any:
        return self.core.engine

    @property
    def now(self) -> int:
        return self.core.now
