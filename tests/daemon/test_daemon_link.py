"""The link's edges, without sockets: pauses, floods, roles, replays, bounded queues, logs."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from corekit import H, T0, Net, Term, make, opened

from bridge.daemon.keys import generate_keypair
from bridge.daemon.sessions import CONTROL_MAX
from bridge.daemon.store import SqliteStore
from bridge.protocol import (RETCODE_EXPIRED, CommandResult, ErrorReply, Heartbeat, Hello, Open, PositionClosed,
                             PositionOpened, encode)
from bridge.daemon.core import DaemonCore, SendResult


def _pair(tmp_path: Path, **daemon: object):  # noqa: ANN202
    cfg, store, core = make(tmp_path, **daemon)
    net = Net()
    tr, inv = Term(core, store, net, b"t", 1001), Term(core, store, net, b"i", 2001)
    tr.send(Hello, **H), inv.send(Hello, **H)
    return cfg, store, core, net, tr, inv


def test_a_daemon_pause_longer_than_the_offline_limit_drops_nobody(tmp_path: Path) -> None:
    """The shell read everything at T0, then the daemon stalled 10 s (> 5 heartbeats): the
    frames that waited meanwhile are read first, and nobody is judged silent for our lag."""
    cfg, store, core, net, tr, inv = _pair(tmp_path)
    core.on_read_idle(T0)
    stall = cfg.heartbeat_ms * cfg.offline_after * 2
    core.tick(T0 + stall)  # timers fire before the socket is read again: read_at is still T0
    assert core.session_of[2001].online and core.session_of[1001].online
    inv.send(Heartbeat, T0 + stall)
    tr.send(PositionOpened, T0 + stall, **{**opened(60), "time": T0 + stall})
    assert [m.key for m in net.take(b"i") if isinstance(m, Open)] == ["s1-t60-open-1"]


def test_silence_is_measured_up_to_the_last_complete_read(tmp_path: Path) -> None:
    cfg, store, core, net, tr, inv = _pair(tmp_path)
    dead = cfg.heartbeat_ms * cfg.offline_after
    tr.send(Heartbeat, T0 + dead + 1)
    core.on_read_idle(T0 + dead + 1)  # the daemon read all there was: the investor sent nothing
    core.tick(T0 + dead + 1)
    assert not core.session_of[2001].online and core.session_of[1001].online
    feed = core.take_feed()
    assert [b["login"] for t, b in feed if t == "terminal.offline"] == [2001]


def test_a_flooding_key_is_rate_limited_then_banned_and_the_others_flow(tmp_path: Path) -> None:
    cfg, store, core, net, tr, inv = _pair(tmp_path, rate_limit_min_per_s=100, rate_limit_per_login_per_s=0,
                                         rate_limit_burst_ms=1000, abuse_disconnect_after_ms=2000)
    net.take()
    junk = encode(Heartbeat(id=10**12, seq=99, ts=T0, login=2001))
    now = T0
    for i in range(3000):  # 1 000 frames/s for 3 s against a 100/s budget
        now = T0 + i
        core.on_frame(b"i", None, junk, now)
        if i % 100 == 0:  # the trader keeps dealing meanwhile
            tr.send(Heartbeat, now)
    store.write(core.take_batch())
    core.pump(net, now)
    feed = core.take_feed()
    abuse = [b for t, b in feed if t == "abuse"]
    assert [b["action"] for b in abuse] == ["rate_limited", "disconnected"]
    assert core.take_disconnects() == [b"i"] and b"i" not in core.conns
    assert core.is_banned("conn:" + b"i".hex(), now)
    errors = [m for m in net.take(b"i") if isinstance(m, ErrorReply)]
    assert len([e for e in errors if e.code == "rate_limited"]) == 1  # told once, not per frame
    assert core.session_of[1001].online  # the trader's frames were never refused
    # 3 000 junk frames against a 100/s budget (1 000-frame burst): most were never decoded
    assert 1000 < core.frames_discarded < 3000
    logs = [e for _lvl, e, _kw in core.take_logs() if e.startswith("abuse")]
    assert logs == ["abuse.rate_limited", "abuse.disconnected"]


def test_hello_role_must_match_the_key(tmp_path: Path) -> None:
    key = generate_keypair()
    _, store, core = make(tmp_path, [{"name": "inv", "public_key": key.public, "logins": [2001],
                                      "role": "investor"}], insecure=False)
    net = Net()
    core.on_frame(b"c", "inv", encode(Hello(id=5, seq=1, ts=T0, login=2001, **H)), T0)  # says trader
    store.write(core.take_batch())
    core.pump(net, T0)
    (err,) = net.take()
    assert err.code == "role_mismatch" and err.field == "role" and "investor" in err.detail
    assert 2001 not in core.session_of  # nothing is held silently for a session that never started
    core.on_frame(b"c", "inv", encode(Hello(id=6, seq=1, ts=T0, login=2001, **{**H, "role": "investor"})), T0)
    store.write(core.take_batch())
    core.pump(net, T0)
    assert [type(m).__name__ for m in net.take()] == ["Welcome"]


def test_a_replayed_frame_is_refused_on_a_new_connection_and_after_a_restart(tmp_path: Path) -> None:
    cfg, store, core, net, tr, inv = _pair(tmp_path)
    frame = encode(Heartbeat(id=10**9, seq=2, ts=T0, login=1001))
    core.on_frame(b"t", None, frame, T0)
    net.take()
    hello = encode(Hello(id=10**9 - 1, seq=1, ts=T0, login=1001, **H))  # an old hello, replayed
    core.on_frame(b"x", None, hello, T0)
    store.write(core.take_batch())
    core.pump(net, T0)
    (err,) = net.take(b"x")
    assert err.code == "id_replay" and err.field == "id"
    store.close()
    store2 = SqliteStore(tmp_path / "j.db")
    core2 = DaemonCore.recover(cfg, store2.recover(), now=T0 + 1, insecure=True)
    core2.on_frame(b"y", None, hello, T0 + 1)
    store2.write(core2.take_batch())
    net2 = Net()
    core2.pump(net2, T0 + 1)
    assert [m.code for m in net2.take(b"y")] == ["id_replay"]


def test_an_error_for_a_login_live_elsewhere_reaches_its_sender(tmp_path: Path) -> None:
    cfg, store, core, net, tr, inv = _pair(tmp_path)
    net.take()
    core.on_frame(b"other", None, encode(Heartbeat(id=10**10, seq=2, ts=T0, login=1001)), T0)
    store.write(core.take_batch())
    core.pump(net, T0)
    assert [m.code for m in net.take(b"other")] == ["not_started"]
    assert net.take(b"t") == []  # and not to the live session's connection


def test_control_frames_of_a_peer_that_never_reads_are_bounded(tmp_path: Path) -> None:
    cfg, store, core, net, tr, inv = _pair(tmp_path)
    net.mode = SendResult.AGAIN  # the peer's pipe is full
    for i in range(CONTROL_MAX * 4):
        core.on_frame(b"i", None, b"\xc1", T0 + i)
        core.pump(net, T0 + i)
    s = core.session_of[2001]
    assert len(s.control) <= CONTROL_MAX and core.errors_dropped >= CONTROL_MAX * 3 - 1


def test_repeated_refusals_are_logged_once_then_summarised(tmp_path: Path) -> None:
    cfg, store, core, net, tr, inv = _pair(tmp_path, log_aggregate_ms=5000)
    core.take_logs()
    for i in range(100):
        core.on_frame(b"i", None, b"\xc1", T0 + i)
    logs = [e for _lvl, e, _kw in core.take_logs()]
    assert logs.count("protocol.refused") == 1
    core.tick(T0 + cfg.log_aggregate_ms + 100)
    summary = [(e, kw) for _lvl, e, kw in core.take_logs() if e.endswith(".repeated")]
    assert summary == [("protocol.refused.repeated", summary[0][1])] and summary[0][1]["repeats"] == 99


def test_engine_records_are_not_kept_between_admin_requests(tmp_path: Path) -> None:
    cfg, store, core, net, tr, inv = _pair(tmp_path)
    for t in range(70, 90):
        tr.send(PositionOpened, T0 + t, **{**opened(t), "time": T0 + t})
    assert core._step_records is None


def _refusals(core: DaemonCore) -> list[tuple[int, str]]:
    return [(b["trader_ticket"], b["code"]) for t, b in core.take_feed() if t == "record.copy_refused"]


def test_an_open_that_cannot_leave_before_its_expiry_is_withdrawn_never_sent(tmp_path: Path) -> None:
    cfg, store, core, net, tr, inv = _pair(tmp_path)
    net.take()
    core.take_feed()
    net.mode = SendResult.AGAIN  # the investor's pipe is full
    tr.send(PositionOpened, T0 + 10, **opened(61, T0 + 10))
    validity = cfg.engine.open_validity_ms
    core.tick(T0 + 10 + validity + 1)
    store.write(core.take_batch())
    net.mode = SendResult.OK
    core.pump(net, T0 + 10 + validity + 2)
    assert [m for m in net.take(b"i") if isinstance(m, Open)] == []
    assert (61, "expired") in _refusals(core)
    assert "s1-t61-open-1" not in core.pending
    assert core.copy_map()["1"] == {}  # nothing is left waiting for it


def test_opens_expiring_together_are_withdrawn_a_bounded_number_per_tick(tmp_path: Path, monkeypatch) -> None:
    """A fan-out that could not leave expires at once: each tick withdraws at most
    EXPIRED_PER_TICK of its opens (each is an engine step), and says it has more to do."""
    from bridge.daemon import lifecycle

    monkeypatch.setattr(lifecycle, "EXPIRED_PER_TICK", 3)
    cfg, store, core, net, tr, inv = _pair(tmp_path)
    net.take()
    core.take_feed()
    net.mode = SendResult.AGAIN  # the investor's pipe is full: nothing leaves
    tickets = list(range(70, 77))
    for t in tickets:
        tr.send(PositionOpened, T0 + 10, **opened(t, T0 + 10))  # one deadline for all seven
    now = T0 + 10 + cfg.engine.open_validity_ms + 1
    withdrawn = []
    for _ in range(3):
        core.tick(now)
        withdrawn.append(sorted(t for t, code in _refusals(core) if code == "expired"))
        assert core.has_backlog
    assert withdrawn == [tickets[:3], tickets[3:6], tickets[6:]]
    net.mode = SendResult.OK
    core.pump(net, now)
    assert [m for m in net.take(b"i") if isinstance(m, Open)] == [] and not core.pending
    assert not core.has_backlog


def test_a_pump_cut_short_by_the_turn_sends_the_rest_next_turn_once(tmp_path: Path) -> None:
    """The shell's turn is over (SendResult.LATER): the pump stops at once, nothing is lost,
    and the next pump sends the rest in order, each open once."""
    cfg, store, core, net, tr, inv = _pair(tmp_path)
    net.take()
    net.mode = SendResult.AGAIN  # queued behind a full pipe first
    tickets = list(range(80, 85))
    for t in tickets:
        tr.send(PositionOpened, T0 + 10, **opened(t, T0 + 10))
    net.mode = SendResult.OK
    calls = []

    def turn_of_two(conn: bytes, frame: bytes) -> SendResult:
        calls.append(conn)
        return net(conn, frame) if len(calls) <= 2 else SendResult.LATER

    assert core.pump(turn_of_two, T0 + 20) == 2
    assert len(calls) == 3 and core.send_later and core.has_backlog  # no send tried after LATER
    core.pump(net, T0 + 21)
    assert [m.key for m in net.take(b"i") if isinstance(m, Open)] == [f"s1-t{t}-open-1" for t in tickets]
    assert not core.has_backlog


def test_a_trader_close_withdraws_an_open_that_never_left(tmp_path: Path) -> None:
    cfg, store, core, net, tr, inv = _pair(tmp_path)
    net.take()
    core.take_feed()
    net.mode = SendResult.AGAIN
    tr.send(PositionOpened, T0 + 10, **opened(62, T0 + 10))
    tr.send(PositionClosed, T0 + 20, ticket=62, volume=Decimal("0.1"), remaining=Decimal(0), price=Decimal("1.1"),
            time=T0 + 20, reason="client", profit=Decimal(0))
    net.mode = SendResult.OK
    core.pump(net, T0 + 30)
    assert [m for m in net.take(b"i") if isinstance(m, Open)] == []
    assert (62, "trader_closed_before_copy") in _refusals(core)


def _one_open(tmp_path: Path, ticket: int):  # noqa: ANN202
    """A pair whose trader opened `ticket` at T0 + 10, and the one open the investor got."""
    cfg, store, core, net, tr, inv = _pair(tmp_path)
    net.take()
    tr.send(PositionOpened, T0 + 10, **opened(ticket, T0 + 10))
    (first,) = [m for m in net.take(b"i") if isinstance(m, Open)]
    return cfg, store, core, net, inv, first


def test_an_open_that_may_have_arrived_is_resent_after_its_expiry_only_to_learn_its_outcome(tmp_path: Path) -> None:
    cfg, store, core, net, inv, first = _one_open(tmp_path, 63)
    assert first.expires == T0 + 10 + cfg.engine.open_validity_ms
    later = T0 + 10 + cfg.engine.open_validity_ms + 1000  # the result was lost; the terminal comes back
    inv2 = Term(core, store, net, b"i2", 2001)
    got = inv2.send(Hello, later, **{**H, "utc_offset_ms": 0})
    again = [m for m in got if isinstance(m, Open)]
    assert [(m.key, m.expires) for m in again] == [(first.key, first.expires)]  # same key, same deadline
    inv2.send(CommandResult, later, key=first.key, ok=False, retcode=RETCODE_EXPIRED, ticket=0, price=Decimal(0),
              volume=Decimal(0), time=later, message="expired")
    assert (63, "expired") in _refusals(core)


def test_a_copy_missing_from_the_investor_snapshot_is_settled_once(tmp_path: Path) -> None:
    cfg, store, core, net, inv, o = _one_open(tmp_path, 64)
    inv.send(CommandResult, T0 + 20, key=o.key, ok=True, retcode=10009, ticket=9064, price=Decimal("1.1"),
             volume=Decimal("0.1"), time=T0 + 20, message="")
    assert core.copy_map()["1"]["64"]["state"] == "open"
    inv2 = Term(core, store, net, b"i2", 2001)
    inv2.send(Hello, T0 + 100, **H)  # the snapshot lacks ticket 9064: closed while the link was down
    assert core.copy_map()["1"]["64"]["state"] == "vanished"
    core.tick(T0 + 100 + cfg.close_profit_wait_ms)
    store.write(core.take_batch())
    assert core.copy_map()["1"] == {}
    closed = [b for t, b in core.take_feed() if t == "record.copy_closed"]
    assert len(closed) == 1 and closed[0]["estimated"] is True
    core.tick(T0 + 200 + 2 * cfg.close_profit_wait_ms)
    assert [b for t, b in core.take_feed() if t == "record.copy_closed"] == []  # exactly once
