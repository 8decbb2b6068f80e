"""`TradeServer`: end of day at server midnight: rollover of open positions (swaps by plugin)."""

from __future__ import annotations

from decimal import Decimal

from bridge.domain.trading import Side, swap_nights
from simulator.server import retcodes as rc
from simulator.server.plugins.api import EndOfDayEvent, RolloverEvent

ZERO = Decimal(0)


class RolloverOps:
    """End of day (server midnight): rollover of positions held over it.

    A part of `TradeServer` (see `simulator.server.server`); it uses the state and
    helpers the other parts define."""

    def _rollover(self, midnight: int) -> None:
        """Every position held over `midnight` (00:00 server time) on a day its market was
        open is offered to the plugins' ``hook_trade_rollover`` with its nights (one, three on
        the symbol's triple day: `swap_nights` of the day that ends); the core itself charges
        nothing (seed 000's swaps are the `rules.swaps` plugin)."""
        ended = midnight - 1
        wd = self.calendar.weekday(ended)
        self._j("rollover", weekday_ended=wd)
        host = self._plugins
        if host.on_eod_start:
            host.emit("on_eod_start", EndOfDayEvent(midnight, wd))
        if host.hook_trade_rollover:
            for login, acct in self._accounts.items():
                if not acct.positions:
                    continue
                charged = False
                for p in acct.positions.values():
                    spec = p.sym.spec
                    if p.time_msc >= midnight or not self.calendar.is_open(spec.group, ended):
                        continue
                    nights = swap_nights(spec, wd)
                    event = RolloverEvent(midnight, wd, login, p.ticket, spec.name,
                                          rc.POSITION_TYPE_BUY if p.side is Side.BUY else rc.POSITION_TYPE_SELL,
                                          p.volume, nights, acct.currency, acct.swap_free)
                    amount = host.rollover(event, ZERO)
                    if amount:
                        p.swap += amount
                        charged = True
                        self._j("swap", login=login, position=p.ticket, symbol=spec.name, nights=nights,
                                amount=amount, swap_total=p.swap)
                if charged:
                    self._refresh_risk(acct)
        if host.on_eod_finish:
            host.emit("on_eod_finish", EndOfDayEvent(midnight, wd))
