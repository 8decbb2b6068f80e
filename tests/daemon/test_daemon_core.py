"""DaemonCore without sockets: sessions, authorisation, backpressure, offline, recovery."""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path

from bridge.daemon.config import parse_config
from bridge.daemon.core import DaemonCore, SendResult
from bridge.daemon.keys import generate_keypair
from bridge.daemon.store import SqliteStore
from bridge.protocol import (CommandResult, Direction, ErrorReply, Heartbeat, Hello, Open, PositionClosed,
                             PositionOpened, Welcome, decode, encode)

from corekit import H, T0, Net, Term, make, opened


def test_hello_welcome_copy_and_fill(tmp_path: Path) -> None:
    _, store, core = make(tmp_path)
    net = Net()
    tr, inv = Term(core, store, net, b"t", 1001), Term(core, store, net, b"i", 2001)
    assert isinstance(tr.send(Hello, **H)[0], Welcome)
    assert isinstance(inv.send(Hello, **H)[0], Welcome)
    tr.send(PositionOpened, T0 + 5, **opened(55))
    (cmd,) = net.take(b"i")
    assert isinstance(cmd, Open) and cmd.key == "s1-t55-open-1" and cmd.seq == 2
    inv.send(CommandResult, key=cmd.key, ok=True, retcode=10009, ticket=9, price=Decimal("1.1"),
             volume=Decimal("0.1"), time=T0, message="")
    assert core.copy_map()["1"]["55"] == {"ticket": 9, "volume": "0.1", "state": "open"}
    assert core.pending == {}


def test_close_result_waits_for_the_deal_profit(tmp_path: Path) -> None:
    _, store, core = make(tmp_path)
    net = Net()
    tr, inv = Term(core, store, net, b"t", 1001), Term(core, store, net, b"i", 2001)
    tr.send(Hello, **H), inv.send(Hello, **H)
    tr.send(PositionOpened, **opened(55))
    (cmd,) = net.take(b"i")
    inv.send(CommandResult, key=cmd.key, ok=True, retcode=10009, ticket=9, price=Decimal("1.1"),
             volume=Decimal("0.1"), time=T0, message="")
    tr.send(PositionClosed, ticket=55, volume=Decimal("0.1"), remaining=Decimal(0), price=Decimal("1.2"), time=T0,
            reason="tp", profit=Decimal(100))
    (close,) = net.take(b"i")
    inv.send(CommandResult, key=close.key, ok=True, retcode=10009, ticket=9, price=Decimal("1.2"),
             volume=Decimal("0.1"), time=T0, message="")
    assert close.key in core.pending  # waiting for the closing deal
    inv.send(PositionClosed, ticket=9, volume=Decimal("0.1"), remaining=Decimal(0), price=Decimal("1.2"), time=T0,
             reason="client", profit=Decimal("98.5"))
    assert close.key not in core.pending and core.copy_map()["1"] == {}
    assert core.engine.subscriptions[1].realised == Decimal("98.50")


def test_backpressure_keeps_the_command_pending_and_resends_the_same_key(tmp_path: Path) -> None:
    _, store, core = make(tmp_path)
    net = Net()
    tr, inv = Term(core, store, net, b"t", 1001), Term(core, store, net, b"i", 2001)
    tr.send(Hello, **H), inv.send(Hello, **H)
    net.mode = SendResult.AGAIN  # the investor's pipe is full
    tr.send(PositionOpened, **opened(56))
    assert net.take(b"i") == [] and "s1-t56-open-1" in core.pending and core.has_backlog
    net.mode = SendResult.OK
    core.pump(net, T0 + 10)
    (cmd,) = net.take(b"i")
    assert cmd.key == "s1-t56-open-1" and cmd.seq == 2  # no seq was burnt while blocked


def test_login_not_bound_and_sequence_errors(tmp_path: Path) -> None:
    key = generate_keypair()
    _, store, core = make(tmp_path, [{"name": "k", "public_key": key.public, "logins": [2001], "role": "investor"}],
                          insecure=False)
    net = Net()
    frame = encode(Hello(id=1, seq=1, ts=T0, login=1001, **H))
    core.on_frame(b"c", "k", frame, T0)
    core.pump(net, T0)
    (err,) = net.take()
    assert isinstance(err, ErrorReply) and err.code == "login_not_bound" and err.ref_id == 1
    core.on_frame(b"c", "k", encode(Heartbeat(id=2, seq=2, ts=T0, login=2001)), T0)
    core.pump(net, T0)
    assert [m.code for m in net.take()] == ["not_started"]
    core.on_frame(b"c", "k", encode(Hello(id=3, seq=1, ts=T0, login=2001, **{**H, "role": "investor"})), T0)
    core.on_frame(b"c", "k", encode(Heartbeat(id=4, seq=5, ts=T0, login=2001)), T0)
    core.on_frame(b"c", None, b"\xc1", T0)  # garbage on the connection
    core.pump(net, T0)
    got = net.take()
    assert isinstance(got[0], Welcome)
    assert [m.code for m in got[1:]] == ["sequence_gap", "not_msgpack"]
    assert [m.seq for m in got] == [1, 2, 3]


