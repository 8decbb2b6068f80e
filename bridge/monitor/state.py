"""The monitor's functional core: `MonitorState` and `apply(event)`.

The daemon's PUB feed (docs/monitoring.md, "Feed requirements") is a stream of
`FeedEvent(topic, body)`. `MonitorState.apply(event)` folds one event into the state and
returns the state (it mutates in place through explicit methods; nothing here reads the
clock, a socket or a random number: time comes from the events' `ts`, render-time `now` is an
argument of the views).

Resync rule: the state is *synced* only after a full `snapshot` message. Connecting,
reconnecting (`monitor.connected`), a new daemon instance (`daemon.started`) or a gap in the
feed sequence (`fseq`) clear the flag; the next snapshot replaces the live tables (accounts,
exposure, terminals, subscriptions, traders) and sets it again. History (recent events,
latencies, margin-level and equity curves) survives snapshots.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from bridge.domain.errors import DomainError
from bridge.domain.money import to_decimal
from bridge.monitor.fmt import lots, money, pct, price, round_numbers_in
from bridge.monitor.labels import close_label, details_text, refusal_label
from bridge.monitor.model import (  # noqa: F401  (re-exported: the state's vocabulary)
    ALERT, DEFAULT_MARGIN_CALL, DEFAULT_STOP_OUT, HUNDRED, INFO, LEVEL_Q, MAX_EVENTS, MAX_LATENCIES, MAX_POINTS,
    WARN, ZERO, Account, EventLine, Exposure, FeedEvent, FeedHealth, Subscription, Terminal, Trader, _int,
)

EVENTS_PER_LOGIN = 50
MAX_EVENT_LOGINS = 20_000  # bounded: the oldest login's ring goes first


@dataclass(slots=True)
class MonitorState:
    accounts: dict[int, Account] = field(default_factory=dict)
    exposure: dict[str, Exposure] = field(default_factory=dict)
    terminals: dict[int, Terminal] = field(default_factory=dict)
    subscriptions: dict[int, Subscription] = field(default_factory=dict)
    traders: dict[str, Trader] = field(default_factory=dict)
    events: deque = field(default_factory=lambda: deque(maxlen=MAX_EVENTS))
    events_by_login: dict[int, deque] = field(default_factory=dict)  # login -> its newest EVENTS_PER_LOGIN lines
    latencies: deque = field(default_factory=lambda: deque(maxlen=MAX_LATENCIES))
    margin_history: dict[int, deque] = field(default_factory=dict)  # login -> (ts, level)
    equity_curves: dict[str, deque] = field(default_factory=dict)  # trader id -> (ts, equity)
    health: FeedHealth = field(default_factory=FeedHealth)
    positions: dict[int, dict] = field(default_factory=dict)  # login -> ticket -> book.Position (F14)
    prices: dict[str, tuple] = field(default_factory=dict)  # symbol -> (bid, ask) (F15)
    counts: dict[str, int] = field(default_factory=dict)  # margin_calls, stop_outs, copies_* (since start)
    copy_settings: dict[int, dict] = field(default_factory=dict)  # sub -> settings changed from the defaults (issue 15)
    version: int = 0  # +1 on every applied event
    sources: tuple = ()  # a cluster desk (bridge/monitor/desk_state.py): one DeskSource per daemon, by shard
    memo: dict = field(default_factory=dict, compare=False, repr=False)  # view name -> (version, value): see memo()
    _line_seq: int = 0

    # ------------------------------------------------------------------ entry point
    def apply(self, event: FeedEvent) -> MonitorState:
        """Fold one feed event into the state; returns self. Unknown topics count but change nothing."""
        body = event.body
        h = self.health
        h.messages += 1
        self.version += 1
        ts = event.ts
        if ts:
            h.last_ts = max(h.last_ts, ts)
        topic = event.topic
        if topic.startswith("monitor."):  # local, from the subscriber shell (not sequenced)
            self._on_local(topic, body, ts)
            return self
        h.no_answer = ""  # the daemon speaks
        if not self._sequence(topic, body, ts):
            return self
        handler = _HANDLERS.get(topic)
        if handler is not None:
            try:
                handler(self, body, ts)
            except (DomainError, KeyError, TypeError, ValueError) as exc:
                self._line(ts, "bad_event", WARN, f"unreadable {topic}: {type(exc).__name__}: {exc}")
        return self

    def received(self, now: int) -> None:
        """The shell tells when the last message arrived (local clock), for the staleness check."""
        self.health.last_rx = now

    def apply_all(self, events: Iterable[FeedEvent]) -> MonitorState:
        for e in events:
            self.apply(e)
        return self

    # ------------------------------------------------------------------ sequence / health
    def _sequence(self, topic: str, body: Mapping[str, Any], ts: int) -> bool:
        """Track `instance` + `fseq`. Returns False for a stale duplicate (ignored)."""
        h = self.health
        inst = body.get("instance")
        fseq = body.get("fseq")
        if isinstance(inst, str) and inst and inst != h.instance:
            if h.instance:  # a new daemon run: everything we hold may be stale
                self._line(ts, "daemon", WARN, f"daemon instance changed ({h.instance} -> {inst}): resyncing")
            h.instance, h.last_fseq, h.synced = inst, None, False
        if type(fseq) is int:
            last = h.last_fseq
            if last is not None and topic != "snapshot":
                if fseq <= last:
                    return False
                if fseq > last + 1:
                    h.gaps += 1
                    h.synced = False
                    self._line(ts, "gap", WARN, f"feed gap: {fseq - last - 1} message(s) lost; waiting for a snapshot")
            h.last_fseq = fseq if last is None else max(last, fseq)
        return True

    def _on_local(self, topic: str, body: Mapping[str, Any], ts: int) -> None:
        h = self.health
        if topic == "monitor.auth_failed":
            h.connected = False
            where = body.get("address", "the daemon")
            if body.get("secure", True):
                self._line(ts, "monitor", ALERT, f"CURVE handshake with {where} failed: "
                                                 "check --server-key and that this monitor's key is allowed")
            else:  # a plain-text viewer on a CURVE feed: the advice above would be wrong
                self._line(ts, "monitor", ALERT, f"handshake with {where} failed: the feed uses CURVE; "
                                                 "drop --insecure and pass --server-key and --client-key")
        elif topic == "monitor.no_answer":
            where = str(body.get("address") or "the daemon")
            h.no_answer = where
            secs = _int(body.get("waited_ms"), 0) / 1000
            why = ("connected, but nothing came: is this the daemon's feed (daemon.pub) and not another port?"
                   if body.get("connected") else "is the daemon running, and is this its feed address (daemon.pub)?")
            self._line(ts, "monitor", ALERT, f"no answer from {where} after {secs:g} s: {why}")
        elif topic == "monitor.connected":
            h.connected, h.synced = True, False
            self._line(ts, "monitor", INFO, f"connected to {body.get('address', 'the daemon')}; waiting for a snapshot")
        elif topic == "monitor.disconnected":
            h.connected, h.synced = False, False
            self._line(ts, "monitor", WARN, f"disconnected from {body.get('address', 'the daemon')}; reconnecting")

    # ------------------------------------------------------------------ helpers
    def _line(self, ts: int, kind: str, severity: str, text: str, login: int | None = None,
              subscription: int | None = None) -> None:
        self._line_seq += 1
        line = EventLine(self._line_seq, ts, kind, severity, text, login, subscription)
        self.events.append(line)
        if login is not None:  # one account's lines outlive the desk-wide ring (one deal makes ~20 lines)
            ring = self.events_by_login.get(login)
            if ring is None:
                if len(self.events_by_login) >= MAX_EVENT_LOGINS:
                    del self.events_by_login[next(iter(self.events_by_login))]
                ring = self.events_by_login[login] = deque(maxlen=EVENTS_PER_LOGIN)
            ring.append(line)

    def _count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def _account(self, login: int) -> Account:
        a = self.accounts.get(login)
        return a if a is not None else Account(login)

    def _put_account(self, a: Account) -> None:
        self.accounts[a.login] = a
        if a.margin_level is not None or a.login in self.margin_history:
            hist = self.margin_history.setdefault(a.login, deque(maxlen=MAX_POINTS))
            point = (a.updated, a.margin_level)
            if hist and hist[-1][0] == a.updated:
                hist[-1] = point
            elif not hist or hist[-1][1] != a.margin_level or a.updated - hist[-1][0] >= 60_000:
                hist.append(point)
        if a.role == "trader" and a.owner:
            self._curve_point(a.owner, a.updated, a.equity)

    def _curve_point(self, trader: str, ts: int, equity: Decimal) -> None:
        curve = self.equity_curves.setdefault(trader, deque(maxlen=MAX_POINTS))
        if curve and curve[-1][0] == ts:
            curve[-1] = (ts, equity)
        elif not curve or curve[-1][1] != equity:
            curve.append((ts, equity))

    def sub_login(self, subscription: int | None) -> int | None:
        s = self.subscriptions.get(subscription) if subscription is not None else None
        return s.account if s is not None else None

    def memo_get(self, name: str, build: Callable[[], Any]) -> Any:
        """`build()` once per state version: a view that many readers draw (every SSE client,
        every redraw) is computed once per feed change. A fixed set of names: bounded."""
        hit = self.memo.get(name)
        if hit is not None and hit[0] == self.version:
            return hit[1]
        value = build()
        self.memo[name] = (self.version, value)
        return value

    # ------------------------------------------------------------------ queries (pure, deterministic order)
    def accounts_by_risk(self) -> list[Account]:
        """Most at risk first: lowest margin level, then accounts with no margin used; ties by login."""
        return sorted(self.accounts.values(),
                      key=lambda a: (a.margin_level is None, a.margin_level or ZERO, a.login))

    def exposure_rows(self) -> list[Exposure]:
        return sorted(self.exposure.values(), key=lambda x: (-abs(x.net), x.symbol))

    def latency_percentiles(self) -> tuple[Decimal | None, Decimal | None]:
        return percentile(self.latencies, 50), percentile(self.latencies, 99)

    def terminals_online(self) -> int:
        return sum(1 for t in self.terminals.values() if t.online)

    def investor_logins(self) -> set[int]:
        return {a.login for a in self.accounts.values() if a.role == "investor"} | {
            s.account for s in self.subscriptions.values()}


# ---------------------------------------------------------------------- parsing helpers
def _dec(value: Any, default: Decimal | None = ZERO) -> Decimal | None:
    if value is None or value == "":
        return default
    return to_decimal(value)


def margin_level(equity: Decimal, margin: Decimal) -> Decimal | None:
    """equity / margin x 100, to the cent; None when no margin is used."""
    if margin <= 0:
        return None
    return (equity / margin * HUNDRED).quantize(LEVEL_Q)


def percentile(values: Iterable[Decimal], pct: int) -> Decimal | None:
    """Nearest-rank percentile (p50 of 1..100 = 50, p99 = 99); None if empty."""
    data = sorted(values)
    if not data:
        return None
    rank = max(1, -(-pct * len(data) // 100))  # ceil(pct/100 * n)
    return data[rank - 1]


def _levels(body: Mapping[str, Any], prev: Account) -> tuple[Decimal, Decimal]:
    mc = _dec(body.get("margin_call_level"), None)
    so = _dec(body.get("stop_out_level"), None)
    if (mc is None or so is None) and body.get("account_type"):
        try:
            from bridge.domain.rules import default_rules

            t = default_rules().account_types.get(str(body["account_type"]))
            mc = t.margin_call_level if mc is None else mc
            so = t.stop_out_level if so is None else so
        except DomainError:
            pass
    return (prev.margin_call_level if mc is None else mc, prev.stop_out_level if so is None else so)


def _account_from(body: Mapping[str, Any], prev: Account, ts: int) -> Account:
    balance = _dec(body.get("balance"), prev.balance)
    equity = _dec(body.get("equity"), prev.equity)
    margin = _dec(body.get("margin"), prev.margin)
    free = _dec(body.get("free_margin"), None)
    if free is None:
        free = equity - margin  # type: ignore[operator]
    level = _dec(body.get("margin_level"), None) if "margin_level" in body else margin_level(equity, margin)  # type: ignore[arg-type]
    mc, so = _levels(body, prev)
    return replace(prev, role=str(body.get("role") or prev.role), owner=str(body.get("owner") or prev.owner),
                   account_type=str(body.get("account_type") or prev.account_type),
                   currency=str(body.get("currency") or prev.currency),
                   leverage=_int(body.get("leverage"), prev.leverage), balance=balance, equity=equity,  # type: ignore[arg-type]
                   margin=margin, free_margin=free, margin_level=level, margin_call_level=mc,  # type: ignore[arg-type]
                   stop_out_level=so, online=bool(body.get("online", prev.online)), updated=ts or prev.updated)


def _sub_from(b: Mapping[str, Any], prev: Subscription | None) -> Subscription:
    sid = _int(b["subscription"])
    p = prev or Subscription(sid, str(b.get("investor", "")), str(b.get("trader", "")), _int(b.get("account")))
    prot = b.get("protection_pct", p.protection_pct)
    return replace(
        p, investor=str(b.get("investor") or p.investor), trader=str(b.get("trader") or p.trader),
        account=_int(b.get("account"), p.account), state=str(b.get("state") or p.state),
        mode=str(b.get("mode") or p.mode), protection_pct=None if prot is None else _dec(prot),
        commission_pct=_dec(b.get("commission_pct"), p.commission_pct),  # type: ignore[arg-type]
        invested=_dec(b.get("invested"), p.invested), balance=_dec(b.get("balance"), p.balance),  # type: ignore[arg-type]
        equity=_dec(b.get("equity"), p.equity), realised=_dec(b.get("realised"), p.realised),  # type: ignore[arg-type]
        commission_paid=_dec(b.get("commission_paid"), p.commission_paid),  # type: ignore[arg-type]
        open_copies=_int(b.get("open_copies"), p.open_copies), trades=_int(b.get("trades"), p.trades))


def _trader_from(b: Mapping[str, Any], prev: Trader | None) -> Trader:
    tid = str(b.get("trader") or b.get("id"))
    p = prev or Trader(tid)
    return replace(
        p, account=_int(b.get("account"), p.account),
        return_pct=_dec(b.get("return_pct"), p.return_pct),  # type: ignore[arg-type]
        max_drawdown_pct=_dec(b.get("max_drawdown_pct"), p.max_drawdown_pct),  # type: ignore[arg-type]
        trades=_int(b.get("trades"), p.trades), followers=_int(b.get("followers"), p.followers),
        volume=_dec(b.get("volume"), p.volume), balance=_dec(b.get("balance"), p.balance),  # type: ignore[arg-type]
        equity=_dec(b.get("equity"), p.equity), commission_pct=_dec(b.get("commission_pct"), p.commission_pct))  # type: ignore[arg-type]


def _latency(s: MonitorState, b: Mapping[str, Any]) -> str:
    lat = _dec(b.get("latency_ms"), None)
    if lat is None:
        return ""
    s.latencies.append(lat)
    return f" [{lat} ms]"


def _what(b: Mapping[str, Any]) -> str:
    """'EURUSD buy ' when the feed names the position (F14), else ''."""
    sym, side = b.get("symbol"), b.get("side")
    return f"{sym} {side} " if sym and side else (f"{sym} " if sym else "")


# ---------------------------------------------------------------------- handlers
def _on_snapshot(s: MonitorState, b: Mapping[str, Any], ts: int) -> None:
    accounts: dict[int, Account] = {}
    for row in b.get("accounts") or ():
        login = _int(row["login"])
        accounts[login] = _account_from(row, s.accounts.get(login, Account(login)), _int(row.get("updated"), ts))
    s.accounts = {}
    for login in sorted(accounts):
        s._put_account(accounts[login])
    s.exposure = {}
    for row in b.get("exposure") or ():
        sym = str(row["symbol"])
        s.exposure[sym] = Exposure(sym, _dec(row.get("buy")), _dec(row.get("sell")), _int(row.get("positions")))  # type: ignore[arg-type]
    s.terminals = {}
    for row in b.get("terminals") or ():
        login = _int(row["login"])
        s.terminals[login] = Terminal(login, bool(row.get("online")), str(row.get("role") or ""),
                                      str(row.get("platform") or ""), _int(row.get("since")), str(row.get("why") or ""))
    s.subscriptions = {}
    for row in b.get("subscriptions") or ():
        sub = _sub_from(row, None)
        s.subscriptions[sub.subscription] = sub
    traders: dict[str, Trader] = {}
    for row in b.get("traders") or ():
        t = _trader_from(row, s.traders.get(str(row.get("trader") or row.get("id"))))
        traders[t.id] = t
        curve = row.get("curve")
        if curve and not s.equity_curves.get(t.id):  # late join: the daemon's history of this trader
            for pt in curve:
                s._curve_point(t.id, _int(pt[0]), _dec(pt[1]))  # type: ignore[arg-type]
    s.traders = traders
    if "positions" in b:  # a daemon without F14 leaves the book empty
        from bridge.monitor.book import put_positions, put_prices

        s.positions = {}
        for row in b.get("positions") or ():
            put_positions(s, row)
        put_prices(s, b.get("prices"))
    h = s.health
    h.synced, h.daemon_up, h.daemon_stopped = True, True, False
    h.snapshots += 1
    tallies = b.get("tallies")
    if isinstance(tallies, Mapping):  # late join: the daemon's counts for its run, not only what this viewer saw
        for k, v in tallies.items():
            if k != "since" and type(v) is int:
                s.counts[str(k)] = v
        h.tallies_since = _int(tallies.get("since"), h.tallies_since)
    h.journal_seq = _int(b.get("journal_seq"), h.journal_seq)
    lat = b.get("latency")
    if isinstance(lat, Mapping) and not s.latencies:  # late join: seed the window with the daemon's figures
        for v in lat.get("recent_ms") or ():
            s.latencies.append(_dec(v))


def _on_account_update(s: MonitorState, b: Mapping[str, Any], ts: int) -> None:
    login = _int(b["login"])
    prev = s._account(login)
    s._put_account(_account_from(b, prev, ts))


def _on_exposure(s: MonitorState, b: Mapping[str, Any], ts: int) -> None:
    rows = b.get("symbols")
    if rows is None:
        rows = [b]
    for row in rows:
        sym = str(row["symbol"])
        e = Exposure(sym, _dec(row.get("buy")), _dec(row.get("sell")), _int(row.get("positions")))  # type: ignore[arg-type]
        if e.buy == 0 and e.sell == 0:
            s.exposure.pop(sym, None)
        else:
            s.exposure[sym] = e


def _on_terminal_online(s: MonitorState, b: Mapping[str, Any], ts: int) -> None:
    login = _int(b["login"])
    s.terminals[login] = Terminal(login, True, str(b.get("role") or ""), str(b.get("platform") or ""), ts)
    prev = s._account(login)
    mc, so = _levels(b, prev)
    s.accounts[login] = replace(prev, online=True, account_type=str(b.get("account_type") or prev.account_type),
                                margin_call_level=mc, stop_out_level=so, updated=prev.updated or ts)
    s._line(ts, "online", INFO, f"terminal {login} online ({b.get('platform', '?')}, {b.get('role', '?')}"
                                f"{', resumed' if b.get('resume') else ''})", login=login)


def _on_terminal_offline(s: MonitorState, b: Mapping[str, Any], ts: int) -> None:
    login = _int(b["login"])
    prev = s.terminals.get(login)
    why = str(b.get("why") or "")
    s.terminals[login] = Terminal(login, False, prev.role if prev else "", prev.platform if prev else "", ts, why)
    if login in s.accounts:
        s.accounts[login] = replace(s.accounts[login], online=False)
    s._line(ts, "offline", WARN, f"terminal {login} offline{f' ({why})' if why else ''}", login=login)


def _on_copy_opened(s: MonitorState, b: Mapping[str, Any], ts: int) -> None:
    sid = _int(b["subscription"])
    s._count("copies_opened")
    sub = s.subscriptions.get(sid)
    if sub is not None:
        s.subscriptions[sid] = replace(sub, open_copies=sub.open_copies + 1)
    lat = _latency(s, b)
    who = f" ({sub.investor} <- {sub.trader})" if sub else ""
    s._line(ts, "copy_opened", INFO, f"copy opened: sub {sid}{who} {_what(b)}{lots(_dec(b.get('volume')))} lots "
                                     f"@ {price(_dec(b.get('price')))} ticket {b.get('ticket')} "
                                     f"(trader ticket {b.get('trader_ticket', '?')}){lat}",
            login=s.sub_login(sid), subscription=sid)


def _on_copy_closed(s: MonitorState, b: Mapping[str, Any], ts: int) -> None:
    sid = _int(b["subscription"])
    s._count("copies_closed")
    sub = s.subscriptions.get(sid)
    profit = _dec(b.get("profit"))
    if sub is not None:
        full = _dec(b.get("remaining")) == 0
        s.subscriptions[sid] = replace(sub, open_copies=max(0, sub.open_copies - (1 if full else 0)),
                                       trades=sub.trades + (1 if full else 0), realised=sub.realised + profit)  # type: ignore[operator]
    lat = _latency(s, b)
    s._line(ts, "copy_closed", INFO, f"copy closed ({close_label(str(b.get('reason', '?')))}): "
                                     f"sub {sid} {_what(b)}{lots(_dec(b.get('volume')))} lots ticket {b.get('ticket')} "
                                     f"P/L {money(profit, sign=True)}{lat}",
            login=s.sub_login(sid), subscription=sid)


def _on_copy_refused(s: MonitorState, b: Mapping[str, Any], ts: int) -> None:
    sid = _int(b["subscription"])
    s._count("copies_refused")
    lat = _latency(s, b)
    code = str(b.get("code", "?"))
    figures = details_text(b.get("details"))  # issue 15: why not copied, the figures
    s._line(ts, "copy_refused", WARN, f"copy refused: sub {sid} {_what(b)}trader {b.get('trader', '?')} ticket "
                                      f"{b.get('trader_ticket')}: {refusal_label(code)}"
                                      f" ({round_numbers_in(str(b.get('detail', '')))}){lat}".replace(" ()", "")
                                      + (f" [{figures}]" if figures else ""),
            login=s.sub_login(sid), subscription=sid)


def _on_protection(s: MonitorState, b: Mapping[str, Any], ts: int) -> None:
    sid = _int(b["subscription"])
    s._count("protection_triggers")
    s._line(ts, "protection", ALERT, f"investment protection: sub {sid} equity {money(_dec(b.get('equity')))} "
                                     f"<= threshold {money(_dec(b.get('threshold')))} "
                                     f"({pct(_dec(b.get('protection_pct'), None))}): copying suspended",
            login=s.sub_login(sid), subscription=sid)


def _on_engine_stop_out(s: MonitorState, b: Mapping[str, Any], ts: int) -> None:
    sid = _int(b["subscription"])
    login = _int(b.get("account")) or s.sub_login(sid)
    s._count("engine_stop_outs")
    s._line(ts, "stop_out", ALERT, f"STOP-OUT: account {login} (sub {sid}) margin level "
                                   f"{pct(_dec(b.get('margin_level'), None))}, {b.get('closes', 0)} close(s)",
            login=login, subscription=sid)


def _on_margin_call(s: MonitorState, b: Mapping[str, Any], ts: int) -> None:
    login = _int(b["login"])
    s._count("margin_calls")
    s._line(ts, "margin_call", ALERT, f"MARGIN CALL: account {login} margin level "
                                      f"{pct(_dec(b.get('margin_level'), None))} "
                                      f"(call at {pct(_dec(b.get('margin_call_level'), None))})", login=login)


def _on_account_stop_out(s: MonitorState, b: Mapping[str, Any], ts: int) -> None:
    login = _int(b["login"])
    s._count("stop_outs")
    s._line(ts, "stop_out", ALERT, f"STOP-OUT: account {login} margin level "
                                   f"{pct(_dec(b.get('margin_level'), None))} "
                                   f"(stop-out at {pct(_dec(b.get('stop_out_level'), None))})", login=login)


def _on_sub_started(s: MonitorState, b: Mapping[str, Any], ts: int) -> None:
    amount = _dec(b.get("amount"))
    sub = _sub_from({**b, "invested": amount, "balance": amount, "equity": amount, "state": "active"},
                    s.subscriptions.get(_int(b["subscription"])))
    s.subscriptions[sub.subscription] = sub
    a = s._account(sub.account)
    s.accounts[sub.account] = replace(a, role="investor", owner=sub.investor)
    s._line(ts, "subscription", INFO, f"subscription {sub.subscription}: {sub.investor} copies {sub.trader} "
                                      f"with {money(amount)} ({sub.mode})", login=sub.account,
            subscription=sub.subscription)


def _on_sub_changed(s: MonitorState, b: Mapping[str, Any], ts: int) -> None:
    sid = _int(b["subscription"])
    if sid not in s.subscriptions and not ("investor" in b and "account" in b):
        return  # an edit of a subscription we never saw: the next snapshot brings it
    sub = _sub_from(b, s.subscriptions.get(sid))
    s.subscriptions[sid] = sub
    if sub.account and sub.investor:
        a = s._account(sub.account)
        if a.role != "investor":
            s.accounts[sub.account] = replace(a, role="investor", owner=sub.investor)


def _on_sub_stopping(s: MonitorState, b: Mapping[str, Any], ts: int) -> None:
    _on_sub_changed(s, {"subscription": b["subscription"], "state": "stopping"}, ts)


def _on_sub_stopped(s: MonitorState, b: Mapping[str, Any], ts: int) -> None:
    sid = _int(b["subscription"])
    _on_sub_changed(s, {"subscription": sid, "state": "stopped", "open_copies": 0}, ts)
    s._line(ts, "subscription", INFO, f"subscription {sid} stopped: returned {money(_dec(b.get('returned')))}",
            login=s.sub_login(sid), subscription=sid)


def _on_trader_stats(s: MonitorState, b: Mapping[str, Any], ts: int) -> None:
    t = _trader_from(b, s.traders.get(str(b.get("trader") or b.get("id"))))
    s.traders[t.id] = t
    if "equity" in b:
        s._curve_point(t.id, ts, t.equity)
    if t.account:
        a = s._account(t.account)
        s.accounts[t.account] = replace(a, role="trader", owner=t.id)


def _on_daemon_started(s: MonitorState, b: Mapping[str, Any], ts: int) -> None:
    s.health.daemon_up, s.health.synced, s.health.daemon_stopped = True, False, False
    s._line(ts, "daemon", INFO, "daemon started")


def _on_daemon_stopped(s: MonitorState, b: Mapping[str, Any], ts: int) -> None:
    s.health.daemon_up, s.health.synced, s.health.daemon_stopped = False, False, True
    for login, t in list(s.terminals.items()):
        s.terminals[login] = replace(t, online=False, why="daemon stopped")
    s._line(ts, "daemon", WARN, "daemon stopped")


def _on_daemon_stats(s: MonitorState, b: Mapping[str, Any], ts: int) -> None:
    h = s.health
    h.daemon_up, h.daemon_stopped = True, False
    h.journal_seq = _int(b.get("journal_seq"), h.journal_seq)
    h.journal_lag_ms = _dec(b.get("journal_lag_ms"), h.journal_lag_ms)
    h.pending_commands = _int(b.get("pending_commands"), h.pending_commands)


def _on_fanout(s: MonitorState, b: Mapping[str, Any], ts: int) -> None:
    s._count("fanouts")


_HANDLERS = {
    "snapshot": _on_snapshot,
    "account.update": _on_account_update,
    "account.margin_call": _on_margin_call,
    "account.stop_out": _on_account_stop_out,
    "exposure": _on_exposure,
    "terminal.online": _on_terminal_online,
    "terminal.offline": _on_terminal_offline,
    "record.copy_opened": _on_copy_opened,
    "record.copy_closed": _on_copy_closed,
    "record.copy_refused": _on_copy_refused,
    "record.protection_triggered": _on_protection,
    "record.stop_out_triggered": _on_engine_stop_out,
    "record.subscription_started": _on_sub_started,
    "record.subscription_edited": _on_sub_changed,
    "record.subscription_stopping": _on_sub_stopping,
    "record.subscription_stopped": _on_sub_stopped,
    "subscription.update": _on_sub_changed,
    "trader.stats": _on_trader_stats,
    "daemon.started": _on_daemon_started,
    "daemon.stopped": _on_daemon_stopped,
    "daemon.stats": _on_daemon_stats,
    "fanout": _on_fanout,
}

from bridge.monitor import book as _book  # noqa: E402  (it reads this module's parsers)

_HANDLERS["positions"] = _book.on_positions
_HANDLERS["prices"] = _book.on_prices
from bridge.monitor import dealer as _dealer  # noqa: E402

_HANDLERS["record.dealer_action"] = _dealer.on_dealer_action
from bridge.monitor import settings_rows as _settings_rows  # noqa: E402

_HANDLERS.update(_settings_rows.HANDLERS)
TOPICS = tuple(sorted(_HANDLERS))
