"""An MT5 netting trader's position changes as the engine's position events (issue 15 item 9:
"an MT5 netting trader (its position changes become opens, partial closes and reversals for
the copies)").

A netting account holds one position per symbol; each deal moves its net volume. The engine
copies positions, so the book below keeps each netting position as *legs*, one per deal
that added to it, and turns every deal into engine events:

* a deal on the position's side (or on a flat symbol) opens a leg: `TraderPositionOpened`
  with the deal's order ticket (orders and positions share MT5's ticket sequence, so it
  never collides with a position id), sized for each copy by its subscription's mode;
* a deal against it closes legs oldest first: whole legs `TraderPositionClosed` in full,
  the last one touched in part (a partial close for the copies);
* a deal larger than the position reverses it: every leg closed, then a leg of the
  remainder opened on the other side.

The deal's profit is split over the legs it closes in proportion to their volumes (cent
remainders to the last, so the parts add up to the deal's figure). Pure: no clock, no engine
state. A netting trader's reports give the position's state after each deal (docs/protocol.md,
hello, "Netting accounts"), so the daemon asks `move_to` for the deal that takes the symbol's
net volume there, and after a reconnect `reconcile` for the legs the hello snapshot leaves.
The book holds nothing the engine does not: `from_positions` rebuilds it from the trader's
engine positions (every one of them a leg), so the journal of engine events stays the only
state. Worked example in docs/copy-trading.md, "Cross-platform and netting traders".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from bridge.copytrading.events import TraderPositionClosed, TraderPositionOpened
from bridge.domain.errors import DomainError
from bridge.domain.money import round_money
from bridge.domain.trading import Side

ZERO = Decimal(0)
MAX_LEGS = 1000  # per symbol: bounded like everything else; a deal beyond it is refused


@dataclass(slots=True)
class Leg:
    ticket: int  # the engine's trader position
    volume: Decimal


@dataclass(slots=True)
class NettingPosition:
    symbol: str
    side: Side
    legs: list[Leg] = field(default_factory=list)

    @property
    def volume(self) -> Decimal:
        return sum((leg.volume for leg in self.legs), ZERO)


class NettingBook:
    """One netting trader's positions, by symbol."""

    def __init__(self, trader: str) -> None:
        self.trader = trader
        self.positions: dict[str, NettingPosition] = {}

    @classmethod
    def from_positions(cls, trader: str, positions: Iterable[tuple[int, str, Side, Decimal]],
                       *, oldest_first: bool = False) -> NettingBook:
        """The book whose legs are `positions` (ticket, symbol, side, volume), oldest first: as
        given when `oldest_first`, else lowest ticket first. (The daemon gives them in the order
        the engine saw them: a leg from a pending order's fill has the trade server's position
        id as its ticket, the others journal seqs, so tickets alone do not tell the age.) A
        position against its symbol's first leg cannot come from a netting account and is left
        out (a reconcile closes it)."""
        book = cls(trader)
        for ticket, symbol, side, volume in (positions if oldest_first else sorted(positions, key=lambda p: p[0])):
            pos = book.positions.setdefault(symbol, NettingPosition(symbol, side))
            if pos.side is side:
                pos.legs.append(Leg(ticket, volume))
        return book

    def move_to(self, now: int, order: int, symbol: str, net: Decimal, price: Decimal, profit: Decimal = ZERO,
                reason: str = "client") -> list[TraderPositionOpened | TraderPositionClosed]:
        """The events of the one deal that takes `symbol`'s signed net volume (buy positive) to
        `net`: none when it is there already (a report read twice moves nothing)."""
        change = net - self.net(symbol)
        if not change:
            return []
        side = Side.BUY if change > 0 else Side.SELL
        return self.deal(now, order, symbol, side, abs(change), price, profit, reason)

    def reconcile(self, snapshot: dict[str, Decimal]) -> tuple[dict[int, Decimal], list[tuple[str, Side, Decimal]]]:
        """A hello's truth, `snapshot` = symbol -> signed net volume: (the legs kept, ticket ->
        their volume after oldest-first trimming; the (symbol, side, volume) each symbol still
        lacks, to open as a new leg). A symbol gone or on the other side keeps no leg."""
        kept: dict[int, Decimal] = {}
        grow: list[tuple[str, Side, Decimal]] = []
        for symbol in sorted(set(self.positions) | set(snapshot)):
            target = snapshot.get(symbol, ZERO)
            pos = self.positions.get(symbol)
            have = ZERO
            if pos is not None and target and (target > 0) == (pos.side is Side.BUY):
                # drop the oldest legs first: what the deals against it would have closed
                excess = pos.volume - abs(target)
                for leg in pos.legs:
                    take = min(leg.volume, max(excess, ZERO))
                    excess -= take
                    if leg.volume > take:
                        kept[leg.ticket] = leg.volume - take
                        have += leg.volume - take
            if abs(target) > have:
                grow.append((symbol, Side.BUY if target > 0 else Side.SELL, abs(target) - have))
        return kept, grow

    def net(self, symbol: str) -> Decimal:
        """The signed net volume of `symbol` (buy positive)."""
        pos = self.positions.get(symbol)
        return ZERO if pos is None else pos.side.sign * pos.volume

    def deal(self, now: int, order: int, symbol: str, side: Side, volume: Decimal, price: Decimal,
             profit: Decimal = ZERO, reason: str = "client") -> list[TraderPositionOpened | TraderPositionClosed]:
        """The events for one deal of `volume` lots on `side` (order: the deal's order ticket)."""
        if not isinstance(volume, Decimal) or not volume.is_finite() or volume <= 0:
            raise DomainError("invalid_deal", f"deal volume {volume} must be a positive number of lots")
        # everything is checked and worked out on copies first: a refused deal changes nothing
        pos = self.positions.get(symbol)
        if pos is None or pos.side is side:
            legs = [] if pos is None else list(pos.legs)
            self._check_leg(symbol, order, len(legs))
            opened = TraderPositionOpened(now, self.trader, order, symbol, side, volume, price)
            self.positions[symbol] = NettingPosition(symbol, side, [*legs, Leg(order, volume)])
            return [opened]
        closing = min(volume, pos.volume)
        if volume > closing:  # through zero: the remainder opens a leg of the deal's side
            self._check_leg(symbol, order, 0)
        legs = [Leg(leg.ticket, leg.volume) for leg in pos.legs]
        out: list[TraderPositionOpened | TraderPositionClosed] = []
        shares = _split(profit, [min(leg.volume, rest) for leg, rest in _consumed(legs, closing)])
        left = closing
        for share in shares:
            leg = legs[0]
            take = min(leg.volume, left)
            out.append(TraderPositionClosed(now, self.trader, leg.ticket, take, price, reason, share))
            left -= take
            if take == leg.volume:
                legs.pop(0)
            else:
                leg.volume -= take
        if volume > closing:
            out.append(TraderPositionOpened(now, self.trader, order, symbol, side, volume - closing, price))
            self.positions[symbol] = NettingPosition(symbol, side, [Leg(order, volume - closing)])
        elif legs:
            self.positions[symbol] = NettingPosition(symbol, pos.side, legs)
        else:
            del self.positions[symbol]
        return out

    def _check_leg(self, symbol: str, order: int, legs: int) -> None:
        """Refuses a new leg (before anything changes) beyond MAX_LEGS or for an order seen already."""
        if legs >= MAX_LEGS:
            raise DomainError("too_many_legs", f"{symbol}: more than {MAX_LEGS} deals add to one netting position")
        if any(leg.ticket == order for p in self.positions.values() for leg in p.legs):
            raise DomainError("duplicate_deal", f"order {order} already opened a leg")

    # ------------------------------------------------------------------ persistence
    def to_state(self) -> dict:
        return {"trader": self.trader, "positions": {
            s: {"side": p.side.value, "legs": [[leg.ticket, str(leg.volume)] for leg in p.legs]}
            for s, p in sorted(self.positions.items())}}

    @classmethod
    def from_state(cls, state: dict) -> NettingBook:
        book = cls(state["trader"])
        for symbol, p in state["positions"].items():
            book.positions[symbol] = NettingPosition(symbol, Side(p["side"]),
                                                     [Leg(int(t), Decimal(v)) for t, v in p["legs"]])
        return book


def _consumed(legs: list[Leg], volume: Decimal) -> list[tuple[Leg, Decimal]]:
    """The legs a close of `volume` touches, oldest first, each with what is left to close."""
    out = []
    for leg in legs:
        if volume <= 0:
            break
        out.append((leg, volume))
        volume -= leg.volume
    return out


def _split(profit: Decimal, volumes: list[Decimal]) -> list[Decimal]:
    """`profit` over `volumes` pro rata, to the cent, the remainder on the last part."""
    if not volumes:
        return []
    total = sum(volumes, ZERO)
    parts = [round_money(profit * v / total) for v in volumes[:-1]]
    return [*parts, profit - sum(parts, ZERO)]
