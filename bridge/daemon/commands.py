"""`mtbridge daemon` and `mtbridge keys`: argument parsing only; the work is in the package.

Wire into bridge/cli.py with `add_commands(commands)` inside `build_parser()`. Stand-alone:
`mtbridge daemon --config FILE` (or `python -m bridge.cli daemon ...`).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bridge.daemon.keys import (LOGINLESS_ROLES, ROLES, KeyPair, allow_entry_toml, generate_keypair, keypair_toml,
                                write_keypair)


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register the `daemon` and `keys` subcommands on an argparse subparsers object."""
    p = commands.add_parser(
        "daemon", help="run the copy-trading daemon (ZeroMQ ROUTER for terminals, PUB feed, SQLite journal)",
        description="Run the mtbridge daemon. Terminals connect with DEALER sockets over CURVE; see "
                    "docs/operations.md for the config reference.",
        epilog="example: mtbridge daemon --config /etc/mtbridge/daemon.toml",
    )
    p.add_argument("--config", required=True, metavar="FILE", help="daemon TOML config file")
    p.add_argument("--insecure", action="store_true",
                   help="run WITHOUT CURVE (plain text, any login accepted): local tests only, warned loudly")
    p.add_argument("--pretty", action="store_true", help="human-readable console logs instead of JSON lines")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    p.add_argument("--endpoints-file", metavar="PATH",
                   help="write the bound endpoints (JSON) here once listening; useful with tcp://host:* ports")
    p.set_defaults(handler=run_daemon)

    k = commands.add_parser(
        "keys", help="generate CURVE key pairs and allow-list entries",
        description="Generate the daemon's server key pair, or a terminal key pair with its allow-list entry.",
        epilog="examples: mtbridge keys server --out keys/ ; "
               "mtbridge keys terminal trader-1001 --login 1001 --role trader --out keys/ --allow-list keys/allow.toml",
    )
    ks = k.add_subparsers(dest="keys_command", metavar="KIND")
    ks.required = True
    srv = ks.add_parser("server", help="the daemon's key pair (server.key secret, server.pub public)")
    srv.add_argument("--out", metavar="DIR", help="write server.key (mode 0600) and server.pub here; "
                                                  "without it, print the pair")
    srv.set_defaults(handler=run_keys_server)
    term = ks.add_parser("terminal", help="a terminal's key pair and its allow-list entry")
    term.add_argument("name", help="key name (the id the daemon logs and binds logins to)")
    term.add_argument("--login", type=int, action="append", default=[], metavar="LOGIN",
                      help="an account this key may speak for (repeat for several)")
    term.add_argument("--role", default="trader", choices=ROLES,
                      help="trader | investor (terminals, need --login), admin (back office and feed), "
                           "monitor (feed only: mtbridge monitor / dashboard); default trader")
    term.add_argument("--out", metavar="DIR", help="write NAME.key (mode 0600) here; without it, print the pair")
    term.add_argument("--allow-list", metavar="FILE", help="append the [[allow]] entry to this TOML file")
    term.set_defaults(handler=run_keys_terminal)


def run_daemon(args: argparse.Namespace) -> int:
    from bridge.daemon.config import ConfigError, load_config
    from bridge.daemon.running import configure_logging
    from bridge.daemon.server import Daemon

    configure_logging(args.pretty, args.log_level)
    try:
        config = load_config(args.config)
        daemon = Daemon(config, insecure=args.insecure, endpoints_file=args.endpoints_file)
    except ConfigError as exc:
        print(f"mtbridge daemon: error: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(daemon.run())
    except KeyboardInterrupt:
        pass
    return 0


def run_keys_server(args: argparse.Namespace) -> int:
    pair = generate_keypair()
    if args.out:
        out = Path(args.out)
        write_keypair(out / "server.key", pair, "mtbridge daemon key pair: keep secret")
        write_keypair(out / "server.pub", KeyPair(pair.public, None), "mtbridge daemon public key: give to terminals")
        print(f"wrote {out / 'server.key'} (secret, mode 0600) and {out / 'server.pub'}")
        print(f"# daemon config:\n[security]\nserver_key_file = \"{out / 'server.key'}\"")
    else:
        print(keypair_toml(pair, "mtbridge daemon key pair: keep secret"), end="")
    print(f"# terminals set ZMQ_CURVE_SERVERKEY to:\n# {pair.public}")
    return 0


def run_keys_terminal(args: argparse.Namespace) -> int:
    if args.role not in LOGINLESS_ROLES and not args.login:
        print(f"mtbridge keys: error: a {args.role} key needs at least one --login", file=sys.stderr)
        return 2
    if args.role == "monitor" and args.login:
        print("mtbridge keys: error: a monitor key reads the feed only: no --login", file=sys.stderr)
        return 2
    from bridge.daemon.keys import _NAME

    if not _NAME.match(args.name):
        print("mtbridge keys: error: NAME must be 1-64 characters of A-Z a-z 0-9 _ . : @ -", file=sys.stderr)
        return 2
    pair = generate_keypair()
    entry = allow_entry_toml(args.name, pair.public, args.login, args.role)
    if args.out:
        path = Path(args.out) / f"{args.name}.key"
        write_keypair(path, pair, f"terminal key pair of {args.name}: install on the terminal only")
        print(f"wrote {path} (secret, mode 0600)")
    else:
        print(keypair_toml(pair, f"terminal key pair of {args.name}: install on the terminal only"))
    if args.allow_list:
        with open(args.allow_list, "a", encoding="utf-8") as f:
            f.write("\n" + entry)
        print(f"appended the allow-list entry to {args.allow_list}")
    print("# allow-list entry (daemon side):")
    print(entry, end="")
    return 0
