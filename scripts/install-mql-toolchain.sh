#!/usr/bin/env bash
# Installs what the MQL checks on Linux need (tests/mqlnative, `make mql-e2e`): g++ and
# Debian's libzmq with CURVE (libzmq3-dev pulls libsodium). Idempotent; fails loudly,
# because without it the compile check, the native self-test and the EA end-to-end run
# cannot prove anything.
set -eu
need=""
command -v g++ >/dev/null 2>&1 || need="$need g++"
[ -f /usr/include/zmq.h ] || need="$need libzmq3-dev"
[ -z "$need" ] && exit 0
bash "$(dirname "$0")/apt-install.sh" install-mql-toolchain $need
echo "install-mql-toolchain: installed$need"
