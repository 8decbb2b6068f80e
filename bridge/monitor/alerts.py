"""Alerts that stay: what the desk must see and acknowledge, apart from the event stream.

`AlertRules` is the functional core: `observe(event, state)` turns one feed event into zero or
more `Alert`s. It reads no clock: "offline longer than the threshold" and "refusals above a
rate" are measured on the feed's own `ts` (the daemon clock; `daemon.stats` arrives every
second, so time moves even when nothing trades). `AlertStore` (bridge/monitor/alertstore.py)
is the shell that journals them in SQLite with their acknowledgements.

Raised (docs/monitoring.md, "Alerts"):

| kind | from | severity |
|---|---|---|
| `margin_call` | `account.margin_call` | alert |
| `stop_out` | `account.stop_out`, `record.stop_out_triggered` | alert |
| `protection` | `record.protection_triggered` | alert |
| `terminal_offline` | a terminal offline for `offline_after_ms` of feed time | warn |
| `refusals` | `refused_per_window` copy refusals within `refused_window_ms` (re-armed below half) | warn |
| `command_failed` | `command.result` with `ok: false` (one per login per `refused_window_ms`) | warn |
| `rate_limited` | `abuse` (a key over its frame rate, or banned) | warn |
| `daemon` | `daemon.stopped`, `engine.error` | alert |
"""

from __future__ import annotations

from collections import deque

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bridge.monitor.fmt import money, pct
from bridge.monitor.labels import STOP_OUT_ALERTS
from bridge.monitor.state import FeedEvent, MonitorState

ALERT, WARN = "alert", "warn"
KINDS = ("margin_call", "stop_out", "protection", "terminal_offline", "refusals", "command_failed",
         "rate_limited", "daemon")
KIND_LABEL = {"margin_call": "margin call", "stop_out": STOP_OUT_ALERTS, "protection": "investment protection",
              "terminal_offline": "terminal offline", "refusals": "copies refused", "command_failed": "command failed",
              "rate_limited": "key rate-limited", "daemon": "daemon"}


@dataclass(frozen=True, slots=True)
class AlertConfig:
    offline_after_ms: int = 60_000
    refused_per_window: int = 20
    refused_window_ms: int = 60_000

    def __post_init__(self) -> None:
        if self.offline_after_ms < 1 or self.refused_per_window < 1 or self.refused_window_ms < 1:
            raise ValueError("alert thresholds must be positive")


@dataclass(frozen=True, slots=True)
class Alert:
    key: str  # unique: the same feed item never raises twice (INSERT OR IGNORE)
    ts: int  # daemon clock, ms
    kind: str
    severity: str
    text: str
    login: int | None = None
    subscription: int | None = None
    id: int = 0  # the store's row id (0 until stored)
    acked_by: str = ""
    acked_at: int = 0  # wall clock ms of the acknowledgement

    @property
    def acked(self) -> bool:
        return bool(self.acked_by)


def _int(v: Any) -> int | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def _dec(v: Any) -> Decimal | None:
    try:
        return None if v is None or v == "" else Decimal(str(v))
    except ArithmeticError:
        return None


