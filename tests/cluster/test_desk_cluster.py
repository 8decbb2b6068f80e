"""The console and the dashboard in cluster mode, over two real daemon processes (two shards)
and a real PostgreSQL (the project's scripts start it: tests/conftest.py).

"The admin API and `mtbridge admin` reach any daemon and are routed to the owner; the monitor
and the dashboard aggregate the feeds of all daemons into one desk." (issue 16, section 2)"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

pytest.importorskip("psycopg")

from rich.console import Console  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from bridge.daemon.client import AdminClient  # noqa: E402
from bridge.daemon.cluster_testing import node_config, wait_routed  # noqa: E402
from bridge.daemon.testing import DaemonProcess, make_setup  # noqa: E402
from bridge.monitor.auth import LoginThrottle  # noqa: E402
from bridge.monitor.console import render, run_cluster_monitor  # noqa: E402
from bridge.monitor.feed import ClusterFeeds, CurveClient, lease_feeds  # noqa: E402
from bridge.monitor.hub import DeskHub  # noqa: E402
from bridge.monitor.state import MonitorState  # noqa: E402
from bridge.monitor.web import Dashboard, DashboardConfig  # noqa: E402
from bridge.monitor.web_dealer import DealerLink, lease_admins  # noqa: E402
from tests.monitor.test_monitor_web import DEALER_PW, SECRET, Clock, creds, login  # noqa: E402

pytestmark = pytest.mark.integration
SHARDS = (("s1", "T1", 1001, 3001), ("s2", "T2", 2001, 4001))


@pytest.fixture
def cluster(tmp_path: Path, pg_url: str):  # noqa: ANN201
    """d1 owns s1 (T1, investor account 3001), d2 owns s2 (T2, 4001); both number their
    subscription 1."""
    setup = make_setup(tmp_path, {"ops": ([], "admin"), "desk": ([], "monitor")}, journal_url=pg_url)
    d1 = DaemonProcess(node_config(setup, "d1", tmp_path / "d1", shards=("s1",))).start()
    d2 = DaemonProcess(node_config(setup, "d2", tmp_path / "d2", shards=("s2",))).start()
    admin = AdminClient(d1.endpoints["admin"], setup.curve("ops"))
    try:
        wait_routed(admin, "s2")
        for shard, trader, account, investor in SHARDS:
            assert admin("register_trader", shard=shard, trader=trader, account=account,
                         account_type="mt4_standard", leverage=100, commission_pct="10")["ok"]
            assert admin("deposit", shard=shard, owner=f"I{investor}", amount="5000")["ok"]
            assert admin("subscribe", shard=shard, investor=f"I{investor}", trader=trader, account=investor,
                         amount="1000")["ok"]
        yield setup, d1, d2, admin
    finally:
        admin.close()
        d1.terminate()
        d2.terminate()


def both_shards(s: MonitorState) -> bool:
    return s.health.synced and {(x.shard, x.subscription, x.account) for x in s.subscriptions.values()} == {
        ("s1", 1, 3001), ("s2", 1, 4001)}


def wait_for(hub: DeskHub, done, limit_s: float = 120) -> None:  # noqa: ANN001
    """Until `done(merged state)`, woken by every feed item (the limit only ends a broken run)."""
    import time

    version, deadline = hub.version, time.monotonic() + limit_s
    while not hub.read(done) and time.monotonic() < deadline:
        version = hub.wait_change(version, 1.0)
    assert hub.read(done), hub.read(lambda s: [(x.label, x.health) for x in s.sources])


def test_the_console_draws_one_desk_over_two_daemons(cluster, pg_url: str) -> None:  # noqa: ANN001
    setup, d1, d2, _ = cluster
    key = setup.curve("desk")
    out = io.StringIO()
    rc = run_cluster_monitor(lease_feeds(pg_url), curve=CurveClient(key.server_public, key.public, key.secret),
                             console=Console(file=out, width=160, height=60), stdin=io.StringIO(""),
                             follow_s=0.5, until=both_shards)
    text = out.getvalue()
    assert rc == 0
    assert f"s1@d1 [LIVE] {d1.endpoints['pub']}" in text and f"s2@d2 [LIVE] {d2.endpoints['pub']}" in text
    # the accounts table: | shard | login | owner | ...
    cells = [[c.strip() for c in line.split("│")[1:4]] for line in text.splitlines() if line.count("│") > 4]
    assert {(login, shard, owner) for shard, login, owner in cells if login.isdigit()} == {
        ("1001", "s1@d1", "T1"), ("3001", "s1@d1", "I3001"), ("2001", "s2@d2", "T2"), ("4001", "s2@d2", "I4001")}


def test_the_dashboard_lists_both_shards_and_a_dealer_action_reaches_the_second_shards_owner(
        cluster, pg_url: str) -> None:  # noqa: ANN001
    setup, _, _, admin = cluster
    key = setup.curve("desk")
    hub = DeskHub()
    feeds = ClusterFeeds(lease_feeds(pg_url), hub, curve=CurveClient(key.server_public, key.public, key.secret),
                         refresh_s=0.5).start()
    link = DealerLink("", setup.curve("ops"), timeout_s=60, owners=lease_admins(pg_url))
    try:
        wait_for(hub, both_shards)
        dash = Dashboard(hub, creds(), DashboardConfig(session_secret=SECRET), throttle=LoginThrottle(clock=Clock()),
                         admin=link)
        c = TestClient(dash.app, base_url="http://testserver")
        assert login(c, "desk", DEALER_PW).status_code == 303
        desk = c.get("/").text
        assert 'data-subscription="1" data-shard="s1"' in desk and 'data-subscription="1" data-shard="s2"' in desk
        # the second shard's subscription 1: its page, its copy settings (asked of d2), its action
        page = c.get("/accounts/4001").text
        assert "Subscription 1 (shard s2) of I4001 copying T2" in page
        assert 'href="/subscriptions/s2/1/settings"' in page and 'name="shard" value="s2"' in page
        settings = c.get("/subscriptions/s2/1/settings")
        assert settings.status_code == 200 and "Subscription 1 of shard s2: I4001 copying T2" in settings.text
        confirm = c.get("/dealer/confirm", params={"action": "suspend", "subscription": 1, "shard": "s2",
                                                   "next": "/accounts/4001"})
        assert confirm.status_code == 200 and "subscription 1 of shard s2" in confirm.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', confirm.text).group(1)  # type: ignore[union-attr]
        done = c.post("/dealer/action", data={"csrf": csrf, "action": "suspend", "subscription": "1", "shard": "s2",
                                              "next": "/accounts/4001", "confirm": "1"}, follow_redirects=False)
        assert done.status_code == 303
        assert "suspend copying, subscription 1 of shard s2: done" in c.get("/accounts/4001").text
        # d2 (s2's owner) suspended its subscription 1; s1's subscription 1 copies on
        states = {shard: admin("list_subscriptions", shard=shard)["subscriptions"][0]["state"] for shard in ("s1", "s2")}
        assert states["s1"] == "active" and states["s2"] != "active", states
        wait_for(hub, lambda s: s.subscriptions[("s2", 1)].state == states["s2"])  # type: ignore[index]
        assert hub.read(lambda s: s.subscriptions[("s1", 1)].state) == "active"  # type: ignore[index]
    finally:
        feeds.stop()
        link.close()


def test_mtbridge_monitor_cluster_reads_the_lease_table_and_draws(pg_url: str, capsys) -> None:  # noqa: ANN001
    """The command line: `--cluster URL` (no shard owned yet: the desk waits for feeds)."""
    from bridge.cli import main

    assert main(["cluster", "add-shard", "--url", pg_url, "s1"]) == 0
    capsys.readouterr()
    assert main(["monitor", "--cluster", pg_url, "--insecure", "--duration", "0.2", "--width", "120"]) == 0
    out = capsys.readouterr().out
    assert "CONNECTING" in out and "cannot list" not in out  # s1 has no owner yet: no feed to show
    assert main(["monitor", "--cluster", pg_url, "--feed", "tcp://a:1", "--insecure"]) == 2
    assert capsys.readouterr().err.strip() == ("mtbridge monitor: error: --cluster and --feed exclude each other "
                                               "(the lease table, or a fixed list)")


def test_a_cluster_database_out_of_reach_is_said_on_the_desk() -> None:
    """The lease table cannot be read: the desk says NO ANSWER and why, instead of waiting."""
    from bridge.monitor.feed import ClusterFeeds

    def unreachable() -> dict:
        raise OSError("connection refused")

    hub = DeskHub(clock=lambda: 0)
    ClusterFeeds(unreachable, hub).refresh()
    console = Console(record=True, width=120)
    console.print(hub.read(lambda s: render(s, 0)))
    text = console.export_text()
    assert "[NO ANSWER]" in text and "cannot list the cluster's feeds: OSError: connection refused" in text

