"""`TradeServer`: risk: exact equity and margin level, risk bands in the trigger index, margin call, stop-out."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from bridge.domain.account import PositionRisk, at_or_below, margin_level, stop_out as domain_stop_out
from bridge.domain.money import round_money
from bridge.domain.trading import profit
from simulator.server import retcodes as rc
from simulator.server.triggers import ASK_GE, BID_LE
from simulator.server.state import _Account, CENT, HUNDRED, _lvl, _RISK, ZERO


class RiskOps:
    """Risk: exact equity and margin level, risk bands in the trigger index, margin call, stop-out.

    A part of `TradeServer` (see `simulator.server.server`); it uses the state and
    helpers the other parts define."""

    def _equity(self, acct: _Account) -> tuple[Decimal, list[PositionRisk]]:
        rates = self.rates() if acct.positions else None
        risks = []
        total = ZERO
        for p in acct.positions.values():
            pr = round_money(profit(p.sym.spec, p.side, p.volume, p.price_open, self._close_price(acct, p.sym, p.side),
                                    acct.currency, rates)) + p.swap
            total += pr
            risks.append(PositionRisk(p.ticket, p.sym.spec.group, p.notional, pr))
        return acct.balance + acct.credit + total, risks

    def margin_level(self, login: int) -> Decimal | None:
        """Exact equity / margin x 100 at current prices (None with no margin in use)."""
        acct = self._account(login)
        equity, _ = self._equity(acct)
        return margin_level(equity, acct.book.total)

    def _clear_bands(self, acct: _Account) -> None:
        for eid in acct.risk_entries:
            self._index.remove(eid)
        acct.risk_entries.clear()

    def _set_volatile(self, acct: _Account, volatile: bool) -> None:
        if volatile == acct.volatile:
            return
        acct.volatile = volatile
        if volatile:
            self._volatile.append(acct.login)
            self._volatile.sort()
        else:
            self._volatile.remove(acct.login)

    def _refresh_risk(self, acct: _Account) -> None:
        """Exact evaluation: stop-out, margin call, then new risk bands."""
        self._clear_bands(acct)
        if not acct.positions:
            acct.in_call = False
            self._set_volatile(acct, False)
            return
        atype = acct.type
        equity, risks = self._equity(acct)
        level = margin_level(equity, acct.book.total)
        if at_or_below(level, atype.stop_out_level):
            self._stop_out(acct, equity, risks, level)
            if not acct.positions:
                acct.in_call = False
                self._set_volatile(acct, False)
                return
            equity, risks = self._equity(acct)
            level = margin_level(equity, acct.book.total)
        if at_or_below(level, atype.margin_call_level):
            if not acct.in_call:
                acct.in_call = True
                self._j("margin_call", login=acct.login, margin_level=_lvl(level), equity=equity,
                        margin=acct.book.total, threshold=atype.margin_call_level)
        elif acct.in_call:
            acct.in_call = False
            self._j("margin_call_cleared", login=acct.login, margin_level=_lvl(level))
        volatile = any(acct.currency != p.sym.spec.quote for p in acct.positions.values())
        self._set_volatile(acct, volatile)
        if volatile or level is None:
            return
        threshold = atype.stop_out_level if acct.in_call else atype.margin_call_level
        # per-position cent rounding can move equity by < 0.005 each: keep it out of the slack
        slack = equity - acct.book.total * threshold / HUNDRED - CENT * len(acct.positions)
        movers = [(sym, i, u) for sym, units in acct.exposure.items() for i, u in enumerate(units) if u > 0]
        if not movers:
            return
        share = max(slack, ZERO) / len(movers)
        for sym_name, i, units in movers:
            st = self._symbols[sym_name]
            move = share / units * st.scale  # points of adverse move this exposure may take
            if i == 0:  # buys lose as the bid falls
                edge = int((st.bid_pts - move).to_integral_value(ROUND_CEILING))
                eid = self._index.add(sym_name, BID_LE, edge, (_RISK, acct.login, 0))
            else:  # sells lose as the (marked-up) ask rises
                edge = int((st.ask_pts + move).to_integral_value(ROUND_FLOOR))
                eid = self._index.add(sym_name, ASK_GE, edge, (_RISK, acct.login, 0))
            if eid:
                acct.risk_entries.append(eid)

    def _stop_out(self, acct: _Account, equity: Decimal, risks: list[PositionRisk], level: Decimal | None) -> None:
        """Close the largest loser first, re-evaluating after each close (domain `stop_out`
        picks the order; each close is re-checked exactly, since a close commission can
        lower equity)."""
        so = acct.type.stop_out_level
        self._j("stop_out", login=acct.login, margin_level=_lvl(level), equity=equity, margin=acct.book.total,
                threshold=so)
        while acct.positions:
            plan = domain_stop_out(acct.balance, risks, acct.calc, so, acct.credit)
            if not plan:
                return
            victim = acct.positions[plan[0].ticket]
            self._market_close(acct, victim, victim.volume, rc.DEAL_REASON_SO, "so")
            equity, risks = self._equity(acct)
            if not at_or_below(margin_level(equity, acct.book.total), so):
                return
