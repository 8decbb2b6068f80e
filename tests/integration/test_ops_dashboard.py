"""`mtbridge dashboard` in production (issue 13 §3), as a subprocess next to a subprocess daemon:
health that reflects the feed, logout that ends the session server side, the Secure cookie
over TLS, and hints that name real commands."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from bridge.daemon.keys import generate_keypair, write_keypair
from bridge.daemon.testing import DaemonProcess, make_setup
from bridge.monitor.auth import users_toml
from tests.integration.opskit import (  # noqa: F401 - no_leftover_processes is an autouse fixture
    PATIENCE_S, mtbridge, spawn, wait_for, no_leftover_processes,
)

pytestmark = pytest.mark.integration

PASSWORD = "desk-password-1"


@pytest.fixture
def world(tmp_path: Path):  # noqa: ANN201
    setup = make_setup(tmp_path / "daemon", {"trader": ([1001], "trader"), "desk": ([], "monitor")},
                       heartbeat_ms=200)
    write_keypair(tmp_path / "desk.key", setup.keys["desk"])
    stranger = generate_keypair()
    write_keypair(tmp_path / "stranger.key", stranger)
    (tmp_path / "users.toml").write_text(users_toml([("desk", PASSWORD)], [], n=2**4))
    (tmp_path / "secret.txt").write_text("s" * 40)
    daemon = DaemonProcess(setup.config_path).start()
    procs: list[subprocess.Popen] = []
    yield tmp_path, setup, daemon, procs
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(PATIENCE_S)
            except subprocess.TimeoutExpired:
                p.kill()
    daemon.terminate()


def _dashboard(world, name: str, *extra: str, key: str = "desk.key") -> str:  # noqa: ANN001
    tmp, setup, daemon, procs = world
    log = tmp / f"{name}.log"
    # --server-key=KEY: a Z85 key may start with "-" (argparse would read it as an option)
    args = ["dashboard", "--connect", daemon.endpoints["pub"], f"--server-key={setup.server.public}",
            "--users", str(tmp / "users.toml"), "--session-secret-file", str(tmp / "secret.txt"), "--port", "0"]
    if key:
        args += ["--client-key", str(tmp / key)]
    proc = spawn(*args, *extra, log=log)
    procs.append(proc)

    def served() -> object:
        text = log.read_text() if log.exists() else ""
        if proc.poll() is not None and "serving" not in text:
            raise AssertionError(f"{name} exited {proc.returncode} before serving: {text[-2000:]}")
        return re.search(r"serving (https?://\S+)", text)

    found = wait_for(served, f"{name} to serve")
    return found.group(1)  # type: ignore[union-attr]


def _healthz(url: str) -> httpx.Response:
    return httpx.get(url + "/healthz", verify=False, timeout=PATIENCE_S)


def test_dashboard_health_is_red_while_the_feed_handshake_fails(world) -> None:  # noqa: ANN001
    """Issue 13 §3: "the dashboard's `/healthz` says `ok: true` while its feed handshake
    fails ... Make the dashboard's health reflect its feed." """
    bad = _dashboard(world, "stranger", key="stranger.key")
    good = _dashboard(world, "desk")
    r = _healthz(bad)
    assert r.status_code == 503 and r.json()["ok"] is False
    wait_for(lambda: any("CURVE handshake with" in x and "failed" in x for x in _healthz(bad).json()["reasons"]),
             "the handshake failure among the reasons")
    # the right key: red until the daemon's snapshot arrives, then green (a condition, not a delay)
    wait_for(lambda: _healthz(good).status_code == 200, "the dashboard's feed to go LIVE")
    assert _healthz(good).json() == {"ok": True, "feed": "LIVE", "reasons": []}
    assert _healthz(bad).status_code == 503  # still refused by the daemon


def _login(client: httpx.Client) -> None:
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = client.post("/login", data={"csrf": csrf, "username": "desk", "password": PASSWORD, "next": "/"})
    assert r.status_code == 303 and r.headers["location"] == "/", r.text


