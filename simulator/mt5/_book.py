"""Positions, pending orders and history of the simulated terminal (`positions_*`,
`orders_*`, `history_orders_*`, `history_deals_*`) and the records they return."""

from __future__ import annotations

from simulator.mt5 import constants as C
from simulator.mt5 import records as R
from simulator.mt5._common import Fail, f, group_match, s


class BookCalls:
    """Mixed into `Terminal` (state and helpers from `simulator.mt5._core.Core`)."""

    # ------------------------------------------------------------------ positions / orders
    def _filters(self, symbol, group, ticket):
        if symbol is not None and not isinstance(symbol, str):
            raise Fail(C.RES_E_INVALID_PARAMS, "Invalid \"symbol\" argument")
        if group is not None and not isinstance(group, str):
            raise Fail(C.RES_E_INVALID_PARAMS, "Invalid \"group\" argument")
        if ticket is not None and (isinstance(ticket, bool) or not isinstance(ticket, int)):
            raise Fail(C.RES_E_INVALID_PARAMS, "Invalid \"ticket\" argument")

        def keep(sym: str, tk: int) -> bool:
            if ticket is not None:
                return tk == ticket
            if symbol is not None:
                return sym == symbol
            return group is None or group_match(group, sym)
        return keep

    def positions_total(self) -> int:
        return len(self.server.positions(self.need_login()))

    def positions_get(self, symbol, group, ticket):
        login = self.need_login()
        keep = self._filters(symbol, group, ticket)
        return tuple(position_record(p, self._out) for p in self.server.positions(login) if keep(p.symbol, p.ticket))

    def orders_total(self) -> int:
        return len(self.server.orders(self.need_login()))

    def orders_get(self, symbol, group, ticket):
        login = self.need_login()
        keep = self._filters(symbol, group, ticket)
        return tuple(order_record(o, self._out) for o in self.server.orders(login) if keep(o.symbol, o.ticket))

    # ------------------------------------------------------------------ history
    def _range(self, date_from, date_to) -> tuple[int, int]:
        if date_from is None or date_to is None:
            raise Fail(C.RES_E_INVALID_PARAMS, "Invalid arguments: date_from and date_to are required")
        return self._in(date_from, "date_from"), self._in(date_to, "date_to")

    def history_orders(self, date_from, date_to, group, ticket, position):
        login = self.need_login()
        if ticket is not None or position is not None:
            items = self.server.history_orders(login)
            items = [o for o in items if (ticket is None or o.ticket == ticket)
                     and (position is None or o.position_id == position)]
        else:
            lo, hi = self._range(date_from, date_to)
            items = self.server.history_orders(login, lo, hi)
            if group is not None:
                items = [o for o in items if group_match(group, o.symbol)]
        return tuple(order_record(o, self._out) for o in items)

    def history_deals(self, date_from, date_to, group, ticket, position):
        login = self.need_login()
        if ticket is not None or position is not None:
            items = self.server.history_deals(login)
            items = [d for d in items if (ticket is None or d.order == ticket)
                     and (position is None or d.position_id == position)]
        else:
            lo, hi = self._range(date_from, date_to)
            items = self.server.history_deals(login, lo, hi)
            if group is not None:
                items = [d for d in items if group_match(group, d.symbol)]
        return tuple(deal_record(d, self._out) for d in items)


def position_record(p, out):
    return R.TradePosition(ticket=p.ticket, time=s(out(p.time_msc)), time_msc=out(p.time_msc),
                           time_update=s(out(p.time_update_msc)), time_update_msc=out(p.time_update_msc), type=p.type, magic=p.magic, identifier=p.identifier,
                           reason=p.reason if p.reason <= C.POSITION_REASON_EXPERT else C.POSITION_REASON_EXPERT,
                           volume=f(p.volume), price_open=f(p.price_open), sl=f(p.sl), tp=f(p.tp),
                           price_current=f(p.price_current), swap=f(p.swap), profit=f(p.profit), symbol=p.symbol,
                           comment=p.comment, external_id="")


def order_record(o, out):
    return R.TradeOrder(ticket=o.ticket, time_setup=s(out(o.time_setup_msc)), time_setup_msc=out(o.time_setup_msc),
                        time_done=s(out(o.time_done_msc)), time_done_msc=out(o.time_done_msc), time_expiration=0, type=o.type,
                        type_time=o.type_time, type_filling=o.type_filling, state=o.state, magic=o.magic,
                        position_id=o.position_id, position_by_id=0, reason=o.reason, volume_initial=f(o.volume_initial),
                        volume_current=f(o.volume_current), price_open=f(o.price_open), sl=f(o.sl), tp=f(o.tp),
                        price_current=f(o.price_current), price_stoplimit=0.0, symbol=o.symbol, comment=o.comment,
                        external_id="")


def deal_record(d, out):
    return R.TradeDeal(ticket=d.ticket, order=d.order, time=s(out(d.time_msc)), time_msc=out(d.time_msc), type=d.type,
                       entry=d.entry, magic=d.magic, position_id=d.position_id, reason=d.reason, volume=f(d.volume),
                       price=f(d.price), commission=f(d.commission), swap=f(d.swap), profit=f(d.profit),
                       fee=f(d.fee), symbol=d.symbol, comment=d.comment, external_id="")
