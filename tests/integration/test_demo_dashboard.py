"""`mtbridge demo --dashboard`: the demo watched in the in-process dashboard, over real HTTP.

The demo runs in a background thread (its own asyncio loop) with the dashboard on an
ephemeral port, a pace and a hold; the test logs in with httpx against the live server (CSRF
token from the login form) as the dealer and as one investor, then releases the hold. The
`results` must be those of a run without the dashboard: it only listens."""

from __future__ import annotations

import argparse
import asyncio
import queue
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mtbridge_demo.commands import add_commands
from mtbridge_demo.plan import HOUR, MINUTE, DemoConfig
from mtbridge_demo.run import run_demo
from mtbridge_demo.watch import DASHBOARD_DEFAULT, DEALER_USER, Pacer, WatchConfig, WatchInfo, parse_host_port

pytestmark = pytest.mark.integration

CFG = DemoConfig(seed=3, traders=2, investors=4, hours=1)
PACE = 3600 / 1.5  # the hour of quotes in ~1.5 s of wall time: the dashboard is watched while it runs


def poll_until(fn: Callable[[], Any], timeout: float = 15.0, interval: float = 0.1, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = fn()
        except (httpx.HTTPError, AssertionError) as exc:
            last = exc
        else:
            if last:
                return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or fn}: last {last!r}")
        time.sleep(interval)


class DemoThread:
    """`run_demo` on its own loop in a thread, held after the report until `release()`."""

    def __init__(self, cfg: DemoConfig, watch: WatchConfig) -> None:
        self.cfg, self.watch = cfg, watch
        self.ready: queue.Queue[WatchInfo] = queue.Queue()
        self.reported = threading.Event()
        self._release = threading.Event()
        self.report: dict | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, name="demo-under-test", daemon=True)

    def _main(self) -> None:
        async def hold() -> None:
            while not self._release.is_set():
                await asyncio.sleep(0.05)

        def on_report(report: dict) -> None:
            self.report = report
            self.reported.set()

        try:
            asyncio.run(run_demo(self.cfg, watch=self.watch, on_ready=self.ready.put, on_report=on_report, hold=hold))
        except BaseException as exc:  # noqa: BLE001 - surfaced by the test
            self.error = exc
            self.ready.put(None)  # type: ignore[arg-type]
            self.reported.set()

    def start(self, timeout: float = 30.0) -> WatchInfo:
        self.thread.start()
        info = self.ready.get(timeout=timeout)
        if info is None:
            raise AssertionError(f"the demo failed to start: {self.error!r}")
        return info

    def release(self, timeout: float = 30.0) -> None:
        self._release.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the demo did not shut down"


def login(client: httpx.Client, username: str, password: str) -> None:
    r = client.get("/login")
    assert r.status_code == 200, r.status_code
    token = re.search(r'name="csrf" value="([^"]+)"', r.text)
    assert token, "no CSRF token in the login form"
    r = client.post("/login", data={"csrf": token.group(1), "username": username, "password": password, "next": ""})
    assert r.status_code == 303 and r.headers["location"] == "/", (r.status_code, r.text[:300])


def listed_logins(client: httpx.Client) -> set[int]:
    r = client.get("/")
    assert r.status_code == 200, r.status_code
    return {int(x) for x in re.findall(r'<tr class="acct[^"]*" data-login="(\d+)"', r.text)}


def test_demo_dashboard_dealer_and_investor_views() -> None:
    demo = DemoThread(CFG, WatchConfig(dashboard=("127.0.0.1", 0), pace=PACE))
    info = demo.start()
    try:
        assert info.url is not None and info.dealer == DEALER_USER and info.dealer_password
        port = int(info.url.rsplit(":", 1)[1])
        assert port > 0  # port 0 asked: the bound port is reported
        everyone = {login for _, login in info.traders} | {login for _, login, _ in info.investors}
        assert len(everyone) == CFG.traders + CFG.investors

        with httpx.Client(base_url=info.url, follow_redirects=False, timeout=10) as desk:
            assert desk.get("/").status_code == 303  # anonymous: to the login page
            login(desk, DEALER_USER, info.dealer_password)
            # live, while the simulated hour runs: the feed reaches the dashboard
            poll_until(lambda: desk.get("/healthz").json()["feed"] == "LIVE", what="a LIVE feed")
            poll_until(lambda: listed_logins(desk) == everyone, what="every demo account on the desk")
            assert demo.reported.wait(30), "no report"
            assert demo.error is None, demo.error
            # held after the report: still served, still every account
            page = desk.get("/").text
            assert "Exposure per symbol" in page and listed_logins(desk) == everyone
            assert desk.get("/metrics").status_code == 200
            # dealer actions are wired: the demo's dashboard holds an admin key of its own
            trader = info.traders[0][0]
            page = desk.get(f"/traders/{trader}").text
            assert 'data-action="disable_trader"' in page and "dealer-off" not in page
            token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
            r = desk.post("/dealer/action", data={"csrf": token, "action": "disable_trader", "trader": trader,
                                                  "confirm": trader, "next": f"/traders/{trader}"})
            assert r.status_code == 303, r.text[:300]
            shown = desk.get(r.headers["location"]).text
            assert 'class="flash flash-ok"' in shown and f"disable trader, trader {trader}: done" in shown

        _, inv_login, inv_pw = info.investors[0]
        other = next(login for _, login, _ in info.investors if login != inv_login)
        with httpx.Client(base_url=info.url, follow_redirects=False, timeout=10) as inv:
            bad = inv.get("/login")
            token = re.search(r'name="csrf" value="([^"]+)"', bad.text).group(1)  # type: ignore[union-attr]
            r = inv.post("/login", data={"csrf": token, "username": str(inv_login), "password": "wrong-Pass1"})
            assert r.status_code == 401
            login(inv, str(inv_login), inv_pw)
            assert listed_logins(inv) == {inv_login}
            page = inv.get("/").text
            assert f"Investor area: account {inv_login}" in page and "Exposure per symbol" not in page
            assert inv.get(f"/accounts/{inv_login}").status_code == 200
            assert inv.get(f"/investors/{inv_login}").status_code == 200
            assert inv.get(f"/accounts/{other}").status_code == 403
            assert inv.get(f"/investors/{other}").status_code == 403
            assert inv.get("/metrics").status_code == 403
            state = inv.get("/api/state").json()
            assert {a["login"] for a in state["accounts"]} == {inv_login}
    finally:
        demo.release()
    assert demo.error is None, demo.error
    assert demo.report is not None
    wall = demo.report["timings"]["wall_s"]
    assert wall >= CFG.hours * 3600 / PACE * 0.9, wall  # paced

    # the dashboard and the pace only watch: the same results as a plain run
    plain = asyncio.run(run_demo(CFG))
    assert demo.report["results"] == plain["results"]

    # and everything is closed: the port is free again
    with pytest.raises(httpx.TransportError):
        httpx.get(info.url + "/healthz", timeout=2)


