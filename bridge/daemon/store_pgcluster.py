"""A throwaway PostgreSQL cluster for tests and benchmarks: `initdb` in a temporary directory,
a server on a free loopback port, removed on `stop()`. Not used by the daemon itself.

Where the server comes from: Debian's `postgresql` package (scripts/install-postgres.sh
installs it when missing and root). PostgreSQL refuses to run as root, so when this process
is root the cluster belongs to the `postgres` system user the package creates (or to a
`mtbridge-test` system user made here), and every server command runs as that user.

Example: `PgCluster().start()` -> `postgresql://mtbridge@127.0.0.1:41237/postgres`, trust
authentication on loopback only; `create_database("t1")` gives a fresh journal database.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SUPERUSER = "mtbridge"
TEST_USER = "mtbridge-test"


class PgUnavailable(Exception):
    """No PostgreSQL server binaries here (the reason says what is missing)."""


def find_bindir() -> Path:
    """The directory of `initdb`/`pg_ctl`: on PATH, or the newest /usr/lib/postgresql/N/bin."""
    for name in ("initdb", "pg_ctl"):
        found = shutil.which(name)
        if found:
            real = Path(found).resolve().parent
            if (real / "initdb").exists() and (real / "pg_ctl").exists() and (real / "postgres").exists():
                return real
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if versions:
        return Path(versions[-1]).parent
    raise PgUnavailable("PostgreSQL server binaries not found (initdb, pg_ctl): run scripts/install-postgres.sh "
                        "(Debian package postgresql)")


def _server_user() -> pwd.struct_passwd | None:
    """None when not root (the server runs as us); else a non-root system user for it."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", TEST_USER):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    try:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", TEST_USER],
                       check=True, capture_output=True)
        return pwd.getpwnam(TEST_USER)
    except (OSError, subprocess.CalledProcessError, KeyError) as exc:
        raise PgUnavailable(f"running as root and no non-root user to run PostgreSQL as ({exc})") from None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    """One server. `fsync=False` for tests (a crash of the *daemon* is what they test; the
    server outlives it), True for benchmarks that must pay what a real server pays."""

    def __init__(self, *, fsync: bool = False) -> None:
        self.fsync = fsync
        self.bindir = find_bindir()
        self.user = _server_user()
        self.dir: Path | None = None
        self.port = 0
        self._db_count = 0

    @property
    def data(self) -> Path:
        assert self.dir is not None
        return self.dir / "data"

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        kw: dict = {}
        if self.user is not None:
            kw = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "HOME": str(self.dir)}
        proc = subprocess.run([str(self.bindir / args[0]), *args[1:]], cwd=self.dir, env=env, capture_output=True,
                              text=True, timeout=timeout, **kw)
        if proc.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({proc.returncode}): {(proc.stderr or proc.stdout)[-2000:]}")
        return proc

    def start(self) -> PgCluster:
        # as root the server's user must reach it: /tmp, not a private TMPDIR
        self.dir = Path(tempfile.mkdtemp(prefix="mtbridge-pg-", dir="/tmp" if self.user is not None else None))
        if self.user is not None:
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--locale=C",
                  "--no-sync")  # initdb's own files: a throwaway cluster
        last: Exception | None = None
        for _ in range(5):  # a port taken between choosing and binding: choose again
            self.port = _free_port()
            opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync={'on' if self.fsync else 'off'}"
                    f" -c full_page_writes={'on' if self.fsync else 'off'} -c max_connections=200"
                    " -c shared_buffers=128MB -c max_wal_size=1GB")
            try:
                self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"), "-o", opts, "-w",
                          "-t", "60", "start")
                return self
            except RuntimeError as exc:
                last = exc
        self.stop()
        raise RuntimeError(f"PostgreSQL did not start: {last}; log: {self.log_tail()}")

    def log_tail(self) -> str:
        try:
            return (self.dir / "server.log").read_text()[-2000:] if self.dir else ""
        except OSError:
            return ""

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        if name is None:
            self._db_count += 1
            name = f"j{os.getpid()}_{self._db_count}_{time.monotonic_ns() % 10**6}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.dir is None:
            return
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
