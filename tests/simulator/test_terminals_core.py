"""TerminalCore without sockets: snapshot/hello, reporting (reasons, partial closes),
command execution and dedup by key (also after a terminal restart), sequencing."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from bridge.protocol import (
    AccountUpdate,
    Close,
    CommandResult,
    Direction,
    ErrorReply,
    Heartbeat,
    Hello,
    Modify,
    Open,
    PositionClosed,
    PositionModified,
    PositionOpened,
    Welcome,
    decode,
    encode,
)
from simulator.prices import Tick
from simulator.server import TradeRequest, TradeServer
from simulator.server import retcodes as rc
from simulator.terminals import TerminalCore, close_reason, login_sessions

MONDAY = 1704067200000  # 2024-01-01 00:00 UTC
HOUR = 3_600_000
MASTER, INVESTOR = "yS22Fr45", "Inv12345"
NOW = 1_700_000_000_000


class Daemon:
    """The daemon's side of the envelope, enough to drive a core by hand."""

    def __init__(self) -> None:
        self.seq: dict[int, int] = {}
        self.next_id = 500

    def msg(self, cls, login: int, **body):
        seq = 1 if cls is Welcome else self.seq[login] + 1
        self.seq[login] = seq
        self.next_id += 1
        return cls(id=self.next_id, seq=seq, ts=NOW, login=login, **body)

    def welcome(self, core: TerminalCore, login: int | None = None, resume: bool = False):
        for lg in [login] if login else core.logins:
            assert core.receive(self.msg(Welcome, lg, server_time=NOW, heartbeat_ms=1000, resume=resume), NOW) == []


def new_server() -> TradeServer:
    return TradeServer(seed=3, start_ms=MONDAY + 10 * HOUR, scrypt_n=2**10)


def account(server, email="ann@example.com", atype="mt4_standard", deposit="10000", leverage=100):
    if server.client(email) is None:
        server.register_client(email, "Ann")
    login = server.open_account(email, atype, "USD", leverage, master_password=MASTER, investor_password=INVESTOR)
    assert isinstance(login, int), login
    server.deposit(login, D(deposit), payer_email=email)
    return login


def quote(server, bid, ask=None, symbol="EURUSD", dt=1000):
    server.on_tick(Tick(symbol, server.now_ms + dt, D(bid), D(ask or bid)))


def market(server, session, side, volume, symbol="EURUSD", **kw):
    otype = rc.ORDER_TYPE_BUY if side == "buy" else rc.ORDER_TYPE_SELL
    fields = {k: (D(v) if isinstance(v, str) and k != "comment" else v) for k, v in kw.items()}
    res = server.order_send(session, TradeRequest(rc.TRADE_ACTION_DEAL, symbol, D(volume), otype, **fields))
    assert res.ok, res
    return res


def first(messages):
    """The command_result a command is answered with (the account's reports follow it)."""
    assert isinstance(messages[0], CommandResult), messages
    assert all(not isinstance(m, CommandResult) for m in messages[1:])
    roundtrip(messages)
    return messages[0]


def roundtrip(messages):
    """Every message the core builds survives the real codec, as the daemon would read it."""
    for m in messages:
        back = decode(encode(m), direction=Direction.TO_DAEMON)
        assert back == m, (back, m)
    return messages


def started(server, sessions, now=NOW, **kw):
    """A core connected and welcomed by a fresh `Daemon`."""
    core = TerminalCore(server, sessions, **kw)
    core.connect(now)
    d = Daemon()
    d.welcome(core)
    return core, d


@pytest.fixture()
def world():
    server = new_server()
    quote(server, "1.10000", "1.10010")
    login = account(server)
    (session,) = login_sessions(server, [(login, MASTER)])
    return server, login, session


