"""`mtbridge demo`: its arguments, the way in printed on stderr, the report on stdout.

Registered on the `mtbridge` command through the `mtbridge.commands` entry-point group (see
pyproject.toml and `bridge.cli`); stand-alone: `python -m mtbridge_demo [ARGS]`. The run itself
is imported only when the command runs, so `mtbridge margin` does not load the simulator.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
from collections.abc import Callable
from typing import Any

from mtbridge_demo.plan import HOUR, MINUTE, MODES, DemoConfig
from mtbridge_demo.watch import (DASHBOARD_DEFAULT, DEALER_USER, DEFAULT_PUB, WatchConfig, WatchInfo, is_loopback,
                                 parse_host_port)


def _host_port(text: str) -> tuple[str, int]:
    try:
        return parse_host_port(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _pace(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0 simulated seconds per wall second, got {text!r}")
    return value


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register `mtbridge demo` on the CLI's subparsers."""
    p = subparsers.add_parser(
        "demo", help="run the whole bridge on a seeded simulation and print a report",
        description="Start the daemon, a simulated trade server and its terminals on loopback (CURVE keys "
                    "generated on the fly), run a seeded scenario of simulated hours and print a report. "
                    "With --json, `results` is identical across runs with the same seed (with or without "
                    "--dashboard, --pace, --hold: they only watch).",
        epilog="watch it: mtbridge demo --dashboard --pace 600 --hold, then open the printed URL "
               f"(log in as {DEALER_USER} or as a printed investor account)",
    )
    p.add_argument("--seed", type=int, default=7, help="scenario seed (default 7)")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--traders", type=int, default=3, help="trader accounts (default 3)")
    p.add_argument("--investors", type=int, default=50, help="investor accounts (default 50)")
    p.add_argument("--hours", type=int, default=64,
                   help="simulated hours from Friday 12:00 (default 64: to Monday 04:00, over the weekend)")
    p.add_argument("--mode", choices=MODES, default="terminal",
                   help="terminal (default): traders and investors in EA terminals; plugin: investors have no "
                        "terminal, the gateway plugin on the trade server serves them (same business results)")
    p.add_argument("--traders-by", choices=MODES, default="terminal",
                   help="with --mode plugin: the traders' deals reported by their EA terminal (default) or by the "
                        "gateway plugin as well")
    p.add_argument("--insecure", action="store_true", help="plain-text transport (no CURVE)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument("--dashboard", nargs="?", const=DASHBOARD_DEFAULT, default=None, type=_host_port,
                   metavar="HOST:PORT",
                   help="serve the web dashboard in-process on the demo's feed (default 127.0.0.1:8050; port 0 = "
                        f"any free port); prints its URL, the dealer login `{DEALER_USER}` with a random password "
                        "and an investor login to stderr")
    p.add_argument("--pace", type=_pace, default=0.0, metavar="X",
                   help="run X simulated seconds per wall second while quotes flow (e.g. 600: an hour in 6 s; "
                        "the weekend without quotes is skipped); default 0 = as fast as possible")
    p.add_argument("--hold", action="store_true",
                   help="after the report keep the daemon (and the dashboard) running until Ctrl-C")
    p.add_argument("--pub", default=None, metavar="ADDRESS",
                   help="the daemon's feed address (default tcp://127.0.0.1:* = any free port; printed when "
                        "watching)")
    p.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite",
                   help="the journal: sqlite (default: one daemon, a file) or postgres (one daemon process per shard, "
                        "--shards; a throwaway PostgreSQL server unless --pg-url)")
    p.add_argument("--shards", type=int, default=1, metavar="N",
                   help="with --store postgres: N daemons sharded by trader (traders cut into N contiguous blocks, "
                        "each investor with its trader's shard); business results as with one daemon "
                        "(docs/scaling.md)")
    p.add_argument("--pg-url", default=None, metavar="URL",
                   help="with --store postgres: an existing database (postgresql://...) instead of a throwaway server")
    p.set_defaults(handler=run_command)


def _say(text: str) -> None:
    print(f"mtbridge demo: {text}", file=sys.stderr, flush=True)


def announce(info: WatchInfo, *, pace: float, hold: bool) -> None:
    """What a watcher needs, once, on stderr (the dealer password is not shown anywhere else)."""
    if info.url:
        _say(f"dashboard {info.url}")
        _say(f"  dealer:   {info.dealer} / {info.dealer_password}   (random, printed once)")
        if info.investors:
            inv, login, pw = info.investors[0]
            _say(f"  investor: {login} / {pw}   ({inv}; every investor account logs in with its login and "
                 "investor password)")
    _say(f"feed {info.feed} ({'CURVE' if info.curve else 'plain'}); console view from another shell:")
    _say(f"  {info.monitor_command()}")
    if info.monitor_key_file is not None:
        _say(f"  keys: server {info.server_key_file}, monitor {info.monitor_key_file} (deleted when the demo ends)")
    if pace:
        _say(f"pace: {pace:g} simulated seconds per wall second (the weekend without quotes is skipped)")
    if hold:
        _say("--hold: after the report the daemon and the dashboard keep running; Ctrl-C to stop")


