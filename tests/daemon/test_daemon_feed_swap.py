"""The swap of each open position, from the terminals' reports to the desk's positions table.

Issue 13 §1: "Positions: every account's open positions (symbol, side, volume, open price,
current price, floating P/L, swap) and, for a copy, the trader position it follows."
docs/protocol.md section 4, "Swap": "A terminal reports a swap change alone on its next report
after the rollover, as a `position_modified` with `sl`/`tp` unchanged and the new `swap`".
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import msgpack
import pytest

import tests.daemon.test_daemon_feed_core as feed_core
from bridge.daemon.config import parse_config
from bridge.monitor.book import position_rows
from bridge.monitor.render import positions_html
from bridge.protocol import CommandResult, Hello, Position, PositionModified, PositionOpened, decode, encode
from tests.daemon.test_daemon_feed_core import H, S, T0, Desk, opened, result


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Desk:
    # stops mirrored to the copies: a swap-only report must still mirror nothing
    monkeypatch.setattr(feed_core, "parse_config", lambda _raw: parse_config({"engine": {"mirror_stops": True}}))
    d = Desk(tmp_path)
    for login in (1001, 2001, 2002):
        d.send(login, Hello, 0, **H)
    d.net.out.clear()
    return d


def _swap_of(desk: Desk, ticket: int) -> Decimal:
    return {r.position.ticket: r.position.swap for r in position_rows(desk.state)}[ticket]


def test_a_rollover_swap_reaches_the_desk_and_mirrors_nothing(desk: Desk) -> None:
    got = desk.send(1001, PositionOpened, 1 * S, **opened(55, "0.5"))
    (pos,) = desk.topics(got, "positions")
    assert "swap" not in pos["positions"][0]  # 0 at the open: left out
    (cmd,) = desk.net.take(b"c2001")  # the copy's open, filled
    desk.send(2001, PositionOpened, int(1.03 * S), **opened(9, "0.1"))
    desk.send(2001, CommandResult, int(1.04 * S), **result(cmd.key, 9))
    desk.net.take(b"c2002")
    # the rollover: sl/tp unchanged, swap -7.20
    got = desk.send(1001, PositionModified, 2 * S, ticket=55, sl=Decimal(0), tp=Decimal(0), time=T0 + 5,
                    swap=Decimal("-7.2"))
    (pos,) = desk.topics(got, "positions")
    assert pos["positions"][0]["swap"] == "-7.2"
    assert desk.net.take(b"c2001") == [] and desk.net.take(b"c2002") == []  # no modify to the copies
    assert _swap_of(desk, 55) == Decimal("-7.2")
    html = positions_html(position_rows(desk.state))
    assert "<td class='num swap neg'>-7.20</td>" in html
    # a real stops change is still mirrored, and keeps the swap
    desk.send(1001, PositionModified, 3 * S, ticket=55, sl=Decimal("1.05"), tp=Decimal(0), time=T0 + 6,
              swap=Decimal("-7.2"))
    assert [m.TYPE for m in desk.net.take(b"c2001")] == ["modify"]
    assert _swap_of(desk, 55) == Decimal("-7.2")


def test_hello_positions_carry_their_swap_and_replace_the_old_ones(desk: Desk) -> None:
    p = Position(77, "USDJPY", "sell", Decimal("2"), Decimal("150"), Decimal(0), Decimal(0), T0, 0, "",
                 swap=Decimal("12.5"))
    got = desk.send(2002, Hello, 0, **{**H, "role": "investor", "positions": (p,)})
    (pos,) = desk.topics(got, "positions")
    assert pos["positions"][0]["swap"] == "12.5"
    assert _swap_of(desk, 77) == Decimal("12.5")
    desk.core.publish_snapshot()
    snap = desk.commit(0)[-1][1]
    assert [r.get("swap") for b in snap["positions"] if b["login"] == 2002 for r in b["positions"]] == ["12.5"]
    # after a reconnect without it (closed meanwhile), nothing is left of it
    got = desk.send(2002, Hello, 0, **{**H, "role": "investor"})
    assert desk.topics(got, "positions")[0]["positions"] == []
    assert desk.core.feed.swaps[2002] == {}


def test_an_ea_older_than_the_field_still_validates_with_swap_zero() -> None:
    """docs/protocol.md section 12: "a new daemon reads a position without it as swap 0"."""
    frame = encode(PositionOpened(id=1, seq=2, ts=T0, login=1001, **opened(5)))
    wire = msgpack.unpackb(frame)
    assert "swap" not in wire  # what an old EA sends: the ten fields
    m = decode(msgpack.packb(wire))
    assert isinstance(m, PositionOpened) and m.swap == 0 and m.position.swap == 0
    frame = encode(PositionModified(id=2, seq=3, ts=T0, login=1001, ticket=5, sl=Decimal(0), tp=Decimal(0),
                                    time=T0))
    assert decode(frame).swap == 0  # type: ignore[union-attr]
