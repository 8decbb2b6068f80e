"""The monitoring feed as data: what `DaemonCore` publishes on `daemon.pub` beyond the raw
records (docs/protocol.md §13, docs/monitoring.md "Feed requirements" F1-F13).

Pure: no socket, no clock. `FeedModel` belongs to one `DaemonCore` and reads its state (the
engine, sessions, pending commands); the core calls its hooks as frames and engine steps go
by, and `flush(now, mono)` turns what changed into feed items:

* `account.update` (F5) for every login whose figures changed, `account.margin_call` and
  `account.stop_out` (F6) (`feed_accounts.py`);
* `exposure` (F7): lots open per symbol, maintained incrementally from positions;
* `positions` (F14): a login's open positions whenever they change (open / close / hello),
  and `prices` (F15): the last bid / ask of the symbols that ticked in a step;
* `subscription.update` (F11), `trader.stats` (F10, at most once a second per trader except
  right after a trader close);
* `latency_ms` on `record.copy_*` (F8) and `duration_ms` on `fanout` (F9) from the monotonic
  nanoseconds the shell measured and passed in as data;
* `snapshot` (F4) and `daemon.stats` (F12) when the shell asks for them.

Every item is stamped with the envelope (F2: `ts`, `instance`, `fseq`) by the core's
`take_feed`, in publication order.
"""

from __future__ import annotations

from collections import deque
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Protocol

from bridge.copytrading import events as ev
from bridge.copytrading.commission import effective_rate
from bridge.copytrading.records import (
    CopyClosed,
    CopyOpened,
    CopyRefused,
    SubscriptionStarted,
    SubscriptionStopped,
)
from bridge.copytrading.subscription import CopyState, SubState
from bridge.daemon.feed_accounts import (  # re-exported: callers import them from here
    CENT,
    HUNDRED,
    STOP_OUT_EPISODE_GAP_MS,
    AccountsFeed,
    StopOutEpisode,
    TerminalInfo,
    level_text,
)
from bridge.daemon.feed_positions import PositionsFeed
from bridge.daemon.feed_snapshot import SnapshotFeed

if TYPE_CHECKING:
    from bridge.copytrading.engine import Engine
    from bridge.protocol import Hello


class FeedSource(Protocol):
    """What the feed reads from its daemon core (one way: the core imports the feed, never
    the reverse)."""

    engine: Engine
    seq: int
    known_logins: set[int]
    session_of: dict[int, Any]
    trader_of: dict[int, str]
    sub_of_account: dict[int, int]

    def publish(self, topic: str, **body: Any) -> None: ...

ZERO = Decimal(0)
MICRO_MS = Decimal("0.001")
NS_PER_MS = Decimal(1_000_000)
MAX_LATENCIES = 2000  # kept for the snapshot's `latency.recent_ms`
MAX_CURVE = 720  # points per trader equity curve; halved (every other point) when full
TRADER_STATS_EVERY_MS = 1000


def _tally_names() -> dict[type, str]:
    from bridge.copytrading.records import ProtectionTriggered, StopOutTriggered

    return {CopyOpened: "copies_opened", CopyClosed: "copies_closed", CopyRefused: "copies_refused",
            ProtectionTriggered: "protection_triggers", StopOutTriggered: "engine_stop_outs"}


_TALLY = _tally_names()  # record type -> the monitor's count key (bridge/monitor/state.py `counts`)


def ns_to_ms(ns: int) -> str:
    """Nanoseconds -> milliseconds as exact text with 3 decimals (never negative)."""
    return str((Decimal(max(ns, 0)) / NS_PER_MS).quantize(MICRO_MS, ROUND_HALF_UP))


def subscription_row(engine: Engine, sub: Any) -> dict:
    """A subscription's figures: the feed's `subscription.update` (F11) and snapshot rows, and
    the admin `list_subscriptions` rows (one row, two readers)."""
    t = engine.traders.get(sub.trader)
    rate = effective_rate(sub.commission_pct, t.cap_pct if t is not None else None)
    return {"subscription": sub.id, "investor": sub.investor, "trader": sub.trader, "account": sub.account,
            "state": sub.state.value, "mode": sub.mode.value,
            "protection_pct": None if sub.protection_pct is None else str(sub.protection_pct),
            "commission_pct": str(rate), "invested": str(sub.invested), "balance": str(sub.balance),
            "equity": str(sub.equity), "realised": str(sub.realised), "commission_paid": str(sub.commission_paid),
            "open_copies": len(sub.copies), "trades": sub.trades}


