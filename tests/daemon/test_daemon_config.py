"""Config validation reports file + key + problem; the CLI exits 2 on a bad config."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bridge.cli import main
from bridge.daemon.config import ConfigError, load_config, parse_config
from bridge.daemon.keys import allow_entry_toml, generate_keypair, write_keypair
from bridge.domain.servertime import BROKER_DEFAULT, ServerTimeZone


def test_defaults() -> None:
    cfg = parse_config({})
    assert cfg.heartbeat_ms == 1000 and cfg.offline_after == 5 and cfg.router.startswith("tcp://")
    assert cfg.engine.eligible_trader_types == ("mt4_standard", "mt4_pro")
    assert cfg.engine.server_timezone == BROKER_DEFAULT


def test_server_timezone() -> None:
    assert parse_config({"engine": {"server_timezone": "UTC-5"}}).engine.server_timezone == ServerTimeZone(-18_000_000)


@pytest.mark.parametrize(("data", "key"), [
    ({"daemon": {"heartbeat_ms": 0}}, "daemon.heartbeat_ms"),
    ({"daemon": {"heartbeat_ms": "fast"}}, "daemon.heartbeat_ms"),
    ({"daemon": {"router": "localhost:5570"}}, "daemon.router"),
    ({"daemon": {"bogus": 1}}, "daemon.bogus"),
    ({"nonsense": {}}, "nonsense"),
    ({"journal": {"synchronous": "sometimes"}}, "journal.synchronous"),
    ({"engine": {"eligible_trader_types": ["no_such_type"]}}, "engine.eligible_trader_types[0]"),
    ({"engine": {"max_protection_pct": "abc"}}, "engine.max_protection_pct"),
    ({"engine": {"investor_platforms": "MT4"}}, "engine.investor_platforms"),
    ({"engine": {"investor_platforms": ["MT6"]}}, "engine"),
    ({"engine": {"eligible_trader_types": ["mt4_standard", "mt5_standard"]}}, "engine"),
    ({"engine": {"limits": {"minimum": -1}}}, "engine.limits.minimum"),
    ({"engine": {"server_timezone": "GMT+2"}}, "engine.server_timezone"),
    ({"engine": {"server_timezone": 2}}, "engine.server_timezone"),
    ({"partners": [{"id": ""}]}, "partners[0].id"),
    ({"security": {"allow": [{"name": "x", "public_key": "short", "logins": [1]}]}}, "security.allow[0].public_key"),
])
def test_bad_values_name_their_key(data: dict, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(data, file="d.toml")
    assert info.value.key == key and str(info.value).startswith(f"d.toml: {key}: ")


def test_engine_and_partners(tmp_path: Path) -> None:
    cfg = parse_config({"engine": {"open_validity_ms": 5000, "investor_rates": {"metals": "1.2"},
                                   "multilevel_shares": ["0.1", "0.05"]},
                        "partners": [{"id": "ib1", "trader_rate_per_lot": "2"}]})
    assert cfg.engine.open_validity_ms == 5000
    assert cfg.engine.investor_rate("metals") == Decimal("1.2")
    assert cfg.partners[0].trader_rate_per_lot == Decimal(2)


def test_key_files_and_allow_list(tmp_path: Path) -> None:
    server, term = generate_keypair(), generate_keypair()
    write_keypair(tmp_path / "server.key", server)
    (tmp_path / "allow.toml").write_text(allow_entry_toml("t1", term.public, [1001, 1002], "trader"))
    (tmp_path / "d.toml").write_text('[security]\nserver_key_file = "server.key"\nallow_list = "allow.toml"\n')
    cfg = load_config(tmp_path / "d.toml")
    assert cfg.server_key == server and cfg.allow.by_key[term.public].logins == (1001, 1002)
    assert (tmp_path / "server.key").stat().st_mode & 0o777 == 0o600


def test_cli_reports_bad_config_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "d.toml").write_text("[daemon]\nheartbeat_ms = -5\n")
    assert main(["daemon", "--config", str(tmp_path / "d.toml")]) == 2
    assert "daemon.heartbeat_ms: must be a whole number" in capsys.readouterr().err


def test_cli_refuses_to_run_without_server_key_unless_insecure(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "d.toml").write_text("[daemon]\n")
    assert main(["daemon", "--config", str(tmp_path / "d.toml")]) == 2
    assert "security.server_key_file" in capsys.readouterr().err


def test_keys_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "server", "--out", str(tmp_path)]) == 0
    assert main(["keys", "terminal", "inv-1", "--login", "2001", "--login", "2002", "--role", "investor",
                 "--out", str(tmp_path), "--allow-list", str(tmp_path / "allow.toml")]) == 0
    out = capsys.readouterr().out
    assert "[[allow]]" in out and "logins = [2001, 2002]" in out
    (tmp_path / "d.toml").write_text('[security]\nserver_key_file = "server.key"\nallow_list = "allow.toml"\n')
    cfg = load_config(tmp_path / "d.toml")
    assert cfg.allow.by_name["inv-1"].role == "investor"
    assert main(["keys", "terminal", "x", "--role", "trader"]) == 2  # no --login


def test_platforms_default_to_mt4_and_mt5_is_enabled_by_key() -> None:
    # seed 003 §3: "The Service is available on the MetaTrader 4 platform."
    cfg = parse_config({})
    assert (cfg.engine.trader_platforms, cfg.engine.investor_platforms) == (("MT4",), ("MT4",))
    cfg = parse_config({"engine": {"trader_platforms": ["MT4", "MT5"], "investor_platforms": ["MT4", "MT5"],
                                   "eligible_trader_types": ["mt4_standard", "mt4_pro", "mt5_standard"]}})
    assert cfg.engine.investor_platforms == ("MT4", "MT5") and "mt5_standard" in cfg.engine.eligible_trader_types
