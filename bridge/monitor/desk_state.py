"""One `MonitorState` for the whole cluster: the states of several daemons (daemons sharded by
trader, docs/scaling.md) merged so the console and the dashboard draw a cluster with the same
views as one daemon (`desk_state`, pure).

What the merged state holds (docs/monitoring.md, "Cluster mode"):

* every row stamped with its shard (`Account.shard`, `Subscription.shard`, `Trader.shard`,
  `EventLine.shard`); `sources` lists each shard's node, feed address and feed health;
* accounts, terminals, traders, positions, curves keyed as in one daemon (logins and trader
  names are unique in a cluster: the directory maps each to one shard);
* subscriptions keyed `(shard, id)`: ids are numbered per shard, so two shards both have a
  subscription 1 (`subscription_key` builds the key a view looks up);
* exposure, tallies and latencies summed / pooled; events merged by time, each line's text
  starting with `[shard@node]`, renumbered so the views' order and de-duplication hold.

A row present in two sources (a shard that moved: the old owner's last view lingers until its
feed is gone) is taken from the source that wins `precedence`, as in `hub.merge_desk`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, replace

from bridge.monitor.model import MAX_EVENTS, MAX_LATENCIES, EventLine, Exposure, FeedHealth
from bridge.monitor.state import EVENTS_PER_LOGIN, MonitorState


@dataclass(frozen=True, slots=True)
class DeskSource:
    shard: str
    node: str
    address: str
    health: FeedHealth

    @property
    def label(self) -> str:
        return f"{self.shard}@{self.node}" if self.node else self.shard


def subscription_key(state: MonitorState, shard: str, sub: int) -> object:
    """The key of subscription `sub` of `shard` in `state`: (shard, id) on a cluster desk, the
    id alone for one daemon (whose URLs carry no shard)."""
    return (shard, sub) if state.sources else sub


def where(state: MonitorState, shard: str) -> str:
    """`s2@d2`: a row's shard and the node that owns it (blank for one daemon)."""
    for s in state.sources:
        if s.shard == shard:
            return s.label
    return shard


def precedence(states: Mapping[str, MonitorState]) -> list[str]:
    """The sources in the order their rows are laid down (the last one wins a row present in
    several): disconnected sources first, then by when *this monitor* last received from each
    (`last_rx`, the monitor's clock), then by name. Never by the feed's `ts`: that is each
    daemon's own clock, and hosts' clocks differ. Example: the old owner s1 (its host 60 s
    ahead, silent since rx 1000, disconnected) and the new owner s2 (rx 6000, connected) ->
    ["s1", "s2"]: s2's rows win."""
    return sorted(states, key=lambda name: (states[name].health.connected, states[name].health.last_rx, name))


def desk_state(states: Mapping[str, MonitorState], nodes: Mapping[str, tuple[str, str]] | None = None,
               version: int = 0) -> MonitorState:
    """Pure: shard -> that daemon's state (+ shard -> (node, feed address)) -> one state."""
    nodes = nodes or {}
    out = MonitorState()
    out.version = version
    order = precedence(states)  # the winner last
    out.sources = tuple(DeskSource(name, *nodes.get(name, ("", "")), replace(states[name].health))
                        for name in sorted(states))
    labels = {s.shard: s.label for s in out.sources}
    lines: dict[tuple[str, int], EventLine] = {}  # (source, its seq) -> the line
    desk_wide: set[tuple[str, int]] = set()  # the lines of the sources' desk-wide rings
    by_login: dict[int, list[tuple[str, int]]] = {}
    latencies: list = []
    for name in order:
        st = states[name]
        for login, a in st.accounts.items():
            out.accounts[login] = replace(a, shard=name)
        out.terminals.update(st.terminals)
        for tid, t in st.traders.items():
            out.traders[tid] = replace(t, shard=name)
        for sid, sub in st.subscriptions.items():
            out.subscriptions[(name, sid)] = replace(sub, shard=name)  # type: ignore[index]
        for sid, changed in st.copy_settings.items():
            out.copy_settings[(name, sid)] = changed  # type: ignore[index]
        add_totals(out.exposure, out.counts, st)
        out.positions.update(st.positions)
        out.prices.update(st.prices)
        out.margin_history.update(st.margin_history)
        out.equity_curves.update(st.equity_curves)
        latencies.extend(st.latencies)
        for e in st.events:
            lines[(name, e.seq)] = e
            desk_wide.add((name, e.seq))
        for login, ring in st.events_by_login.items():
            for e in ring:
                lines[(name, e.seq)] = e
            by_login.setdefault(login, []).extend((name, e.seq) for e in ring)
    # one numbering for every line of every source, by time (the views order and de-duplicate by seq)
    keys = sorted(lines, key=lambda k: (lines[k].ts, k))
    new = {k: replace(lines[k], seq=n, shard=k[0], text=f"[{labels[k[0]]}] {lines[k].text}")
           for n, k in enumerate(keys, 1)}
    out.events = deque((new[k] for k in keys if k in desk_wide), maxlen=MAX_EVENTS)
    for login, ring in by_login.items():
        out.events_by_login[login] = deque((new[k] for k in sorted(set(ring), key=lambda k: new[k].seq)),
                                           maxlen=EVENTS_PER_LOGIN)
    out.latencies = deque(latencies[-MAX_LATENCIES:], maxlen=MAX_LATENCIES)
    out._line_seq = len(new)
    out.health = merged_health([s.health for s in out.sources])
    return out


def merged_health(healths: list[FeedHealth]) -> FeedHealth:
    """The desk's feed health: LIVE only when every source is (connected and synced); stale as
    soon as one source is silent (the oldest receive time); counters summed."""
    if not healths:
        return FeedHealth()
    return FeedHealth(
        connected=all(h.connected for h in healths), synced=all(h.synced for h in healths),
        instance=" ".join(h.instance for h in healths if h.instance), last_fseq=None,
        gaps=sum(h.gaps for h in healths), snapshots=sum(h.snapshots for h in healths),
        messages=min(h.messages for h in healths), last_ts=max(h.last_ts for h in healths),
        last_rx=min((h.last_rx or h.last_ts) for h in healths),
        daemon_up=all(h.daemon_up for h in healths), daemon_stopped=any(h.daemon_stopped for h in healths),
        tallies_since=min((h.tallies_since for h in healths if h.tallies_since), default=0),
        journal_seq=sum(h.journal_seq for h in healths), journal_lag_ms=None,
        pending_commands=sum(h.pending_commands for h in healths),
        no_answer=next((h.no_answer for h in healths if h.no_answer), ""))


def add_totals(exposure: dict[str, Exposure], counts: dict[str, int], st: MonitorState) -> None:
    """One shard's exposure per symbol and tallies added to the cluster's (the one rule for both
    the merged state and the hub's desk)."""
    for sym, e in st.exposure.items():
        prev = exposure.get(sym)
        exposure[sym] = e if prev is None else Exposure(sym, prev.buy + e.buy, prev.sell + e.sell,
                                                        prev.positions + e.positions)
    for k, v in st.counts.items():
        counts[k] = counts.get(k, 0) + v
