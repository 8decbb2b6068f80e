"""`mtbridge monitor` and `mtbridge dashboard`: argument parsing and wiring only.

Wire into bridge/cli.py with `add_commands(commands)` inside `build_parser()`:

    from bridge.monitor.commands import add_commands as add_monitor_commands
    add_monitor_commands(commands)

Run as `mtbridge monitor ...` / `mtbridge dashboard ...`.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import sys
import threading
import time
import tomllib
from pathlib import Path
from typing import Any

SECRET_ENV = "MTBRIDGE_DASHBOARD_SECRET"


def _feed_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--connect", metavar="ADDRESS",
                   help="the daemon's PUB feed, e.g. tcp://127.0.0.1:5571 (daemon.pub in its config)")
    p.add_argument("--server-key", metavar="KEY",
                   help="the daemon's CURVE public key: 40 Z85 characters, or a key file (server.pub)")
    p.add_argument("--client-key", metavar="FILE",
                   help="this viewer's CURVE key pair file, listed on the daemon's allow-list (required unless "
                        "--insecure): mtbridge keys terminal NAME --role monitor --out DIR --allow-list allow.toml")
    p.add_argument("--insecure", action="store_true", help="plain-text feed (daemon started with --insecure)")
    p.add_argument("--replay", metavar="FILE", help="read a recorded feed (JSON lines) instead of connecting")
    p.add_argument("--cluster", metavar="URL",
                   help="daemons sharded by trader: one desk over every shard owner's feed, found in the cluster's "
                        "lease table (postgresql://...) and followed when a shard moves (docs/scaling.md)")
    p.add_argument("--feed", action="append", default=None, metavar="[SHARD=]ADDRESS",
                   help="one desk over these daemons' feeds (repeat the option; SHARD= names the source by its "
                        "shard, what dealer actions route by); instead of --connect")
    p.add_argument("--follow-s", type=float, default=None, metavar="S",
                   help="cluster mode: re-read the lease table every S seconds (default 2)")


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register `monitor` and `dashboard` on an argparse subparsers object."""
    m = commands.add_parser(
        "monitor", help="live console view of the daemon's monitoring feed",
        description="Accounts by margin level (coloured at the margin-call and stop-out levels), exposure per "
                    "symbol, the latest events and copy latency p50/p99, live from the daemon's PUB feed. "
                    "Reconnects and resyncs from the daemon's snapshot on its own. See docs/monitoring.md.",
        epilog="example: mtbridge monitor --connect tcp://127.0.0.1:5571 --server-key keys/server.pub "
               "--client-key keys/desk.key; a cluster: mtbridge monitor --cluster postgresql://... --server-key "
               "keys/server.pub --client-key keys/desk.key (docs/monitoring.md, \"Cluster mode\")",
    )
    _feed_args(m)
    m.add_argument("--refresh", type=float, default=0.5, metavar="S", help="redraw at least every S seconds")
    m.add_argument("--duration", type=float, default=None, metavar="S", help=argparse.SUPPRESS)
    m.add_argument("--width", type=int, default=None, help="console width (default: the terminal's)")
    m.set_defaults(handler=run_monitor_command)

    h = commands.add_parser(
        "history", help="export the desk's history (closed deals, copy trades, subscriptions) as CSV",
        description="Reads the dashboard's desk journal (--desk-db; safe while the dashboard runs) and writes CSV "
                    "to stdout: `deals` = every account's own closed deals (a trader's too) with open and close "
                    "price and P/L; `trades` = investor copies opened and closed; `subscriptions` = every "
                    "subscription, ended ones included. The same files as the dashboard's /history.csv?what=.",
        epilog="example: mtbridge history --desk-db desk.sqlite deals --account 12716506 > trader-deals.csv",
    )
    h.add_argument("what", choices=("deals", "trades", "subscriptions"), help="which history")
    h.add_argument("--desk-db", metavar="FILE", required=True, help="the dashboard's --desk-db file")
    h.add_argument("--account", type=int, metavar="LOGIN", default=None, help="one account only")
    h.set_defaults(handler=run_history_command)

    d = commands.add_parser(
        "dashboard", help="web dashboard (Starlette + uvicorn): desk, investor area, public trader pages, /metrics",
        description="Serve the web dashboard fed by the daemon's PUB feed: the console's views with live updates "
                    "(SSE), margin-level charts, public trader statistics, the investor area and Prometheus "
                    "metrics. See docs/monitoring.md for the users file and the access model.",
        epilog="example: mtbridge dashboard --connect tcp://127.0.0.1:5571 --server-key keys/server.pub "
               "--client-key keys/desk.key --users users.toml --session-secret-file secret.txt --port 8080 "
               "(password hashes for users.toml: mtbridge dashboard --hash-password)",
    )
    _feed_args(d)
    d.add_argument("--config", metavar="FILE", help="TOML with a [dashboard] table (keys: the long option names "
                                                    "with _ for -); options given on the command line win")
    d.add_argument("--users", metavar="FILE", help="users TOML (dealers, investors; scrypt hashes)")
    d.add_argument("--session-secret-file", metavar="FILE",
                   help=f"file holding the session signing secret (>= 32 chars); or set ${SECRET_ENV}")
    d.add_argument("--https-only", action="store_true", default=None,
                   help="always mark the session cookie Secure (it is anyway over --tls-cert or a trusted proxy "
                        "header that says https)")
    d.add_argument("--trusted-proto-header", metavar="NAME",
                   help="behind a TLS reverse proxy: the header carrying the client's scheme, e.g. X-Forwarded-Proto "
                        "(only if the dashboard is reachable through that proxy alone)")
    d.add_argument("--tls-cert", metavar="FILE", help="serve HTTPS directly with this certificate (PEM)")
    d.add_argument("--tls-key", metavar="FILE", help="the private key of --tls-cert (PEM)")
    d.add_argument("--metrics-token-file", metavar="FILE",
                   help="bearer token for Prometheus scrapes of /metrics (dealers may read it when logged in)")
    d.add_argument("--desk-db", metavar="FILE",
                   help="the dashboard's own SQLite journal: alerts, acknowledgements, investor history "
                        "(default: kept in memory, lost at restart)")
    d.add_argument("--alerts-keep", type=int, default=None, metavar="N", help="keep the newest N alerts (default 5000)")
    d.add_argument("--alert-offline-after-s", type=int, default=None, metavar="S",
                   help="alert when a terminal is offline this long (default 60)")
    d.add_argument("--alert-refused-per-min", type=int, default=None, metavar="N",
                   help="alert when this many copies are refused within a minute (default 20)")
    d.add_argument("--admin-endpoint", metavar="ADDRESS",
                   help="the daemon's admin endpoint, for dealer actions (without it the buttons are hidden)")
    d.add_argument("--admin-key", metavar="FILE",
                   help="a key pair file (with its secret) of role admin on the daemon's allow-list; the daemon's "
                        "public key is --server-key")
    d.add_argument("--host", default=None, help="listen address (default 127.0.0.1)")
    d.add_argument("--port", type=int, default=None, help="listen port (default 8080; 0 = any free port)")
    d.add_argument("--hash-password", action="store_true",
                   help="read a password (prompt, or stdin when not a terminal), print its scrypt hash for the "
                        "users file, and exit")
    d.set_defaults(handler=run_dashboard_command)