def test_silent_terminal_goes_offline_and_copies_are_refused(tmp_path: Path) -> None:
    _, store, core = make(tmp_path)
    net = Net()
    tr, inv = Term(core, store, net, b"t", 1001), Term(core, store, net, b"i", 2001)
    tr.send(Hello, **H), inv.send(Hello, **H)
    tr.send(Heartbeat, T0 + 5500)
    core.tick(T0 + 5500)  # the investor said nothing for 5 heartbeats
    assert not core.session_of[2001].online and core.session_of[1001].online  # offline, not dropped
    tr.send(PositionOpened, T0 + 5600, **opened(57))
    store.write(core.take_batch())
    assert [m for m in net.take(b"i") if not isinstance(m, Heartbeat)] == []  # heartbeats go on
    codes = [r for r in core.take_feed() if r[0] == "record.copy_refused"]
    assert codes and codes[0][1]["code"] == "terminal_offline"
    inv.send(Heartbeat, T0 + 5700)  # a late frame on the live connection is accepted: back online
    assert core.session_of[2001].online
    assert [t for t, b in core.take_feed() if t == "terminal.online" and b.get("resumed")]
    tr.send(PositionOpened, T0 + 5800, **opened(58, T0 + 5800))
    assert [m.key for m in net.take(b"i") if isinstance(m, Open)] == ["s1-t58-open-1"]


def test_recovery_replays_the_journal(tmp_path: Path) -> None:
    cfg, store, core = make(tmp_path)
    net = Net()
    tr, inv = Term(core, store, net, b"t", 1001), Term(core, store, net, b"i", 2001)
    tr.send(Hello, **H), inv.send(Hello, **H)
    tr.send(PositionOpened, **opened(58))
    seq, state = core.snapshot(T0)
    store.save_snapshot(seq, T0, state)
    tr.send(PositionOpened, **opened(59))  # after the snapshot: replayed
    before = core.engine.to_state()
    store.close()
    store2 = SqliteStore(tmp_path / "j.db")
    core2 = DaemonCore.recover(cfg, store2.recover(), now=T0 + 1, insecure=True)
    assert core2.engine.to_state() == before
    assert sorted(core2.pending) == ["s1-t58-open-1", "s1-t59-open-1"]
    assert core2.next_id > core.next_id - 1  # ids never reused
    inv2 = Term(core2, store2, Net(), b"i2", 2001)
    got = inv2.send(Hello, **H)
    assert [getattr(m, "key", None) for m in got] == [None, "s1-t58-open-1", "s1-t59-open-1"]
    assert got[0].resume is True


def one_filled_copy(tmp_path: Path):  # noqa: ANN201
    """Trader position 55 copied and filled as investor position 9."""
    cfg, store, core = make(tmp_path)
    net = Net()
    tr, inv = Term(core, store, net, b"t", 1001), Term(core, store, net, b"i", 2001)
    tr.send(Hello, **H), inv.send(Hello, **H)
    tr.send(PositionOpened, **opened(55))
    (cmd,) = net.take(b"i")
    inv.send(CommandResult, key=cmd.key, ok=True, retcode=10009, ticket=9, price=Decimal("1.1"),
             volume=Decimal("0.1"), time=T0, message="")
    return cfg, core, net, tr, inv


def test_a_copy_stopped_out_by_the_server_reaches_the_engine_once(tmp_path: Path) -> None:
    _, core, net, tr, inv = one_filled_copy(tmp_path)
    # the trade server stops the investor account out: a report, not an answer to a command
    inv.send(PositionClosed, ticket=9, volume=Decimal("0.1"), remaining=Decimal(0), price=Decimal("1.0"), time=T0,
             reason="so", profit=Decimal("-100"))
    assert core.copy_map()["1"] == {}
    assert core.engine.subscriptions[1].realised == Decimal("-100.00")
    # the trader's later close has nothing to close on the investor account
    tr.send(PositionClosed, ticket=55, volume=Decimal("0.1"), remaining=Decimal(0), price=Decimal("1.0"), time=T0,
            reason="client", profit=Decimal(-100))
    assert net.take(b"i") == [] and core.pending == {}


def test_an_unclaimed_manual_close_is_booked_after_the_wait(tmp_path: Path) -> None:
    cfg, core, _, _, inv = one_filled_copy(tmp_path)
    inv.send(PositionClosed, ticket=9, volume=Decimal("0.1"), remaining=Decimal(0), price=Decimal("1.2"), time=T0,
             reason="client", profit=Decimal("100"))
    assert core.copy_map()["1"]  # still could be the deal of a close result on its way
    core.tick(T0 + cfg.close_profit_wait_ms)
    assert core.copy_map()["1"] == {} and core.engine.subscriptions[1].realised == Decimal("100.00")


