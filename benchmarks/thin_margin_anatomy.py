"""Which exact re-checks of the thin run can change the journal at all (issue 12 section 3).

`bench_simulator_ticks.py`'s thin case spends most of its CPU on exact re-checks of accounts in
margin call. Such a re-check journals only a stop-out or a `margin_call_cleared`; otherwise it
only places the account's next stop-out edges (its "chain" state). This script classifies the
re-checks of one thin run (same quotes and accounts as the benchmark) to show how many of them
the journal depends on:

* a *reset* re-check runs at a quote that does not depend on the chain: a stop-out (the first
  quote at or below the stop-out level is always re-checked, whatever the edges: they are
  conservative), an SL/TP/pending event of the account, the margin call itself, or a clear;
* a *chain* re-check is one of an account in margin call triggered by its own stop-out edge
  only. It journals nothing unless it clears; it matters only if, before the account's next
  reset, a quote comes where the margin level may be above the margin-call level (only there
  can a clear happen, and which quote clears depends on every chain step since the reset).

"May be above" is decided with a float equity per quote plus the per-position rounding (0.005
each) and a 1e-9 relative allowance, so the count of needed chain re-checks is an upper bound.
Slow (a float equity of every account in margin call on every quote of its symbols): about a
minute per 100 000 quotes.

    PYTHONPATH=. .venv/bin/python benchmarks/thin_margin_anatomy.py [--ticks 200000] [--thin-accounts 1000]

Prints the counts, then one line ``BENCH {json}``.
"""

from __future__ import annotations

import argparse
import bisect
import json
from collections import defaultdict

from bench_simulator_ticks import SYMBOLS, make_ticks, prepared
from bridge.domain.trading import Side
from simulator.server.state import _BAND, _RISK


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ticks", type=int, default=200_000)
    ap.add_argument("--thin-accounts", type=int, default=1000)
    args = ap.parse_args()
    ticks = make_ticks(args.ticks, seed=7)
    warm = len(SYMBOLS) * 2
    server = prepared("thin", ticks, warm, args.thin_accounts)
    accounts = server._accounts
    quote = [0]
    events_now: set[int] = set()  # logins with an SL/TP/pending event at this quote
    kinds: dict[int, list[tuple[int, str]]] = defaultdict(list)  # login -> (quote, kind) of re-checks
    dirty: set[int] = set()  # accounts whose float model must be rebuilt
    real_fire, real_refresh = server._fire, server._refresh_risk

    def fire(st, fired) -> None:
        for _, (kind, login, _) in fired:
            if kind not in (_RISK, _BAND):
                events_now.add(login)
        real_fire(st, fired)

    def refresh(acct) -> None:
        was_in_call, stop_outs = acct.in_call, server.journal.counts().get("stop_out", 0)
        real_refresh(acct)
        dirty.add(acct.login)
        stopped = server.journal.counts().get("stop_out", 0) != stop_outs
        if was_in_call:
            kind = ("reset" if acct.login in events_now or stopped
                    else "clear" if not acct.in_call else "chain")
            kinds[acct.login].append((quote[0], kind))
        elif acct.in_call:
            kinds[acct.login].append((quote[0], "reset"))  # the margin call

    server._fire = fire
    server._refresh_risk = refresh
    models: dict[int, tuple] = {}
    high: dict[int, list[int]] = defaultdict(list)  # login -> quotes where the level may be > MC
    for i, tick in enumerate(ticks[warm:]):
        quote[0] = i
        events_now.clear()
        server.on_tick(tick)
        for acct in accounts.values():
            if not acct.in_call or tick.symbol not in acct.exposure:
                continue
            model = models.get(acct.login)
            if model is None or acct.login in dirty:
                dirty.discard(acct.login)
                model = models[acct.login] = (
                    float(acct.balance + acct.credit + sum(p.swap for p in acct.positions.values())),
                    [(p.sym, p.side is Side.BUY, float(p.volume * p.sym.spec.contract_size), float(p.price_open),
                      float(p.sym.markup(acct.markup))) for p in acct.positions.values()],
                    float(acct.book.total), float(acct.type.margin_call_level), len(acct.positions))
            base, positions, margin, mc, n = model
            equity = base + 0.005 * n
            for st, buy, units, open_price, markup in positions:
                equity += (float(st.bid) - open_price) * units if buy else (open_price - float(st.ask) - markup) * units
            if equity * (1 + 1e-9) / margin * 100 > mc:
                high[acct.login].append(i)
    chain = needed = 0
    for login, seq in kinds.items():
        resets = [q for q, k in seq if k != "chain"]
        clears = {q for q, k in seq if k == "clear"}
        marks = high.get(login, [])
        for q, k in seq:
            if k != "chain":
                continue
            chain += 1
            j = bisect.bisect_right(resets, q)
            nxt = resets[j] if j < len(resets) else 1 << 62
            h = bisect.bisect_right(marks, q)
            if nxt in clears or (h < len(marks) and marks[h] < nxt):
                needed += 1
    resets_n = sum(1 for seq in kinds.values() for _, k in seq if k != "chain")
    print(f"quotes {len(ticks) - warm}, accounts {args.thin_accounts}: re-checks of accounts in margin call "
          f"(or entering it): {chain + resets_n:,}; resets {resets_n:,}; chain {chain:,}, of which the journal "
          f"can depend on at most {needed:,} ({needed / max(chain, 1):.1%})")
    print("BENCH " + json.dumps({"bench": "thin_margin_anatomy", "ticks": len(ticks) - warm,
                                 "accounts": args.thin_accounts, "resets": resets_n, "chain": chain,
                                 "chain_needed_at_most": needed}, separators=(",", ":")))


if __name__ == "__main__":
    main()