# ------------------------------------------------------------------------------ monitor
def _curve(args: argparse.Namespace) -> Any:
    from bridge.monitor.feed import curve_from_args

    if args.insecure:
        return None
    if not args.client_key:  # an ephemeral key is on no allow-list: the handshake could never pass
        raise ValueError("--client-key FILE is required: a key pair on the daemon's allow-list (mtbridge keys "
                         "terminal NAME --role monitor --out DIR --allow-list allow.toml); or --insecure for a "
                         "plain-text local feed")
    return curve_from_args(args.server_key, args.client_key)


def run_monitor_command(args: argparse.Namespace) -> int:
    from rich.console import Console

    from bridge.monitor.console import render, run_monitor

    console = Console(width=args.width) if args.width else Console()
    if args.replay:
        from bridge.monitor.feed import load_recording
        from bridge.monitor.state import MonitorState

        state = MonitorState().apply_all(load_recording(args.replay))
        console.print(render(state, state.health.last_ts, width=console.size.width))
        return 0
    try:
        feeds = _cluster_feeds(vars(args))
        if feeds is None and not args.connect:
            raise ValueError("--connect ADDRESS is required (or --cluster URL, --feed ADDRESS, --replay FILE)")
        curve = _curve(args)
    except ValueError as exc:
        print(f"mtbridge monitor: error: {exc}", file=sys.stderr)
        return 2
    if feeds is not None:
        from bridge.monitor.console import run_cluster_monitor

        return run_cluster_monitor(feeds, curve=curve, refresh=args.refresh, duration=args.duration,
                                   console=console, follow_s=args.follow_s or 2.0)
    return run_monitor(args.connect, curve=curve, refresh=args.refresh, duration=args.duration, console=console)


