"""Pending orders after a reconnect, MT5 stop-limits and magic filters on orders (issue 15
items 1, 3, 4 of the pending-order gaps; item 6 of the issue).

The terminal re-reports its orders on every (re)connect (`orders_snapshot`, after the hello
and the re-sent reports); the engine treats it idempotently (pending_sync.py)."""

from __future__ import annotations

from decimal import Decimal as D

from bridge.copytrading import (CommandFilled, CopyRefused, EngineConfig, OpenCopy, SetCopySettings,
                                TraderPositionOpened, TraderSnapshot)
from bridge.copytrading.events import SnapshotPosition
from bridge.copytrading.pending_messages import (CancelOrder, CopyOrderFilled, ModifyOrder, PlaceOrder,
                                                 TraderOrderFilled, TraderOrderModified, TraderOrderPlaced,
                                                 TraderOrdersSnapshot)
from bridge.copytrading.pending_state import OrderKind, TraderOrderState
from bridge.domain.trading import Side
from tests.copytrading.helpers import World

ITEM_6 = ("**Pending orders**: copy the trader's limit and stop orders (placement, modification, cancellation, "
          "expiry, fill → the copy becomes a position linked to the trader's position), or not.")
# mql5.com, MQL5 book "Order types" (ENUM_ORDER_TYPE), verbatim
MT5_BUY_STOP_LIMIT = ("ORDER_TYPE_BUY_STOP_LIMIT", "Buy Limit pending order to be placed when the price reaches the "
                                                   "specified upper level")
VALIDITY = 5000  # EngineConfig().open_validity_ms
MT5_CONFIG = EngineConfig(eligible_trader_types=("mt4_standard", "mt4_pro", "mt5_standard", "mt5_pro"),
                          trader_platforms=("MT4", "MT5"), investor_platforms=("MT4", "MT5"))


def world(config: EngineConfig | None = None) -> tuple[World, dict[str, int]]:
    """T; I1 copies orders, I2 does not."""
    w = World(config)
    w.trader(equity="10000", **({"account_type": "mt5_standard"} if config is MT5_CONFIG else {}))
    subs = {name: w.investor(name, account=2000 + i, amount="10000") for i, name in enumerate(("I1", "I2"))}
    w.handle(SetCopySettings(w.tick(), subs["I1"], "I1", copy_pending=True))
    return w, subs


def of(step, kind) -> list:
    return [c for c in (*step.commands, *step.records) if isinstance(c, kind)]


def order(w: World, ticket: int, price: str = "1.08000", placed_at: int | None = None, **kw) -> TraderOrderPlaced:
    return TraderOrderPlaced(w.now, "T", ticket, "EURUSD", kw.pop("kind", OrderKind.BUY_LIMIT), D("0.10"), D(price),
                             kw.pop("sl", D("1.07000")), kw.pop("tp", D("1.10000")), placed_at=placed_at, **kw)


def snapshot(w: World, *orders: TraderOrderPlaced):
    now = w.tick()
    return w.handle(TraderOrdersSnapshot(now, "T", tuple(orders)), fill=False)


def accept(w: World, commands) -> dict[int, int]:
    tickets = {}
    for i, cmd in enumerate(commands):
        ticket = getattr(cmd, "order", 900 + i)
        w.handle(CommandFilled(w.tick(), cmd.key, ticket))
        tickets[cmd.subscription] = ticket
    return tickets


# --------------------------------------------------------------------------- item 1
def test_an_order_already_there_when_the_watch_starts_is_copied_whatever_its_age():
    # ITEM_6 "copy the trader's limit and stop orders": one placed an hour before the terminal
    # connected is reported in its first orders_snapshot and copied (its price is not reached yet)
    w, subs = world()
    placed_at = w.tick()
    w.tick(3_600_000)
    step = snapshot(w, order(w, 77, placed_at=placed_at))
    (place,) = of(step, PlaceOrder)
    assert (place.subscription, place.trader_order, place.kind, place.price) == (subs["I1"], 77, OrderKind.BUY_LIMIT,
                                                                                D("1.08000"))
    assert not of(step, CopyRefused)
    # the same snapshot again (a second reconnect): nothing is sent twice
    accept(w, [place])
    assert not snapshot(w, order(w, 77, placed_at=placed_at)).commands


