"""`mtbridge admin ...` in a subprocess against a real daemon (issue 13 §2).

Issue 13 §2: "`mtbridge admin ...`: a command-line back office over the admin API (register
and disable traders, deposit, withdraw, transfer, subscribe, edit, stop, list, status),
`--json` on every command, one-line errors with exit status 2."
Exit status as documented in docs/operations.md: 0 done, 1 refused by the engine, 2 usage or
connection error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bridge.daemon.keys import write_keypair
from bridge.daemon.testing import DaemonProcess, Setup, journal_records, make_setup

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Env:
    setup: Setup
    daemon: DaemonProcess

    def run(self, *argv: str, key: str = "ops", endpoint: str | None = None) -> subprocess.CompletedProcess:
        conn = ["--endpoint", endpoint or self.daemon.endpoints["admin"], "--server-key",
                str(self.setup.dir / "server.key"), "--client-key", str(self.setup.dir / f"{key}.key")]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        return subprocess.run([sys.executable, "-m", "bridge.cli", "admin", *argv, *conn], capture_output=True,
                              text=True, cwd=ROOT, env=env, timeout=120)

    def json(self, *argv: str) -> dict:
        r = self.run(*argv, "--json")
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    setup = make_setup(tmp_path_factory.mktemp("admin-cli"), {"ops": ([], "admin"), "desk": ([], "monitor")})
    for name in ("ops", "desk"):
        write_keypair(setup.dir / f"{name}.key", setup.keys[name])
    daemon = DaemonProcess(setup.config_path).start()
    try:
        yield Env(setup, daemon)
    finally:
        daemon.terminate()


def test_back_office_session_end_to_end(env: Env) -> None:
    r = env.run("register-trader", "--trader", "T1", "--account", "1001", "--account-type", "mt4_standard",
                "--leverage", "100", "--commission-pct", "20")
    assert (r.returncode, r.stderr) == (0, "")
    reply = env.json("deposit", "--owner", "inv-1", "--amount", "1000.00")
    assert reply["ok"] and reply["refused"] is None
    assert [(m["owner"], m["balance"], m["kind"]) for m in reply["records"]] == [("inv-1", "1000.00", "deposit")]

    r = env.run("transfer", "--from-owner", "inv-1", "--to-owner", "inv-2", "--amount", "250.00")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[0] == "wallet_movement" and "kind=transfer_out" in lines[0] and "amount=-250.00" in lines[0]
    assert "kind=transfer_in" in lines[1] and "balance=250.00" in lines[1]

    # an engine refusal: exit 1, one line naming the code
    r = env.run("withdraw", "--owner", "inv-2", "--amount", "999")
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "refused: insufficient_funds" in r.stderr
    r = env.run("withdraw", "--owner", "inv-2", "--amount", "999", "--json")  # --json: the reply still printed
    assert r.returncode == 1 and json.loads(r.stdout)["refused"]["code"] == "insufficient_funds"

    reply = env.json("subscribe", "--investor", "inv-1", "--trader", "T1", "--account", "2001", "--amount", "500",
                     "--mode", "proportional")
    (started,) = [x for x in reply["records"] if x["topic"] == "record.subscription_started"]
    sub = str(started["subscription"])
    assert env.run("edit", "--subscription", sub, "--requester", "inv-1", "--protection-pct", "30").returncode == 0

    assert env.run("disable-trader", "--trader", "T1").returncode == 0
    (trader,) = env.json("list-traders")["traders"]
    assert (trader["trader"], trader["disabled"], trader["followers"]) == ("T1", True, 1)
    r = env.run("list-subscriptions")
    header, rule, row = r.stdout.splitlines()
    assert header.split()[:4] == ["subscription", "investor", "trader", "account"] and set(rule) <= {"-", " "}
    assert row.split()[:5] == [sub, "inv-1", "T1", "2001", "active"]
    wallets = {w["owner"]: w["balance"] for w in env.json("wallet")["wallets"]}
    assert wallets == {"inv-1": "250.00", "inv-2": "250.00"}

    status = env.json("status")
    assert status["subscriptions"][sub]["trader"] == "T1"
    assert "journal seq" in env.run("status").stdout
    assert env.run("copies").stdout.strip() == "no copies"
    assert env.run("ping").stdout.startswith("pong: daemon clock ")

    r = env.run("stop", "--subscription", sub, "--requester", "nil")
    assert r.returncode == 0 and "subscription_stopped" in r.stdout
    assert env.json("list-subscriptions", "--live")["subscriptions"] == []
    # everything above went through the journal: the disable and the transfer are in it
    topics = [x["topic"] for x in journal_records(env.setup.journal)]
    assert "record.trader_status_changed" in topics and topics.count("record.wallet_movement") >= 3


def test_bad_arguments_are_refused_before_sending(env: Env) -> None:
    r = env.run("deposit", "--owner", "inv-9", "--amount", "12.3456789012345")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "bad_args" in r.stderr and "args.amount" in r.stderr
    r = env.run("subscribe", "--investor", "x", "--trader", "T1", "--account", "1", "--amount", "1", "--mode", "double")
    assert r.returncode == 2 and "--mode" in r.stderr
    r = env.run("deposit", "--owner", "inv-9")
    assert r.returncode == 2 and "--amount" in r.stderr
    assert not [x for x in journal_records(env.setup.journal) if "inv-9" in json.dumps(x) or x.get("investor") == "x"]


def test_a_key_without_the_admin_role_gets_no_answer(env: Env) -> None:
    # The admin socket's CURVE handshake admits admin keys only: a monitor key meets silence.
    r = env.run("status", "--timeout", "1", key="desk")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "an admin key on its allow-list" in r.stderr


def test_no_daemon_is_one_line_and_exit_2(env: Env) -> None:
    r = env.run("ping", "--timeout", "0.3", endpoint="tcp://127.0.0.1:9")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "no reply from tcp://127.0.0.1:9" in r.stderr
