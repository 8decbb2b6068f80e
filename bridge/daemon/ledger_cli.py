"""`mtbridge cluster ledger`: the cluster ledger for the engineer on call (docs/operations.md
"The cluster ledger", docs/scaling.md "Checking the books").

    mtbridge cluster ledger balances  --url U [--kind wallet|shard] [--after NAME] [--limit N] [--json]
    mtbridge cluster ledger transfers --url U [--owner I] [--shard S] [--kind K] [--status done|refused]
                                              [--before ID] [--limit N] [--json]
    mtbridge cluster ledger check     --url U [--json]        exit 0: the books balance, 1: differences
    mtbridge cluster ledger adopt-wallets --config daemon.toml --shard s1 [--batch N]

Errors are one line, exit 2 (as `mtbridge cluster`).
"""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal

from bridge.cluster.ledger_books import money

COMMANDS = (("balances", "ledger accounts and balances: shard accounts, then wallets, by name (paged)"),
            ("transfers", "ledger transfers, newest first, filtered (paged)"),
            ("check", "reconcile: accounts against transfers, keys, shard accounts against their journals"),
            ("adopt-wallets", "move a stopped shard's pre-ledger engine wallets into the ledger, once"))


def _limit(text: str) -> int:
    n = int(text)
    if not 1 <= n <= 1000:
        raise argparse.ArgumentTypeError(f"limit must be 1-1000, got {n}")
    return n


def add_commands(cluster_sub: argparse._SubParsersAction) -> None:
    p = cluster_sub.add_parser("ledger", help="the cluster ledger: balances, transfers, check, adopt-wallets",
                               description="The cluster ledger (docs/scaling.md 'Money that crosses shards').")
    sub = p.add_subparsers(dest="ledger_command", required=True)
    for name, helptext in COMMANDS:
        q = sub.add_parser(name, help=helptext, description=helptext)
        where = q.add_mutually_exclusive_group(required=True)
        where.add_argument("--config", metavar="FILE", help="a daemon config: its journal.url")
        where.add_argument("--url", help="postgresql://... of the cluster's database")
        if name in ("balances", "transfers", "check"):
            q.add_argument("--json", action="store_true", help="one JSON document instead of text")
        if name in ("balances", "transfers"):
            q.add_argument("--limit", type=_limit, default=50, help="rows per page, 1-1000 (default 50)")
        if name == "balances":
            q.add_argument("--kind", choices=("all", "wallet", "shard"), default="all")
            q.add_argument("--after", default="", metavar="ACCOUNT", help="the next page: accounts after this one")
        if name == "transfers":
            q.add_argument("--owner", help="transfers from or to wallet:OWNER")
            q.add_argument("--shard")
            q.add_argument("--kind", help="subscribe, change_investment, return, commission, ib_credit, adopt, ...")
            q.add_argument("--status", choices=("done", "refused"))
            q.add_argument("--before", type=int, metavar="ID", help="the next page: transfers older than this id")
        if name == "adopt-wallets":
            q.add_argument("--shard", required=True)
            q.add_argument("--batch", type=int, default=500, help="wallets per journal step (default 500)")
        q.set_defaults(handler=run_ledger)


def run_ledger(args: argparse.Namespace) -> int:
    from bridge.daemon.config import StartupError, load_config

    try:
        config = load_config(args.config) if args.config else None
        url = args.url or (config.journal_url if config else None)
        if not url:
            raise StartupError(f"{args.config}: no journal.url (a cluster lives in PostgreSQL)")
        if args.ledger_command == "adopt-wallets":
            return _adopt(url, args, config)
        from bridge.daemon.store_pg import connect

        conn = connect(url, "mtbridge cluster ledger")
        try:
            text, status = _read(conn, args)
        finally:
            conn.close()
        print(text)
        return status
    except (StartupError, ValueError) as exc:
        print(f"mtbridge cluster: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2


def _read(conn, args: argparse.Namespace) -> tuple[str, int]:  # noqa: ANN001
    from bridge.daemon import ledger_ops as ops

    command = args.ledger_command
    if command == "balances":
        rows, more = ops.balances_page(conn, args.kind, args.after, args.limit)
        after = rows[-1][0] if more else None
        if args.json:
            return json.dumps({"accounts": [{"account": a, "balance": str(b)} for a, b in rows], "more": more,
                               "next_after": after}), 0
        lines = [f"{'account':<32} {'balance':>16}", *(f"{a:<32} {money(b):>16}" for a, b in rows)]
        lines.append(f"more: --after {after}" if more else f"({len(rows)} accounts)")
        return "\n".join(lines), 0
    if command == "transfers":
        rows, more = ops.transfers_page(conn, args.owner, args.shard, args.kind, args.status, args.before, args.limit)
        before = rows[-1].id if more else None
        if args.json:
            return json.dumps({"transfers": [r.plain() for r in rows], "more": more, "next_before": before}), 0
        lines = [f"{'id':>7} {'key':<28} {'from':<18} {'to':<18} {'amount':>12} {'kind':<18} {'shard':<8} status"]
        lines += [f"{r.id:>7} {r.key:<28} {r.source:<18} {r.target:<18} {money(r.amount):>12} {r.kind:<18} "
                  f"{r.shard:<8} {r.status}" for r in rows]
        lines.append(f"more: --before {before}" if more else f"({len(rows)} transfers)")
        return "\n".join(lines), 0
    books = ops.books(conn)
    if args.json:
        return json.dumps({"ok": books.ok, "differences": books.differences, "summary": books.summary}), \
            0 if books.ok else 1
    lines = [*books.summary, "the books balance" if books.ok else f"{len(books.differences)} difference(s):",
             *(f"  {d}" for d in books.differences)]
    return "\n".join(lines), 0 if books.ok else 1


def _adopt(url: str, args: argparse.Namespace, config) -> int:  # noqa: ANN001 - DaemonConfig | None
    from bridge.daemon.ledger_ops import adopt_wallets

    done = adopt_wallets(url, args.shard, config, args.batch)
    total = sum((b for _o, b in done.wallets), Decimal(0))
    lines = [f"shard {args.shard}: {len(done.wallets)} wallet(s) adopted, {money(total)} in {done.steps} step(s)"]
    if done.opening is not None:
        lines.append(f"shard {args.shard}: opening {money(done.opening)} "
                     f"({'external -> ' if done.opening > 0 else ''}shard:{args.shard}"
                     f"{' -> external' if done.opening < 0 else ''}), key {args.shard}:opening")
    print("\n".join(lines))
    return 0
