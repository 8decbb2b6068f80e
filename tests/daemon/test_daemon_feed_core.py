"""The monitoring feed as data (DaemonCore + FeedModel, no sockets): envelope, snapshot,
account figures, exposure, latency, fanout, margin calls, stop-outs, statistics; the
`monitor` key role. The monitor's reducer reads every item, so the tests fold the feed into
a `MonitorState` as the dashboard would."""

from __future__ import annotations

import itertools

from decimal import Decimal
from pathlib import Path

import pytest

from bridge.cli import main as keys_main
from bridge.daemon.config import ConfigError, parse_config
from bridge.daemon.core import DaemonCore, SendResult
from bridge.daemon.keys import generate_keypair, parse_allow_entries
from bridge.daemon.store import SqliteStore
from bridge.monitor.state import FeedEvent, MonitorState
from bridge.protocol import (AccountUpdate, CommandResult, Direction, Hello, Open, Position, PositionClosed,
                             PositionOpened, decode, encode)

_IDS = itertools.count(1)  # message ids only grow per login, across connections
T0 = 1_700_000_000_000
S = 1_000_000_000  # ns per second
H = dict(role="trader", platform="MT4", account_type="mt4_standard", currency="USD", leverage=100,
         balance=Decimal(1000), equity=Decimal(1000), positions=())


class Net:
    def __init__(self) -> None:
        self.out: list[tuple[bytes, object]] = []

    def __call__(self, conn: bytes, frame: bytes) -> SendResult:
        self.out.append((conn, decode(frame, direction=Direction.TO_TERMINAL)))
        return SendResult.OK

    def take(self, conn: bytes) -> list:
        got = [m for c, m in self.out if c == conn]
        self.out = [(c, m) for c, m in self.out if c != conn]
        return got


class Desk:
    """A core with trader 1001 (T) and investors 2001 (I, 1000 USD) / 2002 (J, 10 USD), and
    everything it published folded into a MonitorState."""

    def __init__(self, tmp: Path) -> None:
        self.store = SqliteStore(tmp / "j.db")
        self.core = DaemonCore.recover(parse_config({}), self.store.recover(), now=T0, insecure=True,
                                       instance="run-1")
        self.net = Net()
        self.items: list[tuple[str, dict]] = []
        self.state = MonitorState()
        self.seqs: dict[int, int] = {}
        for op, args in [("register_trader", dict(trader="T", account=1001, account_type="mt4_standard",
                                                  leverage=100, commission_pct="20")),
                         ("deposit", dict(owner="I", amount="1000")),
                         ("subscribe", dict(investor="I", trader="T", account=2001, amount="1000")),
                         ("deposit", dict(owner="J", amount="10")),
                         ("subscribe", dict(investor="J", trader="T", account=2002, amount="10"))]:
            assert self.core.on_admin({"op": op, "args": args}, None, T0, 0)["ok"]
        self.commit(0)

    def commit(self, mono: int, now: int = T0) -> list[tuple[str, dict]]:
        self.store.write(self.core.take_batch())
        self.core.pump(self.net, now)
        got = self.core.take_feed(mono)
        self.items += got
        for topic, body in got:
            self.state.apply(FeedEvent(topic, body))
        return got

    def send(self, login: int, cls: type, mono: int, now: int = T0, **body: object) -> list[tuple[str, dict]]:
        seq = self.seqs[login] = 1 if cls is Hello else self.seqs[login] + 1
        frame = encode(cls(id=next(_IDS), seq=seq, ts=now, login=login, **body))
        self.core.on_frame(b"c%d" % login, None, frame, now, mono)
        return self.commit(mono, now)

    def topics(self, got: list[tuple[str, dict]], topic: str) -> list[dict]:
        return [b for t, b in got if t == topic]


def opened(ticket: int, volume: str = "0.1", side: str = "buy", symbol: str = "EURUSD") -> dict:
    return dict(ticket=ticket, symbol=symbol, side=side, volume=Decimal(volume), price=Decimal("1.1"),
                sl=Decimal(0), tp=Decimal(0), time=T0 + 1, magic=0, comment="")


