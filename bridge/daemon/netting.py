"""A netting trader's reports through the netting translator (issue 15 item 9).

A trader whose `hello` says `margin_mode: "netting"` (an MT5 netting account) reports one
position per symbol, each message giving the position's state after one deal
(docs/protocol.md, hello, "Netting accounts"). The engine copies positions, so here every
report becomes the engine events of `bridge.copytrading.netting.NettingBook`: opens, partial
closes and reversals of the trader's *legs*, which the copies on hedging MT4/MT5 accounts
follow; a pending order's fill into an open position (`order_filled`) is the order's fill as a
new leg. The book is rebuilt from the engine's positions of the trader each time (they are all
legs), so the journaled engine events stay the only state and a replay gives the same
commands. A new leg's ticket is the journal seq of the event that opens it: unique for good.

What the daemon keeps besides: per netting login, its position tickets -> symbol (from the
hello and `position_opened`), to read a `position_closed` or `position_modified`, which name
no symbol. A restart loses it, and the terminal's hello (it must say one first) refills it.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING

from bridge.copytrading import events as ev
from bridge.copytrading import pending_messages as pm
from bridge.copytrading.netting import MAX_LEGS, NettingBook
from bridge.copytrading.pending_state import TraderOrderState
from bridge.protocol import Hello, OrderFilled, PositionClosed, PositionModified, PositionOpened

if TYPE_CHECKING:
    from bridge.daemon.core import DaemonCore

ZERO = Decimal(0)
CLOSE_REASONS = {"client": "client", "sl": "sl", "tp": "tp", "so": "stop_out"}


def book_of(core: DaemonCore, trader: str) -> NettingBook:
    positions = sorted(core.engine.traders[trader].positions.values(), key=lambda p: (p.seen_seq, p.ticket))
    return NettingBook.from_positions(trader, [(p.ticket, p.symbol, p.side, p.volume) for p in positions],
                                      oldest_first=True)


def _signed(side: str, volume: Decimal) -> Decimal:
    return volume if side == "buy" else -volume


def hello(core: DaemonCore, trader: str, m: Hello, now: int) -> None:
    """The hello of a netting trader: it reconciles its legs to the snapshot's net volumes
    (kept legs trimmed oldest first, missing volume a new leg, dated by the position's time so
    the open-validity rule applies as to any position first seen in a snapshot)."""
    by_symbol = {p.symbol: p for p in m.positions}
    net = {s: sum((_signed(p.side, p.volume) for p in m.positions if p.symbol == s), ZERO) for s in by_symbol}
    kept, grow = book_of(core, trader).reconcile(net)
    legs = core.engine.traders[trader].positions
    core.feed_engine(ev.TraderSnapshot(now, trader, tuple(
        ev.SnapshotPosition(t, legs[t].symbol, legs[t].side, volume, legs[t].price, legs[t].opened_at, legs[t].magic)
        for t, volume in sorted(kept.items()))))
    for symbol, side, volume in grow:
        p = by_symbol[symbol]
        core.feed_engine(ev.TraderPositionOpened(now, trader, core.seq + 1, symbol, side, volume, p.price, p.time,
                                                 p.sl or None, p.tp or None, p.magic))


def opened(core: DaemonCore, trader: str, m: PositionOpened) -> None:
    """A position opened, grown or reversed (netting: the same ticket again): its new net."""
    tickets = core.netting[m.login]
    if m.ticket not in tickets and len(tickets) >= core.limits.max_array_len:
        core._log("warning", "netting.too_many_positions", login=m.login, ticket=m.ticket)
        return
    tickets[m.ticket] = m.symbol
    pos = book_of(core, trader).positions.get(m.symbol)
    if pos is not None and pos.side.value == m.side and m.volume <= pos.volume:
        # an open or addition only grows the position: this one is applied already (a re-send)
        core._log("info", "trader.open_already_applied", login=m.login, ticket=m.ticket, volume=str(m.volume))
        return
    _move(core, trader, m.symbol, _signed(m.side, m.volume), m.price, ZERO, "client", m.time,
          m.sl or None, m.tp or None, m.magic)


def order_filled(core: DaemonCore, trader: str, m: OrderFilled) -> bool:
    """A pending order of a netting trader filled; `volume` is the position's after the fill
    (docs/protocol.md, `order_filled`). False on a flat symbol: the fill opened the position, and
    the pending-order path copies it as on a hedging account. Into an open position: an
    addition is the order's fill as a new leg (the engine links the copy orders to it), a volume
    the legs hold already a re-send or a fill they cover (moves nothing; the order, if still
    placed, is settled without a fill of its own), anything else a move to that net."""
    pos = book_of(core, trader).positions.get(m.symbol)
    if pos is None:
        return False
    if pos.side.value == m.side and m.volume <= pos.volume:
        core._log("info", "trader.fill_already_applied", login=m.login, ticket=m.ticket, volume=str(m.volume))
        order = core.engine.s.orders.get(m.ticket)
        if order is not None and order.trader == trader and order.state is TraderOrderState.PLACED:
            # its fill is in legs copied at market already (a hello's reconcile, or a reducing
            # fill): its copy orders must not fill as well, so they go (filled ones closed)
            core.feed_engine(pm.TraderOrderCancelled(core.now, trader, m.ticket))
        return True
    if pos.side.value != m.side:  # through zero, its close not reported yet: copied at market
        _move(core, trader, m.symbol, _signed(m.side, m.volume), m.price, ZERO, "client", m.time,
              m.sl or None, m.tp or None)
        return True
    if len(pos.legs) >= MAX_LEGS:
        core._log("error", "netting.refused", trader=trader, symbol=m.symbol, error="too_many_legs")
        return True
    core.feed_engine(pm.TraderOrderFilled(core.now, trader, m.ticket, core.seq + 1, m.symbol, pos.side,
                                          m.volume - pos.volume, m.price, m.time, m.sl or None, m.tp or None))
    return True


def closed(core: DaemonCore, trader: str, m: PositionClosed) -> None:
    """A deal against the position: its net is now `remaining` on the position's side."""
    tickets = core.netting[m.login]
    symbol = tickets.pop(m.ticket, None) if not m.remaining else tickets.get(m.ticket)
    pos = None if symbol is None else book_of(core, trader).positions.get(symbol)
    if pos is None or pos.volume <= m.remaining:  # a deal against it only shrinks it: applied already
        core._log("info", "trader.close_already_applied", login=m.login, ticket=m.ticket,
                  remaining=str(m.remaining))
        return
    _move(core, trader, symbol, pos.side.sign * m.remaining, m.price, m.profit, CLOSE_REASONS[m.reason],
          None, None, None, None)


