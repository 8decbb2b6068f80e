"""Which daemon serves a terminal's login, decided without I/O.

The directory maps login -> shard, the leases shard -> owner and endpoint. A daemon serves a
login of a shard it holds, and a login the directory does not know (a one-daemon deployment
has no directory rows); it redirects a login of another shard to that shard's owner, and
answers "no owner" while that shard's lease has expired and nobody took it yet (the terminal
retries: failover in progress).

Example: directory {1001: "s1", 2001: "s2"}, leases s1 -> d1 at tcp://10.0.0.1:5570, s2 -> d2
at tcp://10.0.0.2:5570. On d1: route(1001) = Serve(); route(2001) = Redirect("s2",
"tcp://10.0.0.2:5570"); route(7) = Serve() (not in the directory).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bridge.cluster.lease import Lease


@dataclass(frozen=True, slots=True)
class Serve:
    pass


@dataclass(frozen=True, slots=True)
class Redirect:
    shard: str
    endpoint: str


@dataclass(frozen=True, slots=True)
class NoOwner:
    shard: str


Route = Serve | Redirect | NoOwner


def route(login: int, directory: Mapping[int, str], leases: Mapping[str, Lease], mine: frozenset[str] | set[str],
          now: int) -> Route:
    shard = directory.get(login)
    if shard is None or shard in mine:
        return Serve()
    lease = leases.get(shard)
    if lease is None or not lease.owner or lease.expires_at <= now:
        return NoOwner(shard)
    return Redirect(shard, lease.endpoint)
