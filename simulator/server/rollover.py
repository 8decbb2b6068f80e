"""`TradeServer`: swaps at rollover (server midnight)."""

from __future__ import annotations

from bridge.domain.money import round_money
from bridge.domain.trading import swap, swap_nights


class RolloverOps:
    """Swaps at rollover (server midnight).

    A part of `TradeServer` (see `simulator.server.server`); it uses the state and
    helpers the other parts define."""

    def _rollover(self, midnight: int) -> None:
        """Swaps for positions held over `midnight` (00:00 server time): one night, three
        on the symbol's triple day (`swap_nights` of the day that ends), none for a market
        closed that day (weekends) or a swap-free account."""
        ended = midnight - 1
        wd = self.calendar.weekday(ended)
        self._j("rollover", weekday_ended=wd)
        rates = None
        for login, acct in self._accounts.items():
            if not acct.positions or acct.swap_free:
                continue
            charged = False
            for p in acct.positions.values():
                spec = p.sym.spec
                if p.time_msc >= midnight or not self.calendar.is_open(spec.group, ended):
                    continue
                if rates is None:
                    rates = self.rates()
                nights = swap_nights(spec, wd)
                amount = round_money(swap(spec, p.side, p.volume, nights, acct.currency, rates))
                if amount:
                    p.swap += amount
                    charged = True
                    self._j("swap", login=login, position=p.ticket, symbol=spec.name, nights=nights,
                            amount=amount, swap_total=p.swap)
            if charged:
                self._refresh_risk(acct)