def result(key: str, ticket: int, volume: str = "0.1") -> dict:
    return dict(key=key, ok=True, retcode=10009, ticket=ticket, price=Decimal("1.1"), volume=Decimal(volume),
                time=T0, message="")


@pytest.fixture
def desk(tmp_path: Path) -> Desk:
    d = Desk(tmp_path)
    for login in (1001, 2001, 2002):
        d.send(login, Hello, 0, **H)
    d.net.out.clear()  # the welcomes
    return d


def test_envelope_numbers_every_item_in_publication_order(desk: Desk) -> None:
    assert [b["fseq"] for _, b in desk.items] == list(range(1, len(desk.items) + 1))
    assert all(b["instance"] == "run-1" and type(b["ts"]) is int for _, b in desk.items)
    desk.core.publish_stats(T0 + 5)
    desk.core.publish_snapshot(T0 + 5)
    (_, stats), (_, snap) = desk.commit(0)[-2:]
    assert stats["fseq"] + 1 == snap["fseq"] == len(desk.items)
    assert stats["sessions"] == 3 and stats["pending_commands"] == 0 and stats["journal_seq"] == desk.core.seq


def test_account_update_carries_role_owner_type_and_levels(desk: Desk) -> None:
    got = desk.send(1001, AccountUpdate, 0, balance=Decimal(1000), equity=Decimal(450), margin=Decimal(1000),
                    free_margin=Decimal(-550), leverage=100)
    (a,) = desk.topics(got, "account.update")
    assert {k: a[k] for k in ("login", "role", "owner", "account_type", "currency", "leverage", "margin_level",
                              "margin_call_level", "stop_out_level")} == {
        "login": 1001, "role": "trader", "owner": "T", "account_type": "mt4_standard", "currency": "USD",
        "leverage": 100, "margin_level": "45.00", "margin_call_level": "40", "stop_out_level": "20"}
    assert "estimated" not in a
    investor = desk.state.accounts[2001]
    assert (investor.role, investor.owner) == ("investor", "I")
    # the same figures again: nothing to publish
    assert not desk.topics(desk.send(1001, AccountUpdate, 0, balance=Decimal(1000), equity=Decimal(450),
                                     margin=Decimal(1000), free_margin=Decimal(-550), leverage=100),
                           "account.update")


def test_margin_call_once_per_fall_and_rearmed(desk: Desk) -> None:
    def level(equity: str) -> list[dict]:
        return desk.topics(desk.send(2001, AccountUpdate, 0, balance=Decimal(1000), equity=Decimal(equity),
                                     margin=Decimal(100), free_margin=Decimal(equity) - 100, leverage=100),
                           "account.margin_call")

    assert level("40.01") == []
    (mc,) = level("40")  # at the level = triggered
    assert mc == {**mc, "login": 2001, "margin_level": "40.00", "margin_call_level": "40", "equity": "40.0",
                  "margin": "100.0"}
    assert level("30") == []  # still in margin call
    assert level("80") == []  # re-armed
    assert len(level("39")) == 1
    assert desk.state.counts["margin_calls"] == 2


