"""Pending orders under random trader activity (issue 15 item 6): no copy outlives its trader's
order or position, nothing is opened for a subscription that does not copy orders before the
fill, and a restart in the middle gives the same commands."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.copytrading import CommandFilled, Engine, OpenCopy, SetCopySettings, TimePassed, TraderPositionClosed
from bridge.copytrading.pending_messages import (CancelOrder, CopyOrderFilled, ModifyOrder, PlaceOrder,
                                                 TraderOrderCancelled, TraderOrderFilled, TraderOrderModified,
                                                 TraderOrderPlaced)
from bridge.copytrading.pending_state import OrderKind
from bridge.domain.trading import Side
from tests.copytrading.helpers import World

ACTIONS = st.lists(st.tuples(st.sampled_from(["place", "modify", "cancel", "fill", "copy_fill", "wait", "close"]),
                             st.integers(0, 2), st.integers(1, 30)), max_size=30)


def run(actions, restart_at: int | None = None) -> tuple[World, list]:
    w = World()
    w.trader(equity="10000")
    subs = [w.investor(f"I{i}", account=2000 + i, amount="10000") for i in range(3)]
    w.handle(SetCopySettings(w.tick(), subs[0], "I0", copy_pending=True))
    w.handle(SetCopySettings(w.tick(), subs[1], "I1", copy_pending=True, reverse=True, mode="multiplier",
                             multiplier="1.5"))
    commands = []
    investor_orders: dict[tuple[int, int], int] = {}  # (account, investor order) -> trader order
    next_ticket = iter(range(900, 10_000))

    def answer(step):
        for cmd in step.commands:
            commands.append(cmd)
            if isinstance(cmd, PlaceOrder):
                ticket = next(next_ticket)
                investor_orders[(cmd.account, ticket)] = cmd.trader_order
                answer(w.handle(CommandFilled(w.tick(), cmd.key, ticket), fill=False))
            elif isinstance(cmd, (ModifyOrder, CancelOrder)):
                if isinstance(cmd, CancelOrder):
                    investor_orders.pop((cmd.account, cmd.order), None)
                answer(w.handle(CommandFilled(w.tick(), cmd.key, cmd.order), fill=False))
            else:
                w.answer(cmd)

    for n, (what, which, size) in enumerate(actions):
        if restart_at == n:
            w.engine = Engine.from_bytes(w.engine.to_bytes())
        ticket = 70 + which
        if what == "place":
            step = w.handle(TraderOrderPlaced(w.tick(), "T", ticket, "EURUSD", OrderKind.BUY_LIMIT,
                                              D(size) / 100, D("1.08000")), fill=False)
        elif what == "modify":
            step = w.handle(TraderOrderModified(w.tick(), "T", ticket, D("1.07") + D(size) / 10000), fill=False)
        elif what == "cancel":
            step = w.handle(TraderOrderCancelled(w.tick(), "T", ticket), fill=False)
        elif what == "fill":
            order = w.engine.s.orders.get(ticket)
            volume = order.volume if order is not None else D(size) / 100
            step = w.handle(TraderOrderFilled(w.tick(), "T", ticket, ticket, "EURUSD",
                                              Side(order.kind.side if order else OrderKind.BUY_LIMIT.side), volume,
                                              D("1.08000")), fill=False)
        elif what == "copy_fill":
            mine = sorted(k for k, v in investor_orders.items() if v == ticket)
            if not mine:
                continue
            account, order = mine[0]
            del investor_orders[(account, order)]
            sub = w.engine._sub_by_account[account]
            copy = next((c for o in w.engine.s.orders.values() for s, c in o.copies.items() if s == sub.id), None)
            step = w.handle(CopyOrderFilled(w.tick(), account, order, next(next_ticket),
                                            copy.volume if copy else D("0.01"), D("1.08000")), fill=False)
        elif what == "wait":
            step = w.handle(TimePassed(w.tick(size * 400)), fill=False)
        else:
            pos = w.engine.traders["T"].positions.get(ticket)
            if pos is None:
                continue
            step = w.handle(TraderPositionClosed(w.tick(), "T", ticket, pos.volume, D("1.08100")), fill=False)
        answer(step)
    return w, commands


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=ACTIONS, data=st.data())
def test_copies_follow_their_trader_orders(actions, data):
    w, commands = run(actions)
    trader = w.engine.traders["T"]
    for sub in w.engine.subscriptions.values():
        for ticket, copy in sub.copies.items():
            order = w.engine.s.orders.get(ticket)
            # a copy lives while its trader position lives, or while its order may still fill
            assert ticket in trader.positions or (order is not None and order.state.value == "placed") \
                or copy.close_reason is not None, (ticket, copy)
    # the subscription without copy_pending never got an order command, and opened only at fills
    plain = w.engine.subscriptions[3]
    assert not any(isinstance(c, (PlaceOrder, ModifyOrder, CancelOrder)) and c.subscription == plain.id
                   for c in commands)
    # a restart anywhere gives the same commands
    restart = data.draw(st.integers(0, max(len(actions) - 1, 0)))
    _, again = run(actions, restart_at=restart)
    assert [(type(c).__name__, c.key) for c in again] == [(type(c).__name__, c.key) for c in commands]
