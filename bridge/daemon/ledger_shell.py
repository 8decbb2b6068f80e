"""A shard's money on the cluster ledger: the shell between a `DaemonCore` (its pure engine),
its fenced PostgreSQL journal (`PgStore`) and the ledger tables (ledger_pg.py). The rules are
in bridge/cluster/ledger.py; docs/scaling.md "Money that crosses shards" walks an example.

Two entry points replace the plain daemon's `core.on_admin` + `store.write(core.take_batch())`:

* `admin(request, ...)`: money ops. `subscribe` and a top-up (`change_investment` > 0) are
  funded from the ledger wallet first, in the transaction that journals the step; `deposit`,
  `withdraw`, `transfer` and `wallet` are the ledger's own (the shard's engine is not
  involved). Every other op goes to the core unchanged.
* `commit()`: journals the core's pending step, with the sweep of any money the step left
  in the engine's wallets (a stop's return, a commission, an IB credit) to the ledger.

Replay reads only the journal: the funding `WalletDeposited` and the sweep's `WalletWithdrawn`
are journaled events, so a recovered engine is the live one and no transfer is made twice.
Without a cluster ledger none of this runs: the engine's wallets stay authoritative.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from decimal import Decimal

from bridge.cluster import ledger as L
from bridge.cluster.directory import admin_moved
from bridge.copytrading import events as ev
from bridge.copytrading.records import WalletMovement
from bridge.daemon import admin, ledger_pg, wire
from bridge.daemon.config import DaemonConfig, StartupError
from bridge.daemon.core import DaemonCore
from bridge.daemon.store import Batch
from bridge.daemon.store_pg import PgStore

WALLET_TOPIC = wire.record_topic(WalletMovement(0, "", Decimal(0), Decimal(0), ""))
KEY_REUSED = "key_reused"
LEDGER_BUSY = "ledger_busy"  # the step was aborted (deadlock victim, serialization failure) RETRIES times
RETRIES = 3


def aborted_errors() -> tuple[type[Exception], ...]:
    """What PostgreSQL aborts a transaction with that the same transaction may then pass: a
    deadlock victim, a serialization failure (SQLSTATE class 40)."""
    import psycopg

    return psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure, psycopg.errors.TransactionRollback


class StepAborted(RuntimeError):
    """A sweep's step aborted RETRIES times: the engine is ahead of its journal, so the daemon
    stops (fail-stop, the next life recovers the journal) rather than go on."""


class _Investors:
    """subscription id -> investor, looked up in the engine (no copy of 10 000 rows)."""

    def __init__(self, core: DaemonCore) -> None:
        self.subs = core.engine.subscriptions

    def get(self, sub: object, default: object = None) -> object:
        found = self.subs.get(sub) if isinstance(sub, int) else None
        return default if found is None else found.investor


class ShardLedger:
    """One shard's side of the cluster ledger. `on_point(name)`: a test's crash point, called
    for each step that moves money with "step" (inside its transaction, before the commit) and
    "committed" (after the commit, before the reply or anything of the step goes out)."""

    def __init__(self, core: DaemonCore, store: PgStore, shard: str,
                 on_point: Callable[[str], None] = lambda name: None) -> None:
        if store.fence is None or store.fence[0] != shard:
            raise ValueError(f"the cluster ledger of shard {shard} needs that shard's fenced journal")
        self.core, self.store, self.shard, self.on_point = core, store, shard, on_point
        self._transfers: list[L.Transfer] = []  # the sweep of the batch taken, not yet written
        self._fed = False  # the step being run has fed the engine: it cannot be run again
        with store._thread_lock:  # noqa: SLF001 - before the loop runs: the main connection is free
            try:
                ledger_pg.ensure(store.conn)
            except Exception as exc:  # noqa: BLE001 - any driver error: one line, the daemon does not start
                raise StartupError(f"cluster ledger of shard {shard}: cannot create its tables "
                                   f"({' '.join(str(exc).split()) or type(exc).__name__}): run `mtbridge daemon "
                                   "--migrate` as the database's owner") from None

    # ------------------------------------------------------------------ admin requests
    def admin(self, request: object, key_name: str | None, now: int, mono_ns: int | None = None) -> dict:
        core = self.core
        if isinstance(request, (bytes, bytearray, memoryview)):
            request = admin.decode_frame(bytes(request), core.config.max_frame_size)
        # the envelope's `shard` (admin routing) is the core's to read: the op is what matters here
        parsed = admin.parse_request({k: v for k, v in request.items() if k != "shard"}
                                     if isinstance(request, dict) else request)
        name = parsed.op.name if isinstance(parsed, admin.AdminRequest) else ""
        if not self._authorised(key_name) or name not in L.FUNDED_OPS | L.LEDGER_OPS or self._moved(request):
            reply = core.on_admin(request, key_name, now, mono_ns)  # refused, moved, or no money in it
            self.commit()
            return reply
        assert isinstance(parsed, admin.AdminRequest)
        self.commit()  # the steps before this one, on their own
        if name in L.LEDGER_OPS:
            return self._retrying(parsed, lambda: self._ledger_op(parsed))
        need = L.funding(name, parsed.args, _Investors(core))
        if need is not None and name == "subscribe" and parsed.args.get("trader") not in core.engine.traders:
            # a stale route (the trader is another shard's, or nobody's): the engine refuses
            # `unknown_trader` without money, and the id stays free for the shard that has it
            need = None
        if need is None:  # the engine refuses it by its own rules: no money moves
            reply = core.on_admin(request, key_name, now, mono_ns)
            self.commit()
            return reply
        return self._retrying(parsed, lambda: self._funded(request, parsed, key_name, now, mono_ns, *need))

    def _retrying(self, parsed: admin.AdminRequest, run: Callable[[], dict]) -> dict:
        """`run` (one step) again when PostgreSQL aborted it as a deadlock victim or a
        serialization failure: it rolled back before the engine saw anything (a step's only
        waits come before the engine runs: the wallet it debits). Still failing: a clean
        `refused` answer (code `ledger_busy`), nothing moved. Aborted after the engine was fed
        (cannot happen: a sweep never waits), the error goes on: the engine is ahead of its
        journal, and the daemon stops (fail-stop) rather than run the request twice."""
        for _attempt in range(RETRIES):
            self._fed = False
            try:
                return run()
            except aborted_errors() as exc:
                if self._fed:
                    raise
                why = " ".join(str(exc).split())[:200] or type(exc).__name__
        return admin.error_reply(admin.AdminError(parsed.id, admin.REFUSED, f"the cluster ledger aborted the step "
                                                  f"{RETRIES} times ({why}); nothing moved, send it again",
                                                  code=LEDGER_BUSY))

    def _funded(self, request: object, parsed: admin.AdminRequest, key_name: str | None, now: int,
                mono_ns: int | None, owner: str, amount: Decimal) -> dict:
        core, name = self.core, parsed.op.name
        intent = L.Transfer(L.request_key(name, parsed.id, self.shard, core.seq + 1), L.wallet(owner),
                            L.shard_account(self.shard), amount, name, self.shard,
                            L.request_digest(name, parsed.args))
        with self.store.step() as conn:
            result = ledger_pg.apply(conn, intent)
            if not result.first:  # a repeat: the first time's step is already in a journal
                if not result.transfer.same_as(intent):
                    return admin.error_reply(admin.AdminError(
                        parsed.id, admin.BAD_REQUEST, f"id {parsed.id!r}: ledger key {intent.key} was used for "
                        f"another transfer ({result.transfer.source} -> {result.transfer.target} "
                        f"{result.transfer.amount})", "id"))
                first = result.outcome or {}
                return admin.ok_reply(parsed.id, repeated=True, refused=first.get("refused"), seq=first.get("seq"),
                                      transfer=result.plain(), shard=self.shard)
            core.now = now
            self._fed = True
            if result.done:
                core.feed_engine(ev.WalletDeposited(now, owner, amount))
            # refused: the engine's wallet holds nothing, so it refuses `insufficient_funds` itself
            reply = core.on_admin(request, key_name, now, mono_ns)
            if not result.done and isinstance(reply.get("refused"), dict):
                reply["refused"]["detail"] += f" (the cluster ledger's {intent.source} has less than {amount})"
            ledger_pg.record_outcome(conn, intent.key, {"refused": reply.get("refused"), "seq": core.seq})
            self._write(conn, self._sweep())
            self.on_point("step")
        self.on_point("committed")
        reply["transfer"] = result.plain()
        return reply

    def _moved(self, request: object) -> bool:
        """[cluster] admin routing: the request concerns another shard (the core answers
        `moved`); no money may move here for it."""
        route = getattr(self.core, "route_admin", None)
        return route is not None and admin_moved(request, route(request)) is not None

    def _authorised(self, key_name: str | None) -> bool:
        core = self.core
        if core.insecure and key_name is None:
            return True
        entry = core.config.allow.by_name.get(key_name or "")
        return entry is not None and entry.role == "admin"

    def _ledger_op(self, parsed: admin.AdminRequest) -> dict:
        a, name = parsed.args, parsed.op.name
        with self.store.step() as conn:
            if name == "wallet":  # the admin API's reply, from the ledger
                owner = a.get("owner")
                if owner is not None:
                    page, more = [(owner, ledger_pg.balance(conn, L.wallet(str(owner))))], False
                else:
                    page, more = ledger_pg.wallet_page(conn, a.get("after"), a["limit"])  # type: ignore[arg-type]
                return admin.ok_reply(parsed.id, wallets=_wallets(page), more=more, ledger="cluster", shard=self.shard)
            # no text id (no client token): a key of its own, each such request is a new transfer
            once = f"{self.shard}:once:{uuid.uuid4().hex}" if not isinstance(parsed.id, str) else ""
            source, target = {"deposit": (L.EXTERNAL, L.wallet(str(a.get("owner")))),
                              "withdraw": (L.wallet(str(a.get("owner"))), L.EXTERNAL),
                              "transfer": (L.wallet(str(a.get("from_owner"))), L.wallet(str(a.get("to_owner"))))}[name]
            try:
                intent = L.Transfer(once or L.request_key(name, parsed.id, self.shard, 0), source, target,
                                    a["amount"], name, self.shard, L.request_digest(name, a))  # type: ignore[arg-type]
            except L.LedgerError as err:
                return admin.error_reply(admin.AdminError(parsed.id, admin.BAD_ARGS, str(err), "args"))
            result = ledger_pg.apply(conn, intent)
            if not result.first and not result.transfer.same_as(intent):
                return admin.error_reply(admin.AdminError(parsed.id, admin.BAD_REQUEST,
                                                          f"ledger key {intent.key} was used for another transfer",
                                                          "id"))
            refused = None if result.done else {"code": "insufficient_funds",
                                                "detail": f"{source} has less than {intent.amount}"}
            wallets = _wallets((acc[len(L.WALLET):], ledger_pg.balance(conn, acc))
                               for acc in (source, target) if L.is_wallet(acc))
        return admin.ok_reply(parsed.id, records=[], refused=refused, transfer=result.plain(), wallets=wallets,
                              shard=self.shard)

    # ------------------------------------------------------------------ steps and sweeps
    def commit(self) -> None:
        """Journal the core's pending step; money it left in engine wallets goes to the ledger
        in the same transaction."""
        batch = self.take_batch()
        if batch:
            self.write(batch)

    def take_batch(self) -> Batch:
        """The core's pending step with its sweep (the daemon's loop: `core.take_batch()`)."""
        self._transfers += self._sweep()
        return self.core.take_batch()

    def write(self, batch: Batch) -> None:
        """`batch` (from `take_batch`) and its sweep's transfers, in one transaction (the
        daemon's loop: `store.write(batch)`)."""
        transfers, self._transfers = self._transfers, []
        if not transfers:
            self.store.write(batch)
            return
        # a sweep is credits and this shard's own account: nothing in it can wait in a cycle;
        # aborted all the same, the same transaction again (the engine's step is in hand)
        for attempt in range(RETRIES):
            try:
                with self.store.step() as conn:
                    self._apply(conn, transfers)
                    with conn.cursor() as cur:
                        self.store.insert_batch(cur, batch)
                    self.on_point("step")
                break
            except aborted_errors() as exc:
                if attempt + 1 >= RETRIES:
                    raise StepAborted(f"shard {self.shard}: the cluster ledger aborted a step {RETRIES} times "
                                      f"({' '.join(str(exc).split())[:200]})") from None
        self.on_point("committed")

    def _write(self, conn, transfers: list[L.Transfer]) -> None:  # noqa: ANN001
        self._apply(conn, transfers)
        with conn.cursor() as cur:
            self.store.insert_batch(cur, self.core.take_batch())

    def _apply(self, conn, transfers: list[L.Transfer]) -> None:  # noqa: ANN001
        for t in transfers:
            result = ledger_pg.apply(conn, t)
            if not result.first or not result.done:  # keys are journal positions: never seen before
                raise L.LedgerError(f"shard {self.shard}: sweep {t.key} was {result.status} already; not written")

    def _sweep(self) -> list[L.Transfer]:
        """Feed out (journaled `WalletWithdrawn`) what this step credited to engine wallets;
        the transfers that put it in the ledger wallets."""
        core = self.core
        credited: dict[str, list[tuple[str, Decimal]]] = {}
        for _seq, topic, body in core.pending_batch().records:
            if topic == WALLET_TOPIC:
                m = json.loads(body)
                credited.setdefault(m["owner"], []).append((m["kind"], Decimal(m["amount"])))
        out: list[L.Transfer] = []
        for owner in sorted(credited):
            left = core.engine.wallets.balance(owner)
            if left > 0:
                core.feed_engine(ev.WalletWithdrawn(core.now, owner, left))
                out += L.sweep(self.shard, core.seq, owner, left, credited[owner])
        return out


def _wallets(rows: Iterable[tuple[str, Decimal]]) -> list[dict]:
    """The admin API's wallet rows (admin_queries.wallets)."""
    return [{"owner": owner, "balance": str(balance)} for owner, balance in rows]


def open_ledger(core: DaemonCore, store: object, config: DaemonConfig) -> ShardLedger | None:
    """The daemon's shard ledger when `[cluster] ledger = true`, else None (the engine's
    wallets stay authoritative: nothing of this module runs)."""
    cluster = config.cluster
    if cluster is None or not cluster.ledger:
        return None
    fence = getattr(store, "fence", None)
    assert isinstance(store, PgStore) and fence is not None, "[cluster] opens a shard's fenced journal"
    return ShardLedger(core, store, fence[0])
