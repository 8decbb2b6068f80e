"""Money that crosses shards (issue 16 §2, docs/scaling.md "Money that crosses shards"): the
pure half of the cluster ledger. No database, no clock: transfer intents as values, their
idempotency keys, and which of a shard's steps move money across the shard boundary.

The model. The cluster ledger (PostgreSQL, bridge/daemon/ledger_pg.py) holds every owner's
USD wallet (`wallet:<owner>`, never below zero) and one clearing account per shard
(`shard:<name>`: the money invested in that shard's subscriptions). A shard's engine keeps its
own wallets, but in a cluster they only ever hold money *in transit* inside one step:

* **funding** (subscribe, top-up): the shell debits the ledger wallet first (refused if that
  would overdraw it), then feeds the engine `WalletDeposited` (funded) before the request; a
  refused debit feeds nothing, so the engine's wallet is 0 and it refuses the request
  `insufficient_funds` by its own rule, journaled like any refusal;
* **sweep** (stop, take-back, commission, IB credit, rebate, a refused request's refund):
  after a step, whatever an owner's engine wallet holds is fed back out (`WalletWithdrawn`)
  and credited to the ledger wallet.

Both land in the same transaction as the journal step that carries the engine events, so a
step and its transfers commit together or not at all, and replay (which reads the journal,
never the ledger) never moves money again.

Example: investor I has 1 000 in the ledger; subscribe of 700 on shard s1 with request id
"r-17" (text: the client's idempotency token): transfer `req:subscribe:r-17` wallet:I -> shard:s1 700 (done), events
`WalletDeposited(I, 700)`, `Subscribe(... 700)`; the same request again (any daemon, any
shard): the key exists, nothing is applied twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from bridge.domain.money import round_money

WALLET = "wallet:"
SHARD = "shard:"
EXTERNAL = "external"  # deposits come from, withdrawals go to, the world outside the ledger
BROKER_IB = "broker:ib"  # IB credits and rebates are broker-funded (seed 003 §11)
MAX_KEY = 200
# wallet movement kinds (bridge/copytrading/records.py) paid from the broker, not the shard
BROKER_FUNDED = frozenset({"ib_credit", "rebate"})
# admin ops whose engine event needs the investor's money first, and the ledger-only ones
FUNDED_OPS = frozenset({"subscribe", "change_investment"})
LEDGER_OPS = frozenset({"deposit", "withdraw", "transfer", "wallet"})
ZERO = Decimal(0)


def wallet(owner: str) -> str:
    return WALLET + owner


def shard_account(shard: str) -> str:
    return SHARD + shard


def is_wallet(account: str) -> bool:
    """Only wallets have a floor (zero): shard, broker and external accounts are clearing."""
    return account.startswith(WALLET)


class LedgerError(ValueError):
    """A transfer that cannot be written (one line, nothing changed)."""


@dataclass(frozen=True, slots=True)
class Transfer:
    """One money movement between two ledger accounts, exactly once per `key`."""

    key: str
    source: str
    target: str
    amount: Decimal
    kind: str
    shard: str
    # digest of the whole request that claimed the key (`request_digest`); "" for a sweep's
    # keys (journal positions, never repeated) and transfers written before schema step 6
    request: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.key or len(self.key) > MAX_KEY:
            raise LedgerError(f"transfer key must be 1-{MAX_KEY} characters, got {len(self.key)}")
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite() or self.amount <= 0 \
                or self.amount != round_money(self.amount):
            raise LedgerError(f"transfer {self.key}: amount {self.amount} must be positive whole cents")
        if self.source == self.target:
            raise LedgerError(f"transfer {self.key}: {self.source} cannot pay itself")
        for account in (self.source, self.target):
            if not account or account.endswith(":"):
                raise LedgerError(f"transfer {self.key}: account {account!r} has no owner")

    def same_as(self, other: Transfer) -> bool:
        """The same request again (a repeat), not a key reused for another one: the same
        movement, and (where both know it) the same request digest -- two subscribes of one
        investor and amount to two traders move the same money but are different requests."""
        if self.request and other.request and self.request != other.request:
            return False
        return (self.source, self.target, self.amount, self.shard) == (other.source, other.target, other.amount,
                                                                       other.shard)


@dataclass(frozen=True, slots=True)
class TransferResult:
    """What the ledger did with a key: `done` or `refused` (it would overdraw the source
    wallet). `first`: False when the key was already there (a repeat: nothing was moved now,
    this is the first time's result)."""

    transfer: Transfer
    status: str
    first: bool
    # what the request's first run answered, stored with the key (`refused`: the engine's or
    # the ledger's refusal, None: it ran; `seq`: its journal step), for a repeat to answer the same
    outcome: dict | None = None

    @property
    def done(self) -> bool:
        return self.status == "done"

    def plain(self) -> dict:
        t = self.transfer
        return {"key": t.key, "from": t.source, "to": t.target, "amount": str(t.amount), "kind": t.kind,
                "shard": t.shard, "status": self.status, "repeated": not self.first}


def request_key(op: str, request_id: object, shard: str, seq: int) -> str:
    """The idempotency key of a request's funding. A *text* request id is the client's
    idempotency token (a UUID, say): the same on every daemon and shard, so a request retried
    after a failover, or sent to two daemons, is one transfer. A number (the admin client's
    per-connection counter 1, 2, 3 ...) or none is not unique beyond its connection: the key is
    then the journal position the step takes in this shard (exactly once per step, the
    transfer commits with it; a retry of such a request is a new request)."""
    if isinstance(request_id, str):
        return f"req:{op}:{request_id}"[:MAX_KEY]
    return f"{shard}:{seq}:{op}"


def request_digest(op: str, args: Mapping[str, object]) -> str:
    """The fingerprint of one request: op and every argument (as the admin table converted
    them, defaults in), canonical JSON, SHA-256. Two requests with one id and different
    digests are two requests, whatever money they move."""
    text = json.dumps({"op": op, "args": {k: _canonical(v) for k, v in args.items()}}, sort_keys=True,
                      separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical(value: object) -> object:
    """A converted argument as plain JSON: a decimal's value (700 and 700.00 are one amount),
    an enum's value, sets sorted."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, Enum):
        return _canonical(value.value)
    if isinstance(value, (set, frozenset)):
        return sorted((_canonical(v) for v in value), key=repr)
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    return value


def funding(op: str, args: Mapping[str, object], investors: Mapping[int, str]) -> tuple[str, Decimal] | None:
    """(owner, USD amount) a request needs moved from the ledger wallet into this shard first,
    or None. `investors`: subscription id -> investor (a top-up names the subscription). A
    request the engine will refuse anyway (unknown subscription, bad amount) needs nothing."""
    if op == "subscribe":
        owner, amount = args.get("investor"), args.get("amount")
    elif op == "change_investment":
        owner, amount = investors.get(args.get("subscription")), args.get("amount")  # type: ignore[arg-type]
    else:
        return None
    if not isinstance(owner, str) or not isinstance(amount, Decimal) or not amount.is_finite() \
            or amount <= 0 or amount != round_money(amount):
        return None
    return owner, amount


def sweep(shard: str, seq: int, owner: str, balance: Decimal, credited: Iterable[tuple[str, Decimal]]
          ) -> list[Transfer]:
    """The transfers that take `balance` (an owner's engine wallet, fed out as journal event
    `seq`) to the owner's ledger wallet: the broker-funded part (IB credits and rebates among
    this step's `credited` (kind, amount)) from `broker:ib`, the rest from the shard. Keys are
    the event's journal position: unique in the shard, exactly once with the step."""
    if balance <= 0:
        return []
    kinds = sorted({k for k, a in credited if a > 0 and k != "deposit"})  # a deposit here: a refused funding
    broker = min(balance, sum((a for k, a in credited if k in BROKER_FUNDED and a > 0), ZERO))
    out = []
    if broker > 0:
        out.append(Transfer(f"{shard}:{seq}:ib", BROKER_IB, wallet(owner), broker,
                            "+".join(k for k in kinds if k in BROKER_FUNDED), shard))
    rest = balance - broker
    if rest > 0:
        out.append(Transfer(f"{shard}:{seq}", shard_account(shard), wallet(owner), rest,
                            "+".join(k for k in kinds if k not in BROKER_FUNDED) or "refund", shard))
    return out
