"""The cluster's directory, decided without I/O: which shard a new login goes to (placement)
and which daemon answers an admin request (admin routing).

Placement (docs/scaling.md "Directory maintenance"): a trader registered on a daemon goes to
the shard that daemon holds (the operator chooses the shard by choosing the daemon; `mtbridge
cluster assign` moves logins by hand); an investor account goes to its trader's shard, the
only place its copies can be made. The rows come from a journal step, so the shell writes
them in the step's own transaction: committed together or not at all.

Example: a step on shard s1 journals `TraderRegistered(trader="T", account=1001)` and the
record `SubscriptionStarted(account=3001, trader="T")` -> placements(...) =
([(1001, "s1"), (3001, "s1")], [("T", "s1")]).

Placement is insert-only: a login or trader name already placed in another shard stays
there (`mtbridge cluster assign` is the only way to move a row). Each shard's engine knows
only its own accounts, so the shell asks the directory before the engine sees a request that
would place something (`claims`, `placement_refusal`). Example: login 1001 is T1's account on
s1; `subscribe(investor="I2", trader="T2", account=1001)` served by s2 -> ("account_in_use",
"args.account", "account 1001 is placed in shard s1 ...") and the engine never sees it.

Admin routing: a request naming a trader (`args.trader`) goes to the trader's shard, one
naming an account login (`args.account`, `args.login`) to the login's shard, one carrying an
explicit `shard` (subscription ids are numbered per shard) to that shard; anything else is
answered where it arrives. Same outcomes as terminal routing: Serve / Redirect / NoOwner.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from bridge.cluster.lease import Lease
from bridge.cluster.routing import NoOwner, Redirect, Route, Serve

TRADER_REGISTERED = "TraderRegistered"  # the engine event's type name in the journal
SUBSCRIPTION_STARTED = "record.subscription_started"
REFUSED = "record.refused"


def placements(events: Iterable[tuple[int, int, str, str]], records: Iterable[tuple[int, str, str]],
               shard: str) -> tuple[list[tuple[int, str]], list[tuple[str, str]]]:
    """A journal step's new directory rows: (login -> shard, trader name -> shard). A
    registration the engine refused (a `record.refused` at the same seq) places nothing."""
    records = list(records)
    refused = {seq for seq, topic, _ in records if topic == REFUSED}
    logins: list[tuple[int, str]] = []
    traders: list[tuple[str, str]] = []
    for seq, _now, type_, body in events:
        if type_ == TRADER_REGISTERED and seq not in refused:
            data = json.loads(body)
            logins.append((int(data["account"]), shard))
            traders.append((str(data["trader"]), shard))
    for _seq, topic, body in records:
        if topic == SUBSCRIPTION_STARTED:
            logins.append((int(json.loads(body)["account"]), shard))
    return logins, traders


# the admin ops that place rows in the directory: (argument, what it is, the engine's own code
# for "taken", so a client handles a clash across shards as one inside a shard)
PLACING_OPS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "register_trader": (("trader", "trader", "duplicate_trader"), ("account", "account", "account_in_use")),
    "subscribe": (("account", "account", "account_in_use"),),
}


def claims(op: str, args: Mapping[str, object]) -> tuple[list[int], list[str]]:
    """The logins and trader names request `op` would place in the directory (none for the
    ops that place nothing). Example: register_trader(trader="T1", account=1001) -> ([1001], ["T1"])."""
    logins: list[int] = []
    traders: list[str] = []
    for arg, kind, _code in PLACING_OPS.get(op, ()):
        value = args.get(arg)
        if kind == "account" and isinstance(value, int) and not isinstance(value, bool):
            logins.append(value)
        elif kind == "trader" and isinstance(value, str):
            traders.append(value)
    return logins, traders


def placement_refusal(op: str, args: Mapping[str, object], logins: Mapping[int, str], traders: Mapping[str, str],
                      shard: str) -> tuple[str, str, str] | None:
    """(code, field, detail) when request `op`, served by `shard`, claims a login or trader
    name the directory places in another shard; None when it may go to the engine. `logins`
    and `traders` are the directory's rows for the `claims` (absent: not placed yet). Checked
    in the engine's order (the trader name, then the account)."""
    for arg, kind, code in PLACING_OPS.get(op, ()):
        value = args.get(arg)
        table: Mapping[Any, str] = logins if kind == "account" else traders
        placed = table.get(value)
        if placed is not None and placed != shard:
            return (code, f"args.{arg}", f"{kind} {value} is placed in shard {placed} (the cluster directory), not "
                    f"{shard}: a login or trader name belongs to one shard; only `mtbridge cluster assign` moves a "
                    "login between shards")
    return None


def admin_shard(request: object, directory: Mapping[int, str], traders: Mapping[str, str]) -> str | None:
    """The shard an admin request concerns, or None (answered where it arrives): an explicit
    `shard`, else `args.trader`'s shard, else `args.account` / `args.login`'s."""
    if not isinstance(request, dict):
        return None
    shard = request.get("shard")
    if isinstance(shard, str) and shard:
        return shard
    args = request.get("args")
    if not isinstance(args, dict):
        return None
    trader = args.get("trader")
    if isinstance(trader, str) and trader in traders:
        return traders[trader]
    for name in ("account", "login"):
        login = args.get(name)
        if isinstance(login, int) and not isinstance(login, bool) and login in directory:
            return directory[login]
    return None


def route_admin(request: object, directory: Mapping[int, str], traders: Mapping[str, str],
                leases: Mapping[str, Lease], mine: frozenset[str] | set[str], now: int) -> Route:
    """Serve here, Redirect(shard, owner's admin endpoint), or NoOwner(shard) (no live lease,
    or an owner without an admin endpoint). An unknown explicit shard is NoOwner too."""
    shard = admin_shard(request, directory, traders)
    if shard is None or shard in mine:
        return Serve()
    lease = leases.get(shard)
    if lease is None or not lease.owner or lease.expires_at <= now or not lease.admin:
        return NoOwner(shard)
    return Redirect(shard, lease.admin)


# admin replies of a cluster daemon (outside the admin table: a one-daemon deployment never sends them)
MOVED = "moved"
NO_OWNER = "no_owner"


def admin_moved(request: object, where: Route) -> dict | None:
    """None (serve here), or the `ok: false` reply sending the client to the shard's owner.
    Example: {"id": 7, "ok": false, "error": "moved", "shard": "s2", "admin": "tcp://10.0.0.2:5572",
    "detail": "shard s2 is served by the daemon at tcp://10.0.0.2:5572: send the request there"}."""
    if isinstance(where, Serve):
        return None
    rid = request.get("id") if isinstance(request, dict) else None
    if isinstance(where, Redirect):
        return {"id": rid, "ok": False, "error": MOVED, "shard": where.shard, "admin": where.endpoint,
                "detail": f"shard {where.shard} is served by the daemon at {where.endpoint}: send the request there"}
    return {"id": rid, "ok": False, "error": NO_OWNER, "shard": where.shard, "admin": "",
            "detail": f"shard {where.shard} has no live owner with an admin endpoint right now (a failover or "
                      "hand-over in progress, or an unknown shard): nothing was done; try again after a lease "
                      "duration"}
