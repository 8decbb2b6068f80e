"""`mtbridge demo --store postgres --shards 3` against `mtbridge demo`, same seed.

"`mtbridge demo --store postgres --shards 3` (three daemon processes on loopback, one
PostgreSQL) gives business results identical to `mtbridge demo` with the same seed, and the
demo report says which daemon owned what." (issue 16, section 3)

Business results: the report's `results` but the two digests, which fingerprint the run's
journals rather than its business — `records_digest` hashes one journal's record stream (three
shards keep three), `server_digest` the trade server's journal, whose operations the three
shards interleave in another order (the balance operations are booked shard by shard).
"""

from __future__ import annotations

import argparse
import asyncio
import json

import pytest

pytest.importorskip("psycopg")

from mtbridge_demo.commands import add_commands  # noqa: E402
from mtbridge_demo.plan import DemoConfig, plan  # noqa: E402
from mtbridge_demo.run import run_demo  # noqa: E402
from mtbridge_demo.shards import shard_of_trader  # noqa: E402

pytestmark = pytest.mark.integration

JOURNAL_FINGERPRINTS = ("records_digest", "server_digest")


def business(results: dict) -> dict:
    return {k: v for k, v in json.loads(json.dumps(results)).items() if k not in JOURNAL_FINGERPRINTS}


def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mtbridge")
    add_commands(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv).handler(parser.parse_args(argv))


def test_three_sharded_daemons_on_postgresql_give_the_single_daemons_business_results(pg_url: str) -> None:
    cfg = DemoConfig(seed=1, traders=3, investors=8, hours=2)  # a seed with stop-out episodes on the feed
    single = asyncio.run(run_demo(cfg))
    sharded = asyncio.run(run_demo(cfg, shards=3, pg_url=pg_url))
    assert "cluster" not in single
    assert business(sharded["results"]) == business(single["results"])
    r = sharded["results"]
    assert r["copies"]["opened"] > 0 and r["subscriptions"]["started"] == 8
    assert r["stop_outs"]["events"] > 0  # counted per account report, not per turn: equal however turns fall

    # the report says which daemon owned which shard, traders and logins
    cluster = sharded["cluster"]
    traders, investors = plan(cfg)
    assert [s["shard"] for s in cluster["shards"]] == ["s1", "s2", "s3"]
    assert [s["owner"] for s in cluster["shards"]] == ["d1", "d2", "d3"]
    assert len({s["endpoint"] for s in cluster["shards"]}) == 3
    for k, s in enumerate(cluster["shards"]):
        mine = [t.id for i, t in enumerate(traders) if shard_of_trader(i, len(traders), 3) == k]
        assert s["traders"] == mine
        assert s["investors"] == sum(1 for ip in investors if ip.trader in mine)
        assert s["logins"] == len(mine) + s["investors"]
        assert s["frames_in"] > 0  # each daemon served its terminals
    assert sum(s["logins"] for s in cluster["shards"]) == cfg.traders + cfg.investors


def test_the_shard_rule_cuts_the_traders_into_contiguous_blocks() -> None:
    """docs/scaling.md: 5 traders on 3 shards -> s1 trader-1, trader-2; s2 trader-3, trader-4; s3 trader-5."""
    assert [shard_of_trader(i, 5, 3) for i in range(5)] == [0, 0, 1, 1, 2]
    assert [shard_of_trader(i, 3, 3) for i in range(3)] == [0, 1, 2]


@pytest.mark.parametrize("argv, problem", [
    (["--shards", "3"], "--shards needs --store postgres"),
    (["--store", "postgres", "--shards", "4"], "--shards 4: between 1 and the number of traders (3)"),
    (["--store", "postgres", "--shards", "3", "--mode", "plugin"], "--mode terminal only"),
    (["--store", "postgres", "--pg-url", "mysql://x"], "not a postgresql:// URL"),
])
def test_a_bad_cluster_option_is_a_one_line_error(argv: list[str], problem: str, capsys) -> None:
    assert cli(["demo", "--no-progress", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert problem in err and "\n" not in err