def test_copy_latency_from_trader_frame_to_command_result(desk: Desk) -> None:
    got = desk.send(1001, PositionOpened, 1 * S, **opened(55))
    (fan,) = desk.topics(got, "fanout")
    assert fan == {**fan, "trader": "T", "trader_ticket": 55, "subscriptions": 2, "commands": 1}
    assert Decimal(fan["duration_ms"]) >= 0
    (refused,) = desk.topics(got, "record.copy_refused")  # J: no money, decided in the step
    assert refused["code"] == "no_money" and refused["latency_ms"] == "0.000"
    (cmd,) = desk.net.take(b"c2001")
    assert isinstance(cmd, Open)
    desk.send(2001, PositionOpened, int(1.030 * S), **opened(9, "0.1"))
    got = desk.send(2001, CommandResult, int(1.042 * S), **result(cmd.key, 9))
    (op,) = desk.topics(got, "record.copy_opened")
    assert op["latency_ms"] == "42.000"
    assert desk.state.latencies[-1] == Decimal("42.000")
    # the close: from the trader's close frame to the investor's close result, the deal arriving after it
    desk.send(1001, PositionClosed, 2 * S, ticket=55, volume=Decimal("0.1"), remaining=Decimal(0),
              price=Decimal("1.2"), time=T0, reason="client", profit=Decimal(10))
    (close,) = desk.net.take(b"c2001")
    desk.send(2001, CommandResult, int(2.005 * S), **result(close.key, 9))
    got = desk.send(2001, PositionClosed, int(2.050 * S), ticket=9, volume=Decimal("0.1"), remaining=Decimal(0),
                    price=Decimal("1.2"), time=T0, reason="client", profit=Decimal(10))
    (cl,) = desk.topics(got, "record.copy_closed")
    assert cl["latency_ms"] == "5.000" and cl["profit"] == "10.00"


def test_a_copy_refused_in_the_fan_out_republishes_nothing_of_its_account(desk: Desk) -> None:
    """A refusal changes no figure of its subscription or account (a margin reservation is
    taken back in the same step), so the feed model no longer even re-renders them (the
    slow-reader benchmark's 2 000 offline refusals per deal); what the desk sees is unchanged."""
    sub_j = desk.core.sub_of_account[2002]
    before = (desk.state.subscriptions[sub_j], desk.state.accounts[2002])
    got = desk.send(1001, PositionOpened, 1 * S, **opened(57))
    (refused,) = desk.topics(got, "record.copy_refused")
    assert refused["subscription"] == sub_j and refused["code"] == "no_money"
    assert [b for b in desk.topics(got, "subscription.update") if b["subscription"] == sub_j] == []
    assert [b for b in desk.topics(got, "account.update") if b["login"] == 2002] == []
    assert (desk.state.subscriptions[sub_j], desk.state.accounts[2002]) == before
    # and a later change of the same account is still published
    got = desk.send(2002, AccountUpdate, 2 * S, balance=Decimal(10), equity=Decimal(9), margin=Decimal(0),
                    free_margin=Decimal(9), leverage=100)
    assert [Decimal(b["equity"]) for b in desk.topics(got, "account.update") if b["login"] == 2002] == [9]


def test_fanout_duration_is_the_shells_measure(desk: Desk) -> None:
    core = desk.core
    frame = encode(PositionOpened(id=next(_IDS), seq=desk.seqs[1001] + 1, ts=T0, login=1001, **opened(56)))
    desk.seqs[1001] += 1
    core.on_frame(b"c1001", None, frame, T0, 10 * S)
    core.timed(10 * S + 1_500_000)
    got = desk.commit(11 * S)
    (fan,) = desk.topics(got, "fanout")
    assert fan["duration_ms"] == "1.500"


def test_exposure_over_traders_and_investors(desk: Desk) -> None:
    got = desk.send(1001, PositionOpened, 0, **opened(55, "0.5"))
    assert desk.topics(got, "exposure")[-1]["symbols"] == [{"symbol": "EURUSD", "buy": "0.5", "sell": "0",
                                                             "positions": 1}]
    desk.send(2001, PositionOpened, 0, **opened(9, "0.3", side="sell"))
    desk.send(2002, PositionOpened, 0, **opened(10, "1", symbol="GBPUSD"))
    e = desk.state.exposure
    assert (e["EURUSD"].buy, e["EURUSD"].sell, e["EURUSD"].positions) == (Decimal("0.5"), Decimal("0.3"), 2)
    desk.send(1001, PositionClosed, 0, ticket=55, volume=Decimal("0.2"), remaining=Decimal("0.3"),
              price=Decimal("1.1"), time=T0, reason="client", profit=Decimal(0))
    assert e["EURUSD"].buy == Decimal("0.3")
    desk.send(2001, PositionClosed, 0, ticket=9, volume=Decimal("0.3"), remaining=Decimal(0),
              price=Decimal("1.1"), time=T0, reason="client", profit=Decimal(0))
    desk.send(1001, PositionClosed, 0, ticket=55, volume=Decimal("0.3"), remaining=Decimal(0),
              price=Decimal("1.1"), time=T0, reason="client", profit=Decimal(0))
    assert "EURUSD" not in e and e["GBPUSD"].buy == Decimal(1)
    # a hello replaces the login's positions
    desk.send(2002, Hello, 0, **{**H, "positions": (Position(11, "USDJPY", "sell", Decimal("2"), Decimal("150"),
                                                             Decimal(0), Decimal(0), T0, 0, ""),)})
    assert "GBPUSD" not in e and e["USDJPY"].sell == Decimal(2)
    desk.core.publish_snapshot()
    snap = desk.commit(0)[-1][1]
    assert snap["exposure"] == [{"symbol": "USDJPY", "buy": "0", "sell": "2.0", "positions": 1}]


