"""`[cluster]` of the daemon config: which node this daemon is, which shards it serves, where
terminals reach it, the lease timers. Parsed and validated by `parse_cluster` (one-line
errors naming the key, like the rest of bridge/daemon/config.py).

Example:

    [cluster]
    node = "d1"                          # unique in the cluster
    shards = ["s1"]                      # served, or stood by for while another daemon holds them
    endpoint = "tcp://10.0.0.1:5570"     # redirects name it; default: daemon.router
    admin_endpoint = "tcp://10.0.0.1:5572"  # admin requests of other daemons are routed here;
                                         # default: daemon.admin ("" = this node takes none)
    feed_endpoint = "tcp://10.0.0.1:5571"   # where monitors subscribe; default: daemon.pub
    lease_ms = 1500                      # default; docs/scaling.md "Failover" says why
    renew_ms = 300
    acquire_timeout_s = 0                # 0: a standby waits for the lease as long as it takes
    ledger = false                       # true: wallets and IB credits on the cluster ledger
                                         # (docs/scaling.md "Money that crosses shards")
    warm_standby = true                  # default: a standby keeps the shards' state warm
                                         # (docs/scaling.md "Failover"); false: recovers cold
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bridge.cluster.lease import LeaseConfig

NAME = re.compile(r"^[A-Za-z0-9_]{1,40}$")
KEYS = {"node", "shards", "endpoint", "admin_endpoint", "feed_endpoint", "lease_ms", "renew_ms", "acquire_timeout_s",
        "ledger", "warm_standby"}


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    node: str  # this daemon's name, unique in the cluster
    shards: tuple[str, ...]  # the shards it serves (or stands by for)
    endpoint: str  # where terminals reach it (redirects name it)
    lease: LeaseConfig = field(default_factory=LeaseConfig)
    acquire_timeout_s: int = 0  # 0 = wait for the lease as long as it takes (a standby)
    admin_endpoint: str = ""  # where admin clients reach it (routed admin requests name it); "" = none
    feed_endpoint: str = ""  # its monitoring feed, for monitors that aggregate the cluster; "" = none
    ledger: bool = False  # wallets on the cluster ledger (bridge/daemon/ledger_shell.py)
    warm_standby: bool = True  # a standby keeps its shards' state warm (bridge/daemon/warm_standby.py)


def parse_cluster(t: dict[str, Any], router: str, fail: Callable[[str, str], Exception],
                  admin: str = "", pub: str = "") -> ClusterConfig:
    """`t` is the [cluster] table; `fail(key, problem)` builds the config error; `admin` is
    daemon.admin (the default admin_endpoint unless it is a wildcard), `pub` daemon.pub (the
    default feed_endpoint, likewise)."""
    for key in t:
        if key not in KEYS:
            raise fail(f"cluster.{key}", f"unknown key (known: {', '.join(sorted(KEYS))})")
    node = t.get("node")
    if not isinstance(node, str) or not NAME.match(node):
        raise fail("cluster.node", "required: a name of letters, digits and _ (at most 40), e.g. \"d1\"")
    shards = t.get("shards")
    if not isinstance(shards, list) or not shards:
        raise fail("cluster.shards", "required: a non-empty list of shard names, e.g. [\"s1\"]")
    for i, s in enumerate(shards):
        if not isinstance(s, str) or not NAME.match(s):
            raise fail(f"cluster.shards[{i}]", f"{s!r}: letters, digits and _ only, at most 40")
    if len(set(shards)) != len(shards):
        raise fail("cluster.shards", "a shard is listed twice")
    endpoint = t.get("endpoint", router)
    if not isinstance(endpoint, str) or not endpoint.startswith("tcp://") or "*" in endpoint:
        raise fail("cluster.endpoint", f"{endpoint!r}: the address terminals connect to, e.g. tcp://10.0.0.1:5570 "
                                       "(not a wildcard)")
    admin_endpoint = t.get("admin_endpoint", "" if "*" in admin else admin)
    if not isinstance(admin_endpoint, str) or "*" in admin_endpoint or (
            admin_endpoint and not admin_endpoint.startswith("tcp://")):
        raise fail("cluster.admin_endpoint", f"{admin_endpoint!r}: the address admin clients connect to, e.g. "
                                             "tcp://10.0.0.1:5572 (not a wildcard), or \"\"")
    feed_endpoint = t.get("feed_endpoint", "" if "*" in pub else pub)
    if not isinstance(feed_endpoint, str) or "*" in feed_endpoint or (
            feed_endpoint and not feed_endpoint.startswith("tcp://")):
        raise fail("cluster.feed_endpoint", f"{feed_endpoint!r}: the address monitors subscribe to, e.g. "
                                            "tcp://10.0.0.1:5571 (not a wildcard), or \"\"")
    ints = {}
    for key, default in (("lease_ms", LeaseConfig().duration_ms), ("renew_ms", LeaseConfig().renew_ms),
                         ("acquire_timeout_s", 0)):
        v = t.get(key, default)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise fail(f"cluster.{key}", f"{v!r}: a whole number >= 0")
        ints[key] = v
    lease = LeaseConfig(duration_ms=ints["lease_ms"], renew_ms=ints["renew_ms"])
    if (problem := lease.problem()) is not None:
        raise fail("cluster.lease_ms", problem)
    ledger = t.get("ledger", False)
    if not isinstance(ledger, bool):
        raise fail("cluster.ledger", f"{ledger!r}: true or false")
    warm = t.get("warm_standby", True)
    if not isinstance(warm, bool):
        raise fail("cluster.warm_standby", f"{warm!r}: true or false")
    return ClusterConfig(node, tuple(shards), endpoint, lease, ints["acquire_timeout_s"], admin_endpoint,
                         feed_endpoint, ledger=ledger, warm_standby=warm)
