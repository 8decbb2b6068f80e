"""`MonitorHub`: the state + metrics behind a lock, shared by the feed thread and the views."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from bridge.monitor.alerts import AlertRules
from bridge.monitor.alertstore import AlertStore
from bridge.monitor.feed import wall_ms
from bridge.monitor.history import HistoryStore, history_rows
from bridge.monitor.metrics import FeedMetrics
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