@dataclass(slots=True)
class AlertRules:
    config: AlertConfig = field(default_factory=AlertConfig)
    offline_since: dict[int, int] = field(default_factory=dict)  # login -> since (daemon ms), not yet alerted
    refusals: deque = field(default_factory=deque)  # ts of recent copy refusals
    refusals_armed: bool = True
    command_failed_at: dict[int, int] = field(default_factory=dict)  # login -> ts of the last alert

    def observe(self, event: FeedEvent, state: MonitorState) -> list[Alert]:
        """The alerts this event raises (call after `state.apply(event)`)."""
        b = event.body
        ts = event.ts
        topic = event.topic
        base = f"{b.get('instance', '')}:{b['fseq']}" if type(b.get("fseq")) is int else f"{topic}:{ts}:{b.get('login')}"
        out: list[Alert] = []
        login = _int(b.get("login"))
        sid = _int(b.get("subscription"))
        if topic == "account.margin_call":
            out.append(Alert(base, ts, "margin_call", ALERT, f"MARGIN CALL: account {login}{_owner(state, login)} "
                             f"margin level {pct(_dec(b.get('margin_level')))} (call at "
                             f"{pct(_dec(b.get('margin_call_level')))})", login))
        elif topic == "account.stop_out":
            out.append(Alert(base, ts, "stop_out", ALERT, f"STOP-OUT: account {login}{_owner(state, login)} margin "
                             f"level {pct(_dec(b.get('margin_level')))} (stop-out at "
                             f"{pct(_dec(b.get('stop_out_level')))}), {_positions_closed(b.get('closes', 0))}", login))
        elif topic == "record.stop_out_triggered":
            acc = _int(b.get("account")) or state.sub_login(sid)
            out.append(Alert(base, ts, "stop_out", ALERT, f"STOP-OUT (engine): subscription {sid} account {acc} "
                             f"margin level {pct(_dec(b.get('margin_level')))}, {b.get('closes', 0)} close(s)",
                             acc, sid))
        elif topic == "record.protection_triggered":
            out.append(Alert(base, ts, "protection", ALERT, f"investment protection: subscription {sid} equity "
                             f"{money(_dec(b.get('equity')))} at or below {money(_dec(b.get('threshold')))} "
                             f"({pct(_dec(b.get('protection_pct')))} of invested): copying suspended",
                             state.sub_login(sid), sid))
        elif topic == "terminal.offline" and login is not None:
            self.offline_since[login] = ts
        elif topic == "terminal.online" and login is not None:
            self.offline_since.pop(login, None)
        elif topic == "snapshot":
            for row in b.get("terminals") or ():
                lg = _int(row.get("login"))
                if lg is None:
                    continue
                if row.get("online"):
                    self.offline_since.pop(lg, None)
                elif lg not in self.offline_since and _int(row.get("since")):
                    self.offline_since[lg] = _int(row.get("since")) or ts
        elif topic == "record.copy_refused":
            self._refused(ts, base, out)
        elif topic == "command.result" and b.get("ok") is False and login is not None:
            last = self.command_failed_at.get(login)
            if last is None or ts - last >= self.config.refused_window_ms:
                self.command_failed_at[login] = ts
                out.append(Alert(base, ts, "command_failed", WARN, f"command failed on account {login}: retcode "
                                 f"{b.get('retcode', '?')} {str(b.get('message') or '')[:120]}".rstrip(), login))
        elif topic == "abuse":
            what = (f"over its frame rate ({b.get('rate_per_s')} frames/s): frames dropped"
                    if b.get("action") == "rate_limited" else "disconnected for abuse")
            out.append(Alert(base, ts, "rate_limited", WARN, f"key {b.get('key', '?')} {what}"))
        elif topic == "daemon.stopped":
            self.offline_since.clear()  # the daemon's own alert says it all
            out.append(Alert(base, ts, "daemon", ALERT, "daemon stopped: no copying until it is back"))
        elif topic == "engine.error":
            out.append(Alert(base, ts, "daemon", ALERT, f"engine error on {b.get('event', '?')}: "
                             f"{str(b.get('error') or '')[:160]}"))
        if ts and self.offline_since:
            self._offline(ts, b.get("instance", ""), state, out)
        return out

    def _refused(self, ts: int, key: str, out: list[Alert]) -> None:
        c = self.config
        win = self.refusals
        while win and ts - win[0] >= c.refused_window_ms:
            win.popleft()
        if not self.refusals_armed and len(win) < max(1, c.refused_per_window // 2):
            self.refusals_armed = True  # the rate fell back: the next burst is news again
        win.append(ts)
        if len(win) > c.refused_per_window * 4:  # bounded: only the count above the threshold matters
            win.popleft()
        if self.refusals_armed and len(win) >= c.refused_per_window:
            self.refusals_armed = False
            out.append(Alert(key, ts, "refusals", WARN, f"{len(win)} copies refused within "
                             f"{c.refused_window_ms // 1000} s (threshold {c.refused_per_window})"))

    def _offline(self, ts: int, instance: Any, state: MonitorState, out: list[Alert]) -> None:
        limit = self.config.offline_after_ms
        for login, since in sorted(self.offline_since.items()):
            if ts - since >= limit:
                del self.offline_since[login]  # once per offline spell
                t = state.terminals.get(login)
                why = f" ({t.why})" if t is not None and t.why else ""
                out.append(Alert(f"offline:{instance}:{login}:{since}", ts, "terminal_offline", WARN,
                                 f"terminal {login}{_owner(state, login)} offline for {(ts - since) // 1000} s{why}",
                                 login))


def _owner(state: MonitorState, login: int | None) -> str:
    a = state.accounts.get(login) if login is not None else None
    return f" ({a.owner})" if a is not None and a.owner else ""


def _positions_closed(closes: object) -> str:
    """'1 position closed', '3 positions closed' (not "1 position(s)")."""
    n = closes if isinstance(closes, int) else 0
    return f"{n} position{'' if n == 1 else 's'} closed"
