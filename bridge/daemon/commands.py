"""`mtbridge daemon` and `mtbridge keys`: argument parsing only; the work is in the package.

Wire into bridge/cli.py with `add_commands(commands)` inside `build_parser()`. Stand-alone:
`mtbridge daemon --config FILE` (or `python -m bridge.cli daemon ...`).

Exit status of `mtbridge daemon`: 0 after a clean stop (SIGTERM/SIGINT), 1 when a task crashed
(the `daemon.task_crashed` line carries the exception), 2 when it cannot start (bad config,
journal missing or in use, an endpoint that cannot be bound): one line on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bridge.daemon.keys import (LOGINLESS_ROLES, ROLES, KeyPair, allow_entry_toml, generate_keypair, keypair_toml,
                                read_keypair, upsert_allow_entry, write_keypair)

LOG_LEVELS = ("debug", "info", "warning", "error")


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register the `daemon` and `keys` subcommands on an argparse subparsers object."""
    p = commands.add_parser(
        "daemon", help="run the copy-trading daemon (ZeroMQ ROUTER for terminals, PUB feed, SQLite or "
                       "PostgreSQL journal)",
        description="Run the mtbridge daemon. Terminals connect with DEALER sockets over CURVE; see "
                    "docs/operations.md for the config reference.",
        epilog="example: mtbridge daemon --config /etc/mtbridge/daemon.toml",
    )
    p.add_argument("--config", metavar="FILE", help="daemon TOML config file (required)")
    p.add_argument("--insecure", action="store_true",
                   help="run WITHOUT CURVE (plain text, any login accepted): local tests only, warned loudly")
    p.add_argument("--pretty", action="store_true", help="human-readable console logs instead of JSON lines")
    p.add_argument("--log-level", default=None, choices=LOG_LEVELS, help="default info (or mtbridge --log-level)")
    p.add_argument("--endpoints-file", metavar="PATH",
                   help="write the bound endpoints (JSON) here once listening; useful with tcp://host:* ports")
    p.add_argument("--create-journal", action="store_true",
                   help="start a new, empty journal if journal.path does not exist, or create the journal's tables in "
                        "the empty database of journal.url (config: journal.create = true); "
                        "without it a missing journal is an error, so a mistyped path never starts an empty state")
    p.add_argument("--check-config", action="store_true",
                   help="validate the config (keys, allow-list, rule tables, journal path) and exit: 0 ok, 2 not")
    p.add_argument("--migrate", action="store_true",
                   help="bring the journal's schema (SQLite or PostgreSQL) to this version and exit; a start "
                        "migrates too, this runs it apart (e.g. as the tables' owner): 0 ok, 2 not")
    p.set_defaults(handler=run_daemon)
    ds = p.add_subparsers(dest="daemon_command", metavar="ACTION")
    b = ds.add_parser("backup", help="copy the journal while the daemon runs (SQLite online backup), checked",
                      description="Copy the journal named in the config to OUT with SQLite's online backup API: "
                                  "safe while the daemon runs; the copy is integrity-checked. See docs/operations.md.",
                      epilog="example: mtbridge daemon backup --config /etc/mtbridge/daemon.toml "
                             "/var/backups/mtbridge/journal-$(date +%%F).db")
    b.add_argument("--config", required=True, metavar="FILE", help="daemon TOML config file")
    b.add_argument("out", metavar="OUT", help="the backup file to write (must not exist)")
    b.set_defaults(handler=run_backup)
    r = ds.add_parser("restore", help="put a backup in place of the journal (the daemon must be stopped)",
                      description="Check BACKUP and copy it to journal.path. Refuses while a daemon holds the "
                                  "journal, and refuses to replace an existing journal without --force.",
                      epilog="example: systemctl stop mtbridge && mtbridge daemon restore --config "
                             "/etc/mtbridge/daemon.toml journal-2026-12-01.db --force && systemctl start mtbridge")
    r.add_argument("--config", required=True, metavar="FILE", help="daemon TOML config file")
    r.add_argument("backup", metavar="BACKUP", help="a file written by `mtbridge daemon backup`")
    r.add_argument("--force", action="store_true", help="replace an existing journal")
    r.set_defaults(handler=run_restore)

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
    srv.add_argument("--force", action="store_true",
                     help="replace an existing server key pair (every terminal then needs the new server.pub)")
    srv.set_defaults(handler=run_keys_server)
    term = ks.add_parser("terminal", help="a terminal's key pair and its allow-list entry")
    term.add_argument("name", help="key name (the id the daemon logs and binds logins to)")
    term.add_argument("--login", type=int, action="append", default=[], metavar="LOGIN",
                      help="an account this key may speak for (repeat for several)")
    term.add_argument("--role", default="trader", choices=ROLES,
                      help="trader | investor (terminals, need --login), admin (back office and feed), "
                           "monitor (feed only: mtbridge monitor / dashboard); default trader")
    term.add_argument("--out", metavar="DIR", help="write NAME.key (mode 0600) here; without it, print the pair")
    term.add_argument("--allow-list", metavar="FILE",
                      help="add the [[allow]] entry to this TOML file, or update NAME's entry in place")
    term.add_argument("--force", action="store_true",
                      help="generate a new key pair even if NAME has one (rotation: the terminal needs the new file)")
    term.set_defaults(handler=run_keys_terminal)


