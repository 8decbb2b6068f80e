"""The read-only list queries of the admin API (`list_traders`, `list_subscriptions`,
`wallet`): engine state -> plain reply fields. Pure: reads the engine, changes nothing.

Each list is sorted by its id and paged: `after` (exclusive) and `limit` (bounded by the
table), `more` says a next page exists. Money as exact decimal text, as everywhere on the
admin API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from bridge.daemon.feed import subscription_row

T = TypeVar("T")


def _page(items: Iterable[T], key: Callable[[T], Any], after: object, limit: int) -> tuple[list[T], bool]:
    ordered = sorted(items, key=key)
    if after is not None:
        ordered = [x for x in ordered if key(x) > after]
    return ordered[:limit], len(ordered) > limit


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def list_traders(engine: Any, after: str | None, limit: int) -> dict:
    followers = {t: len(subs) for t, subs in engine._trader_subs.items()}
    page, more = _page(engine.traders.values(), lambda t: t.id, after, limit)
    return {"traders": [{
        "trader": t.id, "account": t.account, "account_type": t.account_type, "currency": t.currency,
        "leverage": t.leverage, "commission_pct": str(t.commission_pct), "cap_pct": _text(t.cap_pct),
        "disabled": t.disabled, "followers": followers.get(t.id, 0), "balance": str(t.balance),
        "equity": str(t.equity), "open_positions": len(t.positions), "trades": t.trades,
    } for t in page], "more": more}


def list_subscriptions(engine: Any, after: int | None, limit: int, trader: str | None, investor: str | None,
                       live_only: bool) -> dict:
    subs = (s for s in engine.subscriptions.values()
            if (trader is None or s.trader == trader) and (investor is None or s.investor == investor)
            and (not live_only or s.state.value != "stopped"))
    page, more = _page(subs, lambda s: s.id, after, limit)
    rows = [subscription_row(engine, s) for s in page]  # the feed's rows (subscription.update)
    return {"subscriptions": rows, "more": more}


def wallets(engine: Any, owner: str | None, after: str | None, limit: int) -> dict:
    balances = engine.wallets.balances
    if owner is not None:  # one wallet: an owner never seen has an empty one
        return {"wallets": [{"owner": owner, "balance": str(engine.wallets.balance(owner))}], "more": False}
    page, more = _page(balances.items(), lambda kv: kv[0], after, limit)
    return {"wallets": [{"owner": o, "balance": str(b)} for o, b in page], "more": more}


def copy_settings(engine: Any, subscription: int) -> dict | None:
    """`get_copy_settings`: the subscription's settings in force, or None if there is none."""
    sub = engine.subscriptions.get(subscription)
    if sub is None:
        return None
    settings = sub.copy_settings
    return {"subscription": sub.id, "mode": sub.mode.value, "settings": settings.to_dict(),
            "changed": settings.changed()}