def test_stop_out_once_per_episode(desk: Desk) -> None:
    desk.send(2001, PositionOpened, 0, **opened(9, "0.1"))
    desk.send(2001, PositionOpened, 0, **opened(10, "0.1"))
    desk.send(2001, AccountUpdate, 0, balance=Decimal(1000), equity=Decimal(15), margin=Decimal(100),
              free_margin=Decimal(-85), leverage=100)

    def so(ticket: int, now: int) -> list[dict]:
        got = desk.send(2001, PositionClosed, 0, now, ticket=ticket, volume=Decimal("0.1"), remaining=Decimal(0),
                        price=Decimal("1.1"), time=now, reason="so", profit=Decimal(-5))
        return desk.topics(got, "account.stop_out")

    (first,) = so(9, T0)
    assert first == {**first, "login": 2001, "margin_level": "15.00", "stop_out_level": "20", "closes": 1}
    assert so(10, T0 + 100) == []  # same episode
    desk.send(2001, AccountUpdate, 0, balance=Decimal(990), equity=Decimal(990), margin=Decimal(0),
              free_margin=Decimal(990), leverage=100)  # over: no margin used
    desk.send(2001, PositionOpened, 0, **opened(12, "0.1"))
    assert len(so(12, T0 + 200)) == 1
    assert desk.state.counts["stop_outs"] == 2


def test_investor_margin_from_the_engine_book_until_the_terminal_reports(desk: Desk) -> None:
    desk.send(1001, PositionOpened, 0, **opened(55, "0.5"))
    (cmd,) = desk.net.take(b"c2001")
    got = desk.send(2001, CommandResult, 0, **result(cmd.key, 9, "0.5"))
    a = [b for b in desk.topics(got, "account.update") if b["login"] == 2001][-1]
    assert a["estimated"] is True and Decimal(a["margin"]) > 0
    assert Decimal(a["margin_level"]) == (Decimal(a["equity"]) / Decimal(a["margin"]) * 100).quantize(Decimal("0.01"))
    got = desk.send(2001, AccountUpdate, 0, balance=Decimal(1000), equity=Decimal(990), margin=Decimal(110),
                    free_margin=Decimal(880), leverage=100)
    a = [b for b in desk.topics(got, "account.update") if b["login"] == 2001][-1]
    assert "estimated" not in a and a["margin"] == "110.0" and a["margin_level"] == "900.00"


