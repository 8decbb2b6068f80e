"""The feed's `snapshot` from kept rows (bridge/daemon/feed_snapshot.py): after any traffic it
equals a full rebuild, and its bytes equal `wire.FeedEncoder`'s, byte for byte.

docs/monitoring.md F4: "a `snapshot` ... the full current state"; the periodic one only costs
less: what it says must not change. The property runs the in-memory link (tests/daemon/
linkkit.py: a `DaemonCore`, terminals, the simulated trade server) through random trader deals,
price moves, faults and desk operations, and compares after each step."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import msgpack
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

import linkkit as tl
from bridge.daemon.feed_snapshot import SnapshotEncoder, StampedRows
from bridge.daemon.wire import FeedEncoder
from bridge.protocol import AccountUpdate, CommandResult, Hello, Open, PositionClosed, PositionOpened
from test_daemon_feed_core import H, S, T0, Desk, opened, result

SYMBOLS = sorted(tl.BASE_PRICES)
VOLUMES = [D("0.01"), D("0.1"), D("0.5")]
TERMINALS = ["T", "IA", "I3", "S1", "S2"]
_LIMIT = tl.model_config().heartbeat_ms * tl.model_config().offline_after  # the offline limit
AFTER = st.integers(0, 8).map(lambda x: x * 100)  # virtual ms run after an action


def _same_as_full_rebuild(feed, encoder: SnapshotEncoder, now: int) -> None:
    """The cached snapshot, and its encoding, against a full rebuild and FeedEncoder."""
    ref = feed.snapshot(now, fresh=True)
    got = feed.snapshot(now)
    assert got == ref
    envelope = {"ts": now, "instance": "i", "fseq": 1}  # as take_feed stamps it
    assert encoder("snapshot", {**got, **envelope}) == FeedEncoder()("snapshot", {**ref, **envelope})


class SnapshotMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.w: tl.LinkWorld | None = None
        self.encoder = SnapshotEncoder()

    @initialize(seed=st.integers(0, 2**16), order=st.sampled_from(["timers_first", "read_first"]))
    def build(self, seed: int, order: str) -> None:
        self.w = tl.LinkWorld(tl.LinkParams(seed=seed, order=order))
        shell, step = self.w.shell, self.w.shell.step

        def step_and_check(now: int, slice_ms: int, order: str | None = None) -> None:
            step(now, slice_ms, order)  # every daemon step: opens in flight, results half read...
            _same_as_full_rebuild(shell.core.feed, self.encoder, now)

        shell.step = step_and_check  # type: ignore[method-assign]

    @property
    def world(self) -> tl.LinkWorld:
        assert self.w is not None
        return self.w

    def _desk(self, op: str, **args: object) -> None:
        """A back-office request; a refusal is fine (it must change nothing the snapshot misses)."""
        self.world.shell.admin(self.world.t, op, **args)
        self.world.run(100)

    def _sub(self, i: int) -> int:
        subs = sorted(self.world.sub_of.values())
        return subs[i % len(subs)]

    # ------------------------------------------------------------------ trader and market
    @rule(symbol=st.sampled_from(SYMBOLS), side=st.sampled_from(["buy", "sell"]), volume=st.sampled_from(VOLUMES),
          then=AFTER)
    def trader_open(self, symbol: str, side: str, volume: D, then: int) -> None:
        self.world.trader_open(symbol, side, volume)
        self.world.run(then)

    @rule(i=st.integers(0, 9), fraction=st.sampled_from([D("0.5"), D("1")]), then=AFTER)
    def trader_close(self, i: int, fraction: D, then: int) -> None:
        pos = self.world.trader_positions()
        if pos:
            p = pos[i % len(pos)]
            self.world.trader_close(p.ticket, (p.volume * fraction).quantize(D("0.01")) or p.volume)
        self.world.run(then)

    @rule(symbol=st.sampled_from(SYMBOLS), points=st.integers(-300, 300), then=AFTER)
    def price_moves(self, symbol: str, points: int, then: int) -> None:
        self.world.move_price(symbol, points)
        self.world.run(then)

    @rule(ms=st.integers(1, 30).map(lambda x: x * 100))
    def time_passes(self, ms: int) -> None:
        self.world.run(ms)

    # ------------------------------------------------------------------ faults
    @rule(name=st.sampled_from(TERMINALS), ms=st.integers(1, 120).map(lambda x: x * 100))
    def disconnect(self, name: str, ms: int) -> None:
        self.world.disconnect(name, ms)

    @rule(name=st.sampled_from(TERMINALS), ms=st.sampled_from([_LIMIT // 2, 2 * _LIMIT, 6 * _LIMIT]))
    def silence(self, name: str, ms: int) -> None:
        """Long enough, the daemon forgets the silent session without telling the feed."""
        self.world.silence(name, ms)

    @rule(ms=st.sampled_from([_LIMIT - 100, 2 * _LIMIT]))
    def daemon_pause(self, ms: int) -> None:
        self.world.daemon_pause(ms, "read_first")

    @rule()
    def crash(self) -> None:
        self.world.crash()

    @rule(name=st.sampled_from(["IA", "I3"]), ms=st.integers(2, 80).map(lambda x: x * 100))
    def investor_close_offline(self, name: str, ms: int) -> None:
        self.world.investor_close_offline(name, ms)

    # ------------------------------------------------------------------ the desk
    @rule(i=st.integers(0, 1))
    def subscribe_spare(self, i: int) -> None:
        login = self.world.spares[i]
        if login not in self.world.sub_of:
            self.world.subscribe(login)

    @rule(i=st.integers(0, 9), op=st.sampled_from(["suspend", "resume", "close_copies", "stop"]))
    def desk_acts(self, i: int, op: str) -> None:
        args: dict[str, object] = {"subscription": self._sub(i)}
        if op in ("suspend", "close_copies"):
            args["actor"] = "dealer"
        if op == "stop":
            args["close_open"] = True
        self._desk(op, **args)

    @rule(i=st.integers(0, 9), protection=st.sampled_from([None, "10", "90"]))
    def investor_edits(self, i: int, protection: str | None) -> None:
        sub = self._sub(i)
        owner = self.world.daemon.engine.subscriptions[sub].investor
        self._desk("edit", subscription=sub, requester=owner, protection_pct=protection)

    @rule(i=st.integers(0, 9), amount=st.sampled_from(["100", "-100"]))
    def investment_changes(self, i: int, amount: str) -> None:
        sub = self._sub(i)
        owner = self.world.daemon.engine.subscriptions[sub].investor
        self._desk("deposit", owner=owner, amount="100")
        self._desk("change_investment", subscription=sub, requester=owner, amount=amount)

    @rule(cap=st.sampled_from([None, "5", "50"]))
    def commission_cap(self, cap: str | None) -> None:
        self._desk("cap_commission", trader="T", cap_pct=cap)

    # ------------------------------------------------------------------ the property
    @invariant()
    def snapshot_is_a_full_rebuild(self) -> None:
        if self.w is not None:
            _same_as_full_rebuild(self.w.daemon.feed, self.encoder, self.w.t)


def test_snapshot_equals_a_full_rebuild_after_random_link_traffic() -> None:
    run_state_machine_as_test(SnapshotMachine, settings=settings(
        max_examples=25, stateful_step_count=25, deadline=None, derandomize=True, database=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate],  # shrinking re-runs virtual seconds: off
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]))


# ---------------------------------------------------------------------- single behaviours
def test_a_session_dropped_after_silence_shows_offline_in_the_next_snapshot(tmp_path: Path) -> None:
    """The core drops a session without telling the feed (silent first, then its connection
    goes): only `session_of` changed. The snapshot must still say offline."""
    desk = Desk(tmp_path)
    desk.send(2001, Hello, 0, **H)
    feed = desk.core.feed
    assert [a["online"] for a in feed.snapshot(T0)["accounts"] if a["login"] == 2001] == [True]
    del desk.core.session_of[2001]  # what `_drop_session` does for a session already offline
    snap = feed.snapshot(T0)
    assert [a["online"] for a in snap["accounts"] if a["login"] == 2001] == [False]
    assert [t["online"] for t in snap["terminals"] if t["login"] == 2001] == [False]
    assert snap == feed.snapshot(T0, fresh=True)


def test_an_open_in_flight_shows_in_the_snapshot_before_its_result(tmp_path: Path) -> None:
    """An open command reserves margin and adds a copy in flight with no record: no delta is
    published, yet the snapshot shows it (estimated margin, open_copies), as a full rebuild does."""
    desk = Desk(tmp_path)
    for login in (1001, 2001):
        desk.send(login, Hello, 0, **H)
    feed = desk.core.feed
    before = feed.snapshot(T0)
    desk.send(1001, PositionOpened, 1 * S, **opened(70))
    snap = feed.snapshot(T0)
    assert snap == feed.snapshot(T0, fresh=True)
    sub = desk.core.sub_of_account[2001]
    rows = {r["subscription"]: r for r in snap["subscriptions"]}
    old = {r["subscription"]: r for r in before["subscriptions"]}
    assert rows[sub]["open_copies"] == old[sub]["open_copies"] + 1


def test_unchanged_rows_are_the_same_objects_and_reuse_their_bytes(tmp_path: Path) -> None:
    """What makes the snapshot cheap: an unchanged row is not rebuilt, nor re-encoded; a changed
    one is."""
    desk = Desk(tmp_path)
    for login in (1001, 2001, 2002):
        desk.send(login, Hello, 0, **H)
    feed = desk.core.feed
    first = feed.snapshot(T0)
    second = feed.snapshot(T0 + 5000)
    assert isinstance(second["accounts"], StampedRows)
    assert [a is b for a, b in zip(first["accounts"].bases, second["accounts"].bases)] == [True] * 3
    assert [a["updated"] for a in second["accounts"]] == [T0 + 5000] * 3
    assert all(a is b for a, b in zip(first["subscriptions"], second["subscriptions"]))
    desk.send(2002, AccountUpdate, 2 * S, balance=D(10), equity=D(9), margin=D(0), free_margin=D(9), leverage=100)
    third = feed.snapshot(T0 + 10_000)
    changed = [a["login"] for a, b in zip(second["accounts"].bases, third["accounts"].bases) if a is not b]
    assert changed == [2002]
    assert third == feed.snapshot(T0 + 10_000, fresh=True)


def test_encoder_bytes_equal_feed_encoder_for_any_rows() -> None:
    """msgpack is a concatenation: rows encoded from cache, in chunks, with stamps between, give
    the bytes of one pack of the whole map (more rows than a chunk, some reused, some new)."""
    enc = SnapshotEncoder()
    bases = [{"login": i, "role": "investor", "balance": str(D(i) / 7)} for i in range(300)]
    subs = [{"subscription": i, "state": "active"} for i in range(300)]
    for now in range(3):
        if now == 2:  # one row changes, one goes, one arrives
            bases[5] = {**bases[5], "balance": "1"}
            del subs[200]
            subs.insert(10, {"subscription": 999, "state": "stopping"})
        body = {"journal_seq": now, "accounts": StampedRows(list(bases), updated=now), "subscriptions": list(subs),
                "ts": now, "instance": "i", "fseq": now}
        head, tail = enc("snapshot", body)
        assert (head, tail) == FeedEncoder()("snapshot", body)
        assert msgpack.unpackb(tail)["accounts"][5] == {**bases[5], "updated": now}


def test_snapshot_rows_follow_a_copy_closed_before_its_position_report(tmp_path: Path) -> None:
    """A filled copy names the trader position it follows in `positions`; once the copy is
    closed that label goes, even before the terminal reports its position closed."""
    desk = Desk(tmp_path)
    for login in (1001, 2001, 2002):
        desk.send(login, Hello, 0, **H)
    feed = desk.core.feed
    desk.send(1001, PositionOpened, 1 * S, **opened(80))
    (cmd,) = [m for m in desk.net.take(b"c2001") if isinstance(m, Open)]
    desk.send(2001, PositionOpened, int(1.01 * S), **opened(9))
    desk.send(2001, CommandResult, int(1.02 * S), **result(cmd.key, 9))
    rows = {p["login"]: p for p in feed.snapshot(T0)["positions"]}
    assert rows[2001]["positions"][0]["trader_ticket"] == 80
    desk.send(1001, PositionClosed, 2 * S, ticket=80, volume=D("0.1"), remaining=D(0), price=D("1.2"), time=T0,
              reason="client", profit=D(10))
    (close,) = desk.net.take(b"c2001")
    desk.send(2001, CommandResult, int(2.01 * S), **result(close.key, 9))
    assert feed.snapshot(T0) == feed.snapshot(T0, fresh=True)