def _no_password(url: object) -> str:
    """postgresql://user:secret@host/db -> postgresql://user@host/db (never print a password)."""
    import re

    return re.sub(r"^([a-z]+://[^:/@]*):[^@/]*@", r"\1@", str(url)) if url else ""


def _cluster_feeds(conf: dict[str, Any]) -> Any:
    """--cluster URL / --feed ... -> the desk's feed list (None: one daemon, --connect).
    ValueError with a one-line reason for a mix that cannot be meant."""
    from bridge.monitor.feed import lease_feeds, listed_feeds

    cluster, listed = conf.get("cluster"), conf.get("feed")
    if cluster and listed:
        raise ValueError("--cluster and --feed exclude each other (the lease table, or a fixed list)")
    if (cluster or listed) and conf.get("connect"):
        raise ValueError("--connect is one daemon; with --cluster or --feed leave it out")
    if cluster:
        if not str(cluster).startswith(("postgresql://", "postgres://")):
            raise ValueError(f"--cluster {_no_password(cluster)}: expected postgresql://... (the cluster's database)")
        return lease_feeds(str(cluster))
    if listed:
        return listed_feeds([str(x) for x in (listed if isinstance(listed, list) else [listed])])
    return None


def run_history_command(args: argparse.Namespace) -> int:
    import sqlite3

    from bridge.monitor.history import HistoryStore, deals_csv, subscriptions_csv, trades_csv

    path = Path(args.desk_db)
    if not path.is_file():  # never create an empty journal for a mistyped path
        print(f"mtbridge history: error: --desk-db {path}: no such file", file=sys.stderr)
        return 2
    try:
        store = HistoryStore(path)
    except sqlite3.Error as exc:
        print(f"mtbridge history: error: --desk-db {path}: {exc}", file=sys.stderr)
        return 2
    try:
        if args.what == "deals":
            out = deals_csv(store.deals(account=args.account))
        elif args.what == "trades":
            out = trades_csv(store.trades(account=args.account), {s.subscription: s for s in store.subscriptions()})
        else:
            out = subscriptions_csv(store.subscriptions(account=args.account))
    finally:
        store.close()
    sys.stdout.write(out)
    return 0