def test_subscription_update_and_trader_stats(desk: Desk) -> None:
    desk.send(1001, PositionOpened, 0, **opened(55))
    (cmd,) = desk.net.take(b"c2001")
    got = desk.send(2001, CommandResult, 0, **result(cmd.key, 9))
    (su,) = desk.topics(got, "subscription.update")
    assert su == {**su, "subscription": 1, "investor": "I", "trader": "T", "account": 2001, "state": "active",
                  "mode": "equal", "commission_pct": "20", "invested": "1000", "open_copies": 1, "trades": 0}
    got = desk.send(1001, PositionClosed, 0, T0 + 10, ticket=55, volume=Decimal("0.1"), remaining=Decimal(0),
                    price=Decimal("1.2"), time=T0, reason="client", profit=Decimal(10))
    (ts,) = desk.topics(got, "trader.stats")  # right after a trader close
    assert ts == {**ts, "trader": "T", "account": 1001, "trades": 1, "followers": 2, "volume": "0.1",
                  "commission_pct": "20"}
    # account updates of the trader: at most once a second
    upd = dict(balance=Decimal(1010), equity=Decimal(1010), margin=Decimal(0), free_margin=Decimal(1010),
               leverage=100)
    assert desk.topics(desk.send(1001, AccountUpdate, 0, T0 + 500, **upd), "trader.stats") == []
    assert len(desk.topics(desk.send(1001, AccountUpdate, 0, T0 + 1500, **{**upd, "equity": Decimal(1020)}),
                           "trader.stats")) == 1
    assert desk.state.traders["T"].equity == Decimal(1020)


def test_snapshot_is_the_full_state_for_a_late_monitor(desk: Desk) -> None:
    desk.send(1001, PositionOpened, 1 * S, **opened(55))
    (cmd,) = desk.net.take(b"c2001")
    desk.send(2001, CommandResult, 2 * S, **result(cmd.key, 9))
    desk.core.publish_snapshot()
    _, snap = desk.commit(3 * S)[-1]
    late = MonitorState().apply(FeedEvent("snapshot", snap))
    assert late.health.synced and late.health.instance == "run-1"
    assert set(late.accounts) == {1001, 2001, 2002} and all(a.online for a in late.accounts.values())
    assert late.accounts[1001].role == "trader" and late.accounts[2002].owner == "J"
    assert sorted(late.subscriptions) == [1, 2] and late.subscriptions[1].open_copies == 1
    assert late.traders["T"].followers == 2
    assert {t.login for t in late.terminals.values() if t.online} == {1001, 2001, 2002}
    assert [str(x) for x in late.latencies] == ["0.000", "1000.000"]  # J's refusal, I's copy


def test_recovered_core_snapshot_lists_known_logins_offline(tmp_path: Path) -> None:
    d = Desk(tmp_path)
    d.send(1001, Hello, 0, **H)
    d.send(1001, PositionOpened, 0, **opened(55, "0.4"))
    d.core.snapshot(T0)
    d.store.close()
    store = SqliteStore(tmp_path / "j.db")
    core = DaemonCore.recover(parse_config({}), store.recover(), now=T0 + 1, insecure=True, instance="run-2")
    core.publish_snapshot()
    (_, snap), = [(t, b) for t, b in core.take_feed(0) if t == "snapshot"]
    assert snap["instance"] == "run-2"
    assert [(t["login"], t["online"]) for t in snap["terminals"]] == [(1001, False)]
    assert snap["exposure"] == [{"symbol": "EURUSD", "buy": "0.4", "sell": "0", "positions": 1}]  # from the engine
    acc = {a["login"]: a for a in snap["accounts"]}
    assert acc[1001]["role"] == "trader" and acc[1001]["estimated"] is True and not acc[1001]["online"]
    store.close()


# ---------------------------------------------------------------------- keys and config
def test_monitor_role_keys() -> None:
    pub = generate_keypair().public
    (e,) = parse_allow_entries([{"name": "desk", "public_key": pub, "role": "monitor"}], "allow")
    assert e.role == "monitor" and e.logins == ()
    with pytest.raises(ValueError, match="monitor key"):
        parse_allow_entries([{"name": "desk", "public_key": pub, "role": "monitor", "logins": [1]}], "allow")


def test_monitor_key_speaks_for_no_login(tmp_path: Path) -> None:
    pub = generate_keypair().public
    cfg = parse_config({"security": {"allow": [{"name": "desk", "public_key": pub, "role": "monitor"}]}})
    core = DaemonCore(cfg, DaemonCore.recover(cfg, SqliteStore(tmp_path / "j.db").recover(), now=T0).engine,
                      now=T0)
    core.on_frame(b"c", "desk", encode(Hello(id=1, seq=1, ts=T0, login=1001, **H)), T0)
    assert [t for t, _ in core.take_feed()] == ["auth.login_refused"]
    assert core.on_admin({"op": "status"}, "desk", T0)["error"] == "forbidden"