class FeedModel(AccountsFeed, PositionsFeed, SnapshotFeed):
    def __init__(self, core: FeedSource) -> None:
        self.core = core
        self.terminals: dict[int, TerminalInfo] = {}
        # login -> ticket -> (symbol, +1 buy / -1 sell, volume, open price)
        self.positions: dict[int, dict[int, tuple[str, int, Decimal, Decimal]]] = {}
        self.positions_dirty: set[int] = set()
        self.recent_closed: dict[int, tuple[str, int]] = {}  # ticket -> (symbol, sign), bounded
        self.prices: dict[str, tuple[Decimal, Decimal]] = {}
        self.prices_dirty: set[str] = set()
        self.positions_dirty_seen = False
        # this run's tallies, for a viewer that joins late (snapshot `tallies`, monitor keys)
        self.tallies: dict[str, int] = {}
        self.started: int | None = None
        self.exposure: dict[str, list] = {}  # symbol -> [buy, sell, positions]
        self.exposure_dirty: set[str] = set()
        self.accounts_dirty: set[int] = set()
        self.subs_dirty: set[int] = set()
        self.traders_dirty: dict[str, bool] = {}  # trader -> urgent (publish now, no rate limit)
        self.last_account: dict[int, dict] = {}
        self.last_sub: dict[int, tuple] = {}
        self.last_trader: dict[str, tuple] = {}
        self.trader_at: dict[str, int] = {}
        self.curves: dict[str, list[tuple[int, Decimal]]] = {}
        self.in_margin_call: set[int] = set()
        self.stop_outs: dict[int, StopOutEpisode] = {}
        self.latencies: deque[str] = deque(maxlen=MAX_LATENCIES)
        self.origin: dict[str, int] = {}  # command key -> mono ns of the input that produced it
        self.result_at: dict[str, int] = {}  # command key -> mono ns its command_result arrived
        self.open_latency: list[tuple[dict, int]] = []  # record bodies whose latency ends at publication
        self.open_fanouts: list[tuple[dict, int]] = []  # fanout bodies waiting for their duration
        self._levels: dict[str, tuple[Decimal, Decimal] | None] = {}
        self.init_snapshot_rows()
        self.seed_positions()

    # ------------------------------------------------------------------ positions / exposure
    def seed_positions(self) -> None:
        """After a restart, before the terminals say hello: the engine's view of positions
        (trader positions, open investor copies). A hello replaces a login's positions."""
        engine = self.core.engine
        for t in engine.traders.values():
            for p in t.positions.values():
                self._put(t.account, p.ticket, p.symbol, p.side.sign, p.volume, p.price)
        for sub in engine.subscriptions.values():
            if sub.state is SubState.STOPPED:
                continue
            for c in sub.copies.values():
                if c.state is CopyState.OPEN and c.ticket is not None:
                    self._put(sub.account, c.ticket, c.symbol, c.side.sign, c.volume, c.price)

    def _expo(self, symbol: str, sign: int, volume: Decimal, count: int) -> None:
        row = self.exposure.get(symbol)
        if row is None:
            row = self.exposure[symbol] = [ZERO, ZERO, 0]
        row[0 if sign > 0 else 1] += volume
        row[2] += count
        self.exposure_dirty.add(symbol)

    def _put(self, login: int, ticket: int, symbol: str, sign: int, volume: Decimal, price: Decimal) -> None:
        book = self.positions.setdefault(login, {})
        old = book.get(ticket)
        if old is not None:
            self._expo(old[0], old[1], -old[2], -1)
        book[ticket] = (symbol, sign, volume, price)
        self._expo(symbol, sign, volume, 1)
        self.positions_dirty.add(login)

    def position_opened(self, login: int, ticket: int, symbol: str, side: str, volume: Decimal,
                        price: Decimal = ZERO) -> None:
        self._put(login, ticket, symbol, 1 if side == "buy" else -1, volume, price)

    def position_closed(self, login: int, ticket: int, remaining: Decimal, reason: str, now: int) -> None:
        book = self.positions.get(login)
        old = book.get(ticket) if book else None
        if old is not None:
            assert book is not None
            if remaining > 0:
                book[ticket] = (old[0], old[1], remaining, old[3])
                self._expo(old[0], old[1], remaining - old[2], 0)
            else:
                del book[ticket]
                self._expo(old[0], old[1], -old[2], -1)
                self._remember_closed(ticket, old[0], old[1])
            self.positions_dirty.add(login)
        if reason == "so":
            self._stop_out_close(login, now)
        self.accounts_dirty.add(login)

    # ------------------------------------------------------------------ terminals
    def hello(self, login: int, m: Hello, now: int) -> None:
        t = self.terminals.get(login)
        if t is None:
            t = self.terminals[login] = TerminalInfo(login)
        t.online, t.role, t.platform, t.since, t.why = True, m.role, m.platform, now, ""
        self.stale_terminals.add(login)
        t.account_type, t.currency, t.leverage = m.account_type, m.currency, m.leverage
        t.balance, t.equity = m.balance, m.equity
        if t.margin is not None:
            t.free_margin = m.equity - t.margin
        for ticket, (symbol, sign, volume, _price) in list(self.positions.pop(login, {}).items()):
            self._expo(symbol, sign, -volume, -1)
        self.positions_dirty.add(login)
        for p in m.positions:
            self._put(login, p.ticket, p.symbol, 1 if p.side == "buy" else -1, p.volume, p.price)
        self.accounts_dirty.add(login)

    def account_update(self, login: int, balance: Decimal, equity: Decimal, margin: Decimal, free_margin: Decimal,
                       leverage: int) -> None:
        t = self.terminals.get(login)
        if t is None:
            t = self.terminals[login] = TerminalInfo(login, online=True)
        t.balance, t.equity, t.margin, t.free_margin, t.leverage = balance, equity, margin, free_margin, leverage
        self.accounts_dirty.add(login)
        if login in self.stop_outs:
            self._end_stop_out_if_recovered(login)

    def offline(self, login: int, why: str, now: int) -> None:
        t = self.terminals.get(login)
        if t is None:
            t = self.terminals[login] = TerminalInfo(login)
        t.online, t.since, t.why = False, now, why
        self.accounts_dirty.add(login)
        self.stale_terminals.add(login)

    # ------------------------------------------------------------------ engine steps
    def command(self, key: str, mono: int) -> None:
        self.origin[key] = mono

    def command_result(self, key: str, mono: int) -> None:
        if key in self.origin:
            self.result_at[key] = mono

    def record(self, rec: object, body: dict, event: object, mono: int) -> None:
        """One engine record on its way to the feed: latency (F8) and what it makes dirty."""
        t = type(rec)
        sid = getattr(rec, "subscription", None)
        tally = _TALLY.get(t)
        if tally is not None:
            self.tallies[tally] = self.tallies.get(tally, 0) + 1
        te = type(event)
        # A copy refused while fanning out a trader deal changed nothing of its subscription
        # (the book's reservation, if any, was taken back in the same step): re-rendering
        # 2 000 unchanged subscriptions and accounts made an offline group's refusals the
        # most expensive part of the deal's turn.
        if sid is not None and not (t is CopyRefused and te is ev.TraderPositionOpened):
            self.subs_dirty.add(sid)
        elif sid is not None and rec.code == "no_money":  # type: ignore[attr-defined]
            # the same figures, but the book took the copy and gave it back: a margin of
            # Decimal("0") reads "0.00" now, which a snapshot must show as a full rebuild does
            self.stale_subs.add(sid)
        if t is CopyOpened or t is CopyClosed or t is CopyRefused:
            if te is ev.TraderPositionOpened:  # the deal itself names what was copied
                body["symbol"] = event.symbol  # type: ignore[attr-defined]
                body["side"] = "buy" if event.side.sign > 0 else "sell"  # type: ignore[attr-defined]
            else:
                self._name_position(rec, body)
            if t is CopyOpened:  # the investor position now follows a trader position (F14 `trader_ticket`)
                acc = self.core.engine.subscriptions[rec.subscription].account  # type: ignore[attr-defined]
                if acc in self.positions:
                    self.positions_dirty.add(acc)
            elif t is CopyClosed:  # a closed copy follows nothing any more (its position may stay a while)
                sub = self.core.engine.subscriptions.get(sid)  # type: ignore[arg-type]
                if sub is not None:
                    self.stale_positions.add(sub.account)
            if te is ev.CommandFilled or te is ev.CommandRefused:
                key = event.key  # type: ignore[attr-defined]
                origin = self.origin.get(key)
                if origin is not None:
                    lat = ns_to_ms(self.result_at.get(key, mono) - origin)
                    body["latency_ms"] = lat
                    self.latencies.append(lat)
            else:  # decided inside this step (a refusal): ends when it is published, after its commit
                self.open_latency.append((body, mono))
        elif t is SubscriptionStarted:
            self.traders_dirty.setdefault(rec.trader, False)  # type: ignore[attr-defined]
        elif t is SubscriptionStopped:
            sub = self.core.engine.subscriptions.get(sid)  # type: ignore[arg-type]
            if sub is not None:
                self.traders_dirty.setdefault(sub.trader, False)
                self.accounts_dirty.add(sub.account)

    def event(self, event: object, commands: int, mono: int) -> dict | None:
        """After an engine step: dirty marks by event type; returns a `fanout` body (F9) for a
        trader deal that reached followers, its duration still to be measured."""
        core = self.core
        te = type(event)
        acc = getattr(event, "account", None)
        if acc is not None:  # the step may have moved its figures without a record (a copy vanished)
            self.stale_accounts.add(acc)
            sid = core.sub_of_account.get(acc)
            if sid is not None:
                self.stale_subs.add(sid)
        if te is ev.CommandFilled or te is ev.CommandRefused or te is ev.OpenWithdrawn:
            key = event.key  # type: ignore[attr-defined]
            self.origin.pop(key, None)  # settled: a withdrawn open too, or origin grows by one each
            self.result_at.pop(key, None)
            return None
        if te is ev.AccountUpdated:
            acc = event.account  # type: ignore[attr-defined]
            tid = core.trader_of.get(acc)
            if tid is not None:
                self.traders_dirty.setdefault(tid, False)
            sid = core.sub_of_account.get(acc)
            if sid is not None:
                self.subs_dirty.add(sid)
            return None
        if te is ev.TraderPositionOpened or te is ev.TraderPositionClosed:
            tid = event.trader  # type: ignore[attr-defined]
            if te is ev.TraderPositionClosed:
                self.traders_dirty[tid] = True
            followers = core.engine.followers(tid)
            if not followers:
                return None
            return {"trader": tid, "trader_ticket": event.ticket, "subscriptions": followers,  # type: ignore[attr-defined]
                    "commands": commands}
        if te is ev.PriceTick:
            sym = event.symbol  # type: ignore[attr-defined]
            self.prices_dirty.add(sym)
            for sub in core.engine.subscriptions.values():
                if sub.state is not SubState.STOPPED and any(c.symbol == sym for c in sub.copies.values()):
                    self.subs_dirty.add(sub.id)
            return None
        if te is ev.TraderRegistered or te is ev.TraderCommissionChanged:
            self.traders_dirty.setdefault(event.trader, False)  # type: ignore[attr-defined]
            acc = getattr(event, "account", None)
            if acc is not None:
                self.accounts_dirty.add(acc)
            return None
        if te is ev.CommissionCapSet:
            tid = event.trader  # type: ignore[attr-defined]
            self.traders_dirty.setdefault(tid, False)
            for sub in core.engine.subscriptions.values():
                if sub.trader == tid and sub.state is not SubState.STOPPED:
                    self.subs_dirty.add(sub.id)
        return None

    # ------------------------------------------------------------------ builders
    def logins(self) -> list[int]:
        core = self.core
        return sorted(set(core.known_logins) | set(core.trader_of) | set(core.sub_of_account) | set(self.terminals))

    def subscription(self, sub: Any) -> dict:
        return subscription_row(self.core.engine, sub)

    def trader(self, tid: str) -> dict | None:
        engine = self.core.engine
        t = engine.traders.get(tid)
        stats = engine.trader_statistics(tid)
        if t is None or not hasattr(stats, "return_pct"):
            return None
        return {"trader": tid, "account": t.account, "return_pct": str(stats.return_pct),  # type: ignore[union-attr]
                "max_drawdown_pct": str(stats.max_drawdown_pct), "trades": stats.trades,  # type: ignore[union-attr]
                "followers": stats.followers, "volume": str(stats.volume),  # type: ignore[union-attr]
                "balance": str(t.balance), "equity": str(t.equity),
                "commission_pct": str(effective_rate(t.commission_pct, t.cap_pct))}

    def _curve_point(self, tid: str, ts: int, equity: Decimal) -> None:
        curve = self.curves.setdefault(tid, [])
        if curve and curve[-1][1] == equity:
            return
        if len(curve) >= MAX_CURVE:  # keep the whole run, at half the resolution
            del curve[1:-1:2]
        curve.append((ts, equity))

    def exposure_rows(self, symbols: list[str]) -> list[dict]:
        rows = []
        for sym in symbols:
            row = self.exposure.get(sym)
            if row is None:
                rows.append({"symbol": sym, "buy": "0", "sell": "0", "positions": 0})
                continue
            rows.append({"symbol": sym, "buy": str(row[0]), "sell": str(row[1]), "positions": row[2]})
        return rows

    # ------------------------------------------------------------------ flush
    def flush(self, now: int, mono: int) -> None:
        """Turn what changed into feed items (appended to the core's feed)."""
        publish = self.core.publish
        engine = self.core.engine
        if self.started is None:
            self.started = now
        if self.subs_dirty:
            dirty, self.subs_dirty = self.subs_dirty, set()
            for sid in sorted(dirty):
                sub = engine.subscriptions.get(sid)
                if sub is None:
                    continue
                body = self.subscription(sub)
                key = tuple(body.values())
                if self.last_sub.get(sid) != key:
                    self.last_sub[sid] = key
                    publish("subscription.update", **body)
                if self.sub_rows.get(sid) != body:  # the snapshot's row (kept as is when equal: its bytes are cached)
                    self.sub_rows[sid] = body
                self.stale_subs.discard(sid)
                if sub.state is not SubState.STOPPED or sub.account in self.core.sub_of_account:
                    self.accounts_dirty.add(sub.account)
        if self.traders_dirty:
            keep: dict[str, bool] = {}
            for tid in sorted(self.traders_dirty):
                urgent = self.traders_dirty[tid]
                if not urgent and now - self.trader_at.get(tid, -TRADER_STATS_EVERY_MS) < TRADER_STATS_EVERY_MS:
                    keep[tid] = False
                    continue
                body = self.trader(tid)
                if body is None:
                    continue
                key = tuple(body.values())
                if self.last_trader.get(tid) != key:
                    self.last_trader[tid] = key
                    self.trader_at[tid] = now
                    self._curve_point(tid, now, engine.traders[tid].equity)
                    publish("trader.stats", **body)
                self.accounts_dirty.add(body["account"])
            self.traders_dirty = keep
        if self.accounts_dirty:
            dirty, self.accounts_dirty = self.accounts_dirty, set()
            for login in sorted(dirty):
                self._flush_account(login, now)
        if self.stop_outs:
            self._flush_stop_outs(now)
        if self.exposure_dirty:
            symbols = sorted(self.exposure_dirty)
            self.exposure_dirty = set()
            rows = self.exposure_rows(symbols)
            for r in rows:
                row = self.exposure.get(r["symbol"])
                if row is not None and row[0] == 0 and row[1] == 0 and row[2] <= 0:
                    del self.exposure[r["symbol"]]
            publish("exposure", symbols=rows)
        if self.positions_dirty:
            self.positions_dirty_seen = True  # a deal may have moved the engine's rates
            dirty, self.positions_dirty = self.positions_dirty, set()
            rows, stale = self.positions_rows, self.stale_positions
            for login in sorted(dirty):
                body = self.positions_body(login)
                publish("positions", **body)
                stale.discard(login)
                if not self.positions.get(login):
                    self.positions.pop(login, None)
                    rows.pop(login, None)
                elif rows.get(login) != body:  # the snapshot's row (kept as is when equal: its bytes are cached)
                    rows[login] = body
        if self.prices_dirty or self.positions_dirty_seen:
            # the engine's quotes: ticks, and the deal prices it keeps as rates (a few symbols)
            self.positions_dirty_seen = False
            self.prices_dirty = set()
            quotes = engine.s.prices
            changed = sorted(sym for sym, q in quotes.items() if self.prices.get(sym) != q)
            if changed:
                for sym in changed:
                    self.prices[sym] = quotes[sym]
                publish("prices", symbols=[{"symbol": x, "bid": str(self.prices[x][0]),
                                            "ask": str(self.prices[x][1])} for x in changed])
        if self.open_latency:
            text: dict[int, str] = {}  # a fan-out's 2 000 refusals share one origin: one Decimal division
            for body, origin in self.open_latency:
                lat = text.get(origin)
                if lat is None:
                    lat = text[origin] = ns_to_ms(mono - origin)
                body["latency_ms"] = lat
                self.latencies.append(lat)
            self.open_latency = []
        self.timed(mono)

    def timed(self, mono: int) -> None:
        """The shell measured the end of the step that produced the pending fanouts."""
        if self.open_fanouts:
            for body, start in self.open_fanouts:
                body["duration_ms"] = ns_to_ms(mono - start)
            self.open_fanouts = []
