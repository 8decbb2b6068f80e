"""The pure lease and routing decisions (bridge/cluster).

"Each daemon holds **leases** on shards in PostgreSQL, with a fencing token checked by every
write, so a daemon that lost its lease (paused, partitioned) can no longer write." (issue 16,
section 2)"""

from __future__ import annotations

from bridge.cluster.lease import Acquire, Drain, Lease, LeaseConfig, Lost, Release, Renew, decide
from bridge.cluster.routing import NoOwner, Redirect, Serve, route

CFG = LeaseConfig(duration_ms=3000, renew_ms=1000)


def lease(shard: str = "s1", owner: str = "d1", token: int = 7, expires_at: int = 12_000) -> Lease:
    return Lease(shard, owner, f"tcp://{owner}:5570", token, expires_at)


def test_the_docstring_example_renew_takeover_lost() -> None:
    held = lease()
    # d1 renews once less than duration - renew_ms is left, not before
    assert decide({"s1": held}, {"s1": 7}, "d1", ["s1"], 9_000, CFG) == []
    assert decide({"s1": held}, {"s1": 7}, "d1", ["s1"], 10_000, CFG) == [Renew("s1", 7)]
    # d2 stands by until the lease expires, then takes it with a CAS on the token it saw
    assert decide({"s1": held}, {}, "d2", ["s1"], 11_999, CFG) == []
    assert decide({"s1": held}, {}, "d2", ["s1"], 12_000, CFG) == [Acquire("s1", 7)]
    # d1 wakes up: the row has d2's token 8
    taken = lease(owner="d2", token=8, expires_at=15_000)
    [lost] = decide({"s1": taken}, {"s1": 7}, "d1", ["s1"], 13_000, CFG)
    assert isinstance(lost, Lost) and (lost.shard, lost.token) == ("s1", 7) and "taken over by d2" in lost.why


def test_drain_releases_and_a_released_lease_is_taken_at_once() -> None:
    assert decide({"s1": lease()}, {"s1": 7}, "d1", [], 10_500, CFG) == [Release("s1", 7)]
    released = lease(owner="", token=7, expires_at=0)
    assert decide({"s1": released}, {}, "d2", ["s1"], 10_600, CFG) == [Acquire("s1", 7)]


def test_same_state_same_actions_in_shard_order() -> None:
    leases = {s: lease(s, owner="", token=0, expires_at=0) for s in ("s3", "s1", "s2")}
    first = decide(leases, {}, "d1", ["s3", "s2", "s1"], 5, CFG)
    assert first == [Acquire("s1", 0), Acquire("s2", 0), Acquire("s3", 0)]
    assert decide(dict(reversed(leases.items())), {}, "d1", ["s1", "s3", "s2"], 5, CFG) == first


def test_lease_timers_are_validated() -> None:
    assert CFG.problem() is None
    assert "at least twice renew_ms" in LeaseConfig(duration_ms=1500, renew_ms=1000).problem()
    assert "at least 10" in LeaseConfig(duration_ms=3000, renew_ms=5).problem()


def test_routing_serves_its_own_redirects_others_and_says_no_owner_during_failover() -> None:
    directory = {1001: "s1", 2001: "s2"}
    leases = {"s1": lease("s1", "d1"), "s2": Lease("s2", "d2", "tcp://10.0.0.2:5570", 3, 12_000)}
    assert route(1001, directory, leases, {"s1"}, 10_000) == Serve()
    assert route(7, directory, leases, {"s1"}, 10_000) == Serve()  # not in the directory
    assert route(2001, directory, leases, {"s1"}, 10_000) == Redirect("s2", "tcp://10.0.0.2:5570")
    assert route(2001, directory, leases, {"s1"}, 12_000) == NoOwner("s2")  # expired: nobody took it yet


def test_a_hand_over_drains_the_owner_and_reserves_the_released_lease_to_its_target() -> None:
    """"**Rebalancing**: moving a shard to another daemon on purpose (drain, hand over the lease,
    redirect terminals) without losing or doubling a copy." (issue 16, section 2)"""
    asked = Lease("s1", "d1", "tcp://d1:5570", 7, 12_000, handover_to="d2")
    assert decide({"s1": asked}, {"s1": 7}, "d1", ["s1"], 9_000, CFG) == [Drain("s1", 7, "d2")]
    assert decide({"s1": asked}, {"s1": 7}, "d1", ["s1"], 10_000, CFG) == [Drain("s1", 7, "d2"), Renew("s1", 7)]
    # released by d1's clean stop, reserved to d2 until 15 000: d2 takes it at once, d3 waits
    released = Lease("s1", "", "tcp://d1:5570", 7, 15_000, handover_to="d2")
    assert decide({"s1": released}, {}, "d2", ["s1"], 12_100, CFG) == [Acquire("s1", 7)]
    assert decide({"s1": released}, {}, "d3", ["s1"], 12_100, CFG) == []
    assert decide({"s1": released}, {}, "d3", ["s1"], 15_000, CFG) == [Acquire("s1", 7)]  # d2 never came
