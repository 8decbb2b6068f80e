"""The engine side of the risk limits (issue 15 item 8; figures in limits.py).

Each subscription whose settings have a limit keeps a day base, the end of its server day
(the engine's server time zone, `EngineConfig.server_timezone`) and a peak. Checked after the
seed's investment protection on every equity change (ticks, account updates). The day rolls
over lazily but *before* the first equity change after the server midnight (a tick, an account
update, a close; a fan-out too): equity moves only at events, so the equity just before that
change is the equity at the midnight - the new day's base - and a gap on the day's first tick
counts against the new day. Stamped with the midnight itself, so the result does not depend on
when the engine looks.
"""

from __future__ import annotations

from bridge.copytrading import limits as lim
from bridge.copytrading.base import _ACTIVE, EngineBase
from bridge.copytrading.records import RiskLimitReset, RiskLimitTriggered, SubscriptionStopping
from bridge.copytrading.subscription import Subscription, SubState
from bridge.domain.servertime import HOUR_MS

_CLOSE_ONLY = SubState.CLOSE_ONLY
_LIMIT_SUSPENDED = SubState.LIMIT_SUSPENDED
_NEXT_DAY_MS = 26 * HOUR_MS  # past the next server midnight whatever the day's length (23 to 25 h)


class RiskLimits(EngineBase):
    def _start_limits(self, sub: Subscription, now: int) -> None:
        """Limits set where there were none: the day and the peak start at the current equity."""
        equity = sub.balance + sub.floating
        sub.day_base = sub.peak = equity
        sub.day_end = self._next_midnight(now)

    def _next_midnight(self, now: int) -> int:
        tz = self.config.server_timezone
        return tz.server_midnight(tz.server_midnight(now) + _NEXT_DAY_MS)

    def _roll_day(self, sub: Subscription, now: int) -> None:
        """A new server day: the day base is the equity now - callers roll before they apply an
        equity change, so it is the equity at the midnight; a daily-loss trip (close_only or
        suspended) is lifted (journaled `RiskLimitReset`, stamped with the midnight)."""
        if not sub.day_end or now < sub.day_end:
            return
        tz = self.config.server_timezone
        midnight = tz.server_midnight(now)
        sub.day_base = sub.balance + sub.floating
        sub.day_end = self._next_midnight(now)
        if sub.limit_hit == lim.DAILY_LOSS and (sub.state is _CLOSE_ONLY or sub.state is _LIMIT_SUSPENDED):
            sub.state, sub.limit_hit = _ACTIVE, None
            self._records.append(RiskLimitReset(midnight, sub.id, lim.DAILY_LOSS, sub.day_base, sub.state.value))

    def _check_limits(self, sub: Subscription) -> bool:
        """True when a limit closed the copies (the caller stops checking this subscription)."""
        settings = sub.settings
        if settings is None or not settings.limited or not sub.day_end:
            return False
        now = self.s.now or 0
        self._roll_day(sub, now)  # rolled already by the equity change's handler; kept for any other caller
        state = sub.state
        if state is not _ACTIVE and state is not _CLOSE_ONLY:
            return False
        equity = sub.balance + sub.floating
        if equity > sub.peak:
            sub.peak = equity
        for hit in (lim.check(lim.DAILY_LOSS, settings.daily_loss_limit, settings.daily_loss_unit,
                              settings.daily_loss_action, sub.day_base, equity),
                    lim.check(lim.MAX_DRAWDOWN, settings.max_drawdown, settings.max_drawdown_unit,
                              settings.max_drawdown_action, sub.peak, equity)):
            if hit is None or (state is _CLOSE_ONLY and hit.action is lim.LimitAction.STOP_OPENING):
                continue  # already close_only: only a closing action changes anything
            return self._trip(sub, hit, now)
        return False

    def _trip(self, sub: Subscription, hit: lim.LimitHit, now: int) -> bool:
        action = hit.action
        if action is lim.LimitAction.STOP_OPENING:
            sub.state = _CLOSE_ONLY
        elif action is lim.LimitAction.CLOSE_AND_SUSPEND:
            sub.state = _LIMIT_SUSPENDED
        else:
            sub.state = SubState.STOPPING
            sub.stop_by = hit.limit
        sub.limit_hit = hit.limit
        self._records.append(RiskLimitTriggered(now, sub.id, hit.limit, action.value, hit.equity, hit.base, hit.loss,
                                                hit.allowed, hit.value, hit.unit.value, sub.state.value))
        self._cancel_orders_of(sub, hit.limit)  # type: ignore[attr-defined]  # close_only opens nothing, orders neither
        if action is lim.LimitAction.STOP_OPENING:
            return False
        if action is lim.LimitAction.CLOSE_AND_STOP:
            self._records.append(SubscriptionStopping(now, sub.id, len(sub.copies)))
        for ticket in sorted(sub.copies):
            self._close_copy(sub, sub.copies[ticket], hit.limit)
        if action is lim.LimitAction.CLOSE_AND_STOP:
            self._maybe_finish(sub)
        return True

    def _limit_refusal(self, sub: Subscription, now: int) -> tuple[str, str, dict[str, str]]:
        """The refusal of a deal while a limit holds: the limit's code and today's figures."""
        settings = sub.copy_settings
        equity = sub.balance + sub.floating
        if sub.limit_hit == lim.MAX_DRAWDOWN:
            value, unit, base = settings.max_drawdown, settings.max_drawdown_unit, sub.peak
        else:
            value, unit, base = settings.daily_loss_limit, settings.daily_loss_unit, sub.day_base
        code = sub.limit_hit or lim.DAILY_LOSS
        details = {"state": sub.state.value, "limit": code, "equity": str(equity), "base": str(base),
                   "loss": str(base - equity)}
        if value is not None:
            details.update(allowed=str(lim.allowed(value, unit, base)), value=str(value), unit=unit.value)
        what = "daily loss" if code == lim.DAILY_LOSS else "drawdown"
        return code, f"subscription is {sub.state.value}: {what} {base - equity} reached its limit", details
