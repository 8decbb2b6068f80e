"""Invariants of the daemon <-> terminal link over a `linkkit.LinkWorld`.

Plain functions over the world (`check_*`), each returning a list of violation strings;
`INVARIANTS` names them so a test can switch them one by one. The promise they check:

    every trader deal reaches every eligible investor exactly once, promptly (within its
    validity), or is refused with a reason (a `CopyRefused` record with a code); never late,
    never lost, never duplicated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable

from bridge.daemon.store_ahead import read_view
from linkkit import OPEN_TAG, LinkWorld
from simulator.server import DealInfo
from simulator.server import retcodes as rc

D = Decimal


# ---------------------------------------------------------------------- facts from the world
@dataclass(frozen=True)
class CopyDeal:
    login: int
    sub: int
    trader_ticket: int
    deal: DealInfo


def copy_open_deals(w: LinkWorld) -> list[CopyDeal]:
    """Every opening deal a copy command made on an investor account (by its comment tag)."""
    out = []
    for login in w.investors + w.spares:
        for d in w.server.history_deals(login):
            if d.entry != rc.DEAL_ENTRY_IN or d.magic != w.config.copy_magic:
                continue
            m = OPEN_TAG.match(d.comment)
            if m:
                out.append(CopyDeal(login, int(m.group(1)), int(m.group(2)), d))
    return out


def trader_opens(w: LinkWorld) -> dict[int, DealInfo]:
    """trader position ticket -> its opening deal."""
    return {d.position_id: d for d in w.server.history_deals(w.trader)
            if d.entry == rc.DEAL_ENTRY_IN and d.type in (rc.DEAL_TYPE_BUY, rc.DEAL_TYPE_SELL)}


def trader_final_close(w: LinkWorld) -> dict[int, DealInfo]:
    """trader position ticket -> the deal that closed it completely (closed positions only)."""
    open_now = {p.ticket for p in w.server.positions(w.trader)}
    out = {}
    for d in w.server.history_deals(w.trader):
        if d.entry in (rc.DEAL_ENTRY_OUT, rc.DEAL_ENTRY_OUT_BY) and d.position_id not in open_now:
            out[d.position_id] = d  # the last one wins
    return out


def journal_records(w: LinkWorld, topic: str) -> list[dict]:
    db = read_view(w.shell.path)  # the journal as a reader sees it: the write-ahead file included
    return [json.loads(b) for (b,) in db.execute("SELECT body FROM records WHERE topic = ? ORDER BY id", (topic,))]


# ---------------------------------------------------------------------- invariants
def check_no_duplicate(w: LinkWorld) -> list[str]:
    """1. Per (subscription, trader ticket) at most one executed open on the investor server."""
    seen: dict[tuple[int, int], list[int]] = {}
    for c in copy_open_deals(w):
        seen.setdefault((c.sub, c.trader_ticket), []).append(c.deal.ticket)
    return [f"duplicate copy: subscription {s} trader ticket {t} opened {len(v)} times (deals {v})"
            for (s, t), v in sorted(seen.items()) if len(v) > 1]


def check_not_late(w: LinkWorld) -> list[str]:
    """2. No open executes after its validity: deal time <= trader open time + validity."""
    opens = trader_opens(w)
    out = []
    for c in copy_open_deals(w):
        o = opens.get(c.trader_ticket)
        if o is None:
            continue
        late = c.deal.time_msc - o.time_msc
        if late > w.validity_ms:
            out.append(f"late copy: subscription {c.sub} trader ticket {c.trader_ticket} executed {late} ms "
                       f"after the trader's open (validity {w.validity_ms} ms)")
    return out


def check_not_after_close(w: LinkWorld) -> list[str]:
    """3. No open executes after its trader position closed, when the daemon could have known:
    an open executed after the trader's closing deal (deal tickets order the server) is a
    violation if the daemon first sent it at or after the moment it knew of the close. (An
    open already on the wire when the trader closes is a race no daemon can win; it is bounded
    by the validity, invariant 2.)"""
    closes = trader_final_close(w)
    shell = w.shell
    out = []
    for c in copy_open_deals(w):
        cl = closes.get(c.trader_ticket)
        if cl is None or c.deal.ticket < cl.ticket:
            continue
        knew = shell.known_closed.get(c.trader_ticket)
        sent = shell.first_sent.get(c.deal.comment)
        if knew is not None and sent is not None and sent >= knew:
            out.append(f"copy after close: subscription {c.sub} trader ticket {c.trader_ticket}: the daemon knew "
                       f"the trader closed at +{knew - w.t0} ms and sent the open at +{sent - w.t0} ms; executed "
                       f"(deal {c.deal.ticket}) after the trader's close (deal {cl.ticket})")
    return out


def check_not_before_subscription(w: LinkWorld) -> list[str]:
    """A trade opened before a subscription started is never copied to it (§4.1); trader
    times are server time, subscriptions start on the daemon's (UTC) clock."""
    opens = trader_opens(w)
    out = []
    for c in copy_open_deals(w):
        o = opens.get(c.trader_ticket)
        started = w.sub_started.get(c.sub)
        if o is None or started is None:
            continue
        opened_utc = o.time_msc
        if opened_utc < started:
            out.append(f"copied a trade opened before the subscription: subscription {c.sub} trader ticket "
                       f"{c.trader_ticket} opened {started - opened_utc} ms before it started")
    return out


