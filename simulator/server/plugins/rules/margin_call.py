"""Margin call and stop-out (seed 000) as a plugin: the risk engine the server calls directly.

Seed 000: a margin call at the account type's margin-call level, a stop-out at its stop-out
level, closing "the largest loser first" (`bridge.domain.account.stop_out` picks the order).
The engine keeps each account's risk bands in the server's trigger index (see
`simulator.server.bands` and the design notes of `simulator.server.server`): between trades a
quote costs the server nothing for an account far from its thresholds, and the exact check
runs only when a band edge is crossed. The engine is handed to the server once, at load
(`MarginCallStopOut.risk_engine`); the tick path calls its `refresh` / `bands_fired`
directly, never through a loop over plugins.

Worked example (tests/simulator/server/test_server_risk.py; without this plugin the same
quotes stop nothing out: tests/simulator/server/test_plugin_rules.py): MT5 Pro, USD, 1:2000,
balance 500, two 1-lot EURUSD longs at 1.00004 and 1.01004, tiered margin 177.02. At bid
1.00279 equity is 500 + 275 - 725 = 50, level 28.25 % <= 40 %: a margin call. At bid 1.00263
equity is 18, level 10.17 % <= 20 %: stop-out closes the largest loser (-741.00); the other
position's margin alone is 75.00, level 24 % > 20 %: it stays open.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from bridge.domain.account import PositionRisk, at_or_below, margin_level
from bridge.domain.account import stop_out as domain_stop_out
from bridge.domain.trading import Side
from simulator.server import retcodes as rc
from simulator.server.bands import MarginBands, build_bands
from simulator.server.plugins.api import MarginEvent, ServerPlugin
from simulator.server.state import _BAND, _RISK, CENT, HUNDRED, ZERO, _Account, _lvl
from simulator.server.triggers import ASK_GE, BID_LE


class MarginCallStopOut(ServerPlugin):
    """Seed 000's margin call and stop-out, as the server's risk engine."""

    name = "margin_call_stop_out"

    def risk_engine(self, core: Any) -> RiskEngine:
        return RiskEngine(core)


class RiskEngine:
    """Risk bands in the trigger index, exact evaluation, margin call, stop-out.

    Holds the server (`core`) it was handed at load: the engine reads and writes the risk
    fields of the server's accounts (``bands``, ``risk_entries``, ``in_call``, ``volatile``)
    and closes positions through the server's own stop-out path (reason SO, comment "so")."""

    def __init__(self, core: Any) -> None:
        self._srv = core
        # stable server objects, bound once (never re-assigned by the server)
        self._index = core._index
        self._symbols = core._symbols
        self._volatile = core._volatile
        self._j = core._j
        self._fast = core._fast
        self._host = core._plugins
        self._equity = core._equity
        self._equity_own = core._equity_own
        self._market_close = core._market_close

    def _notify(self, hook: str, acct: _Account, level, equity, margin, threshold) -> None:
        if self._host.table[hook]:
            self._host.emit(hook, MarginEvent(acct.login, level, equity, margin, threshold))

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

    def bands_fired(self, acct: _Account, fired: list[int]) -> None:
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
            self._srv._refresh_risk(acct)

    def _set_volatile(self, acct: _Account, volatile: bool) -> None:
        if volatile == acct.volatile:
            return
        acct.volatile = volatile
        if volatile:
            self._volatile.append(acct.login)
            self._volatile.sort()
        else:
            self._volatile.remove(acct.login)

    def refresh(self, acct: _Account) -> None:
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

    def _equity_and_volatile(self, acct: _Account) -> tuple[Decimal, bool]:
        """Exact equity, and whether a position's profit moves with a conversion rate."""
        equity = self._equity_own(acct) if self._fast else None
        if equity is not None:
            return equity, False
        return self._equity(acct)[0], any(acct.currency != p.sym.spec.quote for p in acct.positions.values())

    def _evaluate_risk(self, acct: _Account, kept: dict[tuple[str, int], tuple[int, int]]) -> None:
        if not acct.positions:
            acct.in_call = False
            self._set_volatile(acct, False)
            return
        atype = acct.type
        equity, volatile = self._equity_and_volatile(acct)
        margin = acct.book.total
        level = margin_level(equity, margin)
        if at_or_below(level, atype.stop_out_level):
            equity, risks = self._equity(acct)
            self._stop_out(acct, equity, risks, level)
            if not acct.positions:
                acct.in_call = False
                self._set_volatile(acct, False)
                return
            equity, volatile = self._equity_and_volatile(acct)
            margin = acct.book.total
            level = margin_level(equity, margin)
        if at_or_below(level, atype.margin_call_level):
            if not acct.in_call:
                acct.in_call = True
                self._j("margin_call", login=acct.login, margin_level=_lvl(level), equity=equity,
                        margin=margin, threshold=atype.margin_call_level)
                self._notify("on_margin_call", acct, level, equity, margin, atype.margin_call_level)
        elif acct.in_call:
            acct.in_call = False
            self._j("margin_call_cleared", login=acct.login, margin_level=_lvl(level))
            self._notify("on_margin_call_cleared", acct, level, equity, margin, atype.margin_call_level)
        if volatile != acct.volatile:
            self._set_volatile(acct, volatile)
        if volatile or level is None:
            return
        if not acct.in_call and self._fast and self._place_margin_bands(acct):
            return
        threshold = atype.stop_out_level if acct.in_call else atype.margin_call_level
        # per-position cent rounding can move equity by < 0.005 each: keep it out of the slack
        slack = equity - margin * threshold / HUNDRED - CENT * len(acct.positions)
        exposure = acct.exposure
        movers = 0
        for units in exposure.values():
            movers += (units[0] > 0) + (units[1] > 0)
        if not movers:
            return
        share = max(slack, ZERO) / movers
        symbols = self._symbols
        index = self._index
        entries = acct.risk_entries
        payload = (_RISK, acct.login, 0)
        for sym_name, units in exposure.items():
            st = None
            for i in (0, 1):
                u = units[i]
                if not u > 0:
                    continue
                if st is None:
                    st = symbols[sym_name]
                move = share / u * st.scale  # points of adverse move this exposure may take
                if i == 0:  # buys lose as the bid falls
                    edge = int((st.bid_pts - move).to_integral_value(ROUND_CEILING))
                else:  # sells lose as the (marked-up) ask rises
                    edge = int((st.ask_pts + move).to_integral_value(ROUND_FLOOR))
                key = (sym_name, i)
                old = kept.pop(key, None)
                if old is not None:
                    if old[0] == edge and old[1] in index:
                        entries[key] = old
                        continue
                    index.remove(old[1])
                eid = index.add(sym_name, BID_LE if i == 0 else ASK_GE, edge, payload)
                if eid:
                    entries[key] = (edge, eid)

    def _stop_out(self, acct: _Account, equity: Decimal, risks: list[PositionRisk], level: Decimal | None) -> None:
        """Close the largest loser first, re-evaluating after each close (domain `stop_out`
        picks the order; each close is re-checked exactly, since a close commission can
        lower equity)."""
        so = acct.type.stop_out_level
        self._j("stop_out", login=acct.login, margin_level=_lvl(level), equity=equity, margin=acct.book.total,
                threshold=so)
        self._notify("on_stop_out", acct, level, equity, acct.book.total, so)
        while acct.positions:
            plan = domain_stop_out(acct.balance, risks, acct.calc, so, acct.credit)
            if not plan:
                return
            victim = acct.positions[plan[0].ticket]
            self._market_close(acct, victim, victim.volume, rc.DEAL_REASON_SO, "so")
            equity, risks = self._equity(acct)
            if not at_or_below(margin_level(equity, acct.book.total), so):
                return
