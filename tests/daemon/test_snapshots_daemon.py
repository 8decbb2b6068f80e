"""The real daemon (subprocess: zmq I/O threads, asyncio loop, CURVE) forks its snapshots:
they land in the journal while it serves, survive kill -9, and a clean stop ends with one."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bridge.daemon.client import AdminClient
from bridge.daemon.core import DaemonCore
from bridge.daemon.config import load_config
from bridge.daemon.store import Recovery, SqliteStore
from bridge.daemon.testing import DaemonProcess, make_setup

pytestmark = pytest.mark.integration


def log_events(path: Path, name: str) -> list[dict]:
    out = []
    for line in path.read_text().splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if item.get("event") == name:
            out.append(item)
    return out


def wait_for(check, timeout: float = 20.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_forked_snapshots_in_the_running_daemon_and_across_kill_minus_9(tmp_path: Path) -> None:
    setup = make_setup(tmp_path, {"ops": ([], "admin")})
    text = setup.config_path.read_text().replace('[journal]\npath = "journal.db"\n',
                                                 '[journal]\npath = "journal.db"\nsnapshot_every_events = 20\n')
    setup.config_path.write_text(text)
    daemon = DaemonProcess(setup.config_path).start()
    try:
        admin = AdminClient(daemon.endpoints["admin"], setup.curve("ops"))
        assert admin("register_trader", trader="T", account=1001, account_type="mt4_standard", leverage=100,
                     commission_pct="10")["ok"]
        for n in (1, 2):  # two rounds of events, a snapshot after each
            for i in range(30 * n - 30, 30 * n):
                assert admin("deposit", owner=f"I{i}", amount="1000")["ok"]
                assert admin("subscribe", investor=f"I{i}", trader="T", account=3000 + i, amount="500")["ok"]
            wait_for(lambda n=n: len(log_events(daemon.log_path, "journal.snapshot")) >= n)
        assert admin("deposit", owner="I0", amount="1")["ok"]  # the tail after the last snapshot
        admin.close()
    finally:
        daemon.kill()
    snaps = log_events(daemon.log_path, "journal.snapshot")
    assert all(s["fork"] and s["block_ms"] < 1000 for s in snaps), snaps
    assert not log_events(daemon.log_path, "journal.snapshot_failed")

    # kill -9 happened: the journal's snapshot + tail equals a replay of every event
    config = load_config(setup.config_path)
    store = SqliteStore(tmp_path / "journal.db")
    rec = store.recover()
    assert rec.snapshot_seq >= 20 and isinstance(rec.snapshot, bytes)
    every = store.db.execute("SELECT seq, now, type, body FROM events ORDER BY seq").fetchall()
    full = Recovery(0, None, every, rec.pending, rec.logins, rec.meta, rec.last_seq)
    assert (DaemonCore.recover(config, rec, now=0, insecure=True).engine.to_state()
            == DaemonCore.recover(config, full, now=0, insecure=True).engine.to_state())
    store.db.close()

    daemon = DaemonProcess(setup.config_path).start()  # restarts, then a clean stop
    assert daemon.terminate() == 0
    store = SqliteStore(tmp_path / "journal.db")
    assert store.recover().events == []  # the last state is in the last snapshot
