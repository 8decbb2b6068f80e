"""Dealer actions on the dashboard, the pure part: which actions exist, what a form must hold,
the typed confirmation, the admin request each becomes, the words of its result, and the event
line of the audit record (`record.dealer_action`) in an account's event list.

The shell (`bridge.monitor.web_dealer`) checks the dealer, the CSRF token and the confirmation,
then sends the request through the shared admin client (`bridge.daemon.adminclient`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from bridge.cluster.config import NAME as SHARD_NAME
from bridge.monitor.labels import refusal_label
from bridge.monitor.model import WARN, _int

if TYPE_CHECKING:
    from bridge.monitor.state import MonitorState

SUBSCRIPTION, COPY, TRADER = "subscription", "copy", "trader"


@dataclass(frozen=True, slots=True)
class Action:
    name: str  # the form's `action`
    op: str  # the admin op
    label: str  # the button
    target: str  # subscription | copy | trader
    effect: str  # what happens, for the confirmation page
    fixed: Mapping[str, Any] = field(default_factory=dict)  # arguments every such request carries


ACTIONS: dict[str, Action] = {a.name: a for a in (
    Action("close_copy", "close_copy", "close this copy", COPY,
           "closes the investor's copy of this trader position at the market; the subscription keeps copying"),
    Action("close_copies", "close_copies", "close all copies", SUBSCRIPTION,
           "closes every open copy of the subscription at the market; it keeps copying the trader's next deals"),
    Action("suspend", "suspend", "suspend copying", SUBSCRIPTION,
           "refuses the trader's next deals for this subscription; open copies stay and follow the trader"),
    Action("resume", "resume", "resume copying", SUBSCRIPTION,
           "copies the trader's next deals again (lifts a desk or protection suspension)", {"requester": None}),
    Action("stop", "stop", "stop copying", SUBSCRIPTION,
           "closes every open copy, settles the commission and returns the funds to the investor's wallet; "
           "the subscription ends", {"requester": None, "close_open": True}),
    Action("disable_trader", "disable_trader", "disable trader", TRADER,
           "refuses the trader's next deals for every follower and new subscriptions; open copies still follow "
           "the trader's closes", {"disabled": True}),
    Action("enable_trader", "disable_trader", "enable trader", TRADER,
           "copies the trader's next deals again", {"disabled": False}),
)}  # fmt: skip

SUBSCRIPTION_ACTIONS = tuple(a for a in ACTIONS.values() if a.target == SUBSCRIPTION)
TRADER_ACTIONS = tuple(a for a in ACTIONS.values() if a.target == TRADER)

@dataclass(frozen=True, slots=True)
class Request:
    """A checked dealer action: the admin op with its arguments, and the text to type to confirm."""

    action: Action
    args: dict[str, Any]
    expected: str  # the confirmation the dealer must type
    subject: str  # "subscription 3", "the copy of trader ticket 555, subscription 3", "trader T1"
    shard: str = ""  # a cluster desk: the shard it is for (subscription ids are per shard); "" for one daemon

    def admin_args(self, actor: str) -> dict[str, Any]:
        return {**self.args, **self.action.fixed, "actor": actor}


def parse(form: Mapping[str, str]) -> Request | str:
    """The action form (`action`, `subscription`, `trader_ticket`, `trader`, and on a cluster
    desk `shard`) -> a Request, or a one-line reason it is not one. Nothing is sent for a bad form."""
    action = ACTIONS.get(form.get("action", ""))
    if action is None:
        return f"unknown action {form.get('action', '')[:40]!r}"
    shard = form.get("shard", "").strip()
    if shard and not SHARD_NAME.match(shard):  # the [cluster] rule for shard names
        return "shard: letters, digits and _ only, at most 40"
    req = _parse(action, form)
    if isinstance(req, str) or not shard:
        return req
    return replace(req, shard=shard, subject=f"{req.subject} of shard {shard}")


def _parse(action: Action, form: Mapping[str, str]) -> Request | str:
    if action.target == TRADER:
        trader = form.get("trader", "").strip()
        if not 1 <= len(trader) <= 64:
            return "trader: 1..64 characters"
        return Request(action, {"trader": trader}, trader, f"trader {trader}")
    sub = _uint(form.get("subscription", ""))
    if sub is None or sub < 1:
        return "subscription: a whole number >= 1"
    if action.target == SUBSCRIPTION:
        return Request(action, {"subscription": sub}, str(sub), f"subscription {sub}")
    ticket = _uint(form.get("trader_ticket", ""))
    if ticket is None:
        return "trader_ticket: a whole number >= 0"
    return Request(action, {"subscription": sub, "trader_ticket": ticket}, str(ticket),
                   f"the copy of trader ticket {ticket}, subscription {sub}")


def _uint(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() and len(text) <= 18 else None


def confirmed(request: Request, typed: str) -> bool:
    return typed.strip() == request.expected


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: str  # ok | refused | error
    text: str


def outcome(request: Request, reply: Mapping[str, Any] | None, failure: str = "") -> Outcome:
    """The words of an admin reply (None: no reply, `failure` says why)."""
    what = f"{request.action.label}, {request.subject}"
    if reply is None:
        return Outcome("error", f"{what}: {failure or 'no reply from the daemon'}")
    if not reply.get("ok"):
        return Outcome("error", f"{what}: {reply.get('error', '?')}: {reply.get('detail', '')}".rstrip(": "))
    refused = reply.get("refused")
    if refused:
        code = str(refused.get("code", "?"))
        return Outcome("refused", f"{what}: refused, {refusal_label(code)} ({code})")
    return Outcome("ok", f"{what}: done")


# ---------------------------------------------------------------------- the audit record on the feed
def on_dealer_action(s: MonitorState, b: Mapping[str, Any], ts: int) -> None:
    """`record.dealer_action` -> a line in the account's events (the trader's account for a trader)."""
    action = ACTIONS.get(str(b.get("action", "")))
    label = action.label if action else str(b.get("action", "?")).replace("_", " ")
    sid = b.get("subscription")
    sid = _int(sid) if sid is not None else None
    trader = b.get("trader")
    login = s.sub_login(sid)
    if login is None and trader is not None and str(trader) in s.traders:
        login = s.traders[str(trader)].account or None
    where = f"sub {sid}" if sid is not None else f"trader {trader}"
    if b.get("trader_ticket") is not None:
        where += f" trader ticket {b.get('trader_ticket')}"
    refused = b.get("refused")
    result = "done" if not refused else f"refused, {refusal_label(str(refused))}"
    s._count("dealer_actions")
    s._line(ts, "dealer_action", WARN, f"dealer {b.get('actor', '?')}: {label}, {where}: {result}", login=login,
            subscription=sid)
