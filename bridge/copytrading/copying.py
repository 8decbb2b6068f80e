"""Copying a trader deal: the fan-out to every eligible subscription (the hot path), and
what becomes of an open afterwards (filled, refused, withdrawn)."""

from __future__ import annotations

from decimal import Decimal

from bridge.copytrading import events as ev
from bridge.copytrading.base import _ACTIVE, _OPEN, _OPENING, ONE, ZERO, Pending
from bridge.copytrading.commands import ModifyCopy, OpenCopy, idempotency_key
from bridge.copytrading.records import CopyOpened, CopyRefused
from bridge.copytrading.risk_limits import RiskLimits
from bridge.copytrading.settings import filter_refusal, map_symbol, slippage_points, slippage_refusal, unmapped
from bridge.copytrading.subscription import Copy, Subscription, SubState
from bridge.copytrading.trader import TraderPosition, TraderRecord
from bridge.domain.errors import DomainError
from bridge.domain.margin import position_notional
from bridge.domain.sizing import VolumeDecision, VolumeMode, copy_volume, equity_fraction, normalise
from bridge.domain.trading import Side

# = OpenCopy(...) without the NamedTuple's Python-level __new__ (a third of the cost, 10 000 per deal)
new_tuple = tuple.__new__
_EQUAL = VolumeMode.EQUAL
_PROPORTIONAL = VolumeMode.PROPORTIONAL
_FIXED = VolumeMode.FIXED
_MULTIPLIER = VolumeMode.MULTIPLIER
_BALANCE_RATIO = VolumeMode.BALANCE_RATIO
# The terminal got the open after its `expires`. bridge.protocol defines the same value (its
# owner is adding it there); the engine keeps its own copy to stay free of the wire package.
RETCODE_EXPIRED = 20001
_WITHDRAWN = {"expired": "not sent before it expired",
              "trader_closed_before_copy": "the trader position closed before the open was sent"}


