"""Two daemon processes owning two shards on one throwaway PostgreSQL: the directory written by
the journal steps, and admin requests routed to the owner of the shard they concern.

"The admin API and `mtbridge admin` reach any daemon and are routed to the owner" (issue 16,
section 2), and "**Terminal routing**: a directory in PostgreSQL maps login → shard → current
owner's endpoint" — here the directory is maintained by the daemons themselves."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("psycopg")

from bridge.daemon.client import AdminClient  # noqa: E402
from bridge.daemon.cluster import ClusterDb  # noqa: E402
from bridge.daemon.cluster_testing import node_config, wait_routed  # noqa: E402
from bridge.daemon.keys import write_keypair  # noqa: E402
from bridge.daemon.testing import DaemonProcess, make_setup  # noqa: E402

pytestmark = pytest.mark.integration


def test_registrations_fill_the_directory_and_admin_requests_reach_the_owner(tmp_path: Path, pg_url: str) -> None:
    setup = make_setup(tmp_path, {"ops": ([], "admin")}, journal_url=pg_url)
    d1 = DaemonProcess(node_config(setup, "d1", tmp_path / "d1", shards=("s1",))).start()
    d2 = DaemonProcess(node_config(setup, "d2", tmp_path / "d2", shards=("s2",))).start()
    admin = raw = None
    try:
        admin = AdminClient(d1.endpoints["admin"], setup.curve("ops"))  # follows `moved`
        raw = AdminClient(d1.endpoints["admin"], setup.curve("ops"), follow=False)
        # placement: a trader registered on a daemon goes to that daemon's shard
        assert admin("register_trader", trader="T1", account=1001, account_type="mt4_standard", leverage=100,
                     commission_pct="10")["ok"]
        assert admin.hops == []
        wait_routed(admin, "s2")
        # `shard` addresses a request to a shard the arguments do not name: routed to d2
        assert admin("register_trader", shard="s2", trader="T2", account=2001, account_type="mt4_standard",
                     leverage=100, commission_pct="10")["ok"]
        assert admin.hops == [d2.endpoints["admin"]]
        assert admin("deposit", shard="s2", owner="I2", amount="5000")["ok"]
        # d1 reads the directory every renew interval: until it has seen T2 it answers a
        # request naming T2 itself (a read here: nothing journaled)
        db = ClusterDb(pg_url)
        try:
            assert db.traders() == {"T1": "s1", "T2": "s2"}
            assert db.directory() == {1001: "s1", 2001: "s2"}
        finally:
            db.close()
        moved = _wait_moved(raw, "list_subscriptions", trader="T2")
        assert (moved["shard"], moved["admin"]) == ("s2", d2.endpoints["admin"])
        # an investor goes to its trader's shard: subscribe at d1 to T2 is answered by d2
        reply = admin("subscribe", investor="I2", trader="T2", account=3001, amount="1000")
        assert reply["ok"] and reply["refused"] is None, reply
        assert admin.hops == [d2.endpoints["admin"]]
        # a request naming a login is routed by the directory
        assert admin("disable_trader", trader="T2")["ok"] and admin.hops == [d2.endpoints["admin"]]
        # per-shard reads: each daemon lists its own shard, and every reply names the shard
        here, there = admin("list_traders"), admin("list_traders", shard="s2")
        assert [t["trader"] for t in here["traders"]] == ["T1"] and here["shard"] == "s1"
        assert [t["trader"] for t in there["traders"]] == ["T2"] and there["shard"] == "s2"
        subs = admin("list_subscriptions", trader="T2")["subscriptions"]
        assert [(s["investor"], s["account"]) for s in subs] == [("I2", 3001)]
        # `mtbridge admin` pointed at d1 reaches s2's owner the same way
        write_keypair(tmp_path / "ops.key", setup.keys["ops"])
        cli = subprocess.run([sys.executable, "-m", "bridge.cli", "admin", "list-traders", "--shard", "s2", "--json",
                              "--endpoint", d1.endpoints["admin"], "--server-key", str(setup.dir / "server.key"),
                              "--client-key", str(tmp_path / "ops.key")], capture_output=True, text=True, timeout=120)
        assert cli.returncode == 0, cli.stderr
        assert [t["trader"] for t in json.loads(cli.stdout)["traders"]] == ["T2"]
        # a shard nobody owns: a clear error, nothing done
        lost = raw("list_traders", shard="s9")
        assert (lost["ok"], lost["error"], lost["shard"]) == (False, "no_owner", "s9")
        db = ClusterDb(pg_url)
        try:
            assert db.directory() == {1001: "s1", 2001: "s2", 3001: "s2"}
        finally:
            db.close()
    finally:
        for c in (admin, raw):
            if c is not None:
                c.close()
        d1.terminate()
        d2.terminate()


def _wait_moved(client: AdminClient, op: str, **args: object) -> dict:
    """The first `moved` reply (d1's view is refreshed every renew interval, 300 ms)."""
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        reply = client(op, **args)
        if reply.get("error") == "moved":
            return reply
        time.sleep(0.05)
    raise AssertionError(f"{op}: never moved: {reply}")
