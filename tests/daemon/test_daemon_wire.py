"""The daemon's fast encoder gives the same bytes as bridge.protocol.encode; events survive the journal."""

from __future__ import annotations

from decimal import Decimal

from bridge.copytrading import events as ev
from bridge.daemon import wire
from bridge.daemon.lifecycle import _error_wire
from bridge.daemon.store import CommandRow
from bridge.domain.sizing import VolumeMode
from bridge.domain.trading import Side
from bridge.protocol import Close, ErrorReply, Heartbeat, Modify, Open, ProtocolError, Welcome, encode


def test_open_close_modify_fast_path_matches_encode() -> None:
    rows = [
        CommandRow("s12-t5001-open-1", 3, 7, 5001234, "open", 12, 5001, None, "EURUSD", "sell", "0.37", "1.1"),
        CommandRow("s1-t2-close-2", 3, 8, 1, "close", 1, 2, 2**40, volume="10000"),
        CommandRow("s1-t2-modify-3", 3, 9, 128, "modify", 1, 2, 77, sl="1.23456", tp="0"),
    ]
    for row, id_, seq in zip(rows, (1, 2**33, 900003), (1, 200, 70000)):
        fast = wire.pack(wire.command_wire(row, id_, seq, 1_700_000_000_200, 7_770_001))
        if row.type == "open":
            ref = Open(id_, seq, 1_700_000_000_200, row.login, row.key, "EURUSD", "sell", Decimal("0.37"),
                       Decimal(0), Decimal(0), 7_770_001, row.key)
        elif row.type == "close":
            ref = Close(id_, seq, 1_700_000_000_200, row.login, row.key, 2**40, Decimal("10000"))
        else:
            ref = Modify(id_, seq, 1_700_000_000_200, row.login, row.key, 77, Decimal("1.23456"), Decimal(0))
        assert fast == encode(ref)


def test_control_messages_match_encode() -> None:
    assert wire.pack(wire.simple_wire("welcome", 5, 1, 10, 99, server_time=10, heartbeat_ms=1000, resume=True)) \
        == encode(Welcome(5, 1, 10, 99, 10, 1000, True))
    assert wire.pack(wire.simple_wire("heartbeat", 6, 2, 11, 99)) == encode(Heartbeat(6, 2, 11, 99))
    err = ProtocolError("sequence_gap", "seq 5, expected 3", "seq", 42)
    assert wire.pack(_error_wire(err, 7, 3, 12, 99)) == encode(ErrorReply(7, 3, 12, 99, "sequence_gap",
                                                                          "seq 5, expected 3", 42, "seq"))


def test_long_keys_get_a_digest_comment() -> None:
    assert wire.comment_for("s1-t2-open-1") == "s1-t2-open-1"
    long = "s123456789-t123456789012-open-1"
    assert len(wire.comment_for(long + "x")) == 31 and wire.comment_for(long + "x").startswith("k:")


def test_events_round_trip_through_the_journal() -> None:
    events = [
        ev.Subscribe(5, "inv", "tr", 2001, Decimal("100.50"), VolumeMode.PROPORTIONAL, Decimal("10"), 200),
        ev.TraderPositionOpened(6, "tr", 7, "EURUSD", Side.SELL, Decimal("0.1"), Decimal("1.1"), 5, None, Decimal("1")),
        ev.TraderSnapshot(7, "tr", (ev.SnapshotPosition(7, "EURUSD", Side.BUY, Decimal("1"), Decimal("2"), 3),)),
        ev.CommandFilled(8, "k", 9, Decimal("0.1"), Decimal("1.1"), Decimal("-2.5")),
        ev.EditSettings(9, 1, "inv", protection_pct=Decimal("20")),
        ev.EditSettings(9, 1, "inv", mode="equal"),
        ev.StopCopying(10, 1, None, True),
        ev.TimePassed(11),
    ]
    for e in events:
        back = wire.event_from(type(e).__name__, wire.event_body(e))
        assert back == e


def test_an_open_row_is_built_in_one_place() -> None:
    """Review of issue 10: "the open-command row is built twice in `bridge/daemon/wire.py` — one
    source". `command_row` is `command_rows` of one command; a fan-out's rows (texts shared
    between opens) are the same rows, field by field from the command."""
    from bridge.copytrading.commands import CloseCopy, OpenCopy

    opens = [OpenCopy(7 + i, f"s{i}-t5-open-1", i, 2000 + i, 5, "EURUSD", Side.BUY, Decimal("0.10"), Decimal("1.0850"),
                      1_700_000_005_000) for i in range(3)]
    close = CloseCopy(11, "s1-t5-close-1", 1, 2001, 5, 9001, Decimal("0.1"), "trader_closed")
    rows = wire.command_rows([*opens, close], 42)
    assert rows == [wire.command_row(c, 42) for c in [*opens, close]]
    for cmd, row in zip(opens, rows):
        assert type(row) is CommandRow
        assert row == CommandRow(cmd.key, 42, cmd.id, cmd.account, "open", cmd.subscription, 5, None, "EURUSD", "buy",
                                 "0.10", "1.0850", None, None, None, 1_700_000_005_000)
    assert rows[-1].type == "close" and rows[-1].ticket == 9001 and rows[-1].reason == "trader_closed"