def check_ledger(w: LinkWorld) -> list[str]:
    """5a. The engine's books balance to the cent: deposits - withdrawals + realised + IB
    credits == wallets + subscription balances."""
    sources, holdings = w.daemon.engine.ledger()
    if sources.quantize(D("0.01")) != holdings.quantize(D("0.01")):
        return [f"ledger off: sources {sources} != holdings {holdings}"]
    return []


def check_outcomes(w: LinkWorld) -> list[str]:
    """4a (quiescence). Each (eligible subscription, trader position) has exactly one outcome:
    one executed copy or one CopyRefused record with a code."""
    opens = trader_opens(w)
    executed: dict[tuple[int, int], int] = {}
    for c in copy_open_deals(w):
        executed[(c.sub, c.trader_ticket)] = executed.get((c.sub, c.trader_ticket), 0) + 1
    refused: dict[tuple[int, int], list[str]] = {}
    for r in journal_records(w, "record.copy_refused"):
        refused.setdefault((r["subscription"], r["trader_ticket"]), []).append(r.get("code") or "")
    out = []
    for ticket, deal in sorted(opens.items()):
        opened_utc = deal.time_msc
        for sub, started in sorted(w.sub_started.items()):
            if opened_utc < started:
                continue  # not eligible: opened before the subscription
            k = (sub, ticket)
            n_exec, codes = executed.get(k, 0), refused.get(k, [])
            if any(not c for c in codes):
                out.append(f"refusal without a code: subscription {sub} trader ticket {ticket}")
            if n_exec + len(codes) != 1:
                what = "lost (no copy, no refusal)" if n_exec + len(codes) == 0 else \
                    f"{n_exec} executed + {len(codes)} refused {codes}"
                out.append(f"outcome of subscription {sub} trader ticket {ticket}: {what}")
    return out


def check_no_orphan_copies(w: LinkWorld) -> list[str]:
    """4b (quiescence). No copy stays open on an investor server whose trader position is closed."""
    trader_open = {p.ticket for p in w.server.positions(w.trader)}
    out = []
    for login in w.investors + w.spares:
        for p in w.server.positions(login):
            m = OPEN_TAG.match(p.comment)
            if p.magic == w.config.copy_magic and m and int(m.group(2)) not in trader_open:
                out.append(f"orphan copy: account {login} position {p.ticket} copies trader ticket {m.group(2)}, "
                           "which is closed")
    return out


def check_belief(w: LinkWorld) -> list[str]:
    """4c (quiescence). The daemon's copy map equals what the investor servers hold, and no
    command is left pending."""
    belief: dict[tuple[int, int], tuple] = {}
    for sub, copies in w.daemon.copy_map().items():
        for tt, c in copies.items():
            belief[(int(sub), int(tt))] = (c["ticket"], D(c["volume"]), c["state"])
    held: dict[tuple[int, int], tuple] = {}
    for login in w.investors + w.spares:
        for p in w.server.positions(login):
            m = OPEN_TAG.match(p.comment)
            if p.magic == w.config.copy_magic and m:
                held[(int(m.group(1)), int(m.group(2)))] = (p.ticket, p.volume, "open")
    out = []
    for k in sorted(set(belief) | set(held)):
        b, h = belief.get(k), held.get(k)
        if b is None or h is None or b[0] != h[0] or b[1] != h[1] or b[2] != "open":
            out.append(f"belief != server for subscription {k[0]} trader ticket {k[1]}: daemon {b}, server {h}")
    trader = w.daemon.engine.traders.get("T")
    if trader is not None:
        engine_pos = {t: p.volume for t, p in sorted(trader.positions.items())}
        server_pos = {p.ticket: p.volume for p in w.server.positions(w.trader)}
        if engine_pos != server_pos:
            out.append(f"trader positions: daemon {engine_pos} != server {server_pos}")
    pending = sorted(k for k, p in w.daemon.pending.items() if p.row.type != "balance")
    if pending:
        out.append(f"commands still pending at quiescence: {pending}")
    return out