def test_logout_ends_the_session_server_side(world) -> None:  # noqa: ANN001
    """Issue 13 §3: "Dashboard logout does not end the session: a cookie copied before logout
    still works for up to 8 h. Invalidate sessions server-side." """
    url = _dashboard(world, "desk")
    with httpx.Client(base_url=url, timeout=PATIENCE_S) as desk:
        _login(desk)
        assert desk.get("/api/state").status_code == 200
        copied = dict(desk.cookies)
        csrf = re.search(r'name="csrf" value="([^"]+)"', desk.get("/traders").text).group(1)  # type: ignore[union-attr]
        assert desk.post("/logout", data={"csrf": csrf}).status_code == 303
    with httpx.Client(base_url=url, timeout=PATIENCE_S, cookies=copied) as thief:
        r = thief.get("/api/state")
        assert r.status_code in (401, 303), r.text
        assert thief.get("/").headers.get("location") == "/login"


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True,
                   timeout=PATIENCE_S)
    return cert, key


def test_the_cookie_is_secure_over_tls_and_behind_a_trusted_proxy(world) -> None:  # noqa: ANN001
    """Issue 13 §3: "the cookie is `Secure` whenever the dashboard is served over TLS"."""
    tmp = world[0]
    cert, key = _self_signed(tmp)
    tls = _dashboard(world, "tls", "--tls-cert", str(cert), "--tls-key", str(key))
    assert tls.startswith("https://")
    cookie = httpx.get(tls + "/login", verify=False, timeout=PATIENCE_S).headers["set-cookie"].lower()
    assert "; secure" in cookie and "httponly" in cookie
    proxied = _dashboard(world, "proxied", "--trusted-proto-header", "X-Forwarded-Proto")
    via_proxy = httpx.get(proxied + "/login", headers={"X-Forwarded-Proto": "https"}, timeout=PATIENCE_S)
    assert "; secure" in via_proxy.headers["set-cookie"].lower()
    plain = httpx.get(proxied + "/login", timeout=PATIENCE_S)
    assert "secure" not in plain.headers["set-cookie"].lower()


def test_the_dashboard_hints_name_real_commands(world) -> None:  # noqa: ANN001
    """Issue 13 §3: "the dashboard's hints name the right commands (`--hash-password`,
    `--client-key`)"."""
    tmp, setup, daemon, _ = world
    (tmp / "plain.toml").write_text('[[dealer]]\nusername = "desk"\npassword = "hunter2"\n')
    base = ["dashboard", "--connect", daemon.endpoints["pub"], f"--server-key={setup.server.public}",
            "--session-secret-file", str(tmp / "secret.txt")]
    r = mtbridge(*base, "--users", str(tmp / "plain.toml"), "--client-key", str(tmp / "desk.key"))
    assert r.returncode == 2
    assert r.stderr.strip().endswith("dealer[0].password must be a scrypt hash (make one with: mtbridge dashboard "
                                     "--hash-password)")
    r = mtbridge(*base, "--users", str(tmp / "users.toml"))
    assert r.returncode == 2 and r.stderr.startswith("mtbridge dashboard: error: --client-key FILE is required")
    short = mtbridge("dashboard", "--hash-password", stdin="ab\n")
    assert short.returncode == 2 and "at least 10 characters" in short.stderr
    ok = mtbridge("dashboard", "--hash-password", stdin=PASSWORD + "\n")
    assert ok.returncode == 0 and ok.stdout.startswith("scrypt$")
    help_ = mtbridge("dashboard", "--help").stdout
    assert "--client-key keys/desk.key" in help_ and "--role monitor" in help_


def test_sigterm_stops_the_dashboard_cleanly(world) -> None:  # noqa: ANN001
    tmp, _, _, procs = world
    _dashboard(world, "desk")
    proc = procs[-1]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(PATIENCE_S) == 0
    assert (tmp / "desk.log").read_text().rstrip().endswith("mtbridge dashboard: stopped")
