"""Allow-list gateway keys: a login is served by exactly one of an EA or a gateway (issue 14, item 3).

Seed 003 §4.6: "the trades will be copied to the Investor Account, whether the owner of the
account is signed in or not" -- a gateway at the broker serves such accounts; the allow-list
says which logins it serves, and no other key may serve them too."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.daemon.config import ConfigError, load_config
from bridge.daemon.keys import AllowEntry, AllowList, allow_entry_toml, generate_keypair, write_keypair


def _write(tmp_path: Path, allow: str) -> Path:
    write_keypair(tmp_path / "server.key", generate_keypair())
    (tmp_path / "allow.toml").write_text(allow)
    (tmp_path / "d.toml").write_text('[security]\nserver_key_file = "server.key"\nallow_list = "allow.toml"\n')
    return tmp_path / "d.toml"


def test_a_gateway_key_loads_and_is_marked(tmp_path: Path) -> None:
    gw, trader = generate_keypair(), generate_keypair()
    cfg = load_config(_write(tmp_path, allow_entry_toml("gw-investors", gw.public, [3001, 3002], "investor",
                                                        gateway=True)
                             + allow_entry_toml("trader-1001", trader.public, [1001], "trader")))
    assert cfg.allow.by_name["gw-investors"].gateway is True
    assert cfg.allow.by_name["gw-investors"].login_set == {3001, 3002}
    assert cfg.allow.by_name["trader-1001"].gateway is False  # the default: an EA's key


def test_a_login_claimed_by_a_gateway_and_an_ea_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    gw, ea = generate_keypair(), generate_keypair()
    path = _write(tmp_path, allow_entry_toml("gw-investors", gw.public, [3001, 3002], "investor", gateway=True)
                  + allow_entry_toml("inv-3002", ea.public, [3002], "investor"))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == (f"{tmp_path / 'allow.toml'}: login 3002 is claimed by gateway key 'gw-investors' and "
                              "by key 'inv-3002': a login is served by exactly one of them (an EA or a gateway)")


def test_two_gateways_may_not_share_a_login_either_and_order_does_not_matter() -> None:
    a, b, c = (generate_keypair().public for _ in range(3))
    ea_first = (AllowEntry("inv-7", a, (7,), "investor"), AllowEntry("gw", b, (5, 7), "investor", True))
    with pytest.raises(ValueError, match="login 7 is claimed by gateway key 'gw' and by key 'inv-7'"):
        AllowList(ea_first)
    with pytest.raises(ValueError, match="login 5 is claimed by gateway key 'gw' and by gateway key 'gw2'"):
        AllowList((AllowEntry("gw", b, (5,), "investor", True), AllowEntry("gw2", c, (5,), "trader", True)))
    # EA keys alone may overlap as before (a key being rotated is listed twice for a while)
    assert len(AllowList((AllowEntry("old", a, (7,), "investor"), AllowEntry("new", c, (7,), "investor")))) == 2


@pytest.mark.parametrize("table, problem", [
    ('logins = [1]\ngateway = "yes"', "allow[0].gateway: must be true or false, got 'yes'"),
    ('role = "admin"\ngateway = true', "allow[0].gateway: only a trader or investor key can be a gateway (this one is "
                                       "admin)"),
])
def test_bad_gateway_flags_are_refused_on_load(tmp_path: Path, table: str, problem: str) -> None:
    key = generate_keypair().public
    path = _write(tmp_path, f'[[allow]]\nname = "g"\npublic_key = "{key}"\n{table}\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{tmp_path / 'allow.toml'}: {problem}"


def test_a_reload_that_would_serve_a_gateway_login_twice_changes_nothing(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from bridge.daemon.reload import reload_allow_list

    gw, ea = generate_keypair(), generate_keypair()
    path = _write(tmp_path, allow_entry_toml("gw-investors", gw.public, [3001, 3002], "investor", gateway=True))
    errors: list[tuple[str, dict]] = []
    daemon = SimpleNamespace(config=load_config(path), core=None,
                             log=SimpleNamespace(error=lambda event, **kw: errors.append((event, kw))))
    before = daemon.config.allow
    (tmp_path / "allow.toml").write_text(allow_entry_toml("gw-investors", gw.public, [3001, 3002], "investor",
                                                          gateway=True)
                                         + allow_entry_toml("inv-3001", ea.public, [3001], "investor"))
    reply = reload_allow_list(daemon)
    assert reply["ok"] is False and "login 3001 is claimed by gateway key 'gw-investors' and by key 'inv-3001'" in \
        reply["error"]
    assert daemon.config.allow is before  # the list in force is kept
    assert [e for e, _ in errors] == ["daemon.reload_failed"]
