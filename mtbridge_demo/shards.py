"""`mtbridge demo --store postgres --shards N`: the demo on N daemons sharded by trader, one
PostgreSQL (docs/scaling.md, "The sharded demo").

**Shard assignment** (deterministic, from the plan alone): the traders, in plan order, are cut
into N contiguous blocks as equal as possible — trader i (0-based) of T goes to shard
`s{i * N // T + 1}` — and every investor goes to the shard of the trader it subscribes to (an
investor account belongs to one subscription, so each copy stays inside one shard). Example:
3 traders, 3 shards: trader-1 -> s1, trader-2 -> s2, trader-3 -> s3; 5 traders: s1 gets
trader-1 and trader-2, s2 trader-3 and trader-4, s3 trader-5. Contiguous blocks keep the
terminals' login order (the traders' reports reach the shards in the plain demo's order).

Daemon dK owns shard sK: its `[cluster]` lists only sK, so it takes that lease at start. The
directory rows (login -> shard) are written before the daemons start, with the machinery of
`mtbridge cluster add-shard` / `assign` (`ClusterDb`). Every shard's terminals connect to the
endpoint the shard's lease names (its owner).

Where the PostgreSQL server comes from: `--pg-url URL` (a database the demo may create
schemas in), or else a throwaway server started with the project's harness
(`bridge.daemon.store_pgcluster.PgCluster`: Debian's binaries, scripts/install-postgres.sh),
on loopback, removed at the end.
"""

from __future__ import annotations

import dataclasses
import socket
from typing import Any

from bridge.cluster.config import ClusterConfig
from bridge.cluster.lease import LeaseConfig
from mtbridge_demo.nodes import Node, PgJournal

# generous: the demo's daemons share a process and a loaded machine; a lost lease stops the run
DEMO_LEASE = LeaseConfig(duration_ms=20_000, renew_ms=2_000)


def free_port() -> int:
    """A free loopback port: a lease names the owner's endpoint, so it cannot be a wildcard."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def shard_of_trader(index: int, traders: int, shards: int) -> int:
    """0-based shard of the 0-based trader `index` among `traders`: contiguous blocks."""
    return index * shards // traders


class PgServer:
    """The cluster's database: the given URL, or a throwaway server (stopped by `close`)."""

    def __init__(self, url: str | None) -> None:
        self.cluster: Any = None
        if url:
            self.url = url
            return
        from bridge.daemon.store_pgcluster import PgCluster, PgUnavailable

        try:
            self.cluster = PgCluster().start()
        except PgUnavailable as exc:
            raise RuntimeError(f"no PostgreSQL server to start ({exc}); run scripts/install-postgres.sh or "
                               "pass --pg-url") from None
        self.url = self.cluster.create_database("mtbridge_demo")

    def close(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()
            self.cluster = None


def plan_nodes(trader_plans: list, investor_plans: list, shards: int, url: str) -> list[Node]:
    """One node per shard (traders and investors by the rule above), journals on `url`."""
    from bridge.daemon.cluster import shard_url

    if not 1 <= shards <= len(trader_plans):
        raise ValueError(f"--shards {shards}: between 1 and the number of traders ({len(trader_plans)})")
    shard_index = {tp.id: shard_of_trader(i, len(trader_plans), shards) for i, tp in enumerate(trader_plans)}
    nodes = []
    for k in range(shards):
        shard = f"s{k + 1}"
        nodes.append(Node(
            name=f"d{k + 1}", shard=shard,
            trader_ids=tuple(tp.id for tp in trader_plans if shard_index[tp.id] == k),
            investor_ids=tuple(ip.id for ip in investor_plans if shard_index[ip.trader] == k),
            journal=PgJournal(shard_url(url, shard))))  # fmt: skip
    return nodes


def register_cluster(url: str, nodes: list[Node], login_of: dict[str, int]) -> None:
    """The operator's steps before the daemons start: `mtbridge cluster add-shard sK`, then
    `mtbridge cluster assign sK <the shard's logins>`."""
    from bridge.daemon.cluster import ClusterDb

    db = ClusterDb(url, "mtbridge demo")
    try:
        for node in nodes:
            db.add_shard(node.shard)
            db.assign([login_of[x] for x in (*node.trader_ids, *node.investor_ids)], node.shard)
    finally:
        db.close()


def node_config(base: Any, node: Node, url: str) -> Any:
    """The demo's daemon config for one node: its own fixed loopback router (a lease names it),
    the shared database, a `[cluster]` table with its one shard."""
    router = f"tcp://127.0.0.1:{free_port()}"
    return dataclasses.replace(
        base, router=router, pub="tcp://127.0.0.1:*", admin="", journal_url=url, journal_create=True,
        cluster=ClusterConfig(node=node.name, shards=(node.shard,), endpoint=router, lease=DEMO_LEASE))


def owner_endpoint(url: str, shard: str) -> str:
    """Where the shard's terminals connect: the endpoint its lease names (the owner's)."""
    from bridge.daemon.cluster import ClusterDb

    db = ClusterDb(url, "mtbridge demo", ddl=False)
    try:
        _, leases = db.view()
    finally:
        db.close()
    lease = leases[shard]
    if not lease.owner:
        raise RuntimeError(f"shard {shard}: no owner after its daemon started")
    return lease.endpoint


def cluster_report(url: str, nodes: list[Node], login_of: dict[str, int], store: str) -> dict:
    """Which daemon owned which shard, traders and logins (from the lease table and directory)."""
    from bridge.daemon.cluster import ClusterDb

    db = ClusterDb(url, "mtbridge demo", ddl=False)
    try:
        _, leases = db.view()
        directory = db.directory()
    finally:
        db.close()
    shards = []
    for node in nodes:
        lease = leases[node.shard]
        shards.append({
            "shard": node.shard, "owner": lease.owner, "endpoint": lease.endpoint, "token": lease.token,
            "traders": list(node.trader_ids), "investors": len(node.investor_ids),
            "logins": sum(1 for s in directory.values() if s == node.shard),
            "pid": getattr(node.daemon, "pid", None),
            "frames_in": node.daemon.counters()[0], "frames_out": node.daemon.counters()[1],
        })  # fmt: skip
    return {"store": store, "daemons": len(nodes),
            "rule": "traders in plan order cut into contiguous blocks: trader i of T -> shard i*N//T + 1; "
                    "an investor -> its trader's shard", "shards": shards}


def render_cluster(cluster: dict) -> list[str]:
    out = ["", f"Cluster: {cluster['daemons']} daemons, one {cluster['store']} (shards by trader: {cluster['rule']})"]
    for s in cluster["shards"]:
        out.append(f"  {s['shard']}: owned by {s['owner']} (pid {s['pid']}) at {s['endpoint']} (lease token "
                   f"{s['token']}); traders "
                   f"{', '.join(s['traders'])}; {s['investors']} investors; {s['logins']} logins in the directory; "
                   f"{s['frames_in']} frames in / {s['frames_out']} out")
    out.append("  Business results as with one daemon and the same seed (--json `results` equal but the two digests, "
               "which fingerprint journals: here three record streams, and the shards' operations interleaved in "
               "another order on the trade server)")
    return out
