"""Dealer actions (the desk, through the admin API): suspend a subscription, close one copy or
all copies of one, and the audit record every action with an `actor` leaves in the journal."""

from __future__ import annotations

from bridge.copytrading import events as ev
from bridge.copytrading.base import _VANISHED, EngineBase
from bridge.copytrading.records import DealerAction, Refused, SubscriptionEdited
from bridge.copytrading.subscription import SubState

#: The close reason of a copy a dealer closed (CloseCopy.reason, record.copy_closed.reason).
DEALER_REASON = "dealer"

#: event type -> the admin op it is (DealerAction.action; a refusal's `request`).
ACTIONS: dict[type, str] = {ev.SuspendCopying: "suspend", ev.CloseOneCopy: "close_copy",
                            ev.CloseAllCopies: "close_copies", ev.Resume: "resume",
                            ev.StopCopying: "stop", ev.TraderDisabled: "disable_trader",
                            ev.SetCopySettings: "set_copy_settings"}


class Desk(EngineBase):
    def _on_suspend_copying(self, e: ev.SuspendCopying) -> None:
        sub = self._sub_for("suspend", e.subscription, None)
        if sub is None:
            return None
        if sub.state is SubState.DESK_SUSPENDED:
            return self._refuse("suspend", "already_suspended", f"subscription {sub.id} is suspended by the desk",
                                sub.id)
        sub.state = SubState.DESK_SUSPENDED  # from active or suspended by protection: the desk's word wins
        self._cancel_orders_of(sub, "desk_suspended")  # type: ignore[attr-defined]
        self._records.append(SubscriptionEdited(e.now, sub.id, sub.mode.value, sub.protection_pct, sub.state.value))
        return None

    def _on_close_one_copy(self, e: ev.CloseOneCopy) -> None:
        self._dealer_close(e.subscription, e.trader_ticket)

    def _on_close_all_copies(self, e: ev.CloseAllCopies) -> None:
        self._dealer_close(e.subscription, None)

    def _dealer_close(self, subscription: int, trader_ticket: int | None) -> None:
        request = "close_copies" if trader_ticket is None else "close_copy"
        sub = self._sub_for(request, subscription, None)
        if sub is None:
            return None
        if trader_ticket is None:
            tickets = sorted(t for t, c in sub.copies.items() if c.close_reason is None and c.state is not _VANISHED)
            if not tickets:
                return self._refuse(request, "no_open_copies", f"subscription {sub.id} has no copy to close", sub.id)
        else:
            copy = sub.copies.get(trader_ticket)
            if copy is None:
                return self._refuse(request, "unknown_copy", f"subscription {sub.id} has no copy of trader ticket "
                                                             f"{trader_ticket}", sub.id)
            if copy.close_reason is not None or copy.state is _VANISHED:
                why = copy.close_reason or "vanished"
                return self._refuse(request, "already_closing", f"the copy of trader ticket {trader_ticket} is "
                                                                f"already closing ({why})", sub.id)
            tickets = [trader_ticket]
        for ticket in tickets:  # an opening copy is closed as soon as it fills
            self._close_copy(sub, sub.copies[ticket], DEALER_REASON)
        return None

    def _audit(self, event: object) -> None:
        """After a step of an event with an `actor`: who asked what, and whether it was refused
        (the `record.refused` of the step)."""
        actor = getattr(event, "actor", None)
        if actor is None:
            return
        op = ACTIONS[type(event)]  # the admin op; its refusals name it
        refused = next((r.code for r in self._records if type(r) is Refused and r.request == op), None)
        # one op both disables and enables: the audit names what was done
        action = "enable_trader" if type(event) is ev.TraderDisabled and not event.disabled else op  # type: ignore[attr-defined]
        self._records.append(DealerAction(
            self.s.now or 0, action, actor, getattr(event, "subscription", None), getattr(event, "trader", None),
            getattr(event, "trader_ticket", None), refused))
