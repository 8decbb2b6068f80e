"""The monitor aggregates the feeds of two daemon processes (two shards) into one desk.

"the monitor and the dashboard aggregate the feeds of all daemons into one desk" (issue 16,
section 2). The feeds are found in the cluster's lease table (each owner's `feed`)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

pytest.importorskip("psycopg")

from bridge.daemon.client import AdminClient  # noqa: E402
from bridge.daemon.cluster_testing import node_config, wait_routed  # noqa: E402
from bridge.daemon.testing import DaemonProcess, make_setup  # noqa: E402
from bridge.monitor.feed import ClusterFeeds, CurveClient, lease_feeds  # noqa: E402
from bridge.monitor.hub import DeskHub  # noqa: E402

pytestmark = pytest.mark.integration


def test_two_daemons_feeds_make_one_desk_each_row_naming_its_shard(tmp_path: Path, pg_url: str) -> None:
    setup = make_setup(tmp_path, {"ops": ([], "admin"), "desk": ([], "monitor")}, journal_url=pg_url)
    d1 = DaemonProcess(node_config(setup, "d1", tmp_path / "d1", shards=("s1",))).start()
    d2 = DaemonProcess(node_config(setup, "d2", tmp_path / "d2", shards=("s2",))).start()
    admin = feeds = None
    try:
        admin = AdminClient(d1.endpoints["admin"], setup.curve("ops"))
        wait_routed(admin, "s2")
        for shard, trader, account, investor in (("s1", "T1", 1001, 3001), ("s2", "T2", 2001, 4001)):
            assert admin("register_trader", shard=shard, trader=trader, account=account,
                         account_type="mt4_standard", leverage=100, commission_pct="10")["ok"]
            assert admin("deposit", shard=shard, owner=f"I{account}", amount="5000")["ok"]
            assert admin("subscribe", shard=shard, investor=f"I{account}", trader=trader, account=investor,
                         amount="1000")["ok"]
        key = setup.curve("desk")
        hub = DeskHub()
        feeds = ClusterFeeds(lease_feeds(pg_url), hub, curve=CurveClient(key.server_public, key.public, key.secret),
                             refresh_s=0.5).start()

        def complete() -> bool:
            desk = hub.desk()
            return desk.synced and set(desk.traders) == {"T1", "T2"} and len(desk.subscriptions) == 2

        version, deadline = hub.version, time.monotonic() + 60
        while not complete() and time.monotonic() < deadline:  # woken by every feed item
            version = hub.wait_change(version, 1.0)
        desk = hub.desk()
        assert complete(), (desk.sources, list(desk.traders), feeds.errors)
    finally:
        if feeds is not None:
            feeds.stop()
        if admin is not None:
            admin.close()
        d1.terminate()
        d2.terminate()
    assert {(s.name, s.node, s.address) for s in desk.sources.values()} == {("s1", "d1", d1.endpoints["pub"]),
                                                                            ("s2", "d2", d2.endpoints["pub"])}
    assert desk.source_of[("trader", "T1")] == "s1" and desk.source_of[("trader", "T2")] == "s2"
    # subscription ids are numbered per shard: both are 1, kept apart by their source
    assert {(src, sid, sub.trader, sub.account) for (src, sid), sub in desk.subscriptions.items()} == {
        ("s1", 1, "T1", 3001), ("s2", 1, "T2", 4001)}
    assert {desk.traders[t].account for t in ("T1", "T2")} == {1001, 2001}
