"""Account changes without a deal reach the daemon through the gateway as through a terminal
(issue 14, gaps of items 1 and 3).

Seed 003 §4.6: "Once the service is activated, the trades will be copied to the Investor
Account, whether the owner of the account is signed in or not." An investor whose broker
changes his leverage has no terminal to report it: the gateway must, at the same poll a
terminal would. MT5 Server API: ``IMTUserSink::OnUserUpdate`` is the event of a changed user
record (the plugin's `on_user_update`).
"""

from __future__ import annotations

import ast
from decimal import Decimal as D
from pathlib import Path

from gateway_world import world

from bridge.protocol import Direction, decode
from simulator.prices import Tick

ROOT = Path(__file__).resolve().parents[2]


def _leverage_seen(daemon, login: int) -> int:
    body, _ = daemon.feed.account(login)
    return body["leverage"]


def _advance(server, ms: int) -> None:
    server.on_tick(Tick("EURUSD", server.now_ms + ms, D("1.10000"), D("1.10010")))


def test_a_leverage_change_reaches_the_daemon_at_once_in_plugin_mode_as_in_terminal_mode():
    """inv3 subscribes to nothing and holds no position: before the user-update hook, the
    gateway never scanned it again and its new leverage waited for its next deal."""
    frames, seen = {}, {}
    for mode in ("terminal", "gateway"):
        server, daemon, wire, logins, gateway = world(mode)
        inv3 = logins["inv3"]
        wire.poll()
        _advance(server, wire.ends[b"I"].account_update_ms)  # past the hello's account_update window
        wire.poll()
        assert _leverage_seen(daemon, inv3) == 100
        if gateway is not None:
            assert inv3 not in gateway.links["investor"].due()  # idle: not scanned
        assert server.set_leverage(inv3, 200) is None
        if gateway is not None:
            assert inv3 in gateway.links["investor"].due()  # marked by on_user_update
        wire.poll()
        seen[mode] = _leverage_seen(daemon, inv3)
        frames[mode] = wire.up[b"I"]
    assert seen == {"terminal": 200, "gateway": 200}
    assert frames["gateway"] == frames["terminal"]  # same frames, same poll


def test_a_change_inside_the_coalescing_window_is_sent_when_the_window_ends_in_both_modes():
    """A terminal sends at most one non-trade account_update per `account_update_ms`; a
    leverage change made just after a deposit's update goes out at the first poll after the
    window. The gateway keeps the account due until then instead of forgetting it."""
    frames, trail = {}, {}
    for mode in ("terminal", "gateway"):
        server, daemon, wire, logins, gateway = world(mode)
        inv3 = logins["inv3"]
        wire.poll()
        server.deposit(inv3, D(100), payer_email="inv3@example.com")
        wire.poll()  # the deposit's account_update, sent at once (a deal)
        assert server.set_leverage(inv3, 200) is None
        wire.poll()  # same ms: inside the window
        trail[mode] = [_leverage_seen(daemon, inv3)]
        window = wire.ends[b"I"].account_update_ms
        _advance(server, window // 2)
        wire.poll()  # still inside
        trail[mode].append(_leverage_seen(daemon, inv3))
        _advance(server, window)
        wire.poll()  # past it
        trail[mode].append(_leverage_seen(daemon, inv3))
        frames[mode] = wire.up[b"I"]
        if gateway is not None:
            assert inv3 not in gateway.links["investor"].due()  # sent: idle again
    assert trail == {"terminal": [100, 100, 200], "gateway": [100, 100, 200]}
    assert frames["gateway"] == frames["terminal"]
    updates = [m for m in map(lambda f: decode(f, direction=Direction.TO_DAEMON), frames["gateway"])
               if m.TYPE == "account_update" and m.login == logins["inv3"]]
    assert [(u.balance, u.leverage) for u in updates][-2:] == [(D(2100), 100), (D(2100), 200)]


def test_the_gateway_reads_the_server_time_zone_through_the_public_api():
    """`ServerAPI.timezone` (MT5: the server configuration's ``IMTConCommon::TimeZone``) is what
    the gateway's hello reports as `utc_offset_ms`, as a terminal reports it."""
    frames = {}
    for mode in ("terminal", "gateway"):
        server, daemon, wire, logins, gateway = world(mode)
        hellos = [decode(f, direction=Direction.TO_DAEMON) for f in wire.up[b"I"]]
        frames[mode] = [h.utc_offset_ms for h in hellos if h.TYPE == "hello"]
        if gateway is not None:
            assert gateway.timezone is server.timezone
            assert gateway.accounts.api.timezone is server.timezone
    assert frames["gateway"] == frames["terminal"] and frames["gateway"][0] == server.timezone.offset_ms(
        server.now_ms)


def _private_reaches(path: Path, names: set[str]) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in names and not (
                isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: .{node.attr}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr" \
                and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and node.args[1].value in names:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: getattr(..., {node.args[1].value!r})")
    return found


def test_no_code_outside_the_server_package_reaches_into_the_servers_private_state():
    """A plugin (the gateway included) has `ServerAPI`; the server's internals (`ServerAPI._server`,
    `TradeServer._accounts`, ...) are the server package's own. Benchmarks instrument them on
    purpose and are not product code."""
    private = {"_server", "_accounts", "_plugins", "_host", "_margin_model", "_refresh_risk", "_j"}
    server_pkg = ROOT / "simulator" / "server"
    product = [p for top in ("simulator", "bridge", "mtbridge_demo") for p in (ROOT / top).rglob("*.py")
               if server_pkg not in p.parents]
    assert any(p.parent.name == "gateway" for p in product)
    offenders = [hit for p in product for hit in _private_reaches(p, private)]
    assert offenders == []


def test_accounts_whose_copies_closed_are_idle_again():
    """The account figures a command's execution reports count as sent: once the copies are
    closed and reported, nothing is left to send and the accounts are no longer scanned."""
    from gateway_world import trade

    server, daemon, wire, logins, gateway = world("gateway")
    link = gateway.links["investor"]
    res = trade(server, logins["trader"], "buy", "0.5")
    wire.poll()
    assert link.due() == sorted([logins["inv1"], logins["inv2"]])  # holding copies
    trade(server, logins["trader"], "sell", "0.5", position=res.position)
    wire.poll()  # the close commands execute and report on the investor link
    wire.poll()
    assert not any(server.positions(logins[x]) for x in ("inv1", "inv2", "inv3"))
    assert link.due() == []
    before = link.scans
    wire.poll()
    assert link.scans == before
