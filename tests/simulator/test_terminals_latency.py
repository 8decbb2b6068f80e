"""LatencyRecorder: pairing trader events with the copy commands they caused."""

from __future__ import annotations

from simulator.terminals import LatencyRecorder, percentile, ticket_from_key


def test_ticket_from_the_engine_key():
    assert ticket_from_key("s12-t1000005-open-0") == 1000005
    assert ticket_from_key("s1-t0-invest-1") == 0
    assert ticket_from_key("no-ticket-here") is None


def test_pairs_commands_with_the_last_event_of_their_ticket_in_the_same_epoch():
    rec = LatencyRecorder()
    rec.mark()
    rec.event_sent(7, 1_000)
    rec.command_received("open", "s1-t7-open-0", 1_500)
    rec.command_received("open", "s2-t7-open-0", 2_000)
    rec.event_sent(7, 3_000)  # a partial close
    rec.command_received("close", "s1-t7-close-1", 3_100)
    rec.command_received("open", "s1-t8-open-0", 3_200)  # no event for ticket 8: not counted
    rec.mark()
    rec.command_received("close", "s1-t7-close-2", 9_000)  # a retry in a later epoch: not counted
    assert rec.latencies_ns() == [500, 1_000, 100]
    assert rec.latencies_ns(types=("open",)) == [500, 1_000]
    summary = rec.summary_ms()
    assert summary["samples"] == 3 and summary["p50_ms"] == 0.001


def test_percentile_nearest_rank():
    assert percentile([], 50) is None
    assert percentile([5], 99) == 5
    values = list(range(1, 101))
    assert percentile(values, 50) == 50 and percentile(values, 99) == 99 and percentile(values, 100) == 100
