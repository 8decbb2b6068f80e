"""Operations keys of the daemon config (issue 13 §3): endpoint ports, the health listener,
explicit journal creation, and a broker's own rule tables."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bridge.daemon.config import ConfigError, parse_config
from bridge.daemon.core import DaemonCore
from bridge.daemon.store import Recovery

DATA = Path(__file__).resolve().parents[2] / "bridge" / "data"


@pytest.mark.parametrize(("value", "ok"), [
    ("tcp://127.0.0.1:5570", True), ("tcp://127.0.0.1:*", True), ("tcp://[::1]:5570", True),
    ("ipc:///run/mtbridge/router", True), ("tcp://127.0.0.1:99999", False), ("tcp://127.0.0.1:0", False),
    ("tcp://127.0.0.1", False), ("tcp://:5570", False), ("tcp://127.0.0.1:55x", False),
])
def test_endpoint_ports_are_checked(value: str, ok: bool) -> None:
    """Issue 13 §3: "`tcp://127.0.0.1:99999` silently binds another port"."""
    if ok:
        assert parse_config({"daemon": {"router": value}}).router == value
    else:
        with pytest.raises(ConfigError) as info:
            parse_config({"daemon": {"router": value}}, file="d.toml")
        assert info.value.key == "daemon.router" and "PORT 1-65535" in info.value.problem


@pytest.mark.parametrize(("value", "ok"), [("", True), ("127.0.0.1:9464", True), ("127.0.0.1:0", True),
                                           ("[::1]:9464", True), ("9464", False), ("127.0.0.1:70000", False),
                                           ("127.0.0.1:*", False)])
def test_health_listener(value: str, ok: bool) -> None:
    if ok:
        assert parse_config({"daemon": {"health": value}}).health == value
    else:
        with pytest.raises(ConfigError) as info:
            parse_config({"daemon": {"health": value}})
        assert info.value.key == "daemon.health"


def test_a_config_file_creates_its_journal_only_when_asked() -> None:
    """Issue 13 §3: "a mistyped journal path starts an empty state ... a new journal only
    with an explicit flag"."""
    assert parse_config({}).journal_create is False
    assert parse_config({"journal": {"create": True}}).journal_create is True
    with pytest.raises(ConfigError) as info:
        parse_config({"journal": {"create": "yes"}})
    assert info.value.key == "journal.create"


def test_a_brokers_own_rule_tables(tmp_path: Path) -> None:
    """docs/margin.md: "labels and the group → table mapping ... are configurable, and a
    broker can ship its own files" -- the daemon config's `[rules]` table names them."""
    text = (DATA / "account_types.toml").read_text().replace('stop_out_level = "20"', 'stop_out_level = "30"', 1)
    (tmp_path / "types.toml").write_text(text)
    cfg = parse_config({"rules": {"account_types": "types.toml"}}, base=tmp_path)
    assert cfg.rules is not None
    assert cfg.rules.account_types.get("mt4_standard").stop_out_level == Decimal("30")
    core = DaemonCore.recover(cfg, Recovery(0, None, [], [], frozenset(), {}, 0), now=1, insecure=True)
    assert core.engine.rules is cfg.rules  # the engine decides with the broker's tables
    assert parse_config({}).rules is None  # the packaged ones


def test_bad_rule_tables_stop_the_start(tmp_path: Path) -> None:
    (tmp_path / "types.toml").write_text("[account_type.x]\nplatform = \"MT9\"\n")
    with pytest.raises(ConfigError) as info:
        parse_config({"rules": {"account_types": "types.toml"}}, base=tmp_path, file="d.toml")
    assert info.value.key == "rules" and "types.toml" in info.value.problem
    with pytest.raises(ConfigError) as info:
        parse_config({"rules": {"symbols": "nope.toml"}}, base=tmp_path)
    assert info.value.key == "rules.symbols" and "file not found" in info.value.problem
    with pytest.raises(ConfigError) as info:
        parse_config({"rules": {"tiers": {"standard": 3}}}, base=tmp_path)
    assert info.value.key == "rules.tiers.standard"
    with pytest.raises(ConfigError) as info:
        parse_config({"rules": {"colours": "x"}}, base=tmp_path)
    assert info.value.key == "rules.colours"


def test_a_name_listed_twice_in_the_allow_list_file_names_that_file(tmp_path: Path) -> None:
    """The review: "The daemon then refuses with `daemon.toml: security.allow: key name
    'trader-1001' is listed twice`, which names the config table rather than `allow.toml`"."""
    from bridge.daemon.keys import allow_entry_toml, generate_keypair

    entry = allow_entry_toml("trader-1001", generate_keypair().public, [1001], "trader")
    (tmp_path / "allow.toml").write_text(entry + "\n" + entry)
    with pytest.raises(ConfigError) as info:
        parse_config({"security": {"allow_list": "allow.toml"}}, base=tmp_path, file="daemon.toml")
    assert str(info.value) == f"{tmp_path / 'allow.toml'}: allow: public key of 'trader-1001' is listed twice"
    (tmp_path / "allow.toml").write_text("[[allow]]\nname = 3\n")
    with pytest.raises(ConfigError) as info:
        parse_config({"security": {"allow_list": "allow.toml"}}, base=tmp_path, file="daemon.toml")
    assert info.value.file == str(tmp_path / "allow.toml") and info.value.key == "allow[0].name"


def test_the_check_and_the_start_refuse_the_same_server_keys() -> None:
    """`--check-config` and the start share one check: a key file without its secret half is
    refused by both, and `--insecure` needs no key for either."""
    import dataclasses

    from bridge.daemon.config import check_server_key
    from bridge.daemon.keys import KeyPair, generate_keypair

    config = parse_config({}, file="d.toml")
    whole = generate_keypair()
    check_server_key(dataclasses.replace(config, server_key=whole), insecure=False)
    check_server_key(dataclasses.replace(config, server_key=None), insecure=True)
    for key in (None, KeyPair(whole.public, None)):
        with pytest.raises(ConfigError) as info:
            check_server_key(dataclasses.replace(config, server_key=key), insecure=False)
        assert info.value.key == "security.server_key_file"
