#!/usr/bin/env bash
# apt-install.sh WHO PACKAGE...: installs Debian packages as root or with passwordless sudo.
# Exit 0 when installed, 1 when it cannot (no apt-get, no root, or the install failed), with
# the reason on stderr prefixed by WHO. Callers decide whether that is fatal.
set -u
who=$1; shift
if ! command -v apt-get >/dev/null 2>&1; then
  echo "$who: apt-get not available" >&2; exit 1
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "$who: not root and no passwordless sudo" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null 2>&1 || echo "$who: apt-get update failed" >&2
$SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 || {
  echo "$who: apt-get install $* failed" >&2; exit 1; }
