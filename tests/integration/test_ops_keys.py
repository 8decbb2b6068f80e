"""`mtbridge keys` in production (issue 13 §3): "`mtbridge keys server` overwrites an existing
key pair without asking (every terminal breaks); re-running `keys terminal` appends a duplicate
allow-list entry and the daemon then refuses to start. Refuse without `--force`; update entries
in place."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bridge.daemon.config import parse_config
from bridge.daemon.keys import read_keypair
from tests.integration.opskit import mtbridge, no_leftover_processes  # noqa: F401 - the fixture is autouse

pytestmark = pytest.mark.integration


def test_keys_server_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    out = tmp_path / "keys"
    assert mtbridge("keys", "server", "--out", str(out)).returncode == 0
    first = read_keypair(out / "server.key")
    again = mtbridge("keys", "server", "--out", str(out))
    assert again.returncode == 2
    assert again.stderr.strip() == (f"mtbridge keys: error: {out / 'server.key'} exists: replacing the server key pair "
                                    "breaks every terminal until it gets the new server.pub; use --force to replace it")
    assert read_keypair(out / "server.key") == first  # untouched
    forced = mtbridge("keys", "server", "--out", str(out), "--force")
    assert forced.returncode == 0 and read_keypair(out / "server.key") != first
    assert read_keypair(out / "server.pub").public == read_keypair(out / "server.key").public


def _entries(path: Path) -> list[dict]:
    return tomllib.loads(path.read_text())["allow"]


def test_rerunning_keys_terminal_updates_the_entry_in_place(tmp_path: Path) -> None:
    out, allow = tmp_path / "keys", tmp_path / "keys" / "allow.toml"
    out.mkdir()
    allow.write_text("# the desk's terminals\n")
    base = ("keys", "terminal", "--out", str(out), "--allow-list", str(allow))
    assert mtbridge(*base, "trader-1001", "--login", "1001").returncode == 0
    assert mtbridge(*base, "desk", "--role", "monitor").returncode == 0
    pair = read_keypair(out / "trader-1001.key")
    r = mtbridge(*base, "trader-1001", "--login", "1001", "--login", "1002")  # re-run: one more login
    assert r.returncode == 0, r.stderr
    assert "kept the existing key pair of trader-1001" in r.stdout and "updated the allow-list entry" in r.stdout
    entries = _entries(allow)
    assert [e["name"] for e in entries] == ["trader-1001", "desk"]  # no duplicate, order kept
    assert entries[0] == {"name": "trader-1001", "public_key": pair.public, "logins": [1001, 1002], "role": "trader"}
    assert read_keypair(out / "trader-1001.key") == pair
    assert allow.read_text().startswith("# the desk's terminals\n")
    # the daemon accepts the file (the reviewer's "key name 'trader-1001' is listed twice" is gone)
    srv = mtbridge("keys", "server", "--out", str(out))
    assert srv.returncode == 0
    cfg = parse_config({"security": {"server_key_file": "keys/server.key", "allow_list": "keys/allow.toml"}},
                       base=tmp_path)
    assert len(cfg.allow) == 2
    rotated = mtbridge(*base, "trader-1001", "--login", "1001", "--force")  # rotation: a new pair
    assert rotated.returncode == 0
    new = read_keypair(out / "trader-1001.key")
    assert new != pair and _entries(allow)[0]["public_key"] == new.public and len(_entries(allow)) == 2


def test_an_older_duplicate_entry_is_repaired(tmp_path: Path) -> None:
    allow = tmp_path / "allow.toml"
    first = mtbridge("keys", "terminal", "t1", "--login", "1", "--allow-list", str(allow))
    assert first.returncode == 0
    allow.write_text(allow.read_text() * 2)  # what the old append produced
    r = mtbridge("keys", "terminal", "t1", "--login", "1", "--allow-list", str(allow))
    assert r.returncode == 0, r.stderr
    assert [e["name"] for e in _entries(allow)] == ["t1"]
