#!/usr/bin/env bash
# Installs Debian's headless Chromium for the browser tests (Playwright drives it; no browser
# download of Playwright's own). Idempotent; prints why when it cannot install.
set -u
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-browser: apt-get not available; browser tests will be skipped" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "install-browser: not root and no passwordless sudo; browser tests will be skipped" >&2
    exit 0
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null 2>&1 || echo "install-browser: apt-get update failed" >&2
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null 2>&1 \
  || echo "install-browser: apt-get install chromium failed; browser tests will be skipped" >&2
exit 0
