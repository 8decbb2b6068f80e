"""The gateway plugin on the pure server, paired with the daemon core in memory (no sockets,
no clock): issue 14, item 3.

Seed 003 §4.6: "Once the service is activated, the trades will be copied to the Investor
Account, whether the owner of the account is signed in or not." §14: "The Investors do not
have access to the trading terminal." The investor accounts below are never logged in: the
gateway executes the copies on them as dealer actions, over the bridge protocol unchanged.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from gateway_world import INVESTORS, MONDAY, trade, scenario, world

from bridge.daemon.core import SendResult
from bridge.protocol import Direction, decode
from simulator.gateway import GatewayPlugin
from simulator.server import TradeServer
from simulator.server import retcodes as rc
from simulator.server.plugins.rules import default_plugins


def test_the_gateway_copies_to_investor_accounts_nobody_signed_in_to():
    server, daemon, wire, logins, gateway = world("gateway")
    res = trade(server, logins["trader"], "buy", "0.5")
    wire.poll()
    for inv in INVESTORS[:2]:
        (copy,) = server.positions(logins[inv])
        assert copy.volume == D("0.5") and copy.magic == daemon.config.copy_magic
    assert not daemon.pending and not daemon.awaiting
    # the trader closes: the copies close too, each close deal carrying its key
    trade(server, logins["trader"], "sell", "0.5", position=res.position)
    wire.poll()
    assert not any(server.positions(logins[inv]) for inv in INVESTORS)
    closes = [d.comment for inv in INVESTORS[:2] for d in server.history_deals(logins[inv])
              if d.entry == rc.DEAL_ENTRY_OUT]
    assert len(closes) == 2 and all("close" in c for c in closes)
    # nobody signed in to an investor account: the server's journal has no login for one
    investor_logins = {logins[x] for x in INVESTORS}
    assert not [e for e in server.journal.records("login") if e.get("login") in investor_logins]
    # the trader's EA terminal, and the test's two trader requests
    assert [e["login"] for e in server.journal.records("login")] == [logins["trader"]] * 3
    assert daemon.copy_map() and all(c["state"] == "closed" for sub in daemon.copy_map().values()
                                     for c in sub.values())


def test_the_daemon_receives_byte_identical_frames_from_the_gateway_and_from_a_terminal():
    """Same scenario, investors served by a terminal or by the gateway: every frame sent up
    (ids, seqs, ts, reports, command results) is the same, so the daemon cannot tell."""
    frames = {}
    for mode in ("terminal", "gateway", "gateway-scan-all"):
        server, daemon, wire, logins, _ = world(mode)
        scenario(server, wire, logins)
        frames[mode] = wire.up
        assert not daemon.pending
    assert frames["gateway"][b"I"] == frames["terminal"][b"I"] == frames["gateway-scan-all"][b"I"]
    assert frames["gateway"][b"T"] == frames["terminal"][b"T"]
    kinds = {decode(f, direction=Direction.TO_DAEMON).TYPE for f in frames["gateway"][b"I"]}
    assert {"hello", "command_result", "position_opened", "position_closed", "account_update"} <= kinds


def test_traders_can_be_served_by_the_gateway_as_well():
    """Mixed or all at the server: the trader's deals reach the daemon through the gateway's
    trader link; the frames are the ones the trader's EA sends."""
    frames = {}
    for mode in ("terminal", "gateway-both"):
        server, daemon, wire, logins, gateway = world(mode)
        scenario(server, wire, logins)
        frames[mode] = wire.up
        assert not daemon.pending
    assert frames["gateway-both"] == frames["terminal"]
    # the scenario logs in for its three trader requests (open, partial close, SL); the gateway nowhere
    assert len(server.journal.records("login")) == 3
    assert set(gateway.links) == {"trader", "investor"}


def test_the_gateway_has_its_own_home_and_builds_no_protocol_message_itself():
    """One source for the protocol: every message the gateway sends is built by TerminalCore."""
    import ast
    from pathlib import Path

    import bridge.protocol as protocol

    home = Path(__file__).resolve().parents[2] / "simulator" / "gateway"
    assert {"plugin.py", "accounts.py", "__init__.py"} <= {p.name for p in home.iterdir()}
    messages = {n for n in dir(protocol) if isinstance(getattr(protocol, n), type)
                and hasattr(getattr(protocol, n), "TYPE")}
    assert {"Hello", "PositionOpened", "CommandResult"} <= messages
    for path in home.glob("*.py"):
        tree = ast.parse(path.read_text())
        built = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call)
                 and isinstance(node.func, ast.Name) and node.func.id in messages}
        assert built == set(), (path.name, built)
        assert len(path.read_text().splitlines()) < 600