def check_realised(w: LinkWorld) -> list[str]:
    """5b (quiescence). Each subscription's realised result equals, to the cent, what its
    investor account's copy positions realised on the server."""
    out = []
    subs = w.daemon.engine.subscriptions
    for login, sub_id in sorted(w.sub_of.items()):
        deals = w.server.history_deals(login)
        copy_positions = {d.position_id for d in deals if d.entry == rc.DEAL_ENTRY_IN
                          and d.magic == w.config.copy_magic}
        server = sum((d.profit + d.swap + d.commission + d.fee for d in deals
                      if d.entry in (rc.DEAL_ENTRY_OUT, rc.DEAL_ENTRY_OUT_BY) and d.position_id in copy_positions),
                     D(0))
        sub = subs.get(sub_id)
        if sub is not None and sub.realised.quantize(D("0.01")) != server.quantize(D("0.01")):
            out.append(f"subscription {sub_id}: engine realised {sub.realised} != server {server}")
    return out


LINK_CODES = frozenset({"terminal_offline", "missed_while_disconnected"})


def check_refusals_justified(w: LinkWorld) -> list[str]:
    """A refusal blames the link (`terminal_offline`, `missed_while_disconnected`) only when the
    trader's or that investor's terminal really was away (disconnected or silent) around that
    time, or the daemon itself stopped for at least the offline limit (a pause that long cannot
    be bridged) - a shorter pause, a flood from another peer are the daemon's own doing;
    `opened_before_subscription` only when the trade was opened before the subscription."""
    opens = trader_opens(w)
    limit = w.config.heartbeat_ms * w.config.offline_after
    grace = 2 * limit + w.validity_ms + w.params.slice_ms
    inv_sub = {sub: login for login, sub in w.sub_of.items()}
    out = []
    for r in journal_records(w, "record.copy_refused"):
        code, sub, ticket, at = r.get("code"), r["subscription"], r["trader_ticket"], r["now"]
        if code in LINK_CODES:
            names = {"T", w.terminal_of.get(inv_sub.get(sub, -1), "")}
            windows = [x for n in names for x in w.faults.get(n, ())]
            windows += [(start, end) for start, end in w.daemon_outages if end - start >= limit]
            excused = any(start <= at <= end + grace for start, end in windows)
            if not excused:
                out.append(f"refused {code} with no terminal away: subscription {sub} trader ticket {ticket} "
                           f"at +{at - w.t0} ms")
        elif code == "opened_before_subscription":
            o = opens.get(ticket)
            started = w.sub_started.get(sub)
            if o is not None and started is not None and o.time_msc >= started:
                out.append(f"refused opened_before_subscription, but subscription {sub} started "
                           f"{o.time_msc - started} ms before trader ticket {ticket} opened")
    return out


def check_no_spurious_reconnect(w: LinkWorld) -> list[str]:
    """Liveness: a terminal gives up on its connection (daemon silent, sequence error) only when
    it or the daemon really was away (its own outage, a daemon pause or crash) shortly before.
    A flood from another peer is no excuse: it must not starve the others' heartbeats. The one
    excuse is the FIFO network's own: a hello still queued behind frames that must be read in
    arrival order (`LinkWorld.queued_behind`; LINK_MODEL_FINDINGS.md (d''))"""
    limit = w.config.heartbeat_ms * w.config.offline_after
    grace = 2 * limit + w.params.slice_ms
    out = []
    for at, name, why in w.reconnects:
        windows = list(w.faults.get(name, ())) + w.daemon_outages + w.queued_behind.get(name, [])
        if not any(start <= at <= end + grace for start, end in windows):
            out.append(f"{name} reconnected at +{at - w.t0} ms with nothing away: {why}")
    return out


Checker = Callable[[LinkWorld], list[str]]

#: checked after every step
ALWAYS: dict[str, Checker] = {
    "no_duplicate": check_no_duplicate,
    "not_late": check_not_late,
    "not_after_close": check_not_after_close,
    "not_before_subscription": check_not_before_subscription,
    "ledger": check_ledger,
    "refusals_justified": check_refusals_justified,
    "no_spurious_reconnect": check_no_spurious_reconnect,
}
#: checked at quiescence (after `LinkWorld.settle`)
AT_QUIESCENCE: dict[str, Checker] = {
    "outcomes": check_outcomes,
    "no_orphan_copies": check_no_orphan_copies,
    "belief": check_belief,
    "realised": check_realised,
}
INVARIANTS: dict[str, Checker] = {**ALWAYS, **AT_QUIESCENCE}


class InvariantViolation(AssertionError):
    pass


def check(w: LinkWorld, names: list[str] | set[str] | tuple[str, ...]) -> None:
    """Run the named checkers; raise InvariantViolation with every violation found."""
    problems = []
    for name in sorted(names):
        if name not in INVARIANTS:
            raise KeyError(f"unknown invariant {name!r} (known: {', '.join(INVARIANTS)})")
        problems += [f"[{name}] {p}" for p in INVARIANTS[name](w)]
    if problems:
        raise InvariantViolation("\n".join(problems[:20]))
