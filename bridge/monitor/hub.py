"""`MonitorHub`: the state + metrics behind a lock, shared by the feed thread and the views.
`DeskHub`: several daemons' feeds (daemons sharded by trader) merged into one desk, each row
saying which source (shard, node) it came from."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TypeVar

from bridge.monitor.alerts import AlertRules
from bridge.monitor.alertstore import AlertStore
from bridge.monitor.desk_state import add_totals, precedence
from bridge.monitor.feed import wall_ms
from bridge.monitor.history import HistoryStore, history_rows
from bridge.monitor.metrics import FeedMetrics
from bridge.monitor.model import ALERT, MAX_EVENTS, Account, EventLine, Exposure, Subscription, Terminal, Trader
from bridge.monitor.state import FeedEvent, MonitorState

T = TypeVar("T")


class MonitorHub:
    def __init__(self, state: MonitorState | None = None, metrics: FeedMetrics | None = None, *,
                 clock: Callable[[], int] = wall_ms, alerts: AlertStore | None = None,
                 rules: AlertRules | None = None, history: HistoryStore | None = None) -> None:
        self.clock = clock
        self.alerts = alerts if alerts is not None else AlertStore()
        self.rules = rules or AlertRules()
        self.history = history if history is not None else HistoryStore()
        self.state = state or MonitorState()
        self.metrics = metrics or FeedMetrics()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._poked = False

    def apply(self, event: FeedEvent) -> None:
        with self._lock:
            gaps = self.state.health.gaps
            self.state.apply(event)
            self.state.received(self.clock())
            self.metrics.observe(event, self.state, gaps)
            raised = self.rules.observe(event, self.state)
            if raised and self.alerts.add(raised):
                self.state.version += 1  # the alert list changed: live pages redraw
            self.history.write(*history_rows(event, self.state))
            self._changed.notify_all()

    def acknowledge(self, alert_id: int, who: str, at: int):  # -> Alert | None
        with self._lock:
            done = self.alerts.ack(alert_id, who, at)
            if done is not None:
                self.state.version += 1
                self._changed.notify_all()
            return done

    def bad_frame(self) -> None:
        self.metrics.feed_bad_frames.inc()

    def read(self, fn: Callable[[MonitorState], T]) -> T:
        """Run `fn(state)` under the lock (build a view model; do not keep references to mutables)."""
        with self._lock:
            return fn(self.state)

    @property
    def version(self) -> int:
        return self.state.version

    def poke(self) -> None:
        """Wake `wait_change` without a state change (a key pressed in the console)."""
        with self._changed:
            self._poked = True
            self._changed.notify_all()

    def wait_change(self, version: int, timeout: float) -> int:
        """Block until the state version differs from `version`, a poke, or timeout; returns the version."""
        with self._changed:
            self._changed.wait_for(lambda: self.state.version != version or self._poked, timeout)
            self._poked = False
            return self.state.version


# --- one desk over several daemons (daemons sharded by trader, docs/scaling.md) ----------------
@dataclass(frozen=True, slots=True)
class Source:
    """One daemon's feed as the desk sees it: the shard it serves, the node, the address."""

    name: str  # the shard (a cluster) or the feed address (a configured list)
    node: str
    address: str
    connected: bool
    synced: bool
    instance: str
    journal_seq: int
    last_ts: int


@dataclass(slots=True)
class Desk:
    """The merged desk: every row keyed as in `MonitorState`, plus the source it came from.
    Subscription ids are numbered per shard, so subscriptions are keyed (source, id)."""

    sources: dict[str, Source] = field(default_factory=dict)
    accounts: dict[int, Account] = field(default_factory=dict)
    terminals: dict[int, Terminal] = field(default_factory=dict)
    traders: dict[str, Trader] = field(default_factory=dict)
    subscriptions: dict[tuple[str, int], Subscription] = field(default_factory=dict)
    exposure: dict[str, Exposure] = field(default_factory=dict)  # summed over the sources
    counts: dict[str, int] = field(default_factory=dict)  # summed over the sources
    events: list[tuple[str, EventLine]] = field(default_factory=list)  # by ts, the newest MAX_EVENTS
    source_of: dict[tuple[str, object], str] = field(default_factory=dict)  # ("account", login) -> source

    @property
    def synced(self) -> bool:
        return bool(self.sources) and all(s.synced for s in self.sources.values())


