"""Do the cluster ledger's books balance? The pure half of `mtbridge cluster ledger check`
(docs/scaling.md "Checking the books"): facts read from PostgreSQL in, a list of differences
out (empty: consistent). No database, no clock.

What is checkable, and how:

1. **Each account against its transfers.** A tracked account's balance (`ledger_accounts`)
   equals the done transfers into it minus the done transfers out of it; a wallet is never
   below zero. `external` and `broker:ib` keep no row: their figure is only reported.
2. **Each key once.** `ledger_transfers.key` is the primary key, so a second row is
   impossible while the constraint stands; the check still counts (a dropped or disabled
   constraint, a restored dump) and names any key seen twice.
3. **Each shard account against its journal.** A shard's engine wallets only hold money in
   transit: money enters the shard's engine as a journaled `WalletDeposited` (a funded
   subscribe or top-up) and leaves as a journaled `WalletWithdrawn` (a stop's return, a
   commission, an IB credit, an adopted pre-ledger wallet). IB credits and rebates are created
   by the engine and paid by `broker:ib`, not by the shard. So what the journal says the
   shard's subscriptions hold (money in minus money out, a gain making it negative) is

       sum(WalletDeposited) - sum(WalletWithdrawn) + broker-funded sweeps (`S:<seq>:ib`)

   and `shard:S` must equal it. A shard with money from before `ledger = true` differs by
   that money until `adopt-wallets` books it (its wallets, then the opening `S:opening`).
4. **Each sweep against its journal event.** A sweep or adoption key names the journal seq
   of its `WalletWithdrawn` (`S:<n>`, `S:<n>:ib`, `S:<n>:adopt`): that event must exist with
   the same owner and the transfers' sum; a numbered funding key `S:<n>:<op>` names its
   `WalletDeposited`. (A funding keyed by the client's text id, `req:<op>:<id>`, names no
   seq: only the sum of point 3 covers it.)

Not checkable here: that a shard's engine wallets are 0 between steps (that needs the engine
replayed; `adopt-wallets` reports and moves what they hold), and which request a text-keyed
funding was (the journal keeps the engine's events, not the admin ids).

Example: wallet:I 300, shard:s1 700 and transfers `req:deposit:d` external -> wallet:I 1000,
`req:subscribe:a` wallet:I -> shard:s1 700; s1's journal: `WalletDeposited(I, 700)`: no
difference. Lose the subscribe's journal step and the check says
`shard:s1: ledger 700.00, its journal says 0.00 (deposited 0.00 - withdrawn 0.00 + broker-funded
0.00): 700.00 more in the ledger` (and, while s1 has no opening, the hint to adopt pre-ledger money).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from bridge.cluster.ledger import EXTERNAL, SHARD, is_wallet, shard_account, wallet

ZERO = Decimal(0)
CENT = Decimal("0.01")


def money(x: Decimal) -> str:
    return str(x.quantize(CENT))


@dataclass(frozen=True, slots=True)
class Event:
    """A wallet event of a shard's journal: `WalletDeposited` or `WalletWithdrawn`."""

    seq: int
    type: str
    owner: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Moved:
    """A done transfer as the check needs it."""

    key: str
    source: str
    target: str
    amount: Decimal
    shard: str


@dataclass(frozen=True, slots=True)
class ShardFacts:
    """One shard: its journal's wallet event sums; its done transfers keyed by a journal seq
    (`keyed`) and the events they name (seq -> event; absent: no wallet event at that seq);
    what `broker:ib` paid for its sweeps; whether its opening is booked."""

    shard: str
    deposited: Decimal
    withdrawn: Decimal
    keyed: tuple[Moved, ...] = ()
    named: Mapping[int, Event] = field(default_factory=dict)
    broker: Decimal = ZERO
    opened: bool = False


@dataclass
class Books:
    differences: list[str]
    summary: list[str]

    @property
    def ok(self) -> bool:
        return not self.differences


def seq_key(shard: str) -> re.Pattern[str]:
    """`S:<n>`, `S:<n>:ib`, `S:<n>:adopt`, `S:<n>:<op>` -> (n, suffix)."""
    return re.compile(rf"^{re.escape(shard)}:(\d+)(?::([a-z_]+))?$")


