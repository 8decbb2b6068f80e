"""Cross-platform copying end to end (issue 15 item 9): an MT5 trader copied to an MT4 investor
and an MT4 trader to an MT5 investor, on the simulated server through the simulated terminals
and the daemon core (frames through the codec both ways)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

import pytest

from bridge.copytrading import EngineConfig
from bridge.copytrading.engine import Engine
from bridge.daemon.config import DaemonConfig
from bridge.daemon.core import DaemonCore
from simulator.prices import Tick
from simulator.server import TradeRequest, TradeServer
from simulator.server import retcodes as rc
from simulator.terminals import TerminalCore, login_sessions
from tests.simulator.test_terminals_daemon_core import HOUR, INVESTOR, MASTER, MONDAY, Wire, trade

ITEM_9 = ("**Cross-platform**: a trader on MT5 copied to an investor on MT4 and the reverse, including an MT5 "
          "netting trader (its position changes become opens, partial closes and reversals for the copies).")
BOTH = EngineConfig(eligible_trader_types=("mt4_standard", "mt4_pro", "mt5_standard", "mt5_pro"),
                    trader_platforms=("MT4", "MT5"), investor_platforms=("MT4", "MT5"))


@pytest.mark.parametrize("trader_type, investor_type", [("mt5_standard", "mt4_standard"),
                                                        ("mt4_standard", "mt5_standard")])
def test_copied_across_platforms(trader_type, investor_type):
    assert "a trader on MT5 copied to an investor on MT4 and the reverse" in ITEM_9
    server = TradeServer(seed=5, start_ms=MONDAY + 10 * HOUR, scrypt_n=2**4)
    server.on_tick(Tick("EURUSD", server.now_ms + 1000, D("1.10000"), D("1.10010")))
    logins = {}
    for name, account_type in (("trader", trader_type), ("inv", investor_type)):
        email = f"{name}@example.com"
        server.register_client(email, name)
        logins[name] = server.open_account(email, account_type, "USD", 100, master_password=MASTER,
                                           investor_password=INVESTOR)
        server.deposit(logins[name], D(10000), payer_email=email)
    daemon = DaemonCore(DaemonConfig(), Engine(BOTH), now=server.now_ms, insecure=True)
    for op, args in (("register_trader", dict(trader="T", account=logins["trader"], account_type=trader_type,
                                               leverage=100, commission_pct="20")),
                     ("deposit", dict(owner="inv", amount="2000")),
                     ("subscribe", dict(investor="inv", trader="T", account=logins["inv"], amount="2000",
                                        account_type=investor_type))):
        reply = daemon.on_admin({"op": op, "args": args}, None, server.now_ms)
        assert reply["ok"], reply
    daemon.take_batch()
    wire = Wire(server, daemon)
    wire.attach(b"T", TerminalCore(server, login_sessions(server, [(logins["trader"], MASTER)])))
    wire.attach(b"I", TerminalCore(server, login_sessions(server, [(logins["inv"], MASTER)])))
    wire.run()
    res = trade(server, logins["trader"], "buy", "0.4")
    wire.poll()
    assert [p.volume for p in server.positions(logins["inv"])] == [D("0.4")]
    trade(server, logins["trader"], "sell", "0.1", position=res.position)  # a partial close
    wire.poll()
    assert [p.volume for p in server.positions(logins["inv"])] == [D("0.3")]
    trade(server, logins["trader"], "sell", "0.3", position=res.position)
    wire.poll()
    assert server.positions(logins["inv"]) == [] and not daemon.pending


def _netting_world():
    """An MT5 netting trader, an MT4 and an MT5 (hedging) investor, through the daemon core."""
    server = TradeServer(seed=5, start_ms=MONDAY + 10 * HOUR, scrypt_n=2**4)
    server.on_tick(Tick("EURUSD", server.now_ms + 1000, D("1.10000"), D("1.10010")))
    logins = {}
    for name, account_type, mode in (("trader", "mt5_standard", "netting"), ("mt4", "mt4_standard", None),
                                     ("mt5", "mt5_standard", None)):
        email = f"{name}@example.com"
        server.register_client(email, name)
        logins[name] = server.open_account(email, account_type, "USD", 100, master_password=MASTER,
                                           investor_password=INVESTOR, margin_mode=mode)
        server.deposit(logins[name], D(10000), payer_email=email)
    daemon = DaemonCore(DaemonConfig(), Engine(BOTH), now=server.now_ms, insecure=True)
    ops = [("register_trader", dict(trader="T", account=logins["trader"], account_type="mt5_standard",
                                    leverage=100, commission_pct="20"))]
    for name, account_type in (("mt4", "mt4_standard"), ("mt5", "mt5_standard")):
        ops += [("deposit", dict(owner=name, amount="5000")),
                ("subscribe", dict(investor=name, trader="T", account=logins[name], amount="5000",
                                   account_type=account_type))]
    for op, args in ops:
        reply = daemon.on_admin({"op": op, "args": args}, None, server.now_ms)
        assert reply["ok"], reply
    journal = list(daemon.take_batch().events)
    wire = Wire(server, daemon)
    wire.attach(b"T", TerminalCore(server, login_sessions(server, [(logins["trader"], MASTER)])))
    wire.attach(b"I", TerminalCore(server, login_sessions(server, [(logins["mt4"], MASTER),
                                                                     (logins["mt5"], MASTER)])))
    return server, daemon, wire, logins, journal


def _copies(server, login):
    return sorted(("buy" if p.type == 0 else "sell", p.volume) for p in server.positions(login))


def test_an_mt5_netting_trader_is_copied_as_opens_partial_closes_and_reversals():
    assert "an MT5 netting trader (its position changes become opens, partial closes and reversals" in ITEM_9
    server, daemon, wire, logins, journal = _netting_world()
    batches = []
    taken = daemon.take_batch

    def take():  # keep the journal the shell would commit
        batch = taken()
        batches.append(batch)
        return batch

    daemon.take_batch = take
    wire.run()
    steps = [("buy", "0.30", [("buy", D("0.30"))]),  # an open
             ("buy", "0.20", [("buy", D("0.20")), ("buy", D("0.30"))]),  # an addition: a second copy
             ("sell", "0.40", [("buy", D("0.10"))]),  # oldest first: 0.30 closed, 0.20 partly (0.10 left)
             ("sell", "0.50", [("sell", D("0.40"))]),  # a reversal: the rest closed, a 0.40 sell opened
             ("buy", "0.40", [])]  # closed
    for side, volume, expected in steps:
        trade(server, logins["trader"], side, volume)
        wire.poll()
        [net] = server.positions(logins["trader"]) or [None]
        for investor in ("mt4", "mt5"):
            assert _copies(server, logins[investor]) == expected, (side, volume, investor)
        if expected:
            signed = sum((v if s == "buy" else -v for s, v in expected), D(0))
            assert (net.volume if net.type == 0 else -net.volume) == signed  # the copies net what the trader nets
    assert not daemon.pending and not daemon.engine.traders["T"].positions
    # the journal of engine events replays to the same state
    events = journal + [e for b in batches for e in b.events]
    replayed = Engine(BOTH)
    from bridge.daemon import wire as journal_wire
    for _seq, _now, type_name, body in events:
        replayed.handle(journal_wire.event_from(type_name, body))
    assert replayed.to_bytes() == daemon.engine.to_bytes()


def test_a_netting_trader_reconnecting_after_changes_is_reconciled_from_its_hello():
    server, daemon, wire, logins, _ = _netting_world()
    wire.run()
    trade(server, logins["trader"], "buy", "0.30")
    wire.poll()
    trade(server, logins["trader"], "buy", "0.20")
    wire.poll()
    # the trader's terminal restarts after a partial close it never reported: its hello is the truth
    trade(server, logins["trader"], "sell", "0.40")
    wire.attach(b"T2", TerminalCore(server, login_sessions(server, [(logins["trader"], MASTER)]), next_id=10**6))
    wire.run()
    for investor in ("mt4", "mt5"):
        assert _copies(server, logins[investor]) == [("buy", D("0.10"))]


def test_a_netting_report_read_twice_moves_nothing():
    server, daemon, wire, logins, _ = _netting_world()
    wire.run()
    trader = wire.terminals[b"T"]
    link = trader.links[logins["trader"]]
    for side, volume, report in (("buy", "0.30", "position_opened"), ("buy", "0.20", "position_opened"),
                                 ("sell", "0.40", "position_closed")):
        trade(server, logins["trader"], side, volume)
        wire.poll()
        [last] = [m for m in link.sent if m.TYPE in ("position_opened", "position_closed")][-1:]
        assert last.TYPE == report
        before = dict(daemon.engine.traders["T"].positions)
        wire.send(b"T", [replace(last, **trader._envelope(link, wire.now))])  # the same report, a new frame
        wire.run()
        assert daemon.engine.traders["T"].positions == before
    for investor in ("mt4", "mt5"):
        assert _copies(server, logins[investor]) == [("buy", D("0.10"))]


def test_a_netting_traders_filled_pending_order_is_copied_and_its_close_followed():
    server, daemon, wire, logins, _ = _netting_world()
    wire.run()
    session = server.login(logins["trader"], MASTER)
    placed = server.order_send(session, TradeRequest(rc.TRADE_ACTION_PENDING, "EURUSD", D("0.30"),
                                                     rc.ORDER_TYPE_BUY_LIMIT, price=D("1.09900")))
    assert placed.ok, placed
    wire.poll()
    server.on_tick(Tick("EURUSD", server.now_ms + 1000, D("1.09880"), D("1.09890")))  # the limit fills
    wire.poll()
    for investor in ("mt4", "mt5"):
        assert _copies(server, logins[investor]) == [("buy", D("0.30"))]
    trade(server, logins["trader"], "sell", "0.10")  # a netting partial close of the filled position
    wire.poll()
    for investor in ("mt4", "mt5"):
        assert _copies(server, logins[investor]) == [("buy", D("0.20"))]
    # an addition at market after it: the fill's leg is the older one, closed first
    trade(server, logins["trader"], "buy", "0.30")
    wire.poll()
    trade(server, logins["trader"], "sell", "0.25")
    wire.poll()
    for investor in ("mt4", "mt5"):  # the fill's 0.20 closed whole, 0.05 of the 0.30
        assert _copies(server, logins[investor]) == [("buy", D("0.25"))]
    [leg] = daemon.engine.traders["T"].positions.values()
    assert leg.ticket != placed.order and leg.volume == D("0.25")


def _trades(server, login):
    """The account's buy/sell deals: (entry, volume), what each copy cost the investor."""
    return [(d.entry, d.volume) for d in server.history_deals(login) if d.type in (rc.DEAL_TYPE_BUY, rc.DEAL_TYPE_SELL)]


