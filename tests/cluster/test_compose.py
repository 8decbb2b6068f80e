"""deploy/compose: the local three-daemon cluster's files against the real CLI and config schema.

"A Docker Compose file for a local three-daemon cluster with PostgreSQL, documented." (issue
16, section 3). There is no Docker daemon here: the compose file is parsed, each daemon
service's command is parsed by `mtbridge`'s own argument parser, and each config file it names
is loaded by the daemon's own validator (with freshly generated keys where the operator puts
them), then checked against the compose file (ports, database, node names)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

yaml = pytest.importorskip("yaml")

from bridge.cli import build_parser, main  # noqa: E402
from bridge.daemon.config import load_config  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose"
MOUNT = "/etc/mtbridge"
DAEMONS = ("d1", "d2", "d3", "d4")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((COMPOSE / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def configs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """deploy/compose/config with the operator's generated files: a server key, an allow list."""
    d = tmp_path_factory.mktemp("compose") / "config"
    shutil.copytree(COMPOSE / "config", d, ignore=shutil.ignore_patterns("keys", "allow.toml"))
    assert main(["keys", "server", "--out", str(d / "keys")]) == 0
    assert main(["keys", "terminal", "traders", "--role", "trader", "--login", "1001", "--out", str(d / "keys"),
                 "--allow-list", str(d / "allow.toml")]) == 0
    return d


def test_three_daemons_and_postgresql_each_command_is_a_real_mtbridge_command(compose: dict, configs: Path) -> None:
    services = compose["services"]
    assert {"postgres", *DAEMONS} <= set(services)
    assert [s for s in DAEMONS if "profiles" not in services[s]] == ["d1", "d2", "d3"]  # d4: the standby
    dockerfile = (ROOT / services["d1"]["build"]["dockerfile"]).read_text()
    assert 'ENTRYPOINT ["mtbridge"]' in dockerfile  # a service's command is mtbridge's arguments
    for name in DAEMONS:
        args = build_parser().parse_args(services[name]["command"])
        assert args.command == "daemon" and args.config.startswith(MOUNT + "/")
        assert f"./config:{MOUNT}:ro" in services[name]["volumes"]
        assert (configs / args.config.removeprefix(MOUNT + "/")).is_file()


def test_each_config_passes_the_daemons_validator_and_matches_the_compose_file(compose: dict,
                                                                               configs: Path) -> None:
    services = compose["services"]
    pg = services["postgres"]["environment"]
    health_port = re.search(r"127\.0\.0\.1:(\d+)/healthz", (ROOT / "deploy/docker/Dockerfile").read_text()).group(1)
    owned = []
    for name in DAEMONS:
        cfg = load_config(configs / build_parser().parse_args(services[name]["command"]).config
                          .removeprefix(MOUNT + "/"))
        assert cfg.cluster is not None and cfg.cluster.node == name
        assert cfg.server_key is not None and cfg.allow.entries  # the generated files were found and read
        # terminals reach the router through the published port, and redirects name that address
        (published,) = services[name]["ports"]
        host, host_port, container_port = published.split(":")
        assert cfg.router == f"tcp://0.0.0.0:{container_port}"
        assert cfg.cluster.endpoint == f"tcp://{host}:{host_port}"
        # the journal is the compose database
        url = urlsplit(cfg.journal_url)
        assert (url.hostname, url.port, url.path.lstrip("/")) == ("postgres", 5432, pg["POSTGRES_DB"])
        assert (url.username, url.password) == (pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"])
        assert cfg.health == f"127.0.0.1:{health_port}"
        if "profiles" not in services[name]:
            owned += cfg.cluster.shards
        else:  # the standby stands by for every shard the others own
            assert set(cfg.cluster.shards) == {"s1", "s2", "s3"}
    assert sorted(owned) == ["s1", "s2", "s3"]  # one shard per daemon
