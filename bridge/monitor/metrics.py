"""Prometheus metrics fed from the monitoring feed (a dedicated `CollectorRegistry`).

Counters move on events only (never on snapshots, so a late-joining or reconnecting
dashboard does not double count); gauges are set from events and snapshots alike. The list
with meanings is in docs/monitoring.md, "Metrics".
"""

from __future__ import annotations

from decimal import Decimal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bridge.monitor.state import FeedEvent, MonitorState

CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
FANOUT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_OUTCOME = {"record.copy_opened": "opened", "record.copy_closed": "closed", "record.copy_refused": "refused"}


def _seconds(ms: object) -> float | None:
    if ms is None or isinstance(ms, bool):
        return None
    try:
        return float(Decimal(str(ms))) / 1000.0
    except ArithmeticError:
        return None


class FeedMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = self.registry = registry if registry is not None else CollectorRegistry()
        self.copies = Counter("mtbridge_copies", "Copies by outcome (opened, closed, refused) and reason",
                              ("outcome", "reason"), registry=r)
        self.copy_latency = Histogram("mtbridge_copy_latency_seconds",
                                      "Trader deal to investor fill (or refusal), from the feed's latency_ms",
                                      buckets=LATENCY_BUCKETS, registry=r)
        self.terminals_online = Gauge("mtbridge_terminals_online", "Terminals online", registry=r)
        self.margin_calls = Counter("mtbridge_margin_calls", "Margin calls (account.margin_call)", registry=r)
        self.stop_outs = Counter("mtbridge_stop_outs", "Stop-outs (account.stop_out, record.stop_out_triggered)",
                                 ("source",), registry=r)
        self.protection = Counter("mtbridge_protection_triggers",
                                  "Investment protection triggers (record.protection_triggered)", registry=r)
        self.journal_lag = Gauge("mtbridge_journal_lag_seconds",
                                 "Daemon journal lag: oldest handled-but-uncommitted input, from daemon.stats",
                                 registry=r)
        self.fanout = Histogram("mtbridge_fanout_duration_seconds",
                                "Engine fan-out of one trader deal to all its subscriptions (fanout topic)",
                                buckets=FANOUT_BUCKETS, registry=r)
        self.accounts_at_risk = Gauge("mtbridge_accounts_at_risk", "Accounts at or below a level",
                                      ("level",), registry=r)
        self.feed_messages = Counter("mtbridge_feed_messages", "Feed messages received", registry=r)
        self.feed_gaps = Counter("mtbridge_feed_gaps", "Gaps detected in the feed sequence", registry=r)
        self.feed_synced = Gauge("mtbridge_feed_synced", "1 when the state is synced from a snapshot", registry=r)
        self.feed_bad_frames = Counter("mtbridge_feed_bad_frames", "Undecodable feed frames", registry=r)
        for level in ("margin_call", "stop_out"):
            self.accounts_at_risk.labels(level)

    def observe(self, event: FeedEvent, state: MonitorState, gaps_before: int) -> None:
        """Call after `state.apply(event)` with the gap count from before it."""
        topic, b = event.topic, event.body
        if not topic.startswith("monitor."):
            self.feed_messages.inc()
        outcome = _OUTCOME.get(topic)
        if outcome is not None:
            reason = b.get("code") if outcome == "refused" else b.get("reason") if outcome == "closed" else None
            self.copies.labels(outcome, str(reason or "none")).inc()
            lat = _seconds(b.get("latency_ms"))
            if lat is not None:
                self.copy_latency.observe(lat)
        elif topic == "account.margin_call":
            self.margin_calls.inc()
        elif topic == "account.stop_out":
            self.stop_outs.labels("account").inc()
        elif topic == "record.stop_out_triggered":
            self.stop_outs.labels("engine").inc()
        elif topic == "record.protection_triggered":
            self.protection.inc()
        elif topic == "fanout":
            d = _seconds(b.get("duration_ms"))
            if d is not None:
                self.fanout.observe(d)
        elif topic == "daemon.stats":
            lag = _seconds(b.get("journal_lag_ms"))
            if lag is not None:
                self.journal_lag.set(lag)
        if state.health.gaps > gaps_before:
            self.feed_gaps.inc(state.health.gaps - gaps_before)
        self.terminals_online.set(state.terminals_online())
        self.feed_synced.set(1 if state.health.synced else 0)
        if topic in ("snapshot", "account.update"):
            statuses = [a.status for a in state.accounts.values()]
            self.accounts_at_risk.labels("margin_call").set(statuses.count("margin_call"))
            self.accounts_at_risk.labels("stop_out").set(statuses.count("stop_out"))

    def render(self) -> bytes:
        return generate_latest(self.registry)