# ------------------------------------------------------------------------------ dashboard
class AccessLog:
    """ASGI wrapper: one structured line per HTTP request when it ends (`dashboard.request`, info),
    in the same log stream as the dashboard's other events; the path only, never the query string."""

    def __init__(self, app: Any) -> None:
        import structlog

        self.app = app
        self.log = structlog.get_logger("mtbridge.dashboard")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.monotonic(), [0]

        async def send_status(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self.log.info("dashboard.request", method=scope.get("method"), path=scope.get("path"), status=status[0],
                          ms=round((time.monotonic() - start) * 1000, 1), client=(scope.get("client") or ("-",))[0])


class DashboardServer:
    """uvicorn serving a `Dashboard` in a background thread, on an already-bound socket."""

    def __init__(self, dashboard: Any, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning",
                 tls: tuple[str, str] | None = None) -> None:
        import uvicorn

        self.dashboard = dashboard
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.host, self.port = host, self.sock.getsockname()[1]
        self.tls = tls
        config = uvicorn.Config(AccessLog(dashboard.app), log_level=log_level, access_log=False, lifespan="off",
                                timeout_graceful_shutdown=2, proxy_headers=False,
                                ssl_certfile=tls[0] if tls else None, ssl_keyfile=tls[1] if tls else None)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       name="mtbridge-dashboard", daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    def start(self, timeout: float | None = None) -> DashboardServer:
        """Until uvicorn serves, or its thread ends (a failed start ends it). No deadline by
        default: start-up costs CPU only, and a loaded machine must not turn it into a failure."""
        self.thread.start()
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or (deadline is not None and time.monotonic() > deadline):
                raise RuntimeError("the dashboard did not start")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.dashboard.stop()
        self.server.should_exit = True
        self.thread.join(timeout)
        self.sock.close()


def _read_secret(path: str | None) -> str | None:
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    return os.environ.get(SECRET_ENV) or None


def _merged(args: argparse.Namespace) -> dict[str, Any]:
    keys = ("connect", "server_key", "client_key", "insecure", "replay", "users", "session_secret_file",
            "https_only", "trusted_proto_header", "tls_cert", "tls_key", "metrics_token_file", "host", "port",
            "desk_db", "alerts_keep", "alert_offline_after_s", "alert_refused_per_min", "admin_endpoint", "admin_key",
            "cluster", "feed", "follow_s")
    conf: dict[str, Any] = {}
    if args.config:
        data = tomllib.loads(Path(args.config).read_text(encoding="utf-8"))
        table = data.get("dashboard", {})
        unknown = set(table) - set(keys)
        if unknown:
            raise ValueError(f"{args.config}: unknown key(s) in [dashboard]: {', '.join(sorted(unknown))}")
        conf.update(table)
    for k in keys:
        v = getattr(args, k, None)
        if v is not None and v is not False:
            conf[k] = v
    conf.setdefault("host", "127.0.0.1")
    conf.setdefault("port", 8080)
    return conf


def hash_password_command() -> int:
    import getpass

    from bridge.monitor.auth import MIN_PASSWORD, hash_password

    if sys.stdin.isatty():
        pw = getpass.getpass("password: ")
        if getpass.getpass("again: ") != pw:
            print("mtbridge dashboard: error: the passwords differ", file=sys.stderr)
            return 2
    else:
        pw = sys.stdin.readline().rstrip("\n")
    if len(pw) < MIN_PASSWORD:
        print(f"mtbridge dashboard: error: a password needs at least {MIN_PASSWORD} characters", file=sys.stderr)
        return 2
    print(hash_password(pw))
    return 0


def _admin_link(conf: dict[str, Any]) -> Any:
    """--admin-endpoint + --admin-key (+ --server-key) -> the dealer actions' link, or None.
    ValueError with a one-line reason for half a configuration."""
    endpoint, key = conf.get("admin_endpoint"), conf.get("admin_key")
    cluster = conf.get("cluster")
    if not endpoint and not (cluster and key):  # a cluster: each shard's owner's admin endpoint, from its lease
        if key:
            raise ValueError("--admin-key needs --admin-endpoint (or --cluster)")
        return None
    from bridge.daemon.adminclient import admin_keys
    from bridge.monitor.web_dealer import DealerLink, lease_admins

    owners = lease_admins(str(cluster)) if cluster else None
    if conf.get("insecure"):
        return DealerLink(str(endpoint or ""), None, owners=owners)
    if not key or not conf.get("server_key"):
        raise ValueError(f"{'--admin-endpoint' if endpoint else '--cluster'} needs --admin-key FILE (role admin) "
                         "and --server-key for dealer actions")
    try:
        keys = admin_keys(str(conf["server_key"]), str(key))
    except ValueError as exc:  # the shared client names its own option: name the dashboard's
        raise ValueError(str(exc).replace("--client-key", "--admin-key", 1)) from None
    return DealerLink(str(endpoint or ""), keys, owners=owners)


def run_dashboard_command(args: argparse.Namespace) -> int:
    if args.hash_password:
        return hash_password_command()
    from bridge.monitor.auth import FileCredentialStore
    from bridge.monitor.feed import FeedSubscriber, load_recording
    from bridge.monitor.hub import MonitorHub
    from bridge.monitor.web import Dashboard, DashboardConfig

    def fail(msg: str) -> int:
        print(f"mtbridge dashboard: error: {msg}", file=sys.stderr)
        return 2

    try:
        conf = _merged(args)
        if not conf.get("users"):
            return fail("--users FILE is required (docs/monitoring.md, \"Users file\")")
        creds = FileCredentialStore(conf["users"])
        secret = _read_secret(conf.get("session_secret_file"))
        if secret is None:
            secret = secrets.token_hex(32)
            print(f"mtbridge dashboard: warning: no --session-secret-file or ${SECRET_ENV}: using a random secret; "
                  "sessions end when the dashboard restarts", file=sys.stderr)
        token_file = conf.get("metrics_token_file")
        token = Path(token_file).read_text(encoding="utf-8").strip() if token_file else None
        if bool(conf.get("tls_cert")) != bool(conf.get("tls_key")):
            return fail("--tls-cert and --tls-key go together")
        tls = (str(conf["tls_cert"]), str(conf["tls_key"])) if conf.get("tls_cert") else None
        if tls:
            import ssl

            try:
                ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(*tls)
            except (OSError, ssl.SSLError) as exc:
                return fail(f"--tls-cert/--tls-key: {exc}")
        config = DashboardConfig(session_secret=secret, https_only=bool(conf.get("https_only")), metrics_token=token,
                                 trusted_proto_header=conf.get("trusted_proto_header") or None,
                                 feed_required=not conf.get("replay"))
        ns = argparse.Namespace(insecure=bool(conf.get("insecure")), server_key=conf.get("server_key"),
                                client_key=conf.get("client_key"))
        curve = None if conf.get("replay") else _curve(ns)
        feeds = _cluster_feeds(conf)
        admin = _admin_link(conf)
    except (OSError, ValueError, tomllib.TOMLDecodeError) as exc:
        return fail(str(exc))
    from bridge.monitor.alerts import AlertConfig, AlertRules
    from bridge.monitor.alertstore import DEFAULT_KEEP, AlertStore
    from bridge.monitor.history import HistoryStore

    try:
        rules = AlertRules(AlertConfig(offline_after_ms=int(conf.get("alert_offline_after_s") or 60) * 1000,
                                       refused_per_window=int(conf.get("alert_refused_per_min") or 20)))
        db = conf.get("desk_db") or ":memory:"
        store = AlertStore(db, keep=int(conf.get("alerts_keep") or DEFAULT_KEEP))
        history = HistoryStore(db)
    except (OSError, ValueError, __import__("sqlite3").Error) as exc:
        return fail(f"--desk-db: {exc}" if "desk-db" not in str(exc) else str(exc))
    hub: Any = MonitorHub(alerts=store, rules=rules, history=history)
    sub: Any = None
    if feeds is not None:  # cluster mode: one desk over every daemon's feed
        from bridge.monitor.feed import ClusterFeeds
        from bridge.monitor.hub import DeskHub

        hub = DeskHub(alerts=store, rules=lambda: AlertRules(rules.config), history=history)
        sub = ClusterFeeds(feeds, hub, curve=curve, refresh_s=float(conf.get("follow_s") or 2.0)).start()
    elif conf.get("replay"):
        for e in load_recording(conf["replay"]):
            hub.apply(e)
    elif conf.get("connect"):
        sub = FeedSubscriber(conf["connect"], hub.apply, curve=curve, on_bad_frame=hub.bad_frame).start()
    else:
        return fail("--connect ADDRESS is required (or --replay FILE)")
    dash = Dashboard(hub, creds, config, admin=admin)
    try:
        # uvicorn's own plain-text lines would interleave with our structured ones: errors only
        server = DashboardServer(dash, conf["host"], int(conf["port"]), log_level="error", tls=tls)
    except OSError as exc:
        return fail(f"cannot listen on {conf['host']}:{conf['port']}: {exc}")
    try:
        server.start()
    except RuntimeError as exc:
        return fail(str(exc))
    import signal

    def _stop(signum: int, frame: Any) -> None:  # SIGTERM (systemd, docker stop): the same clean stop as Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    source = conf.get("connect") or conf.get("replay") or _no_password(conf.get("cluster"))
    print(f"mtbridge dashboard: serving {server.url} (feed: {source or ', '.join(conf.get('feed') or [])})",
          file=sys.stderr)
    try:
        while server.thread.is_alive():
            server.thread.join(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        if sub is not None:
            sub.stop()
        if admin is not None:
            admin.close()
        print("mtbridge dashboard: stopped", file=sys.stderr)
    return 0
