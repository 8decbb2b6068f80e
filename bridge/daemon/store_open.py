"""Which journal a configuration names, opened and locked: the SQLite file of `journal.path`
(the default) or the PostgreSQL database of `journal.url`. Every refusal is a one-line
StartupError (the CLI exits 2).

Also the two checks the CLI offers without serving: `--check-config` (is the journal there
and free?) and `--migrate` (bring its schema to this version, then exit).
"""

from __future__ import annotations

import os
import sqlite3

from bridge.daemon.config import DaemonConfig, StartupError, check_journal_exists, redact_url
from bridge.daemon.store import JournalLock, JournalLocked, SqliteStore, Store


def open_store(config: DaemonConfig) -> tuple[Store, JournalLock | None]:
    """(store, file lock); a PostgreSQL store holds its lock itself (released by `close`)."""
    if config.cluster is not None:  # one shard's journal, under its lease (bridge/daemon/cluster.py)
        from bridge.daemon.cluster import open_shard

        return open_shard(config.journal_url, config.cluster, config.synchronous, config.journal_create,
                          daemon=config), None
    if config.journal_url:
        from bridge.daemon.store_pg import PgStore

        try:
            return PgStore(config.journal_url, config.synchronous, create=config.journal_create), None
        except JournalLocked as exc:
            raise StartupError(str(exc)) from None
    path = config.journal_path
    if check_journal_exists(config):
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))  # owner only; SQLite's -wal/-shm follow
    try:
        lock = JournalLock(path)
    except JournalLocked as exc:
        raise StartupError(str(exc)) from None
    try:
        return SqliteStore(path, config.synchronous, ahead=config.synchronous != "full"), lock
    except RuntimeError as exc:  # a journal of another schema, a write-ahead file of another journal
        lock.release()
        raise StartupError(str(exc)) from None
    except BaseException:
        lock.release()
        raise


def journal_name(config: DaemonConfig) -> str:
    return redact_url(config.journal_url) if config.journal_url else str(config.journal_path)


def check_journal(config: DaemonConfig) -> str:
    """One line for `--check-config`: will be created / exists, free / in use (never waits)."""
    if not config.journal_url:
        path = config.journal_path
        if check_journal_exists(config):
            return f"journal {path}: will be created"
        try:
            JournalLock(path).release()
            return f"journal {path}: exists, free"
        except JournalLocked as exc:
            return f"{exc} (a running daemon: fine for a check before a restart)"
    from bridge.daemon.store_pg import SCHEMA_VERSION, check

    name = journal_name(config)
    version, holder = check(config.journal_url)
    if version is None and not config.journal_create:
        raise StartupError(f"journal {name} has no mtbridge journal: start a new one with --create-journal "
                           "(config: journal.create = true)")
    state = "will be created" if version is None else f"schema {version}" + (
        f" (migrated to {SCHEMA_VERSION} at start)" if version < SCHEMA_VERSION else "")
    use = "free" if holder is None else f"in use by {holder} (a running daemon: fine for a check before a restart)"
    return f"journal {name}: {state}, {use}"


def migrate_journal(config: DaemonConfig) -> str:
    """`mtbridge daemon --migrate`: open (which migrates, under the journal's lock), close."""
    name = journal_name(config)
    if config.journal_url:
        from bridge.daemon.store_pg import SCHEMA_VERSION, PgStore

        try:
            store = PgStore(config.journal_url, config.synchronous, create=config.journal_create)
        except JournalLocked as exc:
            raise StartupError(f"{exc}: stop the daemon before migrating") from None
        before = store.migrated_from
        store.close()
    else:
        from bridge.daemon.store import SCHEMA_VERSION  # type: ignore[assignment]

        before = None
        if config.journal_path.exists():
            db = sqlite3.connect(f"file:{config.journal_path}?mode=ro", uri=True)
            try:
                row = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
                before = int(row[0]) if row else None
            except sqlite3.Error:
                before = None
            finally:
                db.close()
        store, lock = open_store(config)
        store.close()
        if lock is not None:
            lock.release()
    if before is None:
        return f"journal {name}: created at schema {SCHEMA_VERSION}"
    if before == SCHEMA_VERSION:
        return f"journal {name}: schema {SCHEMA_VERSION}, up to date"
    return f"journal {name}: migrated from schema {before} to {SCHEMA_VERSION}"
