"""Investor history that survives: subscriptions (also after they stop) and their trades,
journaled by the dashboard in its own SQLite file (`--desk-db`, shared with the alerts); and
every account's own closed deals (a trader's included) from `account.position_closed`.

The daemon's snapshot leaves stopped subscriptions out (F4) and a dashboard restart forgets
what it saw, so the dashboard keeps its own record: `history_rows(event, state)` (pure) turns a
feed event into rows, `HistoryStore` writes them. Bounded: the newest `keep_trades` trade rows
(older ones are deleted as new ones arrive); one row per subscription (its latest figures).
"""

from __future__ import annotations

import csv
import io
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.monitor.state import FeedEvent, MonitorState, Subscription

DEFAULT_KEEP_TRADES = 200_000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS subscriptions (
    subscription INTEGER PRIMARY KEY, investor TEXT NOT NULL, trader TEXT NOT NULL, account INTEGER NOT NULL,
    state TEXT NOT NULL, mode TEXT NOT NULL, invested TEXT NOT NULL, realised TEXT NOT NULL,
    commission_paid TEXT NOT NULL, trades INTEGER NOT NULL, started INTEGER NOT NULL DEFAULT 0,
    stopped INTEGER NOT NULL DEFAULT 0, returned TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS trades (
    id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, subscription INTEGER NOT NULL,
    account INTEGER NOT NULL, ts INTEGER NOT NULL, event TEXT NOT NULL, ticket INTEGER, trader_ticket INTEGER,
    symbol TEXT NOT NULL, side TEXT NOT NULL, volume TEXT NOT NULL, price TEXT NOT NULL, profit TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS trades_account ON trades (account);
CREATE TABLE IF NOT EXISTS deals (
    id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, account INTEGER NOT NULL, ts INTEGER NOT NULL,
    ticket INTEGER NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL, volume TEXT NOT NULL, open_price TEXT NOT NULL,
    close_price TEXT NOT NULL, profit TEXT NOT NULL, reason TEXT NOT NULL, remaining TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deals_account ON deals (account);
"""
SUB_COLS = ("subscription", "investor", "trader", "account", "state", "mode", "invested", "realised",
            "commission_paid", "trades", "started", "stopped", "returned")
DEAL_COLS = ("account", "ts", "ticket", "symbol", "side", "volume", "open_price", "close_price", "profit", "reason",
             "remaining")
TRADE_COLS = ("subscription", "account", "ts", "event", "ticket", "trader_ticket", "symbol", "side", "volume",
              "price", "profit", "reason")


@dataclass(frozen=True, slots=True)
class SubRow:
    subscription: int
    investor: str
    trader: str
    account: int
    state: str
    mode: str
    invested: str
    realised: str
    commission_paid: str
    trades: int
    started: int = 0
    stopped: int = 0
    returned: str = ""


def _sub(s: Subscription) -> dict[str, Any]:
    return {"subscription": s.subscription, "investor": s.investor, "trader": s.trader, "account": s.account,
            "state": s.state, "mode": s.mode, "invested": str(s.invested), "realised": str(s.realised),
            "commission_paid": str(s.commission_paid), "trades": s.trades}


def _key(t: str, b: Mapping[str, Any], ts: int, extra: object) -> str:
    """One row per feed item: the daemon run and its feed sequence (a replayed item is not a second row)."""
    return f"{b.get('instance', '')}:{b['fseq']}" if type(b.get("fseq")) is int else f"{t}:{ts}:{extra}"


def deal_row(event: FeedEvent, state: MonitorState) -> dict | None:
    """`account.position_closed` -> one closed-deal row. Symbol, side and open price come from the
    account's open positions (F14), which the end of the daemon's step updates, after this item."""
    b, ts = event.body, event.ts
    try:
        login, ticket = int(b["login"]), int(b["ticket"])
    except (KeyError, TypeError, ValueError):
        return None
    pos = state.positions.get(login, {}).get(ticket)
    return {"key": _key(event.topic, b, ts, f"{login}:{ticket}"), "account": login, "ts": ts, "ticket": ticket,
            "symbol": pos.symbol if pos is not None else str(b.get("symbol") or ""),
            "side": pos.side if pos is not None else str(b.get("side") or ""), "volume": str(b.get("volume") or ""),
            "open_price": str(pos.price) if pos is not None else "", "close_price": str(b.get("price") or ""),
            "profit": str(b.get("profit") or ""), "reason": str(b.get("reason") or ""),
            "remaining": str(b.get("remaining") or "0")}


def history_rows(event: FeedEvent, state: MonitorState) -> tuple[list[dict], list[dict], list[dict]]:
    """(subscription rows to upsert, trade rows to insert, deal rows to insert) for one event
    (after `state.apply`)."""
    t, b, ts = event.topic, event.body, event.ts
    subs: list[dict] = []
    trades: list[dict] = []
    sid = b.get("subscription")
    if t == "account.position_closed":
        row = deal_row(event, state)
        return [], [], [row] if row is not None else []
    if t == "snapshot":
        subs = [_sub(s) for s in state.subscriptions.values()]
    elif t in ("subscription.update", "record.subscription_edited", "record.subscription_stopping"):
        s = state.subscriptions.get(sid)
        if s is not None:
            subs.append(_sub(s))
    elif t == "record.subscription_started":
        s = state.subscriptions.get(sid)
        if s is not None:
            subs.append({**_sub(s), "started": ts})
    elif t == "record.subscription_stopped":
        s = state.subscriptions.get(sid)
        if s is not None:
            subs.append({**_sub(s), "state": "stopped", "stopped": ts, "returned": str(b.get("returned") or "")})
    elif t in ("record.copy_opened", "record.copy_closed"):
        s = state.subscriptions.get(sid)
        key = _key(t, b, ts, f"{sid}:{b.get('ticket')}")
        trades.append({"key": key, "subscription": sid, "account": s.account if s is not None else 0, "ts": ts,
                       "event": "open" if t == "record.copy_opened" else "close", "ticket": b.get("ticket"),
                       "trader_ticket": b.get("trader_ticket"), "symbol": str(b.get("symbol") or ""),
                       "side": str(b.get("side") or ""), "volume": str(b.get("volume") or ""),
                       "price": str(b.get("price") or ""), "profit": str(b.get("profit") or ""),
                       "reason": str(b.get("reason") or "")})
        if s is not None:
            subs.append(_sub(s))
    return subs, trades, []


class HistoryStore:
    def __init__(self, path: str | Path = ":memory:", *, keep_trades: int = DEFAULT_KEEP_TRADES) -> None:
        if keep_trades < 1:
            raise ValueError("history: keep_trades must be at least 1")
        self.path, self.keep_trades = str(path), keep_trades
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL: durable at checkpoints, no fsync per event
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._last: dict[int, tuple] = {}  # subscription -> the row last written (unchanged rows are skipped)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def write(self, subs: Iterable[Mapping[str, Any]], trades: Iterable[Mapping[str, Any]],
              deals: Iterable[Mapping[str, Any]] = ()) -> None:
        subs = [r for r in subs if self._last.get(r["subscription"]) != tuple(r.values())]
        trades, deals = list(trades), list(deals)
        if not subs and not trades and not deals:
            return
        for r in subs:
            self._last[r["subscription"]] = tuple(r.values())
        with self._lock:
            db = self._db
            db.execute("BEGIN")
            for r in subs:
                # `started`, `stopped`, `returned` are kept once known; the figures follow the feed
                db.execute(
                    "INSERT INTO subscriptions (subscription, investor, trader, account, state, mode, invested, realised,"
                    " commission_paid, trades, started, stopped, returned) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
                    " ON CONFLICT(subscription) DO UPDATE SET investor=excluded.investor, trader=excluded.trader,"
                    " account=excluded.account, state=excluded.state, mode=excluded.mode, invested=excluded.invested,"
                    " realised=excluded.realised, commission_paid=excluded.commission_paid, trades=excluded.trades,"
                    " started=MAX(started, excluded.started), stopped=MAX(stopped, excluded.stopped),"
                    " returned=CASE WHEN excluded.returned != '' THEN excluded.returned ELSE returned END",
                    tuple(r.get(c, 0 if c in ("started", "stopped") else "") for c in SUB_COLS))
            for r in trades:
                db.execute(f"INSERT OR IGNORE INTO trades (key, {', '.join(TRADE_COLS)}) VALUES "
                           f"(?, {', '.join('?' * len(TRADE_COLS))})", (r["key"], *(r[c] for c in TRADE_COLS)))
            if trades:
                db.execute("DELETE FROM trades WHERE id <= (SELECT MAX(id) FROM trades) - ?", (self.keep_trades,))
            for r in deals:
                db.execute(f"INSERT OR IGNORE INTO deals (key, {', '.join(DEAL_COLS)}) VALUES "
                           f"(?, {', '.join('?' * len(DEAL_COLS))})", (r["key"], *(r[c] for c in DEAL_COLS)))
            if deals:  # the same bound as the copies
                db.execute("DELETE FROM deals WHERE id <= (SELECT MAX(id) FROM deals) - ?", (self.keep_trades,))
            db.execute("COMMIT")

    def subscriptions(self, account: int | None = None) -> list[SubRow]:
        sql = f"SELECT {', '.join(SUB_COLS)} FROM subscriptions"
        args: tuple = ()
        if account is not None:
            sql, args = sql + " WHERE account = ?", (account,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY subscription", args).fetchall()
        return [SubRow(*r) for r in rows]

    def trades(self, account: int | None = None, limit: int | None = None) -> list[dict]:
        """Oldest first (the newest `limit` when given)."""
        sql = f"SELECT {', '.join(TRADE_COLS)} FROM trades"
        args: tuple = ()
        if account is not None:
            sql, args = sql + " WHERE account = ?", (account,)
        sql += " ORDER BY id DESC" + (f" LIMIT {int(limit)}" if limit else "")
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [dict(zip(TRADE_COLS, r, strict=True)) for r in reversed(rows)]


    def deals(self, account: int | None = None, limit: int | None = None) -> list[dict]:
        """One account's (or every account's) closed deals, oldest first (the newest `limit` when given)."""
        sql = f"SELECT {', '.join(DEAL_COLS)} FROM deals"
        args: tuple = ()
        if account is not None:
            sql, args = sql + " WHERE account = ?", (account,)
        sql += " ORDER BY id DESC" + (f" LIMIT {int(limit)}" if limit else "")
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [dict(zip(DEAL_COLS, r, strict=True)) for r in reversed(rows)]


def _iso(ms: Any) -> str:
    import datetime as dt

    if not ms:
        return ""
    return dt.datetime.fromtimestamp(int(ms) / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def trades_csv(rows: list[dict], subs: Mapping[int, SubRow]) -> str:
    """One line per copy open or close; times in server time (UTC, ISO 8601); exact decimals."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["server_time_utc", "subscription", "investor", "trader", "account", "event", "ticket",
                "trader_ticket", "symbol", "side", "volume", "price", "profit", "reason"])
    for r in rows:
        s = subs.get(r["subscription"])
        w.writerow([_iso(r["ts"]), r["subscription"], s.investor if s else "", s.trader if s else "", r["account"],
                    r["event"], r["ticket"], r["trader_ticket"], r["symbol"], r["side"], r["volume"], r["price"],
                    r["profit"], r["reason"]])
    return out.getvalue()


def subscriptions_csv(subs: list[SubRow]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["subscription", "investor", "trader", "account", "state", "mode", "invested", "realised",
                "commission_paid", "trades", "started_utc", "stopped_utc", "returned"])
    for s in subs:
        w.writerow([s.subscription, s.investor, s.trader, s.account, s.state, s.mode, s.invested, s.realised,
                    s.commission_paid, s.trades, _iso(s.started), _iso(s.stopped), s.returned])
    return out.getvalue()


def deals_csv(rows: list[dict]) -> str:
    """One line per closed deal (a partial close is one line, `remaining` > 0); exact decimals."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["server_time_utc", "account", "ticket", "symbol", "side", "volume", "open_price", "close_price",
                "profit", "reason", "remaining"])
    for r in rows:
        w.writerow([_iso(r["ts"]), r["account"], r["ticket"], r["symbol"], r["side"], r["volume"], r["open_price"],
                    r["close_price"], r["profit"], r["reason"], r["remaining"]])
    return out.getvalue()
