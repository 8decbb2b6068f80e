"""What only the PostgreSQL journal has: versioned migrations, the advisory journal lock, the
fencing of snapshots by that lock, and `journal.url` in the configuration and the CLI. The
contract both stores share runs in test_snapshots.py (the `journal` fixture). A real server:
the session's throwaway cluster (tests/conftest.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.cli import main
from bridge.daemon.config import ConfigError, parse_config
from bridge.daemon.core import DaemonCore
from bridge.daemon.store import Batch, CommandRow, JournalLocked
from journalkit import Journal
from tests.daemon.test_snapshots import busy_core
from tests.daemon.test_daemon_core import T0

psycopg = pytest.importorskip("psycopg")
from bridge.daemon.store_pg import MIGRATIONS, SCHEMA_VERSION, PgStore  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pg(pg_url: str, tmp_path: Path) -> Journal:
    return Journal("postgres", tmp_path, pg_url)


def write_config(tmp_path: Path, url: str, create: bool = True) -> Path:
    cfg = tmp_path / "daemon.toml"
    cfg.write_text('[daemon]\nrouter = "tcp://127.0.0.1:*"\npub = "tcp://127.0.0.1:*"\nadmin = ""\n'
                   f'[journal]\nurl = "{url}"\ncreate = {"true" if create else "false"}\n')
    return cfg


def indexes(pg: Journal) -> set[str]:
    return {r[0] for r in pg.sql("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")}


# ---------------------------------------------------------------------- migrations
BLOBS = (("command_batches", "rows"), ("snapshot_parts", "data"), ("snapshots", "state"))


def make_schema_1(pg: Journal) -> None:
    """Take a journal back to schema 1: what steps 2 (indexes), 3 (lz4), 4 (the cluster's
    schema), 5 (its ledger tables, in that schema) and 6 (columns of those tables) changed is
    undone, the version says 1."""
    assert [m[0] for m in MIGRATIONS] == [1, 2, 3, 4, 5, 6]  # a new step: undo it here too
    pg.sql("DROP SCHEMA mtbridge_cluster CASCADE")
    pg.sql("DROP INDEX records_topic")
    pg.sql("DROP INDEX command_batches_seq_hi")
    for table, column in BLOBS:
        pg.sql(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION default")
        pg.sql(f"ALTER TABLE {table} ALTER COLUMN {column} SET STORAGE EXTENDED")
    pg.sql("UPDATE meta SET value = '1' WHERE key = 'schema'")


def blob_storage(pg: Journal) -> set[tuple]:
    """How the blob columns are stored: (compression, storage) -- ('l', 'x') is lz4, ('', 'e') none."""
    return {tuple(r) for r in pg.sql(
        "SELECT attcompression::text, attstorage::text FROM pg_attribute WHERE (attrelid::regclass::text, attname) "
        "IN (('command_batches', 'rows'), ('snapshot_parts', 'data'), ('snapshots', 'state'))")}


def test_an_older_schema_is_upgraded_on_start_and_keeps_the_journal(pg: Journal, tmp_path: Path) -> None:
    """"Schema migrations that are versioned and applied on start (or by an explicit command),
    with a test that upgrades an older schema." (issue 16, section 1)"""
    cfg, store, core, _ = busy_core(tmp_path, store=pg.open(lock=True))
    before, pending = core.engine.to_state(), sorted(core.pending)
    store.close()
    make_schema_1(pg)
    assert not {"records_topic", "command_batches_seq_hi"} & indexes(pg)
    assert blob_storage(pg) == {("", "x")}  # pglz, the server's default
    store2 = pg.open(lock=True)  # the start migrates
    assert store2.migrated_from == 1 and SCHEMA_VERSION == 6
    assert pg.sql("SELECT value FROM meta WHERE key = 'schema'") == [("6",)]
    assert {"records_topic", "command_batches_seq_hi"} <= indexes(pg)
    assert {r[0] for r in pg.sql("SELECT column_name FROM information_schema.columns WHERE table_schema = "
                                 "'mtbridge_cluster' AND table_name = 'ledger_transfers'")} >= {"request", "outcome",
                                                                                                "posted"}
    assert blob_storage(pg) in ({("l", "x")}, {("", "e")})  # lz4, or uncompressed on a server without it
    rec = store2.recover()
    assert DaemonCore.recover(cfg, rec, now=T0, insecure=True).engine.to_state() == before
    assert sorted(r.key for r in rec.pending) == pending