def run_daemon(args: argparse.Namespace) -> int:
    import dataclasses

    from bridge.daemon.config import StartupError, load_config
    from bridge.daemon.running import configure_logging
    from bridge.daemon.server import Daemon

    if not args.config:
        print("mtbridge daemon: error: --config FILE is required (see --help)", file=sys.stderr)
        return 2
    configure_logging(args.pretty, args.log_level or getattr(args, "root_log_level", None) or "info")
    try:
        config = load_config(args.config)
        if args.create_journal:
            config = dataclasses.replace(config, journal_create=True)
        if args.check_config:
            return _check_config(config, args.insecure)
        if args.migrate:
            from bridge.daemon.store_open import migrate_journal

            print(migrate_journal(config))
            return 0
        daemon = Daemon(config, insecure=args.insecure, endpoints_file=args.endpoints_file)
        asyncio.run(daemon.run())
    except StartupError as exc:
        print(f"mtbridge daemon: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 1 if daemon.crashed is not None else 0


def _check_config(config: object, insecure: bool) -> int:
    """`--check-config`: everything a start would refuse before it binds, without starting
    (the same checks the start makes: bridge.daemon.config)."""
    from bridge.daemon.config import DaemonConfig, check_server_key
    from bridge.daemon.store_open import check_journal

    assert isinstance(config, DaemonConfig)
    journal = check_journal(config)
    check_server_key(config, insecure)
    print(f"{config.source}: ok: router {config.router}, pub {config.pub}, admin {config.admin or 'off'}, "
          f"health {config.health or 'off'}, {len(config.allow)} allow-list keys, "
          f"rule tables {'own' if config.rules is not None else 'packaged'}")
    print(journal)
    return 0


def _journal_of(config_file: str) -> Path:
    from bridge.daemon.config import load_config

    config = load_config(config_file)
    if config.journal_url:
        from bridge.daemon.config import StartupError

        raise StartupError("journal.url is a PostgreSQL journal: back it up and restore it with pg_dump / "
                           "pg_restore (docs/operations.md, \"Running on PostgreSQL\")")
    return config.journal_path


def run_backup(args: argparse.Namespace) -> int:
    from bridge.daemon.backup import backup_journal
    from bridge.daemon.config import StartupError

    try:
        info = backup_journal(_journal_of(args.config), Path(args.out))
    except StartupError as exc:
        print(f"mtbridge daemon backup: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}: {info['bytes']} bytes, journal seq {info['seq']}, integrity ok")
    return 0


def run_restore(args: argparse.Namespace) -> int:
    from bridge.daemon.backup import restore_journal
    from bridge.daemon.config import StartupError

    try:
        journal = _journal_of(args.config)
        info = restore_journal(Path(args.backup), journal, force=args.force)
    except StartupError as exc:
        print(f"mtbridge daemon restore: error: {exc}", file=sys.stderr)
        return 2
    print(f"restored {args.backup} to {journal}: journal seq {info['seq']}, integrity ok")
    return 0


def _fail(msg: str) -> int:
    print(f"mtbridge keys: error: {msg}", file=sys.stderr)
    return 2


def run_keys_server(args: argparse.Namespace) -> int:
    if args.out:
        out = Path(args.out)
        existing = [p for p in (out / "server.key", out / "server.pub") if p.exists()]
        if existing and not args.force:
            return _fail(f"{existing[0]} exists: replacing the server key pair breaks every terminal until it gets "
                         "the new server.pub; use --force to replace it")
    pair = generate_keypair()
    if args.out:
        write_keypair(out / "server.key", pair, "mtbridge daemon key pair: keep secret")
        write_keypair(out / "server.pub", KeyPair(pair.public, None), "mtbridge daemon public key: give to terminals")
        print(f"wrote {out / 'server.key'} (secret, mode 0600) and {out / 'server.pub'}")
        print(f"# daemon config:\n[security]\nserver_key_file = \"{out / 'server.key'}\"")
    else:
        print(keypair_toml(pair, "mtbridge daemon key pair: keep secret"), end="")
    print(f"# terminals set ZMQ_CURVE_SERVERKEY to:\n# {pair.public}")
    return 0


def run_keys_terminal(args: argparse.Namespace) -> int:
    """A new pair, or (re-run without --force) the existing one of NAME: its key file, else the
    public key already on the allow-list; the allow-list entry is added or updated in place."""
    if args.role not in LOGINLESS_ROLES and not args.login:
        return _fail(f"a {args.role} key needs at least one --login")
    if args.role == "monitor" and args.login:
        return _fail("a monitor key reads the feed only: no --login")
    from bridge.daemon.keys import _NAME, allow_entry_public

    if not _NAME.match(args.name):
        return _fail("NAME must be 1-64 characters of A-Z a-z 0-9 _ . : @ -")
    key_path = Path(args.out) / f"{args.name}.key" if args.out else None
    pair: KeyPair | None = None
    try:
        if not args.force and key_path is not None and key_path.exists():
            pair = read_keypair(key_path)
            if pair.secret is None:
                return _fail(f"{key_path} holds no secret key; use --force to replace it")
        elif not args.force and args.allow_list and Path(args.allow_list).exists():
            public = allow_entry_public(Path(args.allow_list), args.name)
            pair = KeyPair(public, None) if public else None
    except (OSError, ValueError) as exc:
        return _fail(f"{key_path or args.allow_list}: {exc}")
    reused = pair is not None
    if pair is None:
        pair = generate_keypair()
    entry = allow_entry_toml(args.name, pair.public, args.login, args.role)
    if key_path is not None and not reused:
        write_keypair(key_path, pair, f"terminal key pair of {args.name}: install on the terminal only")
        print(f"wrote {key_path} (secret, mode 0600)")
    elif reused:
        print(f"kept the existing key pair of {args.name} (--force makes a new one)")
    else:
        print(keypair_toml(pair, f"terminal key pair of {args.name}: install on the terminal only"))
    if args.allow_list:
        try:
            action = upsert_allow_entry(Path(args.allow_list), args.name, entry)
        except ValueError as exc:
            return _fail(str(exc))
        print(f"{action} the allow-list entry of {args.name} in {args.allow_list} "
              "(a running daemon applies it on SIGHUP)")
    print("# allow-list entry (daemon side):")
    print(entry, end="")
    return 0
