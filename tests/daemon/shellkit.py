"""The daemon's shell (`bridge.daemon.server.Daemon`) with no sockets bound and no loop of its
own, for tests of its turn logic: a core recovered from a throwaway SQLite journal, closed
with `close_shell`."""

from __future__ import annotations

from pathlib import Path

from bridge.daemon.config import parse_config
from bridge.daemon.core import DaemonCore
from bridge.daemon.server import Daemon
from bridge.daemon.store import SqliteStore

T0 = 1_700_000_000_000


def shell_daemon(tmp: Path, **daemon: object) -> Daemon:
    """`daemon`: [daemon] settings over the defaults (ingest_budget_ms 20)."""
    cfg = parse_config({"daemon": {"ingest_budget_ms": 20, **daemon}})
    store = SqliteStore(tmp / "j.db")
    d = Daemon(cfg, insecure=True, store=store)
    d.core = DaemonCore.recover(cfg, store.recover(), now=T0, insecure=True, instance="t")
    return d


def close_shell(d: Daemon) -> None:
    d._closed = True
    d.ctx.term()
    d.store.close()