def test_the_explicit_command_migrates_and_says_from_what(pg: Journal, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    pg.open().close()
    make_schema_1(pg)
    cfg = write_config(tmp_path, pg.url, create=False)
    assert main(["daemon", "--config", str(cfg), "--migrate"]) == 0
    assert capsys.readouterr().out.strip().endswith("migrated from schema 1 to 6")
    assert main(["daemon", "--config", str(cfg), "--migrate"]) == 0
    assert capsys.readouterr().out.strip().endswith("schema 6, up to date")


def test_a_newer_schema_than_this_code_is_refused(pg: Journal) -> None:
    pg.open().close()
    pg.sql("UPDATE meta SET value = '99' WHERE key = 'schema'")
    with pytest.raises(Exception, match="schema 99 is newer than this mtbridge"):
        pg.open()


# ---------------------------------------------------------------------- one daemon per journal
_HOLDER = """
import sys
from bridge.daemon.store_pg import PgStore
store = PgStore(sys.argv[1])
print("locked", flush=True)
sys.stdin.read()  # until killed
"""


def test_one_daemon_per_journal_and_a_killed_holder_never_blocks_the_next(pg: Journal,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, pg.url], cwd=ROOT, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert holder.stdout.readline().strip() == "locked"
        monkeypatch.setattr(PgStore, "LOCK_WAIT_S", 0.2)
        with pytest.raises(JournalLocked, match=rf"in use by mtbridge daemon pid {holder.pid} on host "):
            pg.open(lock=True)
        holder.send_signal(signal.SIGKILL)  # kill -9: the server ends its session, and the lock
        holder.wait(30)
        monkeypatch.setattr(PgStore, "LOCK_WAIT_S", 30)  # the bound of a wait on the server noticing
        store = pg.open(lock=True)
        assert store.holds_lock() and store.problem() is None
        store.close()
    finally:
        holder.kill()
        holder.wait(30)


def test_a_snapshot_from_a_session_that_lost_the_lock_is_not_written(pg: Journal) -> None:
    """The worker thread writes snapshots on its own connection: the row commits only while
    the daemon's writing session holds the journal lock."""
    store = pg.open(lock=True)
    store.save_snapshot(3, T0, b"kept")
    pg.sql("SELECT pg_terminate_backend(?)", store.backend_pid)  # the daemon's session is gone
    with pytest.raises(RuntimeError, match="lost its lock"):
        store.write_snapshot(9, T0, b"late")
    assert pg.sql("SELECT seq FROM snapshots") == [(3,)]
    assert store.problem() is not None
    with pytest.raises(psycopg.OperationalError):  # and it cannot write a step either
        store.write(Batch(meta={"x": "1"}))


# ---------------------------------------------------------------------- configuration and CLI
@pytest.mark.parametrize("url, problem", [
    ("mysql://u:pw@db/mtbridge", "'mysql://u:***@db/mtbridge': expected postgresql://"),
    ("postgresql://u@db:70000/mtbridge", "expected postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE"),
    ("postgresql://db/", "expected postgresql://"),
    ("postgresql://db/mtbridge?sslmode=maybe&nope=1", "invalid URI query parameter"),
])
def test_a_bad_url_is_a_one_line_config_error(url: str, problem: str) -> None:
    with pytest.raises(ConfigError, match="journal.url") as err:
        parse_config({"journal": {"url": url}})
    assert problem in str(err.value) and "\n" not in str(err.value) and "pw" not in str(err.value)
    with pytest.raises(ConfigError, match="not both"):
        parse_config({"journal": {"url": "postgresql://db/j", "path": "j.db"}})


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_daemon(cfg: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bridge.cli", "daemon", "--config", str(cfg), "--insecure", *args],
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                          timeout=120)


def test_an_unreachable_server_or_a_missing_journal_stops_the_start_with_exit_2(pg: Journal, tmp_path: Path) -> None:
    down = run_daemon(write_config(tmp_path, f"postgresql://mtbridge:s3cret@127.0.0.1:{_closed_port()}/j"))
    assert down.returncode == 2
    (line,) = down.stderr.strip().splitlines()
    assert line.startswith("mtbridge daemon: error: cannot open journal postgresql://mtbridge:***@127.0.0.1:")
    assert "s3cret" not in line
    empty = run_daemon(write_config(tmp_path, pg.url, create=False))
    assert empty.returncode == 2 and "has no mtbridge journal" in empty.stderr and "--create-journal" in empty.stderr
    check = run_daemon(write_config(tmp_path, pg.url, create=True), "--check-config")
    assert check.returncode == 0 and check.stdout.strip().endswith(": will be created, free")
    pg.open().close()
    check = run_daemon(write_config(tmp_path, pg.url, create=False), "--check-config")
    assert check.returncode == 0 and check.stdout.strip().endswith(f": schema {SCHEMA_VERSION}, free")


def test_a_daemon_role_without_ddl_rights_is_told_to_run_migrate_as_the_owner(pg: Journal, tmp_path: Path) -> None:
    """docs/operations.md, "Database, roles and permissions": the owner migrates, the daemon's
    role only reads and writes rows."""
    from bridge.daemon.config import StartupError

    pg.open().close()
    make_schema_1(pg)
    role = "d_" + pg.url.rsplit("/", 1)[1]
    pg.sql(f'CREATE ROLE "{role}" LOGIN')
    pg.sql(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"')
    daemon_url = pg.url.replace("//mtbridge@", f"//{role}@")
    with pytest.raises(StartupError, match="cannot migrate schema 1 -> 2 .*run `mtbridge daemon --migrate` as"):
        PgStore(daemon_url)
    assert pg.sql("SELECT value FROM meta WHERE key = 'schema'") == [("1",)]  # the failed step left nothing
    assert main(["daemon", "--config", str(write_config(tmp_path, pg.url, create=False)), "--migrate"]) == 0
    store = PgStore(daemon_url)  # the owner migrated: the daemon's role starts, and writes rows
    assert store.migrated_from == SCHEMA_VERSION and store.recover().meta["schema"] == str(SCHEMA_VERSION)
    store.write(Batch(events=[(1, T0, "x", "{}")], commands=[CommandRow("k1", 1, 1, 2001, "open", 1, 55)],
                      records=[(1, "copy", "{}")], logins=[(2001, T0)], meta={"m": "1"}))  # identity columns too
    assert [r.key for r in store.recover().pending] == ["k1"]
    store.close()


_PG_WRITER = """
import os, signal, sys
from bridge.daemon import store_pg

class Killing:  # the snapshot writer's connection: SIGKILL right after the n-th piece commits
    def __init__(self, conn):
        self.conn = conn
    def __getattr__(self, name):
        return getattr(self.conn, name)
    def execute(self, sql, *args):
        out = self.conn.execute(sql, *args)
        if sql.startswith("INSERT INTO snapshot_parts"):  # autocommit: one piece, one transaction
            Killing.pieces += 1
            if Killing.pieces == int(sys.argv[3]):
                os.kill(os.getpid(), signal.SIGKILL)
        return out

Killing.pieces = 0
store = store_pg.PgStore(sys.argv[1], lock=False)
store.PART_BYTES = 64
connect = store_pg.connect
store_pg.connect = lambda *a, **k: Killing(connect(*a, **k))
store.write_snapshot(int(sys.argv[2]), 0, open(sys.argv[4], "rb").read())
"""


@pytest.mark.parametrize("killed_after", [1, 3])
def test_kill_during_a_snapshot_recovers_from_the_previous_one_plus_replay(pg: Journal, tmp_path: Path,
                                                                          killed_after: int) -> None:
    """test_snapshots.py's kill -9 mid-snapshot, on PostgreSQL: the pieces written have no row,
    recovery uses the previous snapshot and replays the events after it."""
    from bridge.protocol import PositionOpened
    from tests.daemon.test_daemon_core import opened

    cfg, store, core, tr = busy_core(tmp_path, store=pg.open())
    first = core.seq
    store.save_snapshot(first, T0, core.engine.to_bytes())
    for t in range(80, 84):
        tr.send(PositionOpened, **opened(t))
    state = tmp_path / "state.bin"
    state.write_bytes(core.engine.to_bytes())
    assert len(state.read_bytes()) > 64 * 4  # several pieces
    expected = core.engine.to_state()
    proc = subprocess.run([sys.executable, "-c", _PG_WRITER, pg.url, str(core.seq), str(killed_after), str(state)],
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == -9, proc.stderr
    assert len(pg.sql("SELECT part FROM snapshot_parts WHERE seq = ?", core.seq)) == killed_after  # half written
    store2 = pg.open()  # the next start
    rec = store2.recover()
    assert rec.snapshot_seq == first and len(rec.events) == core.seq - first
    assert DaemonCore.recover(cfg, rec, now=T0, insecure=True).engine.to_state() == expected
    store2.write_snapshot(core.seq, T0, state.read_bytes())  # the next life's snapshot, same seq
    assert store2.recover().snapshot == state.read_bytes()


def test_a_database_holding_another_applications_tables_is_refused_in_one_line(pg: Journal) -> None:
    from bridge.daemon.config import StartupError

    pg.sql("CREATE TABLE events (id int)")  # someone else's `events`, no journal
    with pytest.raises(StartupError, match=r"cannot migrate schema 0 -> 1 \(relation \"events\" already exists\)$"):
        pg.open()
    assert pg.sql("SELECT to_regclass('meta')") == [(None,)]  # the failed step left nothing
