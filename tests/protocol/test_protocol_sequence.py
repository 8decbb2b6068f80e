"""Inbound seq tracking (replay/gap refused without advancing) and the outbound counter."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bridge.protocol import Heartbeat, Hello, OutboundCounter, SequenceTracker, Welcome


def hello(seq: int = 1, id_: int = 1) -> Hello:
    return Hello(id_, seq, 0, 1, "trader", "MT5", "mt5_standard", "USD", 100, Decimal(0), Decimal(0), ())


def hb(seq: int, id_: int = 0) -> Heartbeat:
    return Heartbeat(id=id_ or seq, seq=seq, ts=0, login=1)


def started() -> SequenceTracker:
    tracker = SequenceTracker()
    assert tracker.accept(hello()) is None
    return tracker


def test_in_order_messages_advance():
    tracker = started()
    for seq in (2, 3, 4):
        assert tracker.accept(hb(seq)) is None
    assert tracker.last_seq == 4


def test_message_before_hello_is_refused():
    tracker = SequenceTracker()
    error = tracker.accept(hb(1, id_=9))
    assert (error.code, error.field, error.ref_id) == ("not_started", "type", 9)
    assert not tracker.started


@pytest.mark.parametrize("seq", [0, 2, 5])
def test_hello_must_carry_seq_1(seq):
    tracker = started()
    tracker.accept(hb(2))
    assert tracker.accept(hello(seq=seq)).code == "bad_start_seq"
    assert tracker.last_seq == 2  # unchanged


@pytest.mark.parametrize(("seq", "code"), [(3, "sequence_replay"), (1, "sequence_replay"), (0, "sequence_replay"), (5, "sequence_gap")])
def test_replay_and_gap_are_refused_and_do_not_advance(seq, code):
    tracker = started()
    tracker.accept(hb(2))
    tracker.accept(hb(3))
    error = tracker.accept(hb(seq, id_=77))
    assert (error.code, error.field, error.ref_id) == (code, "seq", 77)
    assert tracker.last_seq == 3
    assert tracker.accept(hb(4)) is None  # the expected message is still accepted


def test_hello_restarts_the_connection():
    # After a reconnect the terminal sends hello seq 1 again; numbering restarts.
    tracker = started()
    for seq in (2, 3, 4):
        tracker.accept(hb(seq))
    assert tracker.accept(hello()) is None
    assert tracker.accept(hb(2)) is None


def test_terminal_side_starts_on_welcome():
    tracker = SequenceTracker(start_type="welcome")
    assert tracker.accept(hb(1)).code == "not_started"
    assert tracker.accept(Welcome(1, 1, 0, 1, server_time=0, heartbeat_ms=1000, resume=False)) is None
    assert tracker.accept(hb(2)) is None


def test_outbound_ids_continue_and_seq_restarts():
    counter = OutboundCounter(next_id=100)
    assert [counter.next() for _ in range(3)] == [(100, 1), (101, 2), (102, 3)]
    counter.restart()
    assert counter.next() == (103, 1)  # ids stay unique per sender across connections
    assert counter.next_id == 104


def test_outbound_ids_start_at_one():
    with pytest.raises(ValueError):
        OutboundCounter(next_id=0)