def test_an_order_placed_before_the_subscription_is_not_copied_from_a_snapshot_either():
    w, subs = world()
    step = snapshot(w, order(w, 77, placed_at=w.now - 3_600_000))
    assert [r.code for r in of(step, CopyRefused)] == ["opened_before_subscription"]  # seed §4.1, as positions


def test_a_live_report_keeps_the_open_validity_of_the_placement():
    w, subs = world()
    placed_at = w.tick()
    w.tick(VALIDITY + 1)
    step = w.handle(order(w, 78, placed_at=placed_at), fill=False)
    assert [r.code for r in of(step, CopyRefused)] == ["expired"]


def test_an_order_modified_while_disconnected_is_modified_once():
    w, subs = world()
    copy = accept(w, of(w.handle(order(w, 77), fill=False), PlaceOrder))[subs["I1"]]
    step = snapshot(w, order(w, 77, price="1.07900"))
    (modify,) = of(step, ModifyOrder)
    assert (modify.order, modify.price) == (copy, D("1.07900"))
    assert not snapshot(w, order(w, 77, price="1.07900")).commands


def test_an_order_gone_without_a_fill_is_cancelled_or_expired():
    w, subs = world()
    accept(w, of(w.handle(order(w, 77)), PlaceOrder))
    accept(w, of(w.handle(order(w, 78, expiration=w.now + 10)), PlaceOrder))
    w.tick(100)  # 78's expiration passed
    step = snapshot(w)  # neither is on the account any more, no position has their tickets
    assert sorted((c.trader_order, c.reason) for c in of(step, CancelOrder)) == [(77, "trader_cancelled"),
                                                                                 (78, "trader_expired")]
    assert all(w.engine.s.orders[t].state is TraderOrderState.CANCELLED for t in (77, 78))
    assert not snapshot(w).commands  # again: nothing more


def test_a_snapshot_cut_at_the_wire_bound_removes_nothing():
    from bridge.protocol.schema import MAX_SNAPSHOT_ORDERS
    w, subs = world()
    accept(w, of(w.handle(order(w, 77)), PlaceOrder))
    others = [order(w, 10_000 + i, price="1.07000") for i in range(MAX_SNAPSHOT_ORDERS)]  # 77 not among them
    step = snapshot(w, *others)
    assert not of(step, CancelOrder) and w.engine.s.orders[77].state is TraderOrderState.PLACED
    assert len(of(step, PlaceOrder)) == MAX_SNAPSHOT_ORDERS


def test_an_order_filled_while_disconnected_is_linked_not_copied_twice():
    w, subs = world()
    copy = accept(w, of(w.handle(order(w, 77)), PlaceOrder))[subs["I1"]]
    w.tick(1000)
    # the hello: position 77 (the order's fill, MT4 / MT5 hedging keep the ticket)
    hello = w.handle(TraderSnapshot(w.tick(), "T", (SnapshotPosition(77, "EURUSD", Side.BUY, D("0.10"), D("1.08000"),
                                                                     w.now - 500),)))
    opens = of(hello, OpenCopy)
    assert [o.subscription for o in opens] == [subs["I2"]]  # I2 copies at market; I1's copy order is linked
    assert w.engine.subscriptions[subs["I1"]].copies[77].state.value == "opening"
    # the re-sent order_filled (never journaled) and the orders snapshot: duplicates
    again = w.handle(TraderOrderFilled(w.tick(), "T", 77, 77, "EURUSD", Side.BUY, D("0.10"), D("1.08000")))
    assert not again.commands
    assert not snapshot(w).commands
    # I1's server fills the copy order: the copy of position 77
    w.handle(CopyOrderFilled(w.tick(), 2000, copy, 5501, D("0.10"), D("1.08000")))
    assert w.engine.subscriptions[subs["I1"]].copies[77].state.value == "open"


def test_a_new_order_in_the_snapshot_that_is_already_a_position_is_not_placed():
    w, subs = world()
    w.handle(TraderPositionOpened(w.tick(), "T", 79, "EURUSD", Side.BUY, D("0.1"), D("1.08")))
    assert not of(snapshot(w, order(w, 79)), PlaceOrder)


