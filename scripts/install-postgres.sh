#!/usr/bin/env bash
# Makes PostgreSQL's server binaries available for the PostgreSQL journal's tests (Debian's
# `postgresql` package); the tests start and remove their own throwaway cluster on loopback
# (bridge/daemon/store_pgcluster.py), so the package's own cluster is not created. Idempotent;
# when it cannot install, says why and the PostgreSQL tests are skipped with that reason.
set -u
if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ]; then  # no `main` cluster started by the package's post-install
  mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/mtbridge-tests.conf
fi
bash "$(dirname "$0")/apt-install.sh" install-postgres postgresql \
  || echo "install-postgres: PostgreSQL journal tests will be skipped" >&2
exit 0
