"""Watching one login's account on the simulated server: its deals, positions and account figures,
turned into `position_*`, `order_filled` and `account_update` reports (`AccountWatchMixin` of `TerminalCore`)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from bridge.protocol import (
    AccountUpdate,
    Message,
    OrderFilled,
    Position,
    PositionClosed,
    PositionModified,
    PositionOpened,
)
from simulator.server import DealInfo, PositionInfo
from simulator.server import retcodes as rc
from simulator.terminals.orders import ORDER_REPORTS

if TYPE_CHECKING:
    from simulator.terminals.core import _Link

ZERO = Decimal(0)
SENT_KEPT = 4096  # position reports kept per login until a welcome acknowledges them
# a netting account's reports of its positions' states: after a reconnect's hello, older than its snapshot
STATE_REPORTS = (PositionOpened, PositionClosed, PositionModified, OrderFilled)

CLOSE_REASONS = {
    rc.DEAL_REASON_SL: "sl",
    rc.DEAL_REASON_TP: "tp",
    rc.DEAL_REASON_SO: "so",
}
"""Deal reason -> `position_closed.reason`; everything else (client, mobile, web, expert,
rollover, ...) is "client"."""


def close_reason(deal_reason: int) -> str:
    return CLOSE_REASONS.get(deal_reason, "client")


def wire_number(value: Decimal) -> Decimal:
    """The Decimal a float64 carries exactly (what the terminal would NormalizeDouble to)."""
    if value.is_zero():
        return ZERO
    return Decimal(repr(float(value)))


def position_map(p: PositionInfo) -> Position:
    return Position(
        ticket=p.ticket, symbol=p.symbol, side="buy" if p.type == rc.POSITION_TYPE_BUY else "sell",
        volume=wire_number(p.volume), price=wire_number(p.price_open), sl=wire_number(p.sl),
        tp=wire_number(p.tp), time=p.time_msc, magic=p.magic, comment=p.comment, swap=wire_number(p.swap),
    )  # fmt: skip


@dataclass(slots=True)
class _Tracked:
    volume: Decimal
    sl: Decimal
    tp: Decimal
    swap: Decimal = ZERO  # as last reported (docs/protocol.md section 4, "Swap")


class AccountWatchMixin:
    """The server watch of `TerminalCore` (the core's `server`, `account_update_ms` and `_envelope`)."""

    def _restart_netting_watch(self, link: _Link, positions: Iterable[PositionInfo]) -> None:
        """A netting account's reconnect: its hello snapshot is where the position watch starts
        again, as at first contact. A netting report is a state of the symbol's position, so a
        deal made while the link was down, or a report the daemon never journaled, reported
        after this hello would take the copies back to an older net and then forward again
        (an extra open and close for the investors). The pending orders' watch goes on: an
        order placed, changed or removed meanwhile is still reported (docs/protocol.md,
        "Netting accounts")."""
        link.positions = {p.ticket: _Tracked(p.volume, p.sl, p.tp, p.swap) for p in positions}
        deals = self.server.history_deals(link.session.login, from_ms=link.last_deal_time)
        if deals:
            link.last_deal = max(link.last_deal, deals[-1].ticket)
            link.last_deal_time = deals[-1].time_msc
        link.sent = deque((m for m in link.sent if not isinstance(m, STATE_REPORTS)), maxlen=SENT_KEPT)

    def _sync_watch(self, link: _Link, positions: Iterable[PositionInfo]) -> None:
        link.positions = {p.ticket: _Tracked(p.volume, p.sl, p.tp, p.swap) for p in positions}
        link.orders.sync(self.server, link.session.login)
        deals = self.server.history_deals(link.session.login, from_ms=link.last_deal_time)
        if deals:
            link.last_deal = max(link.last_deal, deals[-1].ticket)
            link.last_deal_time = deals[-1].time_msc

    def _watch(self, link: _Link, now: int, out: list[Message]) -> None:
        first = len(out)
        self._scan(link, now, out)
        link.sent.extend(m for m in out[first:]
                         if isinstance(m, (PositionOpened, PositionClosed, PositionModified, *ORDER_REPORTS)))

    def _scan(self, link: _Link, now: int, out: list[Message]) -> None:
        server = self.server
        login = link.session.login
        current = {p.ticket: p for p in server.positions(login)}
        deals = [d for d in server.history_deals(login, from_ms=link.last_deal_time) if d.ticket > link.last_deal]
        traded = False
        for d in deals:
            link.last_deal = d.ticket
            link.last_deal_time = d.time_msc
            traded = True  # a trade or a balance operation: report the account at once
            if d.type not in (rc.DEAL_TYPE_BUY, rc.DEAL_TYPE_SELL):
                continue
            closed = ZERO
            if d.entry == rc.DEAL_ENTRY_IN and link.netting and d.position_id in link.positions:
                self._netting_addition(link, d, current.get(d.position_id), now, out)
                continue
            if d.entry in (rc.DEAL_ENTRY_OUT, rc.DEAL_ENTRY_OUT_BY, rc.DEAL_ENTRY_INOUT):
                tracked = link.positions.get(d.position_id)
                if tracked is not None:
                    closed = min(d.volume, tracked.volume)
                    remaining = tracked.volume - closed
                    out.append(PositionClosed(
                        **self._envelope(link, now), ticket=d.position_id, volume=wire_number(closed),
                        remaining=wire_number(remaining), price=wire_number(d.price), time=d.time_msc,
                        reason=close_reason(d.reason), profit=wire_number(d.profit + d.swap + d.commission + d.fee),
                    ))  # fmt: skip
                    if remaining > 0:
                        tracked.volume = remaining
                    else:
                        del link.positions[d.position_id]
            if d.entry in (rc.DEAL_ENTRY_IN, rc.DEAL_ENTRY_INOUT) and d.position_id not in link.positions:
                # the opening deal's volume and price (later deals of this batch reduce it);
                # sl/tp as they are now (a position gone already reports none)
                p = current.get(d.position_id)
                # a reversal (netting) re-opens the rest of its deal, at its price and time
                volume = d.volume if d.entry == rc.DEAL_ENTRY_IN else d.volume - closed
                sl = p.sl if p is not None else ZERO
                tp = p.tp if p is not None else ZERO
                swap = p.swap if p is not None else ZERO
                link.positions[d.position_id] = _Tracked(volume, sl, tp, swap)
                if link.orders.take_fill(d):  # a watched pending order filled: order_filled instead
                    out.append(link.orders.filled_report(d, p, lambda: self._envelope(link, now), volume=volume))
                    continue
                out.append(PositionOpened(
                    **self._envelope(link, now), ticket=d.position_id, symbol=d.symbol,
                    side="buy" if d.type == rc.DEAL_TYPE_BUY else "sell", volume=wire_number(volume),
                    price=wire_number(d.price), sl=wire_number(sl), tp=wire_number(tp),
                    time=p.time_msc if p is not None and d.entry == rc.DEAL_ENTRY_IN else d.time_msc,
                    magic=d.magic, comment=p.comment if p is not None else d.comment, swap=wire_number(swap),
                ))  # fmt: skip
        # SL/TP changes, or a swap change alone (the rollover), and volume the deals did not
        # explain (e.g. a netting increase)
        for ticket, p in current.items():
            tracked = link.positions.get(ticket)
            if tracked is None:
                continue
            tracked.volume = p.volume
            if tracked.sl != p.sl or tracked.tp != p.tp or tracked.swap != p.swap:
                tracked.sl, tracked.tp, tracked.swap = p.sl, p.tp, p.swap
                out.append(PositionModified(**self._envelope(link, now), ticket=ticket, sl=wire_number(p.sl),
                                            tp=wire_number(p.tp), time=p.time_update_msc, swap=wire_number(p.swap)))
        for ticket in [t for t in link.positions if t not in current]:
            del link.positions[ticket]  # gone without a deal we could read (should not happen)
        link.orders.scan(server, login, lambda: self._envelope(link, now), out)
        self._account(link, now, traded, out)

    def _netting_addition(self, link: _Link, d: DealInfo, p: PositionInfo | None, now: int,
                          out: list[Message]) -> None:
        """A deal that added to a netting position: `position_opened` again, same ticket, with the
        position's volume after it and the deal's price and time (docs/protocol.md, hello); a
        watched pending order's fill as `order_filled`, with that same volume."""
        tracked = link.positions[d.position_id]
        tracked.volume += d.volume
        if link.orders.take_fill(d):
            out.append(link.orders.filled_report(d, p, lambda: self._envelope(link, now), volume=tracked.volume))
            return
        out.append(PositionOpened(
            **self._envelope(link, now), ticket=d.position_id, symbol=d.symbol,
            side="buy" if d.type == rc.DEAL_TYPE_BUY else "sell", volume=wire_number(tracked.volume),
            price=wire_number(d.price), sl=wire_number(tracked.sl), tp=wire_number(tracked.tp), time=d.time_msc,
            magic=d.magic, comment=p.comment if p is not None else d.comment, swap=wire_number(tracked.swap),
        ))  # fmt: skip

    def _account(self, link: _Link, now: int, force: bool, out: list[Message]) -> None:
        info = self.server.account_info(link.session.login)
        figures = (wire_number(info.balance), wire_number(info.equity), wire_number(info.margin),
                   wire_number(info.margin_free), info.leverage)
        if figures == link.account:
            return
        if not force and link.account is not None and now < link.account_due:
            return
        link.account = figures
        link.account_due = now + self.account_update_ms
        b, e, m, f, lev = figures
        out.append(AccountUpdate(**self._envelope(link, now), balance=b, equity=e, margin=m, free_margin=f,
                                 leverage=lev))
