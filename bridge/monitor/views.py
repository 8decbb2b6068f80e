"""Who sees what: pure functions from `MonitorState` + a `Principal` to view models.

Access model (seed 003 §12-§14, docs/monitoring.md "Access model"):

* anonymous: public trader statistics only (§13);
* investor (account login + investor password): their own account(s), subscriptions,
  statistics and the events about them (§12, §14); no desk-wide tables;
* dealer: everything.

The console and the dashboard render the same view models.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bridge.monitor.state import Account, EventLine, Exposure, MonitorState, Subscription, Trader

DEALER, INVESTOR = "dealer", "investor"


@dataclass(frozen=True, slots=True)
class Principal:
    role: str  # dealer | investor
    name: str  # dealer username, or the investor's login as text
    login: int | None = None  # investor: the MetaTrader account
    investor: str | None = None  # investor: the engine's investor id, if known

    @property
    def is_dealer(self) -> bool:
        return self.role == DEALER


@dataclass(frozen=True, slots=True)
class DeskView:
    accounts: tuple[Account, ...]  # by risk
    exposure: tuple[Exposure, ...]  # empty for investors
    events: tuple[EventLine, ...]  # newest first
    subscriptions: tuple[Subscription, ...]
    p50: Decimal | None
    p99: Decimal | None
    terminals_online: int
    terminals: int
    desk: bool  # True: the dealer's full view
    synced: bool
    connected: bool
    counts: tuple[tuple[str, int], ...]


def own_subscriptions(state: MonitorState, p: Principal) -> list[Subscription]:
    if p.is_dealer:
        return sorted(state.subscriptions.values(), key=lambda s: (s.shard, s.subscription))
    return sorted((s for s in state.subscriptions.values()
                   if s.account == p.login or (p.investor is not None and s.investor == p.investor)),
                  key=lambda s: (s.shard, s.subscription))


def own_logins(state: MonitorState, p: Principal) -> set[int]:
    subs = own_subscriptions(state, p)
    out = {s.account for s in subs}
    if p.login is not None:
        out.add(p.login)
    return out


def can_see_account(state: MonitorState, p: Principal | None, login: int) -> bool:
    if p is None:
        return False
    return p.is_dealer or login in own_logins(state, p)


def desk_view(state: MonitorState, p: Principal, *, events: int = 30) -> DeskView:
    if p.is_dealer:
        accounts = state.accounts_by_risk()
        evs = list(state.events)
        exposure = state.exposure_rows()
        subs = own_subscriptions(state, p)
        p50, p99 = state.latency_percentiles()
    else:
        logins = own_logins(state, p)
        subs = own_subscriptions(state, p)
        sub_ids = {(s.shard, s.subscription) for s in subs}  # ids are per shard on a cluster desk
        accounts = [a for a in state.accounts_by_risk() if a.login in logins]
        seen: dict[int, EventLine] = {e.seq: e for e in state.events if (e.login is not None and e.login in logins)
                                      or (e.subscription is not None and (e.shard, e.subscription) in sub_ids)}
        for login in logins:  # the account's own ring keeps what the desk-wide one dropped
            seen.update((e.seq, e) for e in state.events_by_login.get(login, ()))
        evs = [seen[k] for k in sorted(seen)]
        exposure, p50, p99 = [], None, None
    return DeskView(tuple(accounts), tuple(exposure), tuple(reversed(evs[-events:])), tuple(subs), p50, p99,
                    state.terminals_online() if p.is_dealer else 0, len(state.terminals) if p.is_dealer else 0,
                    p.is_dealer, state.health.synced, state.health.connected,
                    tuple(sorted(state.counts.items())) if p.is_dealer else ())


def public_traders(state: MonitorState) -> list[Trader]:
    """§13: public; sorted by return, then id."""
    return sorted((with_followers(state, t) for t in state.traders.values()), key=lambda t: (-t.return_pct, t.id))


def with_followers(state: MonitorState, t: Trader) -> Trader:
    from dataclasses import replace

    if t.followers:
        return t
    n = sum(1 for s in state.subscriptions.values() if s.trader == t.id and s.state != "stopped")
    return replace(t, followers=n) if n else t


@dataclass(frozen=True, slots=True)
class InvestorStats:
    login: int
    investor: str
    invested: Decimal
    equity: Decimal
    realised: Decimal
    commission_paid: Decimal
    subscriptions: tuple[Subscription, ...]


def investor_stats(state: MonitorState, login: int) -> InvestorStats:
    """§12: private statistics of the investor behind account `login` (caller checks access)."""
    subs = tuple(sorted((s for s in state.subscriptions.values() if s.account == login),
                        key=lambda s: (s.shard, s.subscription)))
    live = [s for s in subs if s.state != "stopped"]
    owner = subs[0].investor if subs else (state.accounts[login].owner if login in state.accounts else "")
    zero = Decimal(0)
    return InvestorStats(login, owner, sum((s.invested for s in live), zero), sum((s.equity for s in live), zero),
                         sum((s.realised for s in subs), zero), sum((s.commission_paid for s in subs), zero), subs)
