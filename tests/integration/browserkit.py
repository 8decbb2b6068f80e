"""What the real-browser tests share: Debian's Chromium, its flags, the page timeout, and a
condition poll (waits are decided by the condition, never by the poll interval)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
TIMEOUT_MS = 30_000


def need_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"no browser: {CHROMIUM} is missing (scripts/install-browser.sh installs Debian chromium)")


def wait_for(cond: Callable[[], object], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)  # a poll interval, not a synchronisation: the condition decides


def login(page, base: str, user: str, pw: str, landing: str = "/") -> None:  # noqa: ANN001 - a Playwright page
    """Sign in through the login form and wait for `landing` (an investor lands on its own page)."""
    page.goto(f"{base}/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", pw)
    page.click("#login-submit")
    page.wait_for_url(lambda url: "/login" not in url if landing is None else url == f"{base}{landing}",
                      timeout=TIMEOUT_MS)
