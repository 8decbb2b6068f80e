"""`mtbridge keys terminal --gateway`: the key of a server-side gateway and its allow-list entry
(issue 14, item 3: "a login is served by exactly one of them (the allow-list says which)").

Seed 003 §14: "The Investors do not have access to the trading terminal." Their accounts are
served by the broker's gateway under one key; the flag writes `gateway = true` on that key's
entry so no EA key may claim the same logins.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bridge.cli import main
from bridge.daemon.config import parse_config
from bridge.daemon.keys import read_keypair


def _keys(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["keys", "terminal", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_keys_terminal_gateway_writes_a_gateway_entry_the_daemon_loads(tmp_path: Path, capsys) -> None:
    out, allow = tmp_path / "keys", tmp_path / "keys" / "allow.toml"
    base = ("--out", str(out), "--allow-list", str(allow))
    code, stdout, err = _keys(capsys, "gw-investors", "--role", "investor", "--gateway",
                              "--login", "3001", "--login", "3002", *base)
    assert code == 0, err
    assert "gateway = true" in stdout and f"added the allow-list entry of gw-investors in {allow}" in stdout
    pair = read_keypair(out / "gw-investors.key")
    assert (out / "gw-investors.key").read_text().startswith("# gateway key pair of gw-investors: install on "
                                                            "the gateway only\n")
    (entry,) = tomllib.loads(allow.read_text())["allow"]
    assert entry == {"name": "gw-investors", "public_key": pair.public, "logins": [3001, 3002],
                     "role": "investor", "gateway": True}
    # the trader keeps his EA: an ordinary key beside it
    code, _, err = _keys(capsys, "trader-1001", "--login", "1001", *base)
    assert code == 0, err
    assert main(["keys", "server", "--out", str(out)]) == 0
    capsys.readouterr()
    cfg = parse_config({"security": {"server_key_file": "keys/server.key", "allow_list": "keys/allow.toml"}},
                       base=tmp_path)
    assert {e.name: e.gateway for e in cfg.allow.entries} == {"gw-investors": True, "trader-1001": False}


def test_an_ea_key_claiming_a_gateway_login_is_refused_and_the_list_is_untouched(tmp_path: Path, capsys) -> None:
    allow = tmp_path / "allow.toml"
    assert _keys(capsys, "gw-investors", "--role", "investor", "--gateway", "--login", "3001",
                 "--login", "3002", "--allow-list", str(allow))[0] == 0
    before = allow.read_text()
    code, _, err = _keys(capsys, "inv-3002", "--role", "investor", "--login", "3002", "--allow-list", str(allow))
    assert code == 2
    assert err.strip() == (f"mtbridge keys: error: {allow}: login 3002 is claimed by gateway key 'gw-investors' "
                           "and by key 'inv-3002': a login is served by exactly one of them (an EA or a gateway)")
    assert allow.read_text() == before


def test_rerunning_without_gateway_turns_the_key_back_into_an_ea_key(tmp_path: Path, capsys) -> None:
    """The entry is rebuilt from the command line each run (as for --login and --role)."""
    allow = tmp_path / "allow.toml"
    for flags in (("--gateway",), ()):
        assert _keys(capsys, "gw", "--role", "investor", *flags, "--login", "3001", "--allow-list", str(allow))[0] == 0
    (entry,) = tomllib.loads(allow.read_text())["allow"]
    assert "gateway" not in entry


@pytest.mark.parametrize("role", ["admin", "monitor"])
def test_only_trader_and_investor_keys_can_be_gateways(tmp_path: Path, capsys, role: str) -> None:
    allow = tmp_path / "allow.toml"
    code, stdout, err = _keys(capsys, "desk", "--role", role, "--gateway", "--allow-list", str(allow))
    assert code == 2 and stdout == ""
    assert err.strip() == f"mtbridge keys: error: only a trader or investor key can be a gateway (this one is {role})"
    assert not allow.exists()
