"""The daemon's pending-order edges (issue 15 item 6): events journaled and replayed exactly,
order commands as journal rows and as frames the protocol decodes."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from bridge.copytrading import pending_messages as pm
from bridge.copytrading.pending_state import OrderKind
from bridge.daemon import wire
from bridge.domain.trading import Side
from bridge.protocol import CancelOrder, Direction, ModifyOrder, PlaceOrder, decode

T0 = 1_717_372_800_000
EVENTS = [
    pm.TraderOrderPlaced(T0, "T", 77, "EURUSD", OrderKind.BUY_LIMIT, D("0.10"), D("1.08000"), D("1.07"), None,
                         T0 + 3_600_000, T0 - 5),
    pm.TraderOrderModified(T0 + 1, "T", 77, D("1.07900"), None, D("1.1"), None),
    pm.TraderOrderCancelled(T0 + 2, "T", 77, "expired"),
    pm.TraderOrderFilled(T0 + 3, "T", 77, 77, "EURUSD", Side.BUY, D("0.10"), D("1.07900"), T0 + 2),
    pm.CopyOrderFilled(T0 + 4, 2001, 901, 701, D("0.20"), D("1.07900"), T0 + 3),
    pm.CopyOrderRemoved(T0 + 5, 2001, 902, "cancelled"),
    # issue 15 items 1, 3, 4: a stop-limit with its Limit price and magic, an orders snapshot
    pm.TraderOrderPlaced(T0 + 6, "T", 78, "EURUSD", OrderKind.BUY_STOP_LIMIT, D("0.10"), D("1.08750"), None, None,
                         None, T0 + 6, D("1.08650"), 2_024_001),
    pm.TraderOrdersSnapshot(T0 + 7, "T", (
        pm.TraderOrderPlaced(T0 + 7, "T", 79, "EURUSD", OrderKind.SELL_LIMIT, D("0.10"), D("1.09"), magic=0),)),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_pending_events_replay_exactly(event):
    assert type(event).__name__ in wire.EVENT_TYPES
    assert wire.event_from(type(event).__name__, wire.event_body(event)) == event


@pytest.mark.parametrize("cmd, cls", [
    (pm.PlaceOrder(7, "s3-o77-place-1", 3, 2001, 77, "EURUSD", OrderKind.SELL_STOP, D("0.20"), D("1.08000"),
                   D("1.10000"), None, T0 + 3_600_000), PlaceOrder),
    (pm.ModifyOrder(8, "s3-o77-modify-2", 3, 2001, 77, 901, D("1.07900"), None, D("1.06900"), None), ModifyOrder),
    (pm.CancelOrder(9, "s3-o77-cancel-3", 3, 2001, 77, 901, "trader_cancelled"), CancelOrder),
], ids=["place", "modify", "cancel"])
def test_order_commands_travel_as_valid_frames(cmd, cls):
    row = wire.command_row(cmd, 5)
    frame = wire.pack(wire.command_wire(row, 100, 2, T0, 7_700_000))
    msg = decode(frame, direction=Direction.TO_TERMINAL)
    assert isinstance(msg, cls) and msg.key == cmd.key and msg.login == cmd.account
    if isinstance(msg, PlaceOrder):
        assert (msg.order_type, msg.volume, msg.price, msg.sl, msg.tp, msg.expiration) == (
            "sell_stop", D("0.2"), D("1.08"), D("1.1"), D(0), T0 + 3_600_000)
    elif isinstance(msg, ModifyOrder):
        assert (msg.ticket, msg.price, msg.tp, msg.expiration) == (901, D("1.079"), D("1.069"), 0)
    else:
        assert msg.ticket == 901
    assert row.expires is None  # never the daemon's send deadline


def test_a_stop_limit_command_carries_its_limit_price_and_other_rows_stay_as_they_were():
    place = pm.PlaceOrder(7, "s3-o78-place-1", 3, 2001, 78, "EURUSD", OrderKind.BUY_STOP_LIMIT, D("0.20"),
                          D("1.08750"), None, None, None, D("1.08650"))
    modify = pm.ModifyOrder(8, "s3-o78-modify-2", 3, 2001, 78, 901, D("1.08800"), None, None, T0, D("1.08700"))
    rows = [wire.command_row(c, 5) for c in (place, modify)]
    assert [r.reason for r in rows] == ["0@1.08650", f"{T0}@1.08700"]
    placed, modified = (decode(wire.pack(wire.command_wire(r, 100, 2, T0, 7)), direction=Direction.TO_TERMINAL)
                        for r in rows)
    assert (placed.order_type, placed.price, placed.stoplimit, placed.expiration) == ("buy_stop_limit", D("1.0875"),
                                                                                       D("1.0865"), 0)
    assert (modified.stoplimit, modified.expiration) == (D("1.087"), T0)
    plain = wire.command_row(pm.PlaceOrder(9, "s3-o77-place-1", 3, 2001, 77, "EURUSD", OrderKind.BUY_LIMIT,
                                           D("0.2"), D("1.08"), None, None, None), 5)
    assert plain.reason == "0" and "stoplimit" not in wire.command_wire(plain, 1, 2, T0, 7)