def test_a_netting_trader_back_from_a_link_down_sends_nothing_its_hello_covers_and_the_copies_move_once():
    # "never duplicated": the copies go straight from the net the daemon knew to the hello's net
    server, daemon, wire, logins, _ = _netting_world()
    wire.run()
    trader = wire.terminals[b"T"]
    trade(server, logins["trader"], "buy", "0.30")
    wire.poll()
    # the link drops with the report of an addition in flight (the daemon never journals it) ...
    trade(server, logins["trader"], "buy", "0.20")
    lost = [m.TYPE for m in trader.poll(wire.now) if m.TYPE.startswith("position")]
    assert lost == ["position_opened"]
    trader.disconnect()
    # ... and the trader adds and reduces while it is down: buy 0.10, sell 0.40 -> net buy 0.20
    trade(server, logins["trader"], "buy", "0.10")
    trade(server, logins["trader"], "sell", "0.40")
    investors = {logins["mt4"], logins["mt5"]}
    before = {login: len(_trades(server, login)) for login in investors}
    log_from = len(wire.log)
    wire.send(b"T", trader.connect(wire.now))  # the reconnect's hello: snapshot buy 0.20
    wire.run()
    wire.poll()
    wire.poll()
    commands = [t for way, t, login in wire.log[log_from:] if way == "down" and login in investors
                and t in ("open", "close", "place_order")]
    assert commands == ["close", "close"]  # one partial close of each 0.30 copy, nothing opened
    for login in investors:
        assert _copies(server, login) == [("buy", D("0.20"))]
        assert _trades(server, login)[before[login]:] == [(rc.DEAL_ENTRY_OUT, D("0.10"))]
    # the terminal re-sends no report older than its hello (docs/protocol.md, "Netting accounts")
    sent = [t for way, t, login in wire.log[log_from:] if way == "up" and login == logins["trader"]]
    assert sent[0] == "hello" and not [t for t in sent if t.startswith("position_") or t == "order_filled"]
    [leg] = daemon.engine.traders["T"].positions.values()
    assert leg.volume == D("0.20")