def test_balance_operations_booked_by_the_back_office_never_travel_to_terminals(tmp_path: Path) -> None:
    cfg = parse_config({"daemon": {"heartbeat_ms": 1000, "balance_operations": "backoffice"}})
    store = SqliteStore(tmp_path / "j.db")
    core = DaemonCore.recover(cfg, store.recover(), now=T0, insecure=True)
    net = Net()
    inv = Term(core, store, net, b"i", 2001)
    core.on_admin({"op": "register_trader", "args": dict(trader="T", account=1001, account_type="mt4_standard",
                                                          leverage=100, commission_pct="0")}, None, T0)
    core.on_admin({"op": "deposit", "args": dict(owner="I", amount="1000")}, None, T0)
    inv.send(Hello, **H)  # the investor terminal is online before the subscription funds its account
    core.on_admin({"op": "subscribe", "args": dict(investor="I", trader="T", account=2001, amount="1000")}, None, T0)
    store.write(core.take_batch())
    core.pump(net, T0)  # used to raise: "balance commands do not travel to terminals"
    assert [m for m in net.take(b"i") if not isinstance(m, Heartbeat)] == []
    assert any(p.row.type == "balance" for p in core.pending.values())


def test_an_event_the_engine_cannot_handle_is_logged_and_not_journaled(tmp_path, monkeypatch):
    """The daemon's last line of defence: an engine exception is logged (`engine.error`, with
    the event's type), published, and the event is not journaled; the step goes on."""
    from bridge.copytrading import events as ev

    _cfg, _store, core = make(tmp_path)
    core.take_logs()
    seq = core.seq

    def broken(event):
        raise ValueError("boom")

    monkeypatch.setattr(core.engine, "handle", broken)
    assert core.feed_engine(ev.TimePassed(T0 + 5)) == ()
    assert core.seq == seq
    (entry,) = [kw for level, event, kw in core.take_logs() if event == "engine.error"]
    assert entry == {"event_type": "TimePassed", "error": "ValueError: boom"}


def test_an_engine_exception_mid_event_leaves_live_state_equal_to_replay(tmp_path, monkeypatch):
    """Principle 5, "state never changes halfway": a handler that changed state and then raised
    (its clock already advanced) must not leave that half in the live engine. The event is not
    journaled, so the engine is rebuilt from the journal plus the turn's uncommitted events."""
    from bridge.copytrading import engine as engine_mod
    from bridge.copytrading import events as ev
    from bridge.daemon.wire import replayed_engine

    _cfg, store, core = make(tmp_path)
    core.reload = store.recover
    net = Net()
    tr, inv = Term(core, store, net, b"t", 1001), Term(core, store, net, b"i", 2001)
    tr.send(Hello, **H), inv.send(Hello, **H)
    before_seq, before_now = core.engine.s.seq, core.engine.s.now
    assert core.engine.s.terminals[2001] is True

    def half_then_boom(engine, event):
        engine.s.terminals[event.account] = False  # the half that must not stay
        raise ValueError("boom")

    monkeypatch.setitem(engine_mod._HANDLERS, ev.TerminalOffline, half_then_boom)
    core.feed_engine(ev.TerminalOnline(before_now + 1, 3001))  # uncommitted, in this turn's batch
    assert core.feed_engine(ev.TerminalOffline(before_now + 2, 2001)) == ()
    live = core.engine
    assert live.s.terminals[2001] is True and live.s.terminals[3001] is True
    assert (live.s.seq, live.s.now) == (before_seq + 1, before_now + 1)
    store.write(core.take_batch())
    rec = store.recover()
    assert live.to_bytes() == replayed_engine(core.config, rec.snapshot, rec.events).to_bytes()
    assert [e for _, e, _ in core.take_logs() if e.startswith("engine.")] == ["engine.error", "engine.rebuilt"]


def test_an_admin_request_the_engine_fails_on_is_refused_not_ok(tmp_path, monkeypatch):
    """Principle 5: an admin request whose step raised inside the engine is answered `refused`
    with code `engine_error` (nothing applied), never `ok` with no records."""
    from bridge.copytrading import engine as engine_mod
    from bridge.copytrading import events as ev
    from bridge.daemon import admin
    from bridge.daemon.core import AdminView

    _cfg, store, core = make(tmp_path)
    core.reload = store.recover

    original = engine_mod._HANDLERS[ev.WalletDeposited]

    def boom(engine, event):  # fails for this request only: the journal's deposits replay as before
        if event.owner == "I9":
            raise ValueError("boom")
        original(engine, event)

    monkeypatch.setitem(engine_mod._HANDLERS, ev.WalletDeposited, boom)
    req = admin.parse_request({"id": 4, "op": "deposit", "args": {"owner": "I9", "amount": "10"}})
    assert not isinstance(req, admin.AdminError), req
    reply = admin.run(req, AdminView(core), T0)
    assert reply["ok"] is False and reply["error"] == "refused" and reply["code"] == "engine_error"
    assert "ValueError: boom" in reply["detail"]
    assert core.engine.wallets.balance("I9") == 0