def test_keys_command_writes_monitor_keys(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    allow = tmp_path / "allow.toml"
    assert keys_main(["keys", "terminal", "desk", "--role", "monitor", "--out", str(tmp_path),
                      "--allow-list", str(allow)]) == 0
    assert 'role = "monitor"' in allow.read_text() and (tmp_path / "desk.key").exists()
    assert keys_main(["keys", "terminal", "desk2", "--role", "monitor", "--login", "5"]) == 2
    import tomllib

    (e,) = parse_allow_entries(tomllib.loads(allow.read_text())["allow"], "allow")
    assert e.name == "desk" and e.role == "monitor"


def test_feed_snapshot_every_s_config() -> None:
    assert parse_config({}).feed_snapshot_every_s == 5
    assert parse_config({"daemon": {"feed_snapshot_every_s": 2}}).feed_snapshot_every_s == 2
    with pytest.raises(ConfigError, match="feed_snapshot_every_s"):
        parse_config({"daemon": {"feed_snapshot_every_s": 0}})


def test_positions_topic_names_the_trader_position_a_copy_follows(desk: Desk) -> None:
    """Issue 13 §1: "every account's open positions (symbol, side, volume, open price, current
    price, floating P/L, swap) and, for a copy, the trader position it follows. Event rows name
    the symbol and side." (docs/monitoring.md F14, F15)"""
    from bridge.monitor.book import position_rows

    got = desk.send(1001, PositionOpened, 1 * S, **opened(55, "0.5"))
    (pos,) = desk.topics(got, "positions")
    assert pos == {**pos, "login": 1001, "count": 1, "positions": [
        {"ticket": 55, "symbol": "EURUSD", "side": "buy", "volume": "0.5", "price": "1.1"}]}
    (cmd,) = desk.net.take(b"c2001")
    desk.send(2001, PositionOpened, int(1.03 * S), **opened(9, "0.1"))
    got = desk.send(2001, CommandResult, int(1.04 * S), **result(cmd.key, 9))
    (op,) = desk.topics(got, "record.copy_opened")
    assert (op["symbol"], op["side"]) == ("EURUSD", "buy")
    assert "EURUSD buy 0.10 lots @ 1.1 ticket 9 (trader ticket 55)" in desk.state.events[-1].text
    (pos,) = desk.topics(got, "positions")
    assert pos["positions"] == [{"ticket": 9, "symbol": "EURUSD", "side": "buy", "volume": "0.1", "price": "1.1",
                                 "trader": "T", "trader_ticket": 55}]
    # the trader's close deal at 1.2 is the engine's latest EURUSD price: published, and the book floats on it
    got = desk.send(1001, PositionClosed, 2 * S, ticket=55, volume=Decimal("0.1"), remaining=Decimal("0.4"),
                    price=Decimal("1.2"), time=T0, reason="client", profit=Decimal(10))
    assert desk.topics(got, "prices")[-1]["symbols"] == [{"symbol": "EURUSD", "bid": "1.2", "ask": "1.2"}]
    rows = {r.position.ticket: r for r in position_rows(desk.state)}
    assert rows[9].current == Decimal("1.2") and rows[9].profit == Decimal("1000.0")  # 0.1 lot x 100 000 x 0.1
    assert rows[55].position.volume == Decimal("0.4")
    desk.core.publish_snapshot()
    snap = desk.commit(0)[-1][1]
    assert [p["login"] for p in snap["positions"]] == [1001, 2001]
    late = MonitorState()
    late.apply(FeedEvent("snapshot", snap))
    assert late.positions.keys() == {1001, 2001} and late.prices["EURUSD"] == (Decimal("1.2"), Decimal("1.2"))
