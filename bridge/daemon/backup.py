"""Journal backup and restore with SQLite's online backup API.

`backup_journal` copies a journal while the daemon keeps writing (the API restarts the copy
of the pages a write changed, and a reader of a WAL database sees one committed state), into
a temporary file that is integrity-checked and then renamed: a backup file that exists is a
whole, checked journal. The steps the write-ahead file (`<journal>-ahead`) holds beyond the
copied state are applied to the copy: it has every command sent before the backup began.
`restore_journal` puts one back: only while no daemon holds the journal's lock, and over an
existing journal only with `force` (the replaced journal's write-ahead file goes too: its
steps continue that journal, not the backup).

Example: `mtbridge daemon backup --config daemon.toml /backups/j.db` prints
`wrote /backups/j.db: 1482752 bytes, journal seq 90412, integrity ok`; restoring it and
starting the daemon recovers the state of seq 90412 (commands pending then are re-sent under
their keys, which terminals deduplicate).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from bridge.daemon.config import StartupError
from bridge.daemon.store import SCHEMA_VERSION, JournalLock, JournalLocked
from bridge.daemon.store_ahead import apply_ahead, read_ahead

PAGES_PER_STEP = 1024  # the daemon's writes interleave between steps


def _check(db: sqlite3.Connection, what: Path) -> int:
    """Integrity and schema of a journal; its last event seq."""
    ok = db.execute("PRAGMA integrity_check").fetchone()[0]
    if ok != "ok":
        raise StartupError(f"{what}: integrity check failed: {ok}")
    try:
        schema = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        seq = db.execute("SELECT max(seq) FROM events").fetchone()[0] or 0
    except sqlite3.DatabaseError as exc:
        raise StartupError(f"{what}: not an mtbridge journal ({exc})") from None
    if schema is None or int(schema[0]) > SCHEMA_VERSION:
        raise StartupError(f"{what}: not an mtbridge journal of schema <= {SCHEMA_VERSION}")
    return seq


def backup_journal(journal: Path, out: Path) -> dict:
    if not journal.exists():
        raise StartupError(f"journal {journal} does not exist")
    if out.exists():
        raise StartupError(f"{out} exists: choose a new file name")
    tmp = out.with_name(out.name + ".partial")
    tmp.unlink(missing_ok=True)
    ahead = read_ahead(Path(f"{journal}-ahead"))  # before the database: see store_ahead.py
    src = sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(tmp, isolation_level=None)
        try:
            src.backup(dst, pages=PAGES_PER_STEP)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            apply_ahead(dst, ahead)
            seq = _check(dst, tmp)
        finally:
            dst.close()
    except sqlite3.Error as exc:
        tmp.unlink(missing_ok=True)
        raise StartupError(f"backup of {journal} failed: {exc}") from None
    finally:
        src.close()
    os.chmod(tmp, 0o600)
    tmp.replace(out)
    return {"bytes": out.stat().st_size, "seq": seq}


def restore_journal(backup: Path, journal: Path, *, force: bool = False) -> dict:
    if not backup.exists():
        raise StartupError(f"backup {backup} does not exist")
    src = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        seq = _check(src, backup)
        if journal.exists() and not force:
            raise StartupError(f"journal {journal} exists: stop the daemon and add --force to replace it")
        journal.parent.mkdir(parents=True, exist_ok=True)
        try:
            lock = JournalLock(journal)
        except JournalLocked as exc:
            raise StartupError(f"{exc}: stop the daemon first") from None
        try:
            if not journal.exists():
                os.close(os.open(journal, os.O_WRONLY | os.O_CREAT, 0o600))
            Path(f"{journal}-ahead").unlink(missing_ok=True)
            dst = sqlite3.connect(journal)
            try:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode=WAL")
                dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                dst.close()
        finally:
            lock.release()
    finally:
        src.close()
    return {"seq": seq}