def test_hello_carries_full_snapshot_and_restarts_seq(world):
    server, login, session = world
    market(server, session, "buy", "0.5", sl="1.09000", magic=7, comment="mine")
    market(server, session, "sell", "0.2")
    core = TerminalCore(server, [session], next_id=100)
    (hello,) = roundtrip(core.connect(NOW))
    assert isinstance(hello, Hello)
    assert (hello.id, hello.seq, hello.login, hello.role, hello.platform) == (100, 1, login, "trader", "MT4")
    assert hello.account_type == "mt4_standard" and hello.currency == "USD" and hello.leverage == 100
    assert [(p.side, p.volume, p.sl, p.magic, p.comment) for p in hello.positions] == [
        ("buy", D("0.5"), D("1.09"), 7, "mine"), ("sell", D("0.2"), D(0), 0, "")]
    assert hello.positions[0].price == server.positions(login)[0].price_open > D("1.1001")  # ask + markup
    Daemon().welcome(core)
    core.receive(Daemon().msg(Welcome, login, server_time=NOW, heartbeat_ms=1000, resume=True), NOW)
    roundtrip(core.poll(NOW))  # the snapshot was the truth: no position re-reported
    # reconnect: seq 1 again, ids keep growing
    (again,) = core.connect(NOW + 5)
    assert again.seq == 1 and again.id > hello.id and len(again.positions) == 2


def test_investor_password_reports_role_investor_and_cannot_trade(world):
    server, login, _ = world
    (ro,) = login_sessions(server, [(login, INVESTOR)])
    core = TerminalCore(server, [ro])
    (hello,) = core.connect(NOW)
    assert hello.role == "investor"
    d = Daemon()
    d.welcome(core)
    res = first(core.receive(d.msg(Open, login, key="k1", symbol="EURUSD", side="buy", volume=D("0.1"), sl=D(0),
                                tp=D(0), magic=1, comment="k1"), NOW))
    assert not res.ok and res.retcode == rc.TRADE_RETCODE_TRADE_DISABLED


def test_reports_open_modify_partial_close_and_reasons(world):
    server, login, session = world
    core = TerminalCore(server, [session])
    core.connect(NOW)
    Daemon().welcome(core)
    out = roundtrip(core.poll(NOW))
    assert [type(m) for m in out] == [AccountUpdate]  # first figures after welcome
    res = market(server, session, "buy", "1", magic=3, comment="c")
    ticket = res.position
    out = roundtrip(core.poll(NOW + 1))
    opened = [m for m in out if isinstance(m, PositionOpened)]
    assert [(m.ticket, m.volume, m.price, m.magic, m.comment, m.side) for m in opened] == [
        (ticket, D(1), res.price, 3, "c", "buy")]
    assert isinstance(out[-1], AccountUpdate)
    # sl/tp set
    server.order_send(session, TradeRequest(rc.TRADE_ACTION_SLTP, "EURUSD", position=ticket, sl=D("1.09"),
                                            tp=D("1.12")))
    (mod,) = [m for m in roundtrip(core.poll(NOW + 2)) if not isinstance(m, AccountUpdate)]
    assert isinstance(mod, PositionModified) and (mod.sl, mod.tp) == (D("1.09"), D("1.12"))
    # partial close by the client
    market(server, session, "sell", "0.3", position=ticket)
    (part,) = [m for m in roundtrip(core.poll(NOW + 3)) if isinstance(m, PositionClosed)]
    assert (part.ticket, part.volume, part.remaining, part.reason) == (ticket, D("0.3"), D("0.7"), "client")
    deal = server.history_deals(login)[-1]
    assert part.profit == deal.profit + deal.commission + deal.swap
    # stop loss
    quote(server, "1.08990", "1.09000")
    (sl,) = [m for m in roundtrip(core.poll(NOW + 4)) if isinstance(m, PositionClosed)]
    assert (sl.volume, sl.remaining, sl.reason) == (D("0.7"), D(0), "sl") and sl.profit < 0
    # take profit on a sell
    res = market(server, session, "sell", "0.1", tp="1.08000")
    quote(server, "1.07900", "1.07910")
    out = roundtrip(core.poll(NOW + 5))
    assert [(type(m).__name__, getattr(m, "reason", None)) for m in out if not isinstance(m, AccountUpdate)] == [
        ("PositionOpened", None), ("PositionClosed", "tp")]