def merge_desk(states: Mapping[str, MonitorState], nodes: Mapping[str, tuple[str, str]] | None = None) -> Desk:
    """Pure: several daemons' states -> one desk. A row present in two sources (a shard that
    moved: the old owner's last view lingers until its feed is gone) is taken from the source
    that wins `desk_state.precedence`: a connected one over a disconnected one, then the one
    this monitor heard from last (its own receive clock, never the daemons' `ts`), so the new
    owner wins.

    Example: s1 (d1) holds trader T1 with accounts 1001, 3001; s2 (d2) holds T2 with 2001;
    both number their first subscription 1 -> desk.traders = {T1, T2}, desk.subscriptions keys
    ("s1", 1) and ("s2", 1), desk.source_of[("account", 2001)] == "s2"."""
    nodes = nodes or {}
    desk = Desk()
    order = precedence(states)  # the winner last
    for name in order:
        st = states[name]
        h = st.health
        node, address = nodes.get(name, ("", ""))
        desk.sources[name] = Source(name, node, address, h.connected, h.synced, h.instance, h.journal_seq, h.last_ts)
        for kind, rows, target in (("account", st.accounts, desk.accounts), ("terminal", st.terminals, desk.terminals),
                                   ("trader", st.traders, desk.traders)):
            for key, row in rows.items():
                target[key] = row  # type: ignore[index]
                desk.source_of[(kind, key)] = name
        for sub_id, sub in st.subscriptions.items():
            desk.subscriptions[(name, sub_id)] = sub
        add_totals(desk.exposure, desk.counts, st)
        desk.events.extend((name, line) for line in st.events)
    desk.events.sort(key=lambda item: (item[1].ts, item[0], item[1].seq))
    del desk.events[:-MAX_EVENTS]
    return desk