def test_a_netting_traders_pending_fill_that_adds_to_its_position_is_a_new_leg():
    assert "its position changes become opens" in ITEM_9
    server, daemon, wire, logins, _ = _netting_world()
    reply = daemon.on_admin({"op": "set_copy_settings", "args": {"subscription": 1, "requester": None,
                                                                 "copy_pending": True}}, None, server.now_ms)
    assert reply["ok"], reply  # subscription 1 (MT4) copies the order, 2 (MT5) copies the fill at market
    wire.run()
    trade(server, logins["trader"], "buy", "0.30")
    wire.poll()
    session = server.login(logins["trader"], MASTER)
    placed = server.order_send(session, TradeRequest(rc.TRADE_ACTION_PENDING, "EURUSD", D("0.20"),
                                                     rc.ORDER_TYPE_BUY_LIMIT, price=D("1.09900")))
    assert placed.ok, placed
    wire.poll()
    assert [o.volume_current for o in server.orders(logins["mt4"])] == [D("0.20")]
    log_from = len(wire.log)
    server.on_tick(Tick("EURUSD", server.now_ms + 1000, D("1.09880"), D("1.09890")))  # the limit fills
    wire.poll()
    wire.poll()
    [net] = server.positions(logins["trader"])
    assert net.volume == D("0.50")  # the fill added to the netting position
    trader = wire.terminals[b"T"]
    link = trader.links[logins["trader"]]
    [report] = [m for m in link.sent if m.TYPE == "order_filled"]
    assert (report.ticket, report.position, report.volume) == (placed.order, net.ticket, D("0.5"))
    # an addition: a new leg of 0.20, the order's fill (no order left placed), copied once each
    legs = daemon.engine.traders["T"].positions
    assert sorted(p.volume for p in legs.values()) == [D("0.20"), D("0.30")]
    assert daemon.engine.s.orders == {}
    for investor in ("mt4", "mt5"):
        assert _copies(server, logins[investor]) == [("buy", D("0.20")), ("buy", D("0.30"))]
    down = [(t, login) for way, t, login in wire.log[log_from:] if way == "down" and t in ("open", "close")]
    assert down == [("open", logins["mt5"])]  # MT4's own order filled: it is the new leg's copy
    new_leg = max(legs)
    assert daemon.engine.subscriptions[1].copies[new_leg].volume == D("0.20")
    # the same report again moves nothing
    before = dict(legs)
    wire.send(b"T", [replace(report, **trader._envelope(link, wire.now))])
    wire.run()
    assert daemon.engine.traders["T"].positions == before
    # a sell 0.40 closes oldest first: the 0.30 leg, then 0.10 of the fill's leg
    trade(server, logins["trader"], "sell", "0.40")
    wire.poll()
    for investor in ("mt4", "mt5"):
        assert _copies(server, logins[investor]) == [("buy", D("0.10"))]
    assert [p.volume for p in daemon.engine.traders["T"].positions.values()] == [D("0.10")]