def test_stop_out_is_reported_with_reason_so():
    server = new_server()
    quote(server, "1.10000", "1.10010")
    login = account(server, deposit="300", leverage=500)
    (session,) = login_sessions(server, [(login, MASTER)])
    core = TerminalCore(server, [session])
    core.connect(NOW)
    Daemon().welcome(core)
    core.poll(NOW)
    market(server, session, "buy", "1")
    core.poll(NOW + 1)
    quote(server, "1.09500", "1.09510")  # -500 USD on 1 lot: equity < 0 -> stop out
    closed = [m for m in roundtrip(core.poll(NOW + 2)) if isinstance(m, PositionClosed)]
    assert [c.reason for c in closed] == ["so"]
    assert close_reason(rc.DEAL_REASON_SO) == "so" and close_reason(rc.DEAL_REASON_EXPERT) == "client"


def test_open_close_modify_commands_and_dedup_by_key(world):
    server, login, session = world
    core, d = started(server, [session])
    core.poll(NOW)
    open_cmd = d.msg(Open, login, key="s1-t42-open-0", symbol="EURUSD", side="buy", volume=D("0.2"), sl=D(0),
                     tp=D(0), magic=7770001, comment="mtb:s1-t42-open-0")
    out = core.receive(open_cmd, NOW)
    assert [type(m).__name__ for m in out] == ["CommandResult", "PositionOpened", "AccountUpdate"]
    res = first(out)
    assert isinstance(res, CommandResult) and res.ok and res.retcode == rc.TRADE_RETCODE_DONE
    (pos,) = server.positions(login)
    assert (res.key, res.volume, res.price) == ("s1-t42-open-0", D("0.2"), pos.price_open)
    assert (pos.ticket, pos.magic, pos.comment) == (res.ticket, 7770001, "mtb:s1-t42-open-0")
    # the same key again (a daemon re-send): same answer, no second position
    again = first(core.receive(d.msg(Open, login, **{f: getattr(open_cmd, f) for f in (
        "key", "symbol", "side", "volume", "sl", "tp", "magic", "comment")}), NOW + 10))
    assert (again.ok, again.ticket, again.price, again.volume, again.time) == (
        res.ok, res.ticket, res.price, res.volume, res.time)
    assert len(server.positions(login)) == 1 and core.commands[-1].repeated
    # modify, then the same modify key again
    m1 = first(core.receive(d.msg(Modify, login, key="s1-t42-modify-1", ticket=res.ticket, sl=D("1.09"), tp=D(0)), NOW))
    assert m1.ok and server.positions(login)[0].sl == D("1.09")
    # partial close, then a re-sent close key
    out = core.receive(d.msg(Close, login, key="s1-t42-close-2", ticket=res.ticket, volume=D("0.05")), NOW)
    c1 = first(out)
    (deal,) = [m for m in out if isinstance(m, PositionClosed)]
    assert (deal.ticket, deal.volume, deal.remaining, deal.reason) == (res.ticket, D("0.05"), D("0.15"), "client")
    assert c1.ok and c1.volume == D("0.05") and server.positions(login)[0].volume == D("0.15")
    c2 = first(core.receive(d.msg(Close, login, key="s1-t42-close-2", ticket=res.ticket, volume=D("0.05")), NOW))
    assert (c2.ok, c2.ticket, c2.volume, c2.price) == (c1.ok, c1.ticket, c1.volume, c1.price)
    assert server.positions(login)[0].volume == D("0.15")
    # closing a position that is not open
    bad = first(core.receive(d.msg(Close, login, key="s1-t9-close-0", ticket=999, volume=D("0.1")), NOW))
    assert not bad.ok and bad.retcode == rc.TRADE_RETCODE_POSITION_CLOSED
    # the investor's own events follow each result at once (the EA's OnTradeTransaction)
    assert [type(m).__name__ for m in core.poll(NOW + 20) if not isinstance(m, AccountUpdate)] == []


