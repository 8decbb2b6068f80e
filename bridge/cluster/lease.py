"""Leases on shards, decided without I/O.

A shard (a set of traders with their subscriptions and investor accounts, and its own journal)
is written by the daemon holding its lease. A lease row is (shard, owner, endpoint, token,
expires_at); taking it over is a compare-and-swap on `token` that bumps it, and every journal
write of the shard checks, in its own transaction, that its token is still the row's
(`mtbridge_cluster.fence`, bridge/daemon/store_pg.py). So a daemon that lost its lease (paused,
partitioned, too slow to renew) can no longer write, whatever its clock says.

Times are the database's clock (ms), read by the shell: daemons on several hosts never compare
their own clocks.

Example (lease 3000 ms, renew every 1000 ms): d1 holds s1 with token 7 until 12 000. At 10 000
`decide` says Renew(s1, 7). d1 is paused; at 12 000 d2 sees the lease expired and says
Acquire(s1, seen_token=7); the shell's CAS makes it token 8. d1 wakes at 13 000: its write
with token 7 is refused by the fence, and its next `decide` says Lost(s1, 7, "taken over by d2").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LeaseConfig:
    """`[cluster]` timers. A lease outlives two missed renewals, so one slow round trip does
    not lose it; failover takes at most `duration_ms` + one `renew_ms` poll + recovery."""

    duration_ms: int = 1500  # docs/scaling.md "Failover": the default and why
    renew_ms: int = 300

    @property
    def step_ms(self) -> int:
        """The longest a shard's journal transaction may run or sit idle (the server ends it
        then): below the lease duration, because the step holds the lease row, which both the
        owner's renewal and a standby's takeover wait for. Example: 3000 / 1000 -> 2000 ms."""
        return self.duration_ms - self.renew_ms

    def problem(self) -> str | None:
        """None, or why these timers cannot work (one line)."""
        if self.renew_ms < 10:
            return f"renew_ms {self.renew_ms}: at least 10"
        if self.duration_ms < 2 * self.renew_ms:
            return (f"lease_ms {self.duration_ms} must be at least twice renew_ms {self.renew_ms} "
                    "(a lease survives one missed renewal)")
        return None


@dataclass(frozen=True, slots=True)
class Lease:
    shard: str
    owner: str  # node name; "" = nobody
    endpoint: str  # where the owner's terminals connect
    token: int  # the fencing token: +1 at every change of owner
    expires_at: int  # database clock, ms
    handover_to: str = ""  # a rebalancing: the node the owner hands the shard to ("" = none)
    admin: str = ""  # the owner's admin endpoint: admin requests about this shard are routed there
    feed: str = ""  # the owner's monitoring feed (daemon.pub): a monitor aggregates every owner's


@dataclass(frozen=True, slots=True)
class Acquire:
    shard: str
    seen_token: int  # the CAS succeeds only if the row still has this token


@dataclass(frozen=True, slots=True)
class Renew:
    shard: str
    token: int


@dataclass(frozen=True, slots=True)
class Release:
    shard: str
    token: int


@dataclass(frozen=True, slots=True)
class Drain:
    """Hand the shard over to `to`: stop cleanly (final snapshot), then release the lease to it."""

    shard: str
    token: int
    to: str


@dataclass(frozen=True, slots=True)
class Lost:
    shard: str
    token: int
    why: str


Action = Acquire | Renew | Release | Drain | Lost


def decide(leases: Mapping[str, Lease], held: Mapping[str, int], me: str, wanted: Iterable[str], now: int,
           cfg: LeaseConfig) -> list[Action]:
    """What node `me`, holding `held` (shard -> token) and wanting `wanted`, does at `now`.

    * a held shard whose row has another token or owner: Lost (someone took it over);
    * a held shard no longer wanted: Release (the next owner need not wait for expiry);
    * a held shard asked to move to another node (`handover_to`): Drain, and Renew meanwhile;
    * a held shard due for renewal (less than duration - renew_ms left): Renew;
    * a wanted shard, not held, whose lease has expired: Acquire; a released one handed over
      to this node: Acquire at once (other nodes wait for its expiry: the target goes first).
    Shards are visited in name order: the same state gives the same actions."""
    wanted = set(wanted)
    actions: list[Action] = []
    for shard in sorted(set(held) | wanted):
        lease = leases.get(shard)
        token = held.get(shard)
        if token is not None:
            if lease is None or lease.token != token or lease.owner != me:
                who = "the lease row is gone" if lease is None else f"taken over by {lease.owner or 'nobody'}"
                actions.append(Lost(shard, token, f"{who} (token {lease.token if lease else '-'})"))
            elif shard not in wanted:
                actions.append(Release(shard, token))
            else:
                if lease.handover_to and lease.handover_to != me:
                    actions.append(Drain(shard, token, lease.handover_to))
                if lease.expires_at - now <= cfg.duration_ms - cfg.renew_ms:
                    actions.append(Renew(shard, token))
        elif lease is not None and (lease.expires_at <= now or (not lease.owner and lease.handover_to == me)):
            actions.append(Acquire(shard, lease.token))
    return actions