def test_a_netting_traders_order_filled_while_the_link_was_down_leaves_no_copy_order_behind():
    server, daemon, wire, logins, _ = _netting_world()
    reply = daemon.on_admin({"op": "set_copy_settings", "args": {"subscription": 1, "requester": None,
                                                                 "copy_pending": True}}, None, server.now_ms)
    assert reply["ok"], reply
    wire.run()
    trade(server, logins["trader"], "buy", "0.30")
    wire.poll()
    session = server.login(logins["trader"], MASTER)
    placed = server.order_send(session, TradeRequest(rc.TRADE_ACTION_PENDING, "EURUSD", D("0.20"),
                                                     rc.ORDER_TYPE_BUY_LIMIT, price=D("1.09900")))
    assert placed.ok, placed
    wire.poll()
    trader = wire.terminals[b"T"]
    trader.disconnect()
    server.on_tick(Tick("EURUSD", server.now_ms + 1000, D("1.09880"), D("1.09890")))  # fills while it is down
    wire.send(b"T", trader.connect(wire.now))  # snapshot buy 0.50: the reconcile copies 0.20 at market
    wire.run()
    wire.poll()
    wire.poll()
    sent = [m for m in trader.links[logins["trader"]].sent if m.TYPE == "order_filled"]
    assert [(m.ticket, m.volume) for m in sent] == [(placed.order, D("0.5"))]  # the position now, as the EA's
    # the order is settled in the engine: MT4's copy order (filled on its own) does not stay as a second copy
    assert daemon.engine.s.orders == {}
    for investor in ("mt4", "mt5"):
        assert _copies(server, logins[investor]) == [("buy", D("0.20")), ("buy", D("0.30"))]
        assert server.orders(logins[investor]) == []
    assert sorted(p.volume for p in daemon.engine.traders["T"].positions.values()) == [D("0.20"), D("0.30")]
    # MT5: the reconcile's market copy only; MT4: its order's fill, the market copy, the fill's copy closed
    assert _trades(server, logins["mt5"]) == [(rc.DEAL_ENTRY_IN, D("0.30")), (rc.DEAL_ENTRY_IN, D("0.20"))]
    assert _trades(server, logins["mt4"]) == [(rc.DEAL_ENTRY_IN, D("0.30")), (rc.DEAL_ENTRY_IN, D("0.20")),
                                             (rc.DEAL_ENTRY_IN, D("0.20")), (rc.DEAL_ENTRY_OUT, D("0.20"))]