def test_cli_prints_the_way_in_on_stderr_and_only_the_report_on_stdout(capsys) -> None:
    import json

    import structlog

    parser = argparse.ArgumentParser(prog="mtbridge")
    add_commands(parser.add_subparsers(dest="command"))
    before = structlog.get_config()
    args = parser.parse_args(["demo", "--json", "--no-progress", "--seed", "3", "--traders", "2", "--investors", "2",
                              "--hours", "1", "--dashboard", "127.0.0.1:0"])
    assert args.handler(args) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)  # stdout: the report alone
    assert report["results"]["subscriptions"]["started"] == 2
    url = re.search(r"dashboard (http://127\.0\.0\.1:(\d+))", err)
    assert url and int(url.group(2)) > 0, err
    assert re.search(rf"dealer: +{DEALER_USER} / \S{{12,}}", err), err
    assert re.search(r"investor: +\d+ / \S+", err), err
    assert re.search(r"mtbridge monitor --connect tcp://127\.0\.0\.1:\d+ --server-key \S+server\.pub "
                     r"--client-key \S+monitor\.key", err), err
    assert structlog.get_config() == before  # the logging set-up for the dashboard is undone


def test_dashboard_flag_parsing() -> None:
    parser = argparse.ArgumentParser(prog="mtbridge")
    add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["demo", "--dashboard"])
    assert args.dashboard == DASHBOARD_DEFAULT == ("127.0.0.1", 8050) and args.pace == 0 and not args.hold
    args = parser.parse_args(["demo", "--dashboard", "127.0.0.1:0", "--pace", "600", "--hold"])
    assert args.dashboard == ("127.0.0.1", 0) and args.pace == 600 and args.hold
    assert parser.parse_args(["demo"]).dashboard is None
    assert parse_host_port("[::1]:9000") == ("::1", 9000)
    assert parse_host_port("9000") == ("127.0.0.1", 9000)
    for bad in ("nohost", "host:port", "1.2.3.4:70000"):
        with pytest.raises(ValueError):
            parse_host_port(bad)
    with pytest.raises(SystemExit):
        parser.parse_args(["demo", "--pace", "-1"])


def test_pacer_paces_quotes_and_skips_the_weekend() -> None:
    clock = [100.0]

    async def fake_sleep(s: float) -> None:
        clock[0] += s

    async def go() -> None:
        p = Pacer(600, 0, max_gap_ms=5 * MINUTE, mono=lambda: clock[0], sleep=fake_sleep)
        t = 0
        for _ in range(HOUR // 2000):  # an hour of quotes every 2 s: 6 s of wall time at 600x
            t += 2000
            await p.wait(t)
        assert clock[0] == pytest.approx(106.0, abs=0.02)
        t += 48 * HOUR  # the weekend without quotes counts as one sync interval (5 min: 0.5 s)
        await p.wait(t)
        assert clock[0] == pytest.approx(106.5, abs=0.02)
        clock[0] += 10  # a slow step, far behind: the run catches up by at most max_lag_s (1 s)
        for _ in range(1200 * 1000 // 2000):  # 20 simulated minutes = 2 s at 600x, 1 s of it lag
            t += 2000
            await p.wait(t)
        assert clock[0] == pytest.approx(117.5, abs=0.02)

    asyncio.run(go())


def test_printed_monitor_command_runs_without_an_activated_venv(monkeypatch) -> None:
    # review (desk-and-ops, user 2 #13): the hint said `mtbridge monitor ...`, which fails unless
    # the venv is activated; without `mtbridge` on PATH it names this interpreter's entry point
    import sys
    from pathlib import Path

    import mtbridge_demo.watch as watch

    monkeypatch.setattr(watch.shutil, "which", lambda name: None)
    info = WatchInfo(feed="tcp://127.0.0.1:5571", curve=False, server_key_file=None, monitor_key_file=None,
                     url=None, dealer=None, dealer_password=None, investors=(), traders=())
    command = info.monitor_command()
    script = Path(sys.executable).parent / "mtbridge"
    program = str(script) if script.exists() else f"{sys.executable} -m bridge.cli"
    assert command == f"{program} monitor --connect tcp://127.0.0.1:5571 --insecure"
    monkeypatch.setattr(watch.shutil, "which", lambda name: "/usr/local/bin/mtbridge")
    assert info.monitor_command().startswith("mtbridge monitor --connect")
