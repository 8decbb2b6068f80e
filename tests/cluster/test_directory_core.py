"""The directory's pure decisions (bridge/cluster/directory.py): placement of new logins and
the routing of admin requests.

"**Terminal routing**: a directory in PostgreSQL maps login → shard → current owner's
endpoint." and "The admin API and `mtbridge admin` reach any daemon and are routed to the
owner" (issue 16, section 2)."""

from __future__ import annotations

import json

from bridge.cluster.directory import admin_moved, admin_shard, claims, placement_refusal, placements, route_admin
from bridge.cluster.lease import Lease
from bridge.cluster.routing import NoOwner, Redirect, Serve

LEASES = {"s1": Lease("s1", "d1", "tcp://d1:5570", 3, 12_000, admin="tcp://d1:5572"),
          "s2": Lease("s2", "d2", "tcp://d2:5570", 5, 12_000, admin="tcp://d2:5572"),
          "s3": Lease("s3", "d3", "tcp://d3:5570", 1, 9_000, admin="tcp://d3:5572")}  # expired at 10 000
DIRECTORY = {1001: "s1", 2001: "s2", 3001: "s1"}
TRADERS = {"T1": "s1", "T2": "s2"}


def test_a_registered_trader_and_its_subscribers_are_placed_in_the_shard_of_the_step() -> None:
    events = [(7, 100, "TraderRegistered", json.dumps({"trader": "T9", "account": 9001})),
              (8, 100, "TraderRegistered", json.dumps({"trader": "T1", "account": 9002})),  # refused below
              (9, 100, "Subscribe", json.dumps({"account": 9101}))]
    records = [(8, "record.refused", json.dumps({"code": "duplicate_trader"})),
               (9, "record.subscription_started", json.dumps({"account": 9101, "trader": "T9"}))]
    assert placements(events, records, "s2") == ([(9001, "s2"), (9101, "s2")], [("T9", "s2")])
    assert placements([], [(3, "record.copy_opened", "{}")], "s2") == ([], [])


def test_admin_requests_go_to_the_shard_their_arguments_name() -> None:
    assert admin_shard({"op": "subscribe", "args": {"trader": "T2", "account": 5}}, DIRECTORY, TRADERS) == "s2"
    assert admin_shard({"op": "x", "args": {"account": 3001}}, DIRECTORY, TRADERS) == "s1"
    assert admin_shard({"op": "x", "shard": "s3", "args": {"trader": "T2"}}, DIRECTORY, TRADERS) == "s3"
    assert admin_shard({"op": "deposit", "args": {"owner": "I1"}}, DIRECTORY, TRADERS) is None
    assert admin_shard({"op": "x", "args": {"account": True}}, DIRECTORY, TRADERS) is None  # a bool is no login
    assert admin_shard(b"junk", DIRECTORY, TRADERS) is None


def test_admin_routing_serves_redirects_or_says_no_owner() -> None:
    def at_d1(request: dict) -> object:
        return route_admin(request, DIRECTORY, TRADERS, LEASES, {"s1"}, 10_000)

    assert at_d1({"args": {"trader": "T1"}}) == Serve()
    assert at_d1({"args": {"trader": "T2"}}) == Redirect("s2", "tcp://d2:5572")
    assert at_d1({"shard": "s3", "args": {}}) == NoOwner("s3")  # its lease expired
    assert at_d1({"shard": "s9", "args": {}}) == NoOwner("s9")  # no such shard
    moved = admin_moved({"id": 7, "op": "x"}, Redirect("s2", "tcp://d2:5572"))
    assert (moved["id"], moved["ok"], moved["error"], moved["shard"], moved["admin"]) == (
        7, False, "moved", "s2", "tcp://d2:5572")
    assert admin_moved({"id": 8}, NoOwner("s3"))["error"] == "no_owner"
    assert admin_moved({"id": 9}, Serve()) is None


def test_a_login_or_trader_name_placed_in_another_shard_is_refused_before_the_engine() -> None:
    """docs/scaling.md: "logins and trader names are unique in a cluster, the directory maps
    each to one shard" -- placement is insert-only."""
    reg = {"trader": "T9", "account": 3001}
    assert claims("register_trader", reg) == ([3001], ["T9"])
    assert claims("subscribe", {"investor": "I", "trader": "T2", "account": 1001}) == ([1001], [])
    assert claims("set_commission", {"trader": "T1"}) == ([], [])  # places nothing
    placed = {login: DIRECTORY[login] for login in (1001, 3001)}
    code, field, detail = placement_refusal("register_trader", reg, placed, {}, "s2")
    assert (code, field) == ("account_in_use", "args.account") and "placed in shard s1" in detail
    # the engine's order: the trader name first
    assert placement_refusal("register_trader", {"trader": "T1", "account": 3001}, placed, TRADERS,
                             "s2")[:2] == ("duplicate_trader", "args.trader")
    assert placement_refusal("subscribe", {"account": 1001}, placed, {}, "s1") is None  # its own shard: the engine decides
    assert placement_refusal("subscribe", {"account": 9001}, {}, {}, "s2") is None  # not placed yet