def modified(core: DaemonCore, trader: str, m: PositionModified) -> None:
    """New stops of the netting position: every leg of its symbol takes them."""
    symbol = core.netting[m.login].get(m.ticket)
    sl, tp = m.sl or None, m.tp or None
    for leg in [p for p in core.engine.traders[trader].positions.values() if p.symbol == symbol]:
        if (leg.sl, leg.tp) != (sl, tp):
            core.feed_engine(ev.TraderPositionModified(core.now, trader, leg.ticket, sl, tp))


def _move(core: DaemonCore, trader: str, symbol: str, net: Decimal, price: Decimal, profit: Decimal, reason: str,
          opened_at: int | None, sl: Decimal | None, tp: Decimal | None, magic: int | None) -> None:
    now = core.now
    try:
        events = book_of(core, trader).move_to(now, core.seq + 1, symbol, net, price, profit, reason)
    except ValueError as exc:  # DomainError: too many legs (bounded), refused whole
        core._log("error", "netting.refused", trader=trader, symbol=symbol, error=str(exc))
        return
    for event in events:
        if type(event) is ev.TraderPositionOpened:  # the leg's ticket: the seq its open is journaled at
            event = replace(event, ticket=core.seq + 1, opened_at=opened_at, sl=sl, tp=tp, magic=magic)
        core.feed_engine(event)