def named_seqs(shard: str, keys: Iterable[str]) -> set[int]:
    """The journal seqs a shard's transfer keys name (what to read of its journal)."""
    pattern = seq_key(shard)
    return {int(m.group(1)) for k in keys if (m := pattern.match(k))}


def check(accounts: Mapping[str, Decimal], flow: Mapping[str, Decimal], done: int,
          duplicate_keys: Mapping[str, int], shards: Iterable[ShardFacts]) -> Books:
    """`flow`: per account, its done transfers in minus out; `done`: how many done transfers."""
    diffs: list[str] = []
    untracked = {EXTERNAL, "broker:ib"}
    for account in sorted(set(accounts) | (set(flow) - untracked)):
        have, want = accounts.get(account), flow.get(account, ZERO)
        if have is None:
            diffs.append(f"{account}: no balance row, its transfers say {money(want)}")
        elif have != want:
            diffs.append(f"{account}: balance {money(have)}, its transfers say {money(want)} "
                         f"(difference {money(have - want)})")
        if have is not None and is_wallet(account) and have < 0:
            diffs.append(f"{account}: balance {money(have)} is below zero")
    for key, n in sorted(duplicate_keys.items()):
        diffs.append(f"transfer key {key}: {n} rows (a key is one transfer)")
    shard_lines = []
    for facts in sorted(shards, key=lambda f: f.shard):
        s = facts.shard
        says = facts.deposited - facts.withdrawn + facts.broker
        have = accounts.get(shard_account(s), ZERO)
        line = (f"{shard_account(s)}: ledger {money(have)}, its journal says {money(says)} (deposited "
                f"{money(facts.deposited)} - withdrawn {money(facts.withdrawn)} + broker-funded {money(facts.broker)})")
        shard_lines.append(line)
        if have != says:
            more = "more in the ledger" if have > says else "less in the ledger"
            hint = "" if facts.opened else \
                "; money from before `ledger = true`? run `mtbridge cluster ledger adopt-wallets`"
            diffs.append(f"{line}: {money(abs(have - says))} {more}{hint}")
        diffs += _pairs(s, facts.keyed, facts.named)
    summary = [f"accounts: {len(accounts)} ({sum(1 for a in accounts if is_wallet(a))} wallets, "
               f"{sum(1 for a in accounts if a.startswith(SHARD))} shard accounts); done transfers: {done}",
               *shard_lines,
               f"external: {money(flow.get(EXTERNAL, ZERO))} (withdrawals minus deposits, adoptions and openings); "
               f"broker:ib: {money(flow.get('broker:ib', ZERO))} (IB credits and rebates paid)"]
    return Books(diffs, summary)


def _pairs(shard: str, mine: Iterable[Moved], named: Mapping[int, Event]) -> list[str]:
    """Point 4 of the module doc: seq-keyed transfers against the journal events they name."""
    pattern = seq_key(shard)
    sweeps: dict[int, list[Moved]] = {}
    diffs = []
    for t in mine:
        m = pattern.match(t.key)
        if m is None:
            continue
        seq, suffix = int(m.group(1)), m.group(2)
        if suffix in (None, "ib", "adopt"):
            sweeps.setdefault(seq, []).append(t)
            continue
        event = named.get(seq)  # a numbered funding: wallet:I -> shard:S, WalletDeposited at seq
        if event is None or event.type != "WalletDeposited" or wallet(event.owner) != t.source \
                or event.amount != t.amount:
            diffs.append(f"transfer {t.key} ({t.source} -> {t.target} {money(t.amount)}): journal of {shard} has "
                         f"{_said(event)} at seq {seq}, not WalletDeposited of that owner and amount")
    for seq, group in sorted(sweeps.items()):
        event, total = named.get(seq), sum((t.amount for t in group), ZERO)
        owners = {t.target for t in group}
        if event is None or event.type != "WalletWithdrawn" or owners != {wallet(event.owner)} \
                or event.amount != total:
            keys = ", ".join(t.key for t in group)
            diffs.append(f"transfer {keys} (to {', '.join(sorted(owners))} {money(total)}): journal of {shard} has "
                         f"{_said(event)} at seq {seq}, not WalletWithdrawn of that owner and sum")
    return diffs


def _said(event: Event | None) -> str:
    return "nothing" if event is None else f"{event.type}({event.owner}, {money(event.amount)})"
