"""Link chaos, short versions of scenarios 1-4 of `benchmarks/bench_link_chaos.py` (issue 10).

Real sockets, CURVE on, the daemon in a subprocess (SIGSTOP / SIGCONT / kill). These assert
correctness, not timing: no copy lost, none duplicated, no open executed after its validity
(trader open time + the daemon's validity), every copy not made refused with a reason
(a `record.copy_refused` on the feed): a copy refused with a reason is not lost. Noisy or
"victim" terminal groups (the slow reader) run in worker processes of their own, so they
cannot stall the heartbeats of the terminals whose copies are judged. Every duration and wait derives from the daemon's
configured timers (`TIMERS`: heartbeat_ms, offline_after, validity) and every wait polls a
condition with a deadline (`Timers.settle_s`), so a loaded machine only makes them slower.

The scenarios and their judging live in `benchmarks/chaos/`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.chaos import scenarios as S  # noqa: E402
from benchmarks.chaos.harness import Timers  # noqa: E402

pytestmark = pytest.mark.integration

# offline after 5 x 300 ms of silence; an open is valid for 3 s after the trader opened
TIMERS = Timers(heartbeat_ms=300, offline_after=5, validity_ms=3000)
OFFLINE_S = TIMERS.offline_ms / 1000
VALIDITY_S = TIMERS.validity_ms / 1000
# libzmq's ZMTP heartbeat TTL / timeout the daemon sets: 4 x the offline limit (docs/protocol.md 6.2)
ZMTP_TTL_S = 4 * OFFLINE_S


def _no_loss_dup_late(j: dict, what: str) -> None:
    assert j["duplicated"] == 0, f"{what}: copies duplicated: {j}"
    assert j["late_executed"] == 0, f"{what}: opens executed after their validity: {j}"
    assert j["not_made_unrefused"] == 0, f"{what}: copies neither made nor refused with a reason: {j}"


def test_flood_from_an_authorised_key_loses_nothing(tmp_path: Path) -> None:
    """One authorised key floods the ROUTER (heartbeats + junk) while 6 deals copy to 4 investors
    on other connections: every copy made once, in time, and no other terminal judged offline."""
    r = S.flood(tmp_path, TIMERS, deals=6, investors=4, duration_s=OFFLINE_S, senders=1, junk_every=10)
    assert r["frames_offered"] > 0
    assert r["flooders_late"] == 0, f"a flooder did not end on time (blocked in send?): {r}"
    _no_loss_dup_late(r, "flood")
    assert r["made"] == r["expected"], r
    assert r["offline"] == 0, f"terminals judged offline under the flood: {r}"


def test_daemon_stalls_copy_in_time_or_refuse(tmp_path: Path) -> None:
    """Two stalls just under the offline time (the copies must all be made), then one stall
    longer than the validity but well inside the ZMTP TTL (each copy made in time, or refused
    with a reason; none late; no session dropped by the transport)."""
    r = S.stalls(tmp_path, TIMERS, investors=4, stalls=2, long_deals=3,
                 short_stall_s=0.9 * OFFLINE_S, long_stall_s=min(2 * VALIDITY_S, 0.75 * ZMTP_TTL_S))
    _no_loss_dup_late(r["short"], "short stalls")
    assert r["short"]["made"] == r["short"]["expected"], r
    _no_loss_dup_late(r["long"], "long stall")
    # the transport keeps every connection through a stall (ZMTP TTL = 4 x the offline limit)
    assert r["long_sessions_dropped"] == 0, r
    assert r["long_refused_not_started"] == 0 and r["long_not_started_errors"] == 0, r


def test_investor_away_gets_no_late_open_and_reconciles(tmp_path: Path) -> None:
    """An investor terminal is gone for longer than offline + validity while the trader opens and
    closes: on its return no open is executed late, the copy map equals what it holds, and
    the other investors lost nothing."""
    r = S.investor_offline(tmp_path, TIMERS, offline_s=OFFLINE_S + VALIDITY_S + 1, deal_every_s=OFFLINE_S / 3,
                           others=2)
    assert r["late_executed"] == 0, r
    assert r["reconciled"], f"copy map never equalled the investor's positions: {r}"
    assert r["victim_not_made_unrefused"] == 0, r
    assert r["others_lost"] == 0 and r["others_duplicated"] == 0 and r["victim_duplicated"] == 0, r


def test_slow_reader_executes_nothing_expired_and_others_lose_nothing(tmp_path: Path) -> None:
    """One connection of 20 logins stops reading for longer than offline + validity while 20
    investors on 2 other connections receive copies."""
    r = S.slow_reader(tmp_path, TIMERS, sleepers=20, others=20, connections=2,
                      sleep_s=OFFLINE_S + VALIDITY_S + 1, deal_every_s=OFFLINE_S / 3)
    assert r["sleeper_late_executed"] == 0, r
    assert r["sleeper_not_made_unrefused"] == 0, r
    assert r["workers_reported"], r
    assert r["others_lost"] == 0 and r["others_late_executed"] == 0, r
    assert r["others_offline_disconnected"] == 0, r
    assert r["sleeper_duplicated"] == 0 and r["others_duplicated"] == 0 and r["workers_executed_twice"] == 0, r
