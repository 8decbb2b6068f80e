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
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "install-mql-toolchain: need$need but not root and no passwordless sudo" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null 2>&1 || echo "install-mql-toolchain: apt-get update failed" >&2
$SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null
echo "install-mql-toolchain: installed$need"