# --------------------------------------------------------------------------- item 3
def mt5_world() -> tuple[World, dict[str, int]]:
    w = World(MT5_CONFIG)
    w.trader(equity="10000", account_type="mt5_standard")
    subs = {"I5": w.investor("I5", account=2000, amount="10000", account_type="mt5_standard"),
            "I4": w.investor("I4", account=2001, amount="10000"),  # MT4
            "IR": w.investor("IR", account=2002, amount="10000", account_type="mt5_standard")}
    for name in subs:
        w.handle(SetCopySettings(w.tick(), subs[name], name, copy_pending=True, reverse=name == "IR"))
    return w, subs


def stop_limit(w: World, ticket: int = 90, price: str = "1.08750", limit: str = "1.08650") -> TraderOrderPlaced:
    return order(w, ticket, price=price, kind=OrderKind.BUY_STOP_LIMIT, stoplimit=D(limit), sl=D("1.08000"),
                 tp=D("1.10000"))


def test_a_stop_limit_is_copied_to_mt5_and_refused_on_mt4_with_the_reason():
    assert MT5_BUY_STOP_LIMIT[0].lower().removeprefix("order_type_") == OrderKind.BUY_STOP_LIMIT.value
    w, subs = mt5_world()
    step = w.handle(stop_limit(w), fill=False)
    (place,) = of(step, PlaceOrder)
    assert (place.subscription, place.kind, place.price, place.stoplimit) == (subs["I5"], OrderKind.BUY_STOP_LIMIT,
                                                                              D("1.08750"), D("1.08650"))
    refused = {r.subscription: r for r in of(step, CopyRefused)}
    assert refused[subs["I4"]].code == "order_type_unsupported"
    assert refused[subs["I4"]].details == {"order_type": "buy_stop_limit", "platform": "MT4", "price": "1.08750",
                                           "stoplimit": "1.08650", "reverse": "false"}
    assert "MT4 has no stop-limit orders" in refused[subs["I4"]].detail
    assert refused[subs["IR"]].code == "order_type_unsupported"  # reversed: no mirror at the same prices
    # the trader moves the Limit price: the MT5 copy follows
    copy = accept(w, [place])[subs["I5"]]
    step = w.handle(TraderOrderModified(w.tick(), "T", 90, D("1.08750"), D("1.08000"), D("1.10000"),
                                        stoplimit=D("1.08600")), fill=False)
    (modify,) = of(step, ModifyOrder)
    assert (modify.order, modify.stoplimit) == (copy, D("1.08600"))
    # it fills: the MT4 and reversed followers copy the position at market, as any refused order
    step = w.handle(TraderOrderFilled(w.tick(), "T", 90, 90, "EURUSD", Side.BUY, D("0.10"), D("1.08600")), fill=False)
    assert sorted(o.subscription for o in of(step, OpenCopy)) == sorted([subs["I4"], subs["IR"]])


def test_a_stop_limit_without_its_limit_price_is_refused_as_invalid():
    w, subs = mt5_world()
    step = w.handle(order(w, 91, kind=OrderKind.SELL_STOP_LIMIT), fill=False)
    assert not of(step, PlaceOrder) and 91 not in w.engine.s.orders


# --------------------------------------------------------------------------- item 4
def test_the_order_magic_is_filtered_and_kept_for_its_fill():
    w, subs = world()
    w.handle(SetCopySettings(w.tick(), subs["I1"], "I1", magics_allowed=[1001]))
    w.handle(SetCopySettings(w.tick(), subs["I2"], "I2", magics_blocked="2002"))
    step = w.handle(order(w, 80, magic=2002), fill=False)
    assert [(r.subscription, r.code, r.details) for r in of(step, CopyRefused)] == [
        (subs["I1"], "magic_not_allowed", {"magic": "2002", "magics_allowed": "1001"})]
    # its fill carries no magic on this path (a position_opened without it): the order's is used
    step = w.handle(TraderOrderFilled(w.tick(), "T", 80, 80, "EURUSD", Side.BUY, D("0.10"), D("1.08000")), fill=False)
    assert sorted((r.subscription, r.code) for r in of(step, CopyRefused)) == [(subs["I1"], "magic_not_allowed"),
                                                                               (subs["I2"], "magic_blocked")]
