"""`TradeServer`: exact equity and margin level (core: every rule plugin and query reads them)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from bridge.domain.account import PositionRisk, margin_level
from bridge.domain.money import round_money
from bridge.domain.trading import Side, profit
from simulator.server.state import CENT, ZERO, _Account


class EquityOps:
    """Exact equity and margin level.

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

    def _equity_own(self, acct: _Account) -> Decimal | None:
        """`_equity`'s equity by the same Decimal operations in the same order (so the same
        value), inlined for accounts whose profit needs no conversion - the exact check of an
        account near its thresholds runs this often. None when a position is quoted in another
        currency (its profit moves with a conversion rate: the account is volatile)."""
        currency = acct.currency
        total = ZERO
        markup = None
        for p in acct.positions.values():
            st = p.sym
            if st.spec.quote != currency:
                return None
            if p.side is Side.BUY:
                diff = (st.bid - p.price_open) * 1
            else:
                if markup is None:
                    markup = acct.markup
                diff = (st.ask + st.markup(markup) - p.price_open) * -1
            total += (diff * p.volume * st.spec.contract_size).quantize(CENT, ROUND_HALF_UP) + p.swap
        return acct.balance + acct.credit + total

    def margin_level(self, login: int) -> Decimal | None:
        """Exact equity / margin x 100 at current prices (None with no margin in use)."""
        acct = self._account(login)
        equity, _ = self._equity(acct)
        return margin_level(equity, acct.book.total)