class DeskHub:
    """Several daemons' feeds behind one desk: one `MonitorHub` per source (its own resync,
    sequence and alert rules), merged on read. `apply(source, event)` is what each feed thread
    calls (bridge/monitor/feed.py `ClusterFeeds`).

    It answers as a `MonitorHub` does (`read`, `version`, `wait_change`, `poke`, `alerts`,
    `acknowledge`, `history`, `metrics`), so the console and the dashboard draw a cluster with
    their one-daemon code: `read(fn)` runs `fn` on the merged `desk_state` (built once per
    desk version). The alert list, the history journal and the metrics are shared by the
    sources (alerts and history rows keep the daemon's own subscription ids)."""

    def __init__(self, clock: Callable[[], int] = wall_ms, *, alerts: AlertStore | None = None,
                 rules: Callable[[], AlertRules] | None = None, history: HistoryStore | None = None,
                 metrics: FeedMetrics | None = None) -> None:
        self.clock = clock
        self.alerts = alerts if alerts is not None else AlertStore()
        self.history = history if history is not None else HistoryStore()
        self.metrics = metrics or FeedMetrics()
        self._rules = rules or AlertRules
        self.hubs: dict[str, MonitorHub] = {}
        self.nodes: dict[str, tuple[str, str]] = {}  # source -> (node, feed address)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._read_lock = threading.Lock()
        self._merged: MonitorState | None = None
        self._poked = False
        self.version = 0
        self.feeds_error = ""  # why the feed list could not be read (`ClusterFeeds`), "" when it could

    def feeds_failed(self, error: str) -> None:
        with self._changed:
            if error != self.feeds_error:
                self.feeds_error = error
                self.version += 1
                self._changed.notify_all()

    def hub(self, source: str) -> MonitorHub:
        with self._lock:
            hub = self.hubs.get(source)
            if hub is None:
                hub = self.hubs[source] = MonitorHub(clock=self.clock, alerts=self.alerts, rules=self._rules(),
                                                     history=self.history, metrics=self.metrics)
            return hub

    def set_node(self, source: str, node: str, address: str) -> None:
        with self._changed:
            self.nodes[source] = (node, address)
            self.version += 1
            self._changed.notify_all()

    def apply(self, source: str, event: FeedEvent) -> None:
        self.hub(source).apply(event)
        with self._changed:
            self.version += 1
            self._changed.notify_all()

    def bad_frame(self) -> None:
        self.metrics.feed_bad_frames.inc()

    def acknowledge(self, alert_id: int, who: str, at: int):  # -> Alert | None
        with self._changed:
            done = self.alerts.ack(alert_id, who, at)
            if done is not None:
                self.version += 1
                self._changed.notify_all()
            return done

    def desk(self) -> Desk:
        with self._lock:
            hubs, nodes = dict(self.hubs), dict(self.nodes)
        states = {}
        for name, hub in hubs.items():
            states[name] = hub.read(_copy_state)
        return merge_desk(states, nodes)

    def state(self) -> MonitorState:
        """The merged state (bridge/monitor/desk_state.py), rebuilt when the desk changed."""
        from bridge.monitor.desk_state import desk_state

        with self._lock:
            version, hubs, nodes = self.version, dict(self.hubs), dict(self.nodes)
            merged = self._merged
        if merged is not None and merged.version == version:
            return merged
        merged = desk_state({name: hub.read(_copy_full) for name, hub in hubs.items()}, nodes, version)
        if self.feeds_error:  # e.g. the cluster's database unreachable: say so on the desk
            merged._line(merged.health.last_ts, "monitor", ALERT, f"cannot list the cluster's feeds: {self.feeds_error}")
            if not merged.sources:
                merged.health.no_answer = "the cluster's lease table"
        with self._lock:
            if self._merged is None or self._merged.version <= version:
                self._merged = merged
        return merged

    def read(self, fn: Callable[[MonitorState], T]) -> T:
        """Run `fn` on the merged state (as `MonitorHub.read` does on one daemon's)."""
        state = self.state()
        with self._read_lock:  # the views memoise into the state: one reader at a time
            return fn(state)

    def poke(self) -> None:
        with self._changed:
            self._poked = True
            self._changed.notify_all()

    def wait_change(self, version: int, timeout: float) -> int:
        with self._changed:
            self._changed.wait_for(lambda: self.version != version or self._poked, timeout)
            self._poked = False
            return self.version


def _copy_state(state: MonitorState) -> MonitorState:
    """The rows the desk merges, copied under the source's lock (rows are immutable values)."""
    copy = MonitorState()
    copy.accounts, copy.terminals = dict(state.accounts), dict(state.terminals)
    copy.traders, copy.subscriptions = dict(state.traders), dict(state.subscriptions)
    copy.exposure, copy.counts = dict(state.exposure), dict(state.counts)
    copy.events.extend(state.events)
    copy.health = replace(state.health)
    return copy


def _copy_full(state: MonitorState) -> MonitorState:
    """Everything `desk_state` merges, copied under the source's lock (rows are immutable values,
    rings and curves are copied)."""
    copy = _copy_state(state)
    copy.events_by_login = {k: deque(v) for k, v in state.events_by_login.items()}
    copy.latencies = deque(state.latencies)
    copy.margin_history = {k: deque(v) for k, v in state.margin_history.items()}
    copy.equity_curves = {k: deque(v) for k, v in state.equity_curves.items()}
    copy.positions = {k: dict(v) for k, v in state.positions.items()}
    copy.prices, copy.copy_settings = dict(state.prices), dict(state.copy_settings)
    return copy