class Copying(RiskLimits):
    # ------------------------------------------------------------------ copying
    def _on_trader_position_opened(self, e: ev.TraderPositionOpened) -> None:
        t = self.s.traders.get(e.trader)
        if t is None or e.ticket in t.positions:
            return  # not a trader of the service, or a duplicate report
        quote = self.s.prices.get(e.symbol)  # the market before this deal: the price guard's
        self._observe_price(e.symbol, e.price)
        pos = TraderPosition(e.ticket, e.symbol, e.side, e.volume, e.price,
                             e.opened_at if e.opened_at is not None else e.now, self.s.seq, e.sl, e.tp, e.magic)
        t.positions[e.ticket] = pos
        self._fan_out(t, pos, self._trader_subs.get(t.id, ()), quote=quote)

    def _eligibility_refusal(self, sub: Subscription, t: TraderRecord, ineligible: str | None, started: int,
                             now: int, expired_detail: str | None,
                             order: bool) -> tuple[str, str, dict[str, str]] | None:
        """Whether `sub` may copy now, before any sizing: the one check of the market fan-out and
        of copy orders (pending.py), in this order. `started`: the trader's open (or placement,
        `order`); `expired_detail`: set when the deal is past the open validity."""
        if sub.state is SubState.CLOSE_ONLY or sub.state is SubState.LIMIT_SUSPENDED:  # a risk limit holds (item 8)
            self._roll_day(sub, now)  # a new server day lifts a daily-loss trip
            if sub.state is not _ACTIVE:
                return self._limit_refusal(sub, now)
        if sub.state is not _ACTIVE:
            code = ("protection_suspended" if sub.state is SubState.SUSPENDED else "desk_suspended"
                    if sub.state is SubState.DESK_SUSPENDED else "subscription_stopped")
            return code, f"subscription is {sub.state.value}", {"state": sub.state.value}
        if ineligible is not None:
            return "trader_not_eligible", ineligible, {"trader_account_type": t.account_type}
        if t.disabled:
            return "trader_disabled", f"trader {t.id} is disabled by the desk", {"trader": t.id}
        if not sub.online:
            return "terminal_offline", f"terminal of account {sub.account} is offline", {"account": str(sub.account)}
        if started < sub.started_at:
            if order:
                return ("opened_before_subscription", "only orders placed after the subscription are copied (§4.1)",
                        {"placed_at": str(started), "subscribed_at": str(sub.started_at)})
            return ("opened_before_subscription", "only trades opened after the subscription are copied (§4.1)",
                    {"opened_at": str(started), "subscribed_at": str(sub.started_at)})
        if expired_detail is not None:
            return ("expired", expired_detail,
                    {"late_ms": str(now - started), "validity_ms": str(self.config.open_validity_ms)})
        return None

    def _fan_out(self, t: TraderRecord, pos: TraderPosition, subs: list[Subscription] | tuple,
                 from_snapshot: bool = False, quote: tuple[Decimal, Decimal] | None = None,
                 instrument: str | None = None) -> None:
        """Copy the trader's new position to `subs`. Subscriptions on the seed's terms
        (`settings` None) take the fast path; the others also pass their filters, mode, reverse
        and price guard (settings.py). Every refusal carries `details`: the figures behind it. `quote`: the
        engine's market price of the symbol before the deal (None: the latest known).
        `instrument`: the catalog symbol the copies trade when the trader's own symbol is not in
        the catalog and the subscriptions' symbol mapping names one (`_fan_out_mapped`)."""
        if not subs:
            return
        now = self.s.now or 0
        # §4.7: a copy is the trader's trade only near the trader's moment. One deadline per deal,
        # carried by every OpenCopy; past it nothing is opened.
        validity = self.config.open_validity_ms
        expires_at = pos.opened_at + validity
        expired = now > expires_at
        expired_detail = None
        if expired:
            late = now - pos.opened_at
            expired_detail = (f"first seen in a snapshot {late} ms after its open" if from_snapshot
                              else f"seen {late} ms after its open (validity {validity} ms)")
        try:
            spec = self.rules.symbols.get(instrument or pos.symbol)
        except DomainError as err:
            self._fan_out_mapped(t, pos, subs, from_snapshot, quote, err)
            return
        if quote is None and from_snapshot:
            quote = self.s.prices.get(pos.symbol)
        ineligible = self._trader_ineligible(t)
        disabled = t.disabled
        limits = self.config.limits
        equal: VolumeDecision | None = None  # the equal mode's decision, on first use (one per deal)
        # The notional is in the account's currency (USD, a cent account's USC, ...): one
        # conversion per distinct (volume, currency) in a deal.
        notionals: dict[tuple[Decimal, str], Decimal] = {}
        rates = self._rates()
        records, commands = self._records, self._commands
        group, symbol, ticket, side, price, trader_volume = (spec.group, spec.name, pos.ticket, pos.side,
                                                             pos.price, pos.volume)
        trader_symbol = pos.symbol  # = symbol unless mapped to a catalog instrument
        names: dict[int, str] = {}  # the investor's name of the symbol, per settings instance
        opened_at, trader_id = pos.opened_at, t.id
        trader_equity, trader_leverage, trader_currency = t.equity, t.leverage, t.currency
        proportional_fast = trader_equity > 0 and trader_leverage > 0 and trader_volume > 0
        # §4.5.2 across currencies: per investor currency, (den, te x num x tl) with num / den
        # the trader's currency in the investor's (equity_fraction): one conversion per deal.
        sides: dict[str, tuple[Decimal, Decimal]] = {}
        # (fixed?, str(parameter)) -> decision: 0.004 and 0.0040 are equal Decimals, but each
        # subscription's refusal prints its own figure (`raw_volume`)
        by_param: dict[tuple[bool, str], VolumeDecision] = {}
        by_settings: dict[int, VolumeDecision] = {}  # ... and per shared settings instance (no str per copy)
        ratios: dict[str, tuple[Decimal, Decimal] | None] = {}  # balance_ratio: per investor currency
        opposite = side.opposite  # a reversed copy's side
        guard_quote = quote if spec.point > 0 else None  # the price guard's market, if any
        slipped: dict[Side, Decimal] = {}
        trader_balance = t.balance
        # The copy limits of §5 are the service's; a symbol may be stricter (indices trade in 0.1 lots).
        symbol_checks = (spec.volume_step != limits.step or spec.volume_min > limits.minimum
                         or spec.volume_max < limits.maximum)
        books, by_symbol = self._books, self._by_symbol.setdefault(symbol, {})
        active, equal_mode, opening = _ACTIVE, _EQUAL, _OPENING
        next_id = self.s.next_command
        for sub in subs:
            settings = sub.settings  # None: the seed's terms (the fast path)
            # the cheap all-pass test first (the hot path); the shared check decides the refusal
            if (sub.state is not active or ineligible is not None or disabled or not sub.online
                    or opened_at < sub.started_at or expired):
                refusal = self._eligibility_refusal(sub, t, ineligible, opened_at, now, expired_detail, False)
                if refusal is not None:
                    records.append(CopyRefused(now, sub.id, trader_id, ticket, refusal[0], refusal[1], None,
                                               refusal[2]))
                    continue
            copy_side = side
            name = trader_symbol
            if settings is not None:
                filtered = (filter_refusal(settings, trader_symbol, side, trader_volume, pos.magic)
                            if settings.filtering else None)
                if filtered is not None:
                    records.append(CopyRefused(now, sub.id, trader_id, ticket, filtered[0], filtered[1], None,
                                               filtered[2]))
                    continue
                if settings.reverse:
                    copy_side = opposite
                if settings.mapping:
                    name = names.get(id(settings)) or names.setdefault(id(settings),
                                                                       map_symbol(settings, trader_symbol))
            equity = sub.balance + sub.floating
            mode = sub.mode
            if mode is equal_mode:
                if equal is None:
                    equal = copy_volume(equal_mode, trader_volume, limits=limits)
                decision = equal
            elif mode is _PROPORTIONAL and equity > 0 and proportional_fast:
                # §4.5.2 from the current equities: the domain's formula with the trader's side
                # precomputed once per deal - (ie x il x tv x den) / (te x num x tl), one
                # division, same operands as `copy_volume` (a property test pins them equal) -
                # then the domain's §5 normalisation.
                side_terms = sides.get(sub.currency)
                if side_terms is None:
                    try:
                        num, den = equity_fraction(trader_currency, sub.currency, rates)
                    except DomainError as err:  # no quote links the two currencies yet
                        records.append(CopyRefused(now, sub.id, trader_id, ticket, err.code,
                                                   f"trader equity in {trader_currency}: {err.detail}", None,
                                                   {"from": trader_currency,
                                                                                   "to": sub.currency}))
                        continue
                    side_terms = sides[sub.currency] = (den, trader_equity * num * trader_leverage)
                den, denominator = side_terms
                decision = normalise(equity * sub.leverage * trader_volume * den / denominator, limits)
            elif mode is _PROPORTIONAL:
                decision = copy_volume(_PROPORTIONAL, trader_volume, investor_equity=equity,
                                       trader_equity=trader_equity, investor_leverage=sub.leverage,
                                       trader_leverage=trader_leverage, limits=limits,
                                       investor_currency=sub.currency, trader_currency=trader_currency,
                                       rates=rates)
            elif mode is _BALANCE_RATIO and sub.balance > 0 and trader_balance > 0:
                # investor balance / trader balance x trader volume: the domain's formula with the
                # trader's side precomputed once per deal, as for proportional (a property test
                # pins it equal to `copy_volume`)
                ratio_terms = ratios.get(sub.currency)
                if ratio_terms is None:
                    try:
                        num, den = equity_fraction(trader_currency, sub.currency, rates)
                    except DomainError:
                        num = None
                    ratio_terms = ratios[sub.currency] = None if num is None else (den, trader_balance * num)
                if ratio_terms is None:
                    decision = copy_volume(_BALANCE_RATIO, trader_volume, limits=limits, investor_balance=sub.balance,
                                           trader_balance=trader_balance, investor_currency=sub.currency,
                                           trader_currency=trader_currency, rates=rates)  # refused no_rate
                else:
                    decision = normalise(sub.balance * trader_volume * ratio_terms[0] / ratio_terms[1], limits)
            else:  # fixed, multiplier (balance_ratio without both balances): settings are set
                # fixed and multiplier depend on the deal and the parameter only: one decision per
                # distinct parameter in a deal, from the domain's copy_volume (the one formula)
                param = (settings.fixed_volume if mode is _FIXED else settings.multiplier  # type: ignore[union-attr]
                         if mode is _MULTIPLIER else None)
                decision = by_settings.get(id(settings)) if param is not None else None
                if decision is None:
                    if param is not None:
                        param_key = (mode is _FIXED, str(param))
                        decision = by_param.get(param_key)
                    if decision is None:
                        decision = copy_volume(mode, trader_volume, limits=limits,
                                               fixed_volume=settings.fixed_volume,  # type: ignore[union-attr]
                                               multiplier=settings.multiplier,  # type: ignore[union-attr]
                                               investor_balance=sub.balance, trader_balance=t.balance,
                                               investor_currency=sub.currency, trader_currency=trader_currency,
                                               rates=rates)
                        if param is not None:
                            by_param[param_key] = decision
                    if param is not None:
                        by_settings[id(settings)] = decision
            volume = decision.volume
            if volume is None:
                records.append(CopyRefused(now, sub.id, trader_id, ticket, decision.reason or "volume",
                                           f"copy volume {decision.raw} lots", None,
                                           self._volume_details(sub, t, decision, trader_volume)))
                continue
            if symbol_checks:
                problem = spec.volume_problem(volume)
                if problem is not None:
                    records.append(CopyRefused(now, sub.id, trader_id, ticket, "invalid_volume", problem, None,
                                               {
                                                   "volume": str(volume), "symbol_min": str(spec.volume_min),
                                                   "symbol_step": str(spec.volume_step),
                                                   "symbol_max": str(spec.volume_max)}))
                    continue
            if settings is not None and settings.max_slippage_points is not None and guard_quote is not None:
                points = slipped.get(copy_side)  # one figure per copy side in a deal
                if points is None:
                    points = slipped[copy_side] = slippage_points(copy_side, price, guard_quote, spec.point)
                if points > settings.max_slippage_points:
                    code, detail, details = slippage_refusal(settings, copy_side, price, guard_quote, spec.point)  # type: ignore[misc]
                    records.append(CopyRefused(now, sub.id, trader_id, ticket, code, detail, None, details))
                    continue
            notional = notionals.get((volume, sub.currency))
            if notional is None:  # one conversion per distinct volume and currency in a deal
                try:
                    notional = position_notional(spec, volume, price, sub.currency, rates)
                except DomainError as err:  # no rate yet for this account's currency: refused, not raised
                    records.append(CopyRefused(now, sub.id, trader_id, ticket, err.code, err.detail, None,
                                               {"volume": str(volume)}))
                    continue
                notionals[(volume, sub.currency)] = notional
            # Pre-trade check under the tiered model: the book takes the copy (reserving its
            # margin until the fill) and answers the account's total margin with it; equal to
            # `total_if_opened` by construction, one tier look-up instead of two.
            book = books[sub.id]
            try:
                required = book.open(ticket, group, notional)
            except DomainError as err:
                records.append(CopyRefused(now, sub.id, trader_id, ticket, err.code, err.detail, None,
                                           {"volume": str(volume)}))
                continue
            if equity < required:
                book.close(ticket)
                records.append(CopyRefused(now, sub.id, trader_id, ticket, "no_money",
                                           f"{volume} lots: equity {equity} < margin {required} after the copy", None,
                                           {"volume": str(volume), "equity": str(equity),
                                                                           "margin": str(required)}))
                continue
            sub.copies[ticket] = Copy(ticket, symbol, group, copy_side, volume, opening, 1, None, price, notional)
            by_symbol[sub.id] = sub
            # = idempotency_key(sub.id, ticket, "open", 1), inlined; opens need no Pending entry:
            # the key names the subscription and the trader position, the copy is OPENING.
            commands.append(new_tuple(OpenCopy, (next_id, f"s{sub.id}-t{ticket}-open-1", sub.id, sub.account,
                                                 ticket, name, copy_side, volume, price, expires_at)))
            next_id += 1
        self.s.next_command = next_id

    def _fan_out_mapped(self, t: TraderRecord, pos: TraderPosition, subs: list[Subscription] | tuple,
                        from_snapshot: bool, quote: tuple[Decimal, Decimal] | None, err: DomainError) -> None:
        """The trader's symbol is not in the catalog: a subscription whose mapping names a
        catalog symbol (its investor name, or that name without its prefix/suffix) copies that
        instrument; the others are refused `unknown_symbol` (nothing maps)."""
        now = self.s.now or 0
        catalog = self.rules.symbols
        groups: dict[str, list[Subscription]] = {}
        for sub in subs:
            s = sub.settings
            name = map_symbol(s, pos.symbol) if s is not None and s.mapping else pos.symbol
            found = next((n for n in (name, unmapped(s, name) if s is not None else name) if n in catalog), None)
            if found is None:
                details = {"symbol": pos.symbol} if name == pos.symbol else {"symbol": pos.symbol, "mapped": name}
                self._records.append(CopyRefused(now, sub.id, t.id, pos.ticket, err.code,
                                                 err.detail if name == pos.symbol else
                                                 f"{pos.symbol} maps to {name}: no such symbol", None, details))
            else:
                groups.setdefault(found, []).append(sub)
        for found, group in groups.items():
            self._fan_out(t, pos, group, from_snapshot, quote, instrument=found)

    def _volume_details(self, sub: Subscription, t: TraderRecord, decision: object,
                        trader_volume: Decimal) -> dict[str, str]:
        """The figures behind a volume refusal: the mode's inputs, the volume before rounding
        and the limit of seed §5 it hit."""
        limits = self.config.limits
        settings = sub.copy_settings
        raw, reason = decision.raw, decision.reason  # type: ignore[attr-defined]
        out = {"mode": sub.mode.value, "trader_volume": str(trader_volume),
               "raw_volume": "" if raw is None else str(raw)}
        if sub.mode is _PROPORTIONAL:
            out.update(investor_equity=str(sub.equity), trader_equity=str(t.equity),
                       investor_leverage=str(sub.leverage), trader_leverage=str(t.leverage))
        elif sub.mode is VolumeMode.BALANCE_RATIO:
            out.update(investor_balance=str(sub.balance), trader_balance=str(t.balance))
        elif sub.mode is VolumeMode.FIXED:
            out["fixed_volume"] = str(settings.fixed_volume)
        elif sub.mode is VolumeMode.MULTIPLIER:
            out["multiplier"] = str(settings.multiplier)
        if reason == "below_min_volume":
            out["limit"] = str(limits.reject_below)
        elif reason == "above_max_volume":
            out["limit"] = str(limits.maximum)
        return out

    def _on_trader_position_modified(self, e: ev.TraderPositionModified) -> None:
        t = self.s.traders.get(e.trader)
        pos = t.positions.get(e.ticket) if t else None
        if t is None or pos is None:
            return
        pos.sl, pos.tp = e.sl, e.tp
        default = self.config.mirror_stops  # the settings' default (item 5): the engine-wide switch
        for sub in self._trader_subs.get(t.id, ()):
            settings = sub.settings
            mirror = default if settings is None or settings.mirror_stop_changes is None \
                else settings.mirror_stop_changes
            if not mirror:
                continue  # §4.2: stops stay on the trader account; its trigger closes the copies
            copy = sub.copies.get(e.ticket)
            if copy is None or copy.close_reason:
                continue
            if copy.state is _OPENING:
                copy.stops_changed = True  # no investor ticket yet: sent at the fill (_copy_stops_at_fill)
            elif copy.state is _OPEN:
                self._send_stops(sub, copy, pos, "mirror_stops")

    def _send_stops(self, sub: Subscription, copy: Copy, pos: TraderPosition, reason: str) -> None:
        """A ModifyCopy putting the trader position's SL/TP on the copy."""
        copy.seq += 1
        key = idempotency_key(sub.id, pos.ticket, "modify", copy.seq)
        self.s.pending[key] = Pending(sub.id, pos.ticket, "modify", ZERO, reason)
        assert copy.ticket is not None
        # A reversed copy (settings.reverse when it opened) takes SL and TP swapped: the trader's
        # take-profit level is where it loses. Decided by the copy's side, not today's settings.
        sl, tp = (pos.sl, pos.tp) if copy.side is pos.side else (pos.tp, pos.sl)
        self._commands.append(ModifyCopy(self._next_id(), key, sub.id, sub.account, pos.ticket, copy.ticket,
                                         sl, tp))

    def _copy_stops_at_fill(self, sub: Subscription, copy: Copy) -> None:
        """Item 5: a filled copy takes the trader's SL/TP as they are now - with `copy_stops`
        (set at the trader's open or changed while the copy was opening), or, with it off, when
        the trader changed them while the copy was opening and `mirror_stop_changes` was on then
        (the change had no investor ticket to reach; it reaches the copy now)."""
        settings = sub.settings
        on = self.config.mirror_stops if settings is None or settings.copy_stops is None else settings.copy_stops
        changed, copy.stops_changed = copy.stops_changed, False
        if (not on and not changed) or copy.close_reason or copy.state is not _OPEN \
                or sub.copies.get(copy.trader_ticket) is not copy:
            return
        t = self.s.traders.get(sub.trader)
        pos = t.positions.get(copy.trader_ticket) if t is not None else None
        if pos is not None and (pos.sl is not None or pos.tp is not None):
            self._send_stops(sub, copy, pos, "copy_stops" if on else "mirror_stops")

    # ------------------------------------------------------------------ command results
    def _opening(self, key: str) -> tuple[Subscription, Copy] | None:
        """The copy an open key names, while it waits for its fill."""
        parts = key.split("-")
        if len(parts) != 4 or parts[2] != "open" or parts[3] != "1":
            return None
        try:
            sub = self.s.subscriptions.get(int(parts[0][1:]))
            ticket = int(parts[1][1:])
        except ValueError:
            return None
        copy = sub.copies.get(ticket) if sub is not None else None
        if copy is None or copy.state is not _OPENING:
            return None
        return sub, copy

    def _open_refused(self, sub: Subscription, copy: Copy, e: ev.CommandRefused) -> None:
        code = "expired" if e.retcode == RETCODE_EXPIRED else "server_refused"
        self._drop_opening(sub, copy, e.now, code, e.detail or f"retcode {e.retcode}", e.retcode)

    def _on_open_withdrawn(self, e: ev.OpenWithdrawn) -> None:
        found = self._opening(e.key)
        if found is not None:  # unknown, filled or already settled: nothing to undo
            self._drop_opening(*found, e.now, e.reason, _WITHDRAWN[e.reason])

    def _drop_opening(self, sub: Subscription, copy: Copy, now: int, code: str, detail: str,
                      retcode: int | None = None) -> None:
        """An open that will never fill: forget the copy and release the margin it reserved."""
        self._forget(sub, copy)
        self._drop_early_closes(sub)
        details = {"symbol": copy.symbol, "volume": str(copy.volume)}
        if retcode is not None:
            details["retcode"] = str(retcode)
        self._records.append(CopyRefused(now, sub.id, sub.trader, copy.trader_ticket, code, detail,
                                         retcode, details))
        self._maybe_finish(sub)

    def _opened(self, sub: Subscription, copy: Copy, e: ev.CommandFilled) -> None:
        copy.state = _OPEN
        copy.ticket = e.ticket
        if e.volume > 0:
            copy.volume = e.volume
        if e.price > 0:
            copy.price = e.price
        spec = self.rules.symbols.get(copy.symbol)
        copy.notional = position_notional(spec, copy.volume, copy.price, sub.currency, self._rates())
        self._books[sub.id].resize(copy.trader_ticket, copy.notional)
        assert e.ticket is not None
        self._records.append(CopyOpened(e.now, sub.id, copy.trader_ticket, e.ticket, copy.volume, copy.price))
        early = self.s.early_closes.get(sub.account)
        if early is not None:
            deals = early.pop(e.ticket, ())
            self._drop_early_closes(sub)
            for deal in deals:  # the server closed it before we heard of the fill
                self._closed(sub, copy, e.now, deal.volume, deal.price, deal.profit, f"server_{deal.reason}")
            if copy.trader_ticket not in sub.copies:
                return
        if copy.close_reason is not None:
            self._close_copy(sub, copy, copy.close_reason)
        elif copy.scale < ONE:
            fraction, copy.scale = ONE - copy.scale, ONE
            self._partial(sub, copy, fraction, "trader_client")
        self._copy_stops_at_fill(sub, copy)

