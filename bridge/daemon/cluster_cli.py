"""`mtbridge cluster`: look at and steer daemons sharded by trader (docs/scaling.md).

    mtbridge cluster status    --config daemon.toml          shards, owners, tokens, leases left,
                                                             terminal / admin / feed endpoints
    mtbridge cluster add-shard --config daemon.toml s2
    mtbridge cluster assign    --config daemon.toml s2 2001 2002   logins -> shard (the directory)
    mtbridge cluster hand-over --config daemon.toml s1 d2     rebalancing: the owner drains, d2 takes s1
    mtbridge cluster ledger ...                               the cluster ledger (bridge/daemon/ledger_cli.py)

`--url postgresql://...` instead of `--config` names the database directly. Errors are one
line, exit 2.
"""

from __future__ import annotations

import argparse
import sys


def add_commands(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("cluster", help="daemons sharded by trader: shards, leases, the login directory",
                            description="Look at and steer daemons sharded by trader (docs/scaling.md).",
                            epilog="example: mtbridge cluster status --config /etc/mtbridge/daemon.toml")
    sub = p.add_subparsers(dest="cluster_command", required=True)
    for name, helptext in (("status", "shards, owners, endpoints, fencing tokens, lease time left"),
                           ("add-shard", "register a shard (and create its journal schema)"),
                           ("assign", "put logins in a shard (the directory terminals are routed by)"),
                           ("hand-over", "move a shard on purpose: its owner drains, the named node takes it")):
        q = sub.add_parser(name, help=helptext, description=helptext)
        where = q.add_mutually_exclusive_group(required=True)
        where.add_argument("--config", metavar="FILE", help="a daemon config: its journal.url")
        where.add_argument("--url", help="postgresql://... of the cluster's database")
        if name != "status":
            q.add_argument("shard")
        if name == "assign":
            q.add_argument("logins", nargs="+", type=int, metavar="LOGIN")
        if name == "hand-over":
            q.add_argument("node", help="the daemon ([cluster] node) to hand the shard to")
        q.set_defaults(handler=run_cluster)
    from bridge.daemon.ledger_cli import add_commands as add_ledger_commands

    add_ledger_commands(sub)


def run_cluster(args: argparse.Namespace) -> int:
    from bridge.daemon.config import StartupError, load_config

    try:
        url = args.url or load_config(args.config).journal_url
        if not url:
            raise StartupError(f"{args.config}: no journal.url (a cluster lives in PostgreSQL)")
        from bridge.daemon.cluster import ClusterDb

        db = ClusterDb(url, "mtbridge cluster")
        try:
            print(_run(db, args))
        finally:
            db.close()
    except (StartupError, ValueError) as exc:
        print(f"mtbridge cluster: error: {exc}", file=sys.stderr)
        return 2
    return 0


def _run(db, args: argparse.Namespace) -> str:  # noqa: ANN001 - ClusterDb
    command = args.cluster_command
    if command == "add-shard":
        db.add_shard(args.shard)
        return f"shard {args.shard}: registered (journal schema shard_{args.shard})"
    now, leases = db.view()
    if command == "status":
        directory = db.directory()
        lines = [f"{'shard':<12} {'owner':<10} {'token':>6} {'lease left':>11}  endpoint  admin  feed"]
        for shard, lease in sorted(leases.items()):
            left = lease.expires_at - now
            state = f"{left / 1000:.1f} s" if lease.owner and left > 0 else ("expired" if lease.owner else "free")
            move = f"  (handing over to {lease.handover_to})" if lease.handover_to else ""
            logins = sum(1 for s in directory.values() if s == shard)
            lines.append(f"{shard:<12} {lease.owner or '-':<10} {lease.token:>6} {state:>11}  "
                         f"{lease.endpoint or '-'}  {lease.admin or '-'}  {lease.feed or '-'}  [{logins} logins]{move}")
        return "\n".join(lines)
    if args.shard not in leases:
        raise ValueError(f"no shard {args.shard!r} (known: {', '.join(sorted(leases)) or 'none'})")
    if command == "assign":
        db.assign(args.logins, args.shard)
        return f"shard {args.shard}: {len(args.logins)} login(s) assigned"
    owner = leases[args.shard].owner
    if owner == args.node:
        raise ValueError(f"shard {args.shard} is already owned by {args.node}")
    db.hand_over(args.shard, args.node)
    return (f"shard {args.shard}: {owner or 'nobody'} hands it over to {args.node} (within one renewal; "
            f"{args.node} must list it in its [cluster] shards)")
