#!/usr/bin/env bash
# Installs Debian's headless Chromium for the browser tests (Playwright drives it; no browser
# download of Playwright's own). Idempotent; when it cannot install, says why and the browser
# tests are skipped.
set -u
[ -x /usr/bin/chromium ] && exit 0
bash "$(dirname "$0")/apt-install.sh" install-browser chromium chromium-driver \
  || echo "install-browser: browser tests will be skipped" >&2
exit 0