def run_command(args: argparse.Namespace) -> int:
    from mtbridge_demo.report import render_text
    from mtbridge_demo.run import run_demo

    if args.traders < 1 or args.investors < 1 or args.hours < 1:
        print("mtbridge demo: error: need at least 1 trader, 1 investor and 1 hour", file=sys.stderr)
        return 2
    mode, traders_by = getattr(args, "mode", "terminal"), getattr(args, "traders_by", "terminal")
    if traders_by == "plugin" and mode != "plugin":
        print("mtbridge demo: error: --traders-by plugin needs --mode plugin (the gateway plugin)", file=sys.stderr)
        return 2
    store, shards, pg_url = getattr(args, "store", "sqlite"), getattr(args, "shards", 1), getattr(args, "pg_url", None)
    problem = _cluster_problem(store, shards, pg_url, args)
    if problem:
        print(f"mtbridge demo: error: {problem}", file=sys.stderr)
        return 2
    cfg = DemoConfig(seed=args.seed, traders=args.traders, investors=args.investors, hours=args.hours, mode=mode,
                     traders_by=traders_by)
    dashboard = getattr(args, "dashboard", None)
    pace = getattr(args, "pace", 0.0) or 0.0
    hold = bool(getattr(args, "hold", False))
    pub = getattr(args, "pub", None)
    watching = dashboard is not None or hold or bool(pace) or pub is not None
    watch = WatchConfig(dashboard=dashboard, pace=pace, pub=pub or DEFAULT_PUB, key_files=watching)
    if dashboard is not None and not is_loopback(dashboard[0]):
        _say(f"warning: the dashboard listens on {dashboard[0]}, not loopback; the demo's investor accounts share "
             "one well-known investor password")
    show = not args.no_progress and sys.stderr.isatty()
    bar: Any = None
    if show:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        bar = Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.fields[sim]}"), TimeElapsedColumn(),
                       transient=True, console=__import__("rich.console").console.Console(stderr=True))
        task = bar.add_task("demo", total=cfg.hours * HOUR, sim="")

        def progress(done: int, total_: int) -> None:
            h, m = divmod(done // MINUTE, 60)
            bar.update(task, completed=done, sim=f"{h:02d}:{m:02d} of {cfg.hours:02d}:00 simulated")
    else:
        progress = None  # type: ignore[assignment]
    printed: list[dict] = []
    ready: list[WatchInfo] = []

    def on_ready(info: WatchInfo) -> None:
        ready.append(info)
        if watching:
            announce(info, pace=pace, hold=hold)
        if show:
            bar.start()

    def on_report(report: dict) -> None:
        if show:
            bar.stop()
        if args.json:
            print(json.dumps(report, indent=2, sort_keys=False), flush=True)
        else:
            text = render_text(report)
            if "cluster" in report:
                from mtbridge_demo.shards import render_cluster

                text = "\n".join([text, *render_cluster(report["cluster"])])
            print(text, flush=True)
        printed.append(report)
        if hold:
            url = ready[0].url if ready else None
            _say("the run is over; the daemon" + (f" and the dashboard ({url})" if url else "") +
                 " keep running. Ctrl-C to stop")

    async def wait_forever() -> None:
        """--hold: until Ctrl-C (asyncio.run cancels the run) or SIGTERM (ends the hold)."""
        import signal

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGTERM, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here
            pass
        try:
            await stop.wait()
        finally:
            try:
                loop.remove_signal_handler(signal.SIGTERM)
            except (NotImplementedError, RuntimeError, ValueError):
                pass

    import zmq

    restore = _log_to_stderr() if dashboard is not None else None
    try:
        asyncio.run(run_demo(cfg, progress=progress, insecure=args.insecure, watch=watch, on_ready=on_ready,
                             on_report=on_report, hold=wait_forever if hold else None,
                             shards=shards if store == "postgres" else 0, pg_url=pg_url))
    except KeyboardInterrupt:
        if not printed:
            _say("interrupted")
            return 130
    except (OSError, zmq.ZMQError) as exc:  # a busy --dashboard port or --pub address
        _say(f"error: {exc}")
        return 2
    finally:
        if show and bar.live.is_started:
            bar.stop()
        if restore is not None:
            restore()
    return 0


def _cluster_problem(store: str, shards: int, pg_url: str | None, args: argparse.Namespace) -> str | None:
    """Why --store/--shards/--pg-url cannot run as given (one line), or None."""
    if store == "sqlite":
        if shards != 1:
            return "--shards needs --store postgres (daemons sharded by trader share one PostgreSQL)"
        if pg_url:
            return "--pg-url needs --store postgres"
        return None
    if not 1 <= shards <= args.traders:
        return f"--shards {shards}: between 1 and the number of traders ({args.traders})"
    if getattr(args, "mode", "terminal") != "terminal":
        return "--store postgres runs --mode terminal only (the gateway plugin serves one daemon)"
    if any(getattr(args, k, None) for k in ("dashboard", "pace", "hold", "pub")):
        return "--store postgres does not watch (--dashboard, --pace, --hold, --pub show one daemon's feed)"
    if pg_url is not None and not pg_url.startswith(("postgresql://", "postgres://")):
        return f"--pg-url {pg_url!r}: not a postgresql:// URL"
    return None


def _log_to_stderr() -> Callable[[], None]:
    """The dashboard logs with structlog (stdout by default): send it to stderr, warnings only, so
    stdout holds the report alone. Returns a function restoring the previous configuration."""
    import structlog

    from bridge.daemon.running import configure_logging

    previous = structlog.get_config()
    configure_logging(pretty=True, level="warning")
    return lambda: structlog.configure(**previous)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mtbridge")
    add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["demo", *(argv or [])])
    return args.handler(args)
