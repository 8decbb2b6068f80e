"""`TradeServer`: position mechanics: deals, opening, reducing, closing, netting, SL/TP levels, margin checks."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from bridge.domain.margin import NOTIONAL_QUANTUM, position_notional
from bridge.domain.money import round_money
from bridge.domain.trading import Side, commission, profit
from simulator.server import retcodes as rc
from simulator.server.plugins.api import DealEvent, PositionEvent
from simulator.server.records import DealInfo
from simulator.server.triggers import ASK_GE, ASK_LE, BID_GE, BID_LE
from simulator.server.state import (
    _Account,
    _deal_fields,
    _opposite_type,
    _Order,
    _order_fields,
    _Position,
    _Refused,
    _SL,
    _Symbol,
    _TP,
    ZERO,
)


class PositionOps:
    """Position mechanics: deals, opening, reducing, closing, netting, SL/TP levels, margin checks.

    A part of `TradeServer` (see `simulator.server.server`); it uses the state and
    helpers the other parts define."""

    def _exposure(self, acct: _Account, st: _Symbol, side: Side, volume_delta: Decimal) -> None:
        units = acct.exposure.get(st.name)
        if units is None:
            units = acct.exposure[st.name] = [ZERO, ZERO]
        units[0 if side is Side.BUY else 1] += volume_delta * st.spec.contract_size
        if not units[0] and not units[1]:
            del acct.exposure[st.name]

    def _deal(self, acct: _Account, st: _Symbol, order: int, side: Side, entry: int, reason: int, position: int,
              volume: Decimal, price: Decimal, comm: Decimal, swp: Decimal, prof: Decimal, magic: int,
              comment: str) -> DealInfo:
        acct.balance += comm + swp + prof
        deal = DealInfo(self._next_deal, acct.login, order, self.clock.now_ms,
                        rc.DEAL_TYPE_BUY if side is Side.BUY else rc.DEAL_TYPE_SELL, entry, reason, position,
                        st.name, volume, price, comm, swp, prof, ZERO, magic, comment)
        self._next_deal += 1
        acct.hist_deals.append(deal)
        self._j("deal", **_deal_fields(deal), balance=acct.balance)
        if self._plugins.on_deal_perform:
            self._plugins.emit("on_deal_perform", DealEvent(deal, acct.balance))
        return deal

    def _position_event(self, hook: str, pos: _Position) -> None:
        """IMTPositionSink: tell the plugins listening to `hook` (after the deal's own event)."""
        host = self._plugins
        if host.table[hook]:
            host.emit(hook, PositionEvent(pos.login, pos.ticket, pos.sym.name,
                                          rc.POSITION_TYPE_BUY if pos.side is Side.BUY else rc.POSITION_TYPE_SELL,
                                          pos.volume, pos.price_open, pos.sl, pos.tp, pos.swap, pos.magic,
                                          pos.reason, pos.comment, pos.time_msc, pos.time_update_msc))

    def _commission(self, acct: _Account, volume: Decimal) -> Decimal:
        return round_money(commission(acct.type, volume, acct.currency, self.rates()))

    def _notional(self, acct: _Account, st: _Symbol, volume: Decimal, price: Decimal) -> Decimal:
        return position_notional(st.spec, volume, price, acct.currency, self.rates())

    def _set_level(self, acct: _Account, pos: _Position, which: str, value: Decimal) -> None:
        """Set SL or TP and (re)index it in feed points (ask side shifted by the markup)."""
        st = pos.sym
        old = pos.sl_entry if which == "sl" else pos.tp_entry
        self._index.remove(old)
        eid = 0
        if value:
            pts = int(value.scaleb(st.digits))
            buy = pos.side is Side.BUY
            payload = (_SL if which == "sl" else _TP, acct.login, pos.ticket)
            if which == "sl":
                eid = self._index.add(st.name, BID_LE, pts, payload) if buy else \
                    self._index.add(st.name, ASK_GE, pts - acct.markup, payload)
            else:
                eid = self._index.add(st.name, BID_GE, pts, payload) if buy else \
                    self._index.add(st.name, ASK_LE, pts - acct.markup, payload)
        if which == "sl":
            pos.sl, pos.sl_entry = value, eid
        else:
            pos.tp, pos.tp_entry = value, eid

    def _open_position(self, acct: _Account, st: _Symbol, side: Side, volume: Decimal, price: Decimal,
                       ticket: int, reason: int, magic: int, comment: str, sl: Decimal, tp: Decimal) -> _Position:
        notional = self._notional(acct, st, volume, price)
        pos = _Position(ticket, acct.login, st, side, volume, price, self.clock.now_ms, magic, reason, comment,
                        notional)
        acct.positions[ticket] = pos
        if acct.netting:
            acct.net[st.name] = ticket
        acct.book.open(ticket, st.spec.group, notional)
        self._exposure(acct, st, side, volume)
        self._set_level(acct, pos, "sl", sl)
        self._set_level(acct, pos, "tp", tp)
        return pos

    def _reduce(self, acct: _Account, pos: _Position, volume: Decimal, price: Decimal) -> tuple[Decimal, Decimal]:
        """Take `volume` off `pos` at `price`: returns (profit, swap share) to realise."""
        st = pos.sym
        prof = round_money(profit(st.spec, pos.side, volume, pos.price_open, price, acct.currency, self.rates()))
        self._exposure(acct, st, pos.side, -volume)
        if volume == pos.volume:
            swp = pos.swap
            self._index.remove(pos.sl_entry)
            self._index.remove(pos.tp_entry)
            del acct.positions[pos.ticket]
            if acct.netting:
                acct.net.pop(st.name, None)
            acct.book.close(pos.ticket)
            pos.volume = ZERO
        else:
            remaining = pos.volume - volume
            swp = round_money(pos.swap * volume / pos.volume)
            pos.swap -= swp
            pos.notional = (pos.notional * remaining / pos.volume).quantize(NOTIONAL_QUANTUM, ROUND_HALF_UP)
            acct.book.resize(pos.ticket, pos.notional)
            pos.volume = remaining
            pos.time_update_msc = self.clock.now_ms
        return prof, swp

    def _history_order(self, acct: _Account, st: _Symbol, otype: int, volume: Decimal, price: Decimal,
                       reason: int, magic: int, comment: str, position: int, sl: Decimal = ZERO,
                       tp: Decimal = ZERO, ticket: int | None = None) -> _Order:
        now = self.clock.now_ms
        order = _Order(ticket=ticket or self._ticket(), login=acct.login, symbol=st.name, type=otype,
                       state=rc.ORDER_STATE_FILLED, volume_initial=volume, volume_current=ZERO, price_open=price,
                       sl=sl, tp=tp, time_setup_msc=now, time_done_msc=now, type_filling=rc.ORDER_FILLING_FOK,
                       type_time=rc.ORDER_TIME_GTC, expiration_ms=0, magic=magic, reason=reason,
                       position_id=position, comment=comment, entry=0)
        acct.hist_orders.append(order)
        self._j("order", **_order_fields(order))
        return order

    def _market_close(self, acct: _Account, pos: _Position, volume: Decimal, reason: int, comment: str,
                      magic: int | None = None) -> DealInfo:
        """Close `volume` of `pos` at the current quote (a gap fills at the quote, not the level)."""
        st = pos.sym
        price = self._close_price(acct, st, pos.side)
        mg = pos.magic if magic is None else magic
        order = self._history_order(acct, st, _opposite_type(pos.side), volume, price, reason, mg, comment,
                                    pos.ticket)
        comm = self._commission(acct, volume)
        prof, swp = self._reduce(acct, pos, volume, price)
        deal = self._deal(acct, st, order.ticket, pos.side.opposite, rc.DEAL_ENTRY_OUT, reason, pos.ticket, volume,
                          price, comm, swp, prof, mg, comment)
        self._position_event("on_position_update" if pos.volume else "on_position_delete", pos)
        return deal

    def _fill(self, acct: _Account, st: _Symbol, side: Side, volume: Decimal, price: Decimal, order: _Order,
              reason: int, sl: Decimal, tp: Decimal, close_ticket: int = 0) -> tuple[DealInfo, int]:
        """Execute a filled order; returns (deal, position ticket)."""
        comm = self._commission(acct, volume)
        magic, comment = order.magic, order.comment
        target = acct.positions.get(close_ticket) if close_ticket else (
            acct.positions.get(acct.net.get(st.name, 0)) if acct.netting else None)
        if target is None:
            pos = self._open_position(acct, st, side, volume, price, order.ticket, reason, magic, comment, sl, tp)
            deal = self._deal(acct, st, order.ticket, side, rc.DEAL_ENTRY_IN, reason, pos.ticket, volume, price,
                              comm, ZERO, ZERO, magic, comment)
            order.position_id = pos.ticket
            self._position_event("on_position_add", pos)
            return deal, pos.ticket
        order.position_id = target.ticket
        if target.side is side:  # netting increase
            new_volume = target.volume + volume
            target.price_open = (target.price_open * target.volume + price * volume) / new_volume
            target.notional += self._notional(acct, st, volume, price)
            acct.book.resize(target.ticket, target.notional)
            self._exposure(acct, st, side, volume)
            target.volume = new_volume
            target.time_update_msc = self.clock.now_ms
            if sl:
                self._set_level(acct, target, "sl", sl)
            if tp:
                self._set_level(acct, target, "tp", tp)
            deal = self._deal(acct, st, order.ticket, side, rc.DEAL_ENTRY_IN, reason, target.ticket, volume, price,
                              comm, ZERO, ZERO, magic, comment)
            self._position_event("on_position_update", target)
            return deal, target.ticket
        if volume <= target.volume:
            prof, swp = self._reduce(acct, target, volume, price)
            deal = self._deal(acct, st, order.ticket, side, rc.DEAL_ENTRY_OUT, reason, target.ticket, volume, price,
                              comm, swp, prof, magic, comment)
            self._position_event("on_position_update" if target.volume else "on_position_delete", target)
            return deal, target.ticket
        # netting reversal: close all, re-open the remainder at the deal price (same ticket)
        ticket, rest = target.ticket, volume - target.volume
        prof, swp = self._reduce(acct, target, target.volume, price)
        reopened = self._open_position(acct, st, side, rest, price, ticket, reason, magic, comment, sl, tp)
        deal = self._deal(acct, st, order.ticket, side, rc.DEAL_ENTRY_INOUT, reason, ticket, volume, price, comm,
                          swp, prof, magic, comment)
        self._position_event("on_position_update", reopened)  # same ticket, now the other side
        return deal, ticket

    def _margin_after(self, acct: _Account, st: _Symbol, side: Side, volume: Decimal, price: Decimal,
                      close_ticket: int) -> Decimal | None:
        """Margin after the deal, or None when the deal only reduces exposure."""
        target = acct.positions.get(close_ticket) if close_ticket else (
            acct.positions.get(acct.net.get(st.name, 0)) if acct.netting else None)
        group = st.spec.group
        if target is None or target.side is side:
            return acct.book.total_if_opened(group, self._notional(acct, st, volume, price))
        if volume <= target.volume:
            return None
        # reversal (the domain has no "replace" query: one GroupTiers.margin look-up)
        new_group = acct.book.group_notional(group) - target.notional + \
            self._notional(acct, st, volume - target.volume, price)
        return acct.book.total - acct.book.group_margin(group) + acct.calc.tiers(group).margin(new_group)

    def _check_money(self, acct: _Account, st: _Symbol, side: Side, volume: Decimal, price: Decimal,
                     close_ticket: int = 0) -> None:
        after = self._margin_after(acct, st, side, volume, price, close_ticket)
        if after is None:
            return
        equity, _ = self._equity(acct)
        free = equity + self._commission(acct, volume) - after
        if free < 0:
            raise _Refused(rc.TRADE_RETCODE_NO_MONEY,
                           f"free margin after the order would be {round_money(free)} {acct.currency} "
                           f"(margin {after}, equity {equity})")