def test_dedup_survives_a_terminal_restart(world):
    """A new core (the terminal restarted, its key table lost) rebuilds dedup from the server."""
    server, login, session = world
    core = TerminalCore(server, [session])
    core.connect(NOW)
    d = Daemon()
    d.welcome(core)
    fields = {"symbol": "EURUSD", "side": "sell", "volume": D("0.3"), "sl": D(0), "tp": D(0), "magic": 7770001,
              "comment": "mtb:s2-t5-open-0"}
    res = first(core.receive(d.msg(Open, login, key="s2-t5-open-0", **fields), NOW))
    cres = first(core.receive(d.msg(Close, login, key="s2-t5-close-1", ticket=res.ticket, volume=D("0.1")), NOW))
    assert res.ok and cres.ok

    restarted = TerminalCore(server, login_sessions(server, [(login, MASTER)]), next_id=10_000)
    (hello,) = restarted.connect(NOW + 1)
    assert [(p.ticket, p.comment, p.magic) for p in hello.positions] == [(res.ticket, "mtb:s2-t5-open-0", 7770001)]
    d2 = Daemon()
    d2.welcome(restarted)
    r1 = first(restarted.receive(d2.msg(Open, login, key="s2-t5-open-0", **fields), NOW + 2))
    r2 = first(restarted.receive(d2.msg(Close, login, key="s2-t5-close-1", ticket=res.ticket, volume=D("0.1")),
                              NOW + 2))
    assert (r1.ok, r1.ticket, r1.price, r1.volume) == (True, res.ticket, res.price, res.volume)
    assert (r2.ok, r2.ticket, r2.price, r2.volume) == (True, cres.ticket, cres.price, cres.volume)
    assert [p.volume for p in server.positions(login)] == [D("0.2")]  # nothing executed twice
    # a genuinely new key still executes
    r3 = first(restarted.receive(d2.msg(Open, login, key="s2-t6-open-0", **{**fields, "comment": "mtb:s2-t6-open-0"}),
                              NOW + 3))
    assert r3.ok and r3.ticket != res.ticket and len(server.positions(login)) == 2


def test_many_logins_on_one_connection_have_their_own_streams():
    server = new_server()
    quote(server, "1.10000", "1.10010")
    logins = [account(server, f"inv{i}@example.com") for i in range(3)]
    core = TerminalCore(server, login_sessions(server, [(x, MASTER) for x in logins]))
    hellos = core.connect(NOW)
    assert [(h.login, h.seq) for h in hellos] == [(x, 1) for x in sorted(logins)]
    assert len({h.id for h in hellos}) == 3
    d = Daemon()
    d.welcome(core, logins[1])
    assert core.welcomed(logins[1]) and not core.welcomed()
    res = first(core.receive(d.msg(Open, logins[1], key="k", symbol="EURUSD", side="buy", volume=D("0.1"), sl=D(0),
                                tp=D(0), magic=1, comment="k"), NOW))
    assert res.login == logins[1] and res.seq == 2 and server.positions(logins[1])
    assert not server.positions(logins[0])
    # only the welcomed login reports (its equity moved with the price)
    quote(server, "1.10100", "1.10110")
    assert {m.login for m in core.poll(NOW + 5000)} == {logins[1]}


def test_sequence_errors_and_silence_ask_for_a_reconnect(world):
    server, login, session = world
    core = TerminalCore(server, [session])
    core.connect(NOW)
    d = Daemon()
    d.welcome(core)
    assert core.check(NOW) is None
    core.receive(d.msg(Heartbeat, login), NOW)
    assert core.check(NOW) is None
    d.seq[login] += 1  # a gap in the daemon's seq
    core.receive(d.msg(Heartbeat, login), NOW)
    assert "sequence_gap" in core.check(NOW)
    # reconnect clears it; the daemon's error with a sequence code asks again
    core.connect(NOW)
    d.welcome(core)
    core.receive(d.msg(ErrorReply, login, code="sequence_gap", detail="", ref_id=3, field="seq"), NOW)
    assert "sequence_gap" in core.check(NOW)
    core.connect(NOW)
    d.welcome(core)
    assert core.check(NOW + 4999) is None
    assert "silent" in core.check(NOW + 5000)


