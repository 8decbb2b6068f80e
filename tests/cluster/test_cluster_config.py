"""`[cluster]` in the daemon config: validated, one-line errors naming the key.

"Each daemon holds **leases** on shards in PostgreSQL" (issue 16, section 2): their timers are
the config's."""

from __future__ import annotations

import pytest

from bridge.daemon.config import ConfigError, parse_config

URL = "postgresql://mtbridge@127.0.0.1:5432/mtbridge"


def cfg(cluster: dict, journal: dict | None = None):  # noqa: ANN201
    return parse_config({"journal": journal if journal is not None else {"url": URL}, "cluster": cluster},
                        file="d1.toml")


def test_a_cluster_table_with_defaults() -> None:
    c = cfg({"node": "d1", "shards": ["s1", "s2"]}).cluster
    assert (c.node, c.shards, c.endpoint) == ("d1", ("s1", "s2"), "tcp://127.0.0.1:5570")  # daemon.router
    assert (c.lease.duration_ms, c.lease.renew_ms, c.acquire_timeout_s) == (1500, 300, 0)
    assert c.warm_standby is True  # a standby keeps its shards warm unless told not to
    assert cfg({"node": "d1", "shards": ["s1"], "warm_standby": False}).cluster.warm_standby is False
    assert parse_config({}).cluster is None


@pytest.mark.parametrize(("cluster", "journal", "message"), [
    ({"node": "d1", "shards": ["s1"]}, {}, "cluster: a cluster shares one PostgreSQL database: set journal.url"),
    ({"shards": ["s1"]}, None, "cluster.node: required"),
    ({"node": "d 1", "shards": ["s1"]}, None, "cluster.node: required"),
    ({"node": "d1", "shards": []}, None, "cluster.shards: required: a non-empty list"),
    ({"node": "d1", "shards": ["s-1"]}, None, "cluster.shards[0]: 's-1': letters, digits and _ only"),
    ({"node": "d1", "shards": ["s1", "s1"]}, None, "cluster.shards: a shard is listed twice"),
    ({"node": "d1", "shards": ["s1"], "endpoint": "tcp://*:5570"}, None, "cluster.endpoint: 'tcp://*:5570'"),
    ({"node": "d1", "shards": ["s1"], "lease_ms": 500}, None, "lease_ms 500 must be at least twice renew_ms 300"),
    ({"node": "d1", "shards": ["s1"], "renew_ms": "1s"}, None, "cluster.renew_ms: '1s': a whole number >= 0"),
    ({"node": "d1", "shards": ["s1"], "lease": 3}, None, "cluster.lease: unknown key"),
    ({"node": "d1", "shards": ["s1"], "warm_standby": "yes"}, None, "cluster.warm_standby: 'yes': true or false"),
])
def test_bad_cluster_tables_are_refused_in_one_line(cluster: dict, journal: dict | None, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        cfg(cluster, journal)
    assert message in str(err.value) and "\n" not in str(err.value) and "d1.toml" in str(err.value)