def test_idle_accounts_are_not_scanned():
    server, daemon, wire, logins, gateway = world("gateway")
    link = gateway.links["investor"]
    assert link.due() == sorted(logins[x] for x in INVESTORS)  # after the hellos, each account once
    wire.poll()
    assert link.due() == []  # nothing changed since: nothing to scan
    before = link.scans
    trade(server, logins["trader"], "buy", "0.5")
    wire.poll()  # the commands scan inv1, inv2 when executed; the next polls keep only holders due
    assert link.due() == sorted([logins["inv1"], logins["inv2"]])
    wire.poll()
    assert link.scans - before <= 4 and logins["inv3"] not in link.due()
    # a balance operation on the idle account is a deal: it is reported at the next poll
    server.deposit(logins["inv3"], D(100), payer_email="inv3@example.com")
    assert logins["inv3"] in link.due()
    n = len(wire.up[b"I"])
    wire.poll()
    updates = [decode(f, direction=Direction.TO_DAEMON) for f in wire.up[b"I"][n:]]
    assert [(m.TYPE, m.login, m.balance) for m in updates if m.TYPE == "account_update" and m.login == logins["inv3"]
            ] == [("account_update", logins["inv3"], D(2100))]


def test_a_restarted_gateway_answers_resent_commands_from_the_server_history():
    """The daemon re-sends an unanswered open after a reconnect; the reloaded plugin lost its
    key table and must not open a second position."""
    server, daemon, wire, logins, gateway = world("gateway")
    link = gateway.links["investor"]
    trade(server, logins["trader"], "buy", "0.4")
    wire.send(b"T", wire.ends[b"T"].poll(wire.now))
    for conn, frame in wire.to_daemon:
        daemon.on_frame(conn, None, frame, wire.now)
    wire.to_daemon.clear()
    daemon.take_batch()
    lost: list[bytes] = []

    def crash_after_execute(conn: bytes, frame: bytes) -> SendResult:
        if conn == b"I":
            link.receive(decode(frame, direction=Direction.TO_TERMINAL), wire.now)  # executed, replies lost
            lost.append(frame)
            return SendResult.OK
        return wire.deliver(conn, frame)

    daemon.pump(crash_after_execute, wire.now)
    assert len(lost) == 2 and len(daemon.pending) == 2
    assert [len(server.positions(logins[x])) for x in INVESTORS] == [1, 1, 0]
    gateway.restart(next_id=10**6)
    wire.attach(b"I2", gateway.links["investor"])  # hello again: the daemon re-queues the pending commands
    wire.run()
    assert not daemon.pending
    assert [len(server.positions(logins[x])) for x in INVESTORS] == [1, 1, 0]  # no second execution
    cm = daemon.copy_map()
    assert sorted(c["ticket"] for sub in cm.values() for c in sub.values()) == sorted(
        server.positions(logins[x])[0].ticket for x in INVESTORS[:2])


def test_a_refused_dealer_action_is_answered_with_the_server_retcode():
    server, daemon, wire, logins, gateway = world("gateway")
    server.withdraw(logins["inv1"], D(1990))  # 10 USD left: the copy's margin is not there
    wire.poll()
    trade(server, logins["trader"], "buy", "0.5")
    wire.poll()
    results = [decode(f, direction=Direction.TO_DAEMON) for f in wire.up[b"I"]]
    refused = [m for m in results if m.TYPE == "command_result" and m.login == logins["inv1"]]
    assert not server.positions(logins["inv1"])
    assert all(not m.ok for m in refused) and {m.retcode for m in refused} <= {rc.TRADE_RETCODE_NO_MONEY}


@pytest.mark.parametrize("logins, problem", [
    ({"investor": [7], "trader": [7]}, "login 7 is served twice (as investor and as trader)"),
    ({"admin": [7]}, "gateway roles must be trader or investor, got 'admin'"),
])
def test_bad_gateway_configurations_are_refused(logins, problem):
    gateway = GatewayPlugin()
    TradeServer(seed=1, start_ms=MONDAY, plugins=[*default_plugins(), gateway])
    with pytest.raises(ValueError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        gateway.serve(logins)
    assert gateway.links == {}  # nothing half-built


def test_a_gateway_not_loaded_on_a_server_refuses_to_serve():
    with pytest.raises(RuntimeError, match="once the server loaded it"):
        GatewayPlugin(None).serve({"investor": [1]})


def test_a_second_serve_of_a_served_role_changes_nothing():
    """Bad input changes nothing: the investor link refused must not leave a trader link behind."""
    server, daemon, wire, logins, gateway = world("gateway")
    assert "investor" in gateway.links and "trader" not in gateway.links
    before_links, before_logins = dict(gateway.links), dict(gateway._by_login)
    with pytest.raises(ValueError, match="already serves a investor link"):
        gateway.serve({"trader": [logins["trader"]], "investor": [999]})
    assert gateway.links == before_links and gateway._by_login == before_logins