def test_heartbeats_only_when_idle(world):
    server, login, session = world
    core = TerminalCore(server, [session])
    core.connect(NOW)
    assert core.heartbeats(NOW + 5000) == []  # not welcomed yet: nothing but hello
    Daemon().welcome(core)
    core.poll(NOW)  # sends the first account_update
    assert core.heartbeats(NOW + 999) == []
    (hb,) = roundtrip(core.heartbeats(NOW + 1000))
    assert isinstance(hb, Heartbeat) and hb.seq == 3 and hb.login == login
    assert core.heartbeats(NOW + 1500) == []


def test_hello_reports_the_server_utc_offset():
    from bridge.domain.servertime import ServerTimeZone

    july = 1_720_000_000_000  # 2024-07-03: US summer time
    for zone, offset in ((None, 3 * HOUR), (ServerTimeZone(-5 * HOUR), -5 * HOUR), (ServerTimeZone(), 0)):
        server = TradeServer(seed=3, start_ms=july, scrypt_n=2**10, **({} if zone is None else {"timezone": zone}))
        login = account(server)
        core = TerminalCore(server, login_sessions(server, [(login, MASTER)]))
        (hello,) = roundtrip(core.connect(july))
        assert hello.utc_offset_ms == offset
    server = TradeServer(seed=3, start_ms=MONDAY, scrypt_n=2**10)  # January: UTC+2
    login = account(server)
    (hello,) = TerminalCore(server, login_sessions(server, [(login, MASTER)])).connect(MONDAY)
    assert hello.utc_offset_ms == 2 * HOUR


def test_expired_open_is_refused_after_the_key_lookup(world):
    from bridge.protocol import RETCODE_EXPIRED

    server, login, session = world
    core, d = started(server, [session])
    fields = {"symbol": "EURUSD", "side": "buy", "volume": D("0.1"), "sl": D(0), "tp": D(0), "magic": 7770001}
    # in time (expires == now is still in time), then a late re-send of the same key: its stored result
    ok = first(core.receive(d.msg(Open, login, key="e1", comment="mtb:e1", expires=NOW, **fields), NOW))
    assert ok.ok and ok.retcode == rc.TRADE_RETCODE_DONE
    late = first(core.receive(d.msg(Open, login, key="e1", comment="mtb:e1", expires=NOW, **fields), NOW + 60_000))
    assert (late.ok, late.ticket) == (True, ok.ticket) and core.commands[-1].repeated
    # a new key past its deadline: refused, nothing traded, and the refusal is what a resend gets
    out = core.receive(d.msg(Open, login, key="e2", comment="mtb:e2", expires=NOW - 1, **fields), NOW + 5)
    refused = first(out)
    assert (refused.ok, refused.retcode, refused.ticket) == (False, RETCODE_EXPIRED, 0)
    assert refused.message.startswith("expired 6 ms ago")
    assert len(server.positions(login)) == 1
    again = first(core.receive(d.msg(Open, login, key="e2", comment="mtb:e2", expires=NOW + HOUR, **fields), NOW + 6))
    assert again.retcode == RETCODE_EXPIRED and len(server.positions(login)) == 1
    # 0 = no deadline
    assert first(core.receive(d.msg(Open, login, key="e3", comment="mtb:e3", expires=0, **fields), NOW + HOUR)).ok
    # a restarted terminal recognises the executed open by its tag before looking at the deadline
    restarted, d2 = started(server, login_sessions(server, [(login, MASTER)]), NOW + 2 * HOUR, next_id=10_000)
    r = first(restarted.receive(d2.msg(Open, login, key="e1", comment="mtb:e1", expires=NOW, **fields), NOW + 2 * HOUR))
    assert (r.ok, r.ticket) == (True, ok.ticket)


