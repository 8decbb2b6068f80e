"""Judging a scenario's copies: made once, in time, or refused with a reason on the feed."""

from __future__ import annotations

from collections import Counter
from typing import Any

from benchmarks.chaos.terminals import Terminal
from benchmarks.chaos.world import World


def judge(world: World, terminals: list[Terminal], tickets: list[int]) -> dict[str, Any]:
    """Copies of `tickets` on the logins of `terminals`: made, duplicated, late, refused."""
    made: Counter = Counter()
    late_exec = 0
    latencies: list[float] = []
    logins = [x for t in terminals for x in t.logins]
    want = {(login, tk) for login in logins for tk in tickets}
    for t in terminals:
        assert t.ex is not None
        for o in t.ex.executed():
            if (o.login, o.trader_ticket) not in want:
                continue
            made[(o.login, o.trader_ticket)] += 1
            late_exec += o.late
            sent = world.book.sent_ns.get(o.trader_ticket)
            if sent is not None:
                latencies.append((o.recv_ns - sent) / 1e6)
    refused = world.refusals()
    not_made = want - set(made)
    refused_codes = Counter(refused[k] for k in not_made if k in refused)
    return {
        "expected": len(want), "made": len(made), "duplicated": sum(n - 1 for n in made.values()),
        "late_executed": late_exec, "not_made": len(not_made),
        "not_made_unrefused": sum(1 for k in not_made if k not in refused),
        "refused_by_code": dict(refused_codes), "latencies_ms": latencies,
    }


def executed_for(terms: list[Terminal], ticket: int) -> int:
    """Opens of the trader's `ticket` executed on `terms` (every login, every arrival)."""
    return sum(1 for t in terms if t.ex for o in t.ex.opens if o.trader_ticket == ticket and o.executed)


def settled(world: World, terms: list[Terminal], tickets: list[int]) -> bool:
    """Every (login, ticket) executed or refused on the feed."""
    done = {(o.login, o.trader_ticket) for t in terms if t.ex for o in t.ex.opens if o.executed}
    refused = world.refusals()
    return all((x, tk) in done or (x, tk) in refused for t in terms for x in t.logins for tk in tickets)
