"""`TradeServer`: risk: exact equity and margin level, risk bands in the trigger index, margin call, stop-out."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from bridge.domain.account import PositionRisk, at_or_below, margin_level, stop_out as domain_stop_out
from bridge.domain.money import round_money
from bridge.domain.trading import Side, profit
from simulator.server import retcodes as rc
from simulator.server.bands import MarginBands, build_bands
from simulator.server.state import _BAND, CENT, HUNDRED, ZERO, _Account, _lvl, _RISK
from simulator.server.triggers import ASK_GE, BID_LE


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

    def _equity_only(self, acct: _Account) -> Decimal:
        """`_equity`'s equity without the per-position records: the same Decimal operations in
        the same order (so the same value), inlined for accounts whose profit needs no
        conversion - the exact check of an account near its thresholds runs this often."""
        currency = acct.currency
        if not self._fast:
            return self._equity(acct)[0]
        total = ZERO
        for p in acct.positions.values():
            st = p.sym
            if st.spec.quote != currency:
                return self._equity(acct)[0]
            if p.side is Side.BUY:
                diff = (st.bid - p.price_open) * 1
            else:
                diff = (st.ask + st.markup(acct.markup) - p.price_open) * -1
            total += (diff * p.volume * st.spec.contract_size).quantize(CENT, ROUND_HALF_UP) + p.swap
        return acct.balance + acct.credit + total

    def margin_level(self, login: int) -> Decimal | None:
        """Exact equity / margin x 100 at current prices (None with no margin in use)."""
        acct = self._account(login)
        equity, _ = self._equity(acct)
        return margin_level(equity, acct.book.total)

    def _clear_bands(self, acct: _Account) -> None:
        for _, eid in acct.risk_entries.values():
            self._index.remove(eid)
        acct.risk_entries.clear()
        if acct.bands is not None:
            for eid in acct.bands.eids:
                self._index.remove(eid)
            acct.bands = None

    # --- margin-call bands (simulator.server.bands): accounts not in margin call ----------
    def _band_entry(self, acct: _Account, mb: MarginBands, k: int) -> int:
        st = mb.symbols[k]
        payload = (_BAND, acct.login, k)
        if mb.sells[k]:
            return self._index.add(st.name, ASK_GE, mb.edges[k] - mb.markup, payload)
        return self._index.add(st.name, BID_LE, -mb.edges[k], payload)

    def _plan_bands(self, acct: _Account, mb: MarginBands) -> bool:
        if not mb.plan([st.tick_size() for st in mb.symbols]):
            return False
        mb.eids = [self._band_entry(acct, mb, k) for k in range(len(mb.u))]
        acct.bands = mb
        return True

    def _place_margin_bands(self, acct: _Account) -> bool:
        """After an exact check found the account above its margin call: bound it with
        `MarginBands` (False: the reserve is within rounding of the threshold; exact bands)."""
        positions = acct.positions.values()
        mb = build_bands(acct.balance, acct.credit, sum((p.swap for p in positions), ZERO),
                         [(p.sym.spec, p.side is Side.SELL, p.volume, p.price_open) for p in positions],
                         self._symbols, acct.exposure, acct.markup, acct.book.total, acct.type.margin_call_level)
        return bool(mb.u) and self._plan_bands(acct, mb)

    def _bands_fired(self, acct: _Account, fired: list[int]) -> None:
        """Edges of `acct.bands` fired: move them (hysteresis), else re-place all from current
        prices, else (the level may be at the threshold) run the exact check."""
        mb = acct.bands
        for k in fired:
            mb.eids[k] = 0
        for k in fired:
            if not mb.replace_one(k):
                break
            mb.eids[k] = self._band_entry(acct, mb, k)
        else:
            return
        for eid in mb.eids:
            self._index.remove(eid)
        acct.bands = None
        if not self._plan_bands(acct, mb):
            self._refresh_risk(acct)

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
        # the exact bands are set aside, not removed: an edge that comes out the same keeps its
        # entry (a third of them in a thin-margin run); firing order among them is irrelevant
        kept = acct.risk_entries
        acct.risk_entries = {}
        self._clear_bands(acct)
        try:
            self._evaluate_risk(acct, kept)
        finally:
            for _, eid in kept.values():
                self._index.remove(eid)

    def _evaluate_risk(self, acct: _Account, kept: dict[tuple[str, int], tuple[int, int]]) -> None:
        if not acct.positions:
            acct.in_call = False
            self._set_volatile(acct, False)
            return
        atype = acct.type
        equity = self._equity_only(acct)
        level = margin_level(equity, acct.book.total)
        if at_or_below(level, atype.stop_out_level):
            equity, risks = self._equity(acct)
            self._stop_out(acct, equity, risks, level)
            if not acct.positions:
                acct.in_call = False
                self._set_volatile(acct, False)
                return
            equity = self._equity_only(acct)
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
        if not acct.in_call and self._fast and self._place_margin_bands(acct):
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
            else:  # sells lose as the (marked-up) ask rises
                edge = int((st.ask_pts + move).to_integral_value(ROUND_FLOOR))
            old = kept.pop((sym_name, i), None)
            if old is not None:
                if old[0] == edge and old[1] in self._index:
                    acct.risk_entries[sym_name, i] = old
                    continue
                self._index.remove(old[1])
            eid = self._index.add(sym_name, BID_LE if i == 0 else ASK_GE, edge, (_RISK, acct.login, 0))
            if eid:
                acct.risk_entries[sym_name, i] = (edge, eid)

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