def test_deals_made_while_the_link_was_down_are_reported_after_the_reconnect(world):
    """A position opened and closed while disconnected, and the closing deal of one the daemon
    knew, are reported right after the new hello: nothing the account did is lost."""
    server, login, session = world
    core, d = started(server, [session])
    known = market(server, session, "buy", "0.3").position
    roundtrip(core.poll(NOW + 1))
    core.disconnect()
    brief = market(server, session, "buy", "0.2").position  # opened and closed while away
    market(server, session, "sell", "0.2", position=brief)
    market(server, session, "sell", "0.3", position=known)  # the known one closed while away
    (hello,) = core.connect(NOW + 2)
    assert hello.positions == ()  # the snapshot: nothing open now
    # the daemon journaled everything sent before the hello: nothing to send again
    # (and, the daemon knowing the login, the orders there now: none)
    assert [(type(m).__name__, m.orders) for m in core.receive(
        Daemon().msg(Welcome, login, server_time=NOW, heartbeat_ms=1000, resume=True, last_id=hello.id - 1),
        NOW + 2)] == [("OrdersSnapshot", ())]
    out = [m for m in roundtrip(core.poll(NOW + 3)) if not isinstance(m, AccountUpdate)]
    assert [(type(m).__name__, m.ticket) for m in out] == [
        ("PositionOpened", brief), ("PositionClosed", brief), ("PositionClosed", known)]
    assert all(m.reason == "client" for m in out if isinstance(m, PositionClosed))


def test_reports_the_daemon_never_journaled_are_sent_again_after_its_welcome(world):
    """The daemon died after reading a report but before journaling it: its welcome's last_id
    says so, and the terminal sends that report again, with a new id, before anything else."""
    server, login, session = world
    core, d = started(server, [session])
    ticket = market(server, session, "buy", "0.3").position
    (opened,) = [m for m in roundtrip(core.poll(NOW + 1)) if isinstance(m, PositionOpened)]
    (hello,) = core.connect(NOW + 2)  # the daemon restarted
    again = core.receive(Daemon().msg(Welcome, login, server_time=NOW, heartbeat_ms=1000, resume=True,
                                      last_id=opened.id - 1), NOW + 2)
    # the reports first, then the orders snapshot (docs/protocol.md §6.3)
    assert [(type(m).__name__, getattr(m, "ticket", None)) for m in again] == [("PositionOpened", ticket),
                                                                              ("OrdersSnapshot", None)]
    assert again[0].id > hello.id and again[0].seq == 2 and again[0].time == opened.time
    # acknowledged by the next welcome: never sent a third time
    core.connect(NOW + 3)
    assert [type(m).__name__ for m in core.receive(Daemon().msg(Welcome, login, server_time=NOW, heartbeat_ms=1000,
                                                                resume=True, last_id=again[0].id), NOW + 3)] == [
        "OrdersSnapshot"]


def test_a_rollover_swap_is_reported_alone_and_in_the_next_hello(world):
    """docs/protocol.md section 4, "Swap": "A terminal reports a swap change alone on its next report
    after the rollover, as a `position_modified` with `sl`/`tp` unchanged and the new `swap`"."""
    server, login, session = world
    core = TerminalCore(server, [session])
    core.connect(NOW)
    Daemon().welcome(core)
    roundtrip(core.poll(NOW))
    ticket = market(server, session, "buy", "1").position
    (op,) = [m for m in roundtrip(core.poll(NOW + 1)) if isinstance(m, PositionOpened)]
    assert op.swap == 0
    assert roundtrip([m for m in core.poll(NOW + 2) if not isinstance(m, AccountUpdate)]) == []  # nothing changed
    server.advance_to(MONDAY + 24 * HOUR)  # past the server's midnight: Monday's swap is booked
    (pos,) = server.positions(login)
    assert pos.swap != 0
    (mod,) = [m for m in roundtrip(core.poll(NOW + 3)) if not isinstance(m, AccountUpdate)]
    assert isinstance(mod, PositionModified) and (mod.ticket, mod.sl, mod.tp, mod.swap) == (ticket, 0, 0, pos.swap)
    assert [m for m in core.poll(NOW + 4) if isinstance(m, PositionModified)] == []  # reported once
    hellos = roundtrip(core.connect(NOW + 5))  # a reconnect: the hello's position map carries it
    assert [p.swap for h in hellos for p in h.positions] == [pos.swap]
