"""`--log-level debug` shows more than info: each turn's counts, each command sent and answered
with its ids. At info none of them is written (nor built: the core and the shell ask the logger
once, at start)."""

from __future__ import annotations

import io
import logging
import time
from decimal import Decimal
from pathlib import Path

import pytest
import structlog

from bridge.daemon.client import AdminClient, TerminalClient, wait_until
from bridge.daemon.config import parse_config
from bridge.daemon.server import Daemon
from bridge.daemon.store import SqliteStore
from bridge.daemon.testing import DaemonProcess, make_setup
from bridge.protocol import CommandResult, Open, PositionOpened
from tests.integration.opskit import events, log_lines

pytestmark = pytest.mark.integration

TRADER, INV = 1001, 2001


def _one_copy(tmp: Path, level: str) -> tuple[Path, str]:
    """A daemon at `level`: one trader deal copied and answered. (its log, the command's key)"""
    setup = make_setup(tmp, {"trader": ([TRADER], "trader"), "investor": ([INV], "investor"), "ops": ([], "admin")})
    log = tmp / f"{level}.log"
    daemon = DaemonProcess(setup.config_path, log_path=log, args=["--log-level", level]).start()
    try:
        with AdminClient(daemon.endpoints["admin"], setup.curve("ops")) as admin:
            assert admin("register_trader", trader="T", account=TRADER, account_type="mt4_standard", leverage=100,
                         commission_pct="0")["ok"]
            assert admin("deposit", owner="I", amount="10000")["ok"]
            assert admin("subscribe", investor="I", trader="T", account=INV, amount="10000")["ok"]
        trader = TerminalClient(daemon.endpoints["router"], setup.curve("trader"))
        inv = TerminalClient(daemon.endpoints["router"], setup.curve("investor"))
        trader.hello(TRADER)
        inv.hello(INV)
        assert wait_until(lambda: trader.sessions[TRADER].welcomed and inv.sessions[INV].welcomed, [inv, trader])
        trader.send(TRADER, PositionOpened, ticket=5, symbol="EURUSD", side="buy", volume=Decimal("0.1"),
                    price=Decimal("1.1"), sl=Decimal(0), tp=Decimal(0), time=int(time.time() * 1000), magic=0,
                    comment="")
        assert wait_until(lambda: inv.commands(INV), [inv, trader]), "no open"
        cmd = inv.commands(INV)[0]
        assert isinstance(cmd, Open)
        inv.send(INV, CommandResult, key=cmd.key, ok=True, retcode=10009, ticket=9001, price=Decimal("1.1"),
                 volume=cmd.volume, time=int(time.time() * 1000), message="")
        with AdminClient(daemon.endpoints["admin"], setup.curve("ops")) as admin:  # answered: nothing pending
            assert wait_until(lambda: admin("status")["pending_commands"] == 0, [inv, trader])
        trader.close()
        inv.close()
    finally:
        assert daemon.terminate() == 0
    return log, cmd.key


def test_debug_shows_turns_and_each_command_sent_and_answered(tmp_path: Path) -> None:
    """Review of issue 10: "the daemon has no debug-level log events, so `--log-level debug`
    equals info: add a few useful debug events (per-turn counts, command sent/answered ids)"."""
    log, key = _one_copy(tmp_path, "debug")
    sent = [e for e in events(log, "command.sent") if e["key"] == key]
    answered = [e for e in events(log, "command.answered") if e["key"] == key]
    assert len(sent) == 1 and sent[0]["level"] == "debug" and sent[0]["login"] == INV and sent[0]["type"] == "open"
    assert sent[0]["id"] > 0 and sent[0]["seq"] > 0 and sent[0]["resent"] is False
    assert len(answered) == 1 and answered[0]["ok"] is True and answered[0]["ticket"] == 9001
    turns = events(log, "loop.turn")
    assert turns and all(t["level"] == "debug" for t in turns)
    assert sum(t["frames_in"] for t in turns) >= 4  # two hellos, the deal, the result (and heartbeats)
    assert sum(t["frames_out"] for t in turns) >= 3  # two welcomes and the open


def test_info_writes_none_of_them(tmp_path: Path) -> None:
    log, _key = _one_copy(tmp_path, "info")
    assert events(log, "daemon.started")  # the log is written (info lines are there)
    assert not [r for r in log_lines(log) if r.get("level") == "debug"]
    assert not events(log, "command.sent") and not events(log, "command.answered") and not events(log, "loop.turn")


def test_only_an_asked_debug_level_builds_them(tmp_path: Path) -> None:
    """structlog's unconfigured default (in-process daemons of tests and tools) writes every
    level: the debug events stay off unless a debug level was configured."""
    config = parse_config({"daemon": {"heartbeat_ms": 1000}})

    def at(level: int) -> object:
        return structlog.wrap_logger(structlog.PrintLogger(io.StringIO()),
                                     wrapper_class=structlog.make_filtering_bound_logger(level))

    saved = structlog.get_config()
    structlog.reset_defaults()  # the unconfigured default, whatever another test configured
    try:
        for i, (log, debug) in enumerate([(None, False), (at(logging.INFO), False), (at(logging.DEBUG), True)]):
            daemon = Daemon(config, insecure=True, store=SqliteStore(tmp_path / f"j{i}.db"), log=log)
            try:
                assert daemon.debug is debug
            finally:
                daemon.ctx.term()
                daemon.store.close()
    finally:
        structlog.configure(**saved)
