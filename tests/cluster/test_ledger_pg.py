"""The cluster ledger on a real PostgreSQL (the session's throwaway server, tests/conftest.py).

"Money that crosses shards: investor wallets and partner (IB) credits live in a ledger in
PostgreSQL; subscribe, stop, commission payouts and partner credits are transactional,
idempotent transfers (exactly once even when two daemons race on the same request)."
(issue 16, section 2)"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

pytest.importorskip("psycopg")

from bridge.copytrading import events as ev  # noqa: E402
from bridge.daemon.core import DaemonCore  # noqa: E402
from bridge.domain.trading import Side  # noqa: E402
from ledgerkit import T0, Shard, config, ledger_rows, register_trader, take_shard, wait_for_a_blocked_session  # noqa: E402

HOUR = 3_600_000


def race(calls: list) -> list:
    """Run the calls at once, one thread each; their results in order (an error re-raised)."""
    results: list = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = calls[i]()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results


class HoldingUntilRaced:
    """A crash-point hook shared by the racers: the step that reaches its commit first keeps
    its transaction open until the other daemon's step is blocked behind it (once)."""

    def __init__(self, url: str) -> None:
        self.url, self.held, self.lock = url, False, threading.Lock()

    def __call__(self, name: str) -> None:
        with self.lock:
            first, self.held = name == "step" and not self.held, self.held or name == "step"
        if first:
            wait_for_a_blocked_session(self.url)


def test_two_daemons_racing_on_the_same_subscribe_request_move_the_money_once(pg_url: str) -> None:
    token = take_shard(pg_url, "s1")
    # the worst case: two writers that both pass the fence (same shard, same token), each
    # with its own connection, get the same request (id "r-1") at the same moment
    hold = HoldingUntilRaced(pg_url)
    d1 = Shard(pg_url, "s1", token, hold)
    assert d1.admin("deposit", "dep-1", owner="I", amount="1000")["ok"]
    register_trader(d1, "T", 1001)
    d2 = Shard(pg_url, "s1", token, hold)  # recovered from the same journal
    replies = race([lambda d=d: d.admin("subscribe", "r-1", investor="I", trader="T", account=2001, amount="700")
                    for d in (d1, d2)])

    first = [r for r in replies if not r.get("repeated")]
    repeat = [r for r in replies if r.get("repeated")]
    assert len(first) == 1 and len(repeat) == 1, replies
    assert first[0]["refused"] is None and first[0]["transfer"]["status"] == "done"
    assert repeat[0]["transfer"] == {**first[0]["transfer"], "repeated": True}
    transfers, balances = ledger_rows(pg_url)
    assert [t for t in transfers if t[0] == "req:subscribe:r-1"] == [
        ("req:subscribe:r-1", "wallet:I", "shard:s1", Decimal("700"), "done")]
    assert balances["wallet:I"] == Decimal("300") and balances["shard:s1"] == Decimal("700")
    # exactly one engine opened the subscription; the other did not see the request at all
    subs = [len(d.core.engine.subscriptions) for d in (d1, d2)]
    assert sorted(subs) == [0, 1]
    # the same request again, later, on either: a no-op returning the first result
    again = d1.admin("subscribe", "r-1", investor="I", trader="T", account=2001, amount="700")
    assert again["repeated"] and again["transfer"]["key"] == "req:subscribe:r-1"
    assert ledger_rows(pg_url)[1]["wallet:I"] == Decimal("300")
    for d in (d1, d2):
        d.close()


def test_the_same_request_id_on_another_shard_is_refused_not_applied(pg_url: str) -> None:
    s1 = Shard(pg_url, "s1", take_shard(pg_url, "s1"))
    s2 = Shard(pg_url, "s2", take_shard(pg_url, "s2"))
    s1.admin("deposit", "dep-1", owner="I", amount="1000")
    register_trader(s1, "T1", 1001)
    register_trader(s2, "T2", 1002)
    assert s1.admin("subscribe", "r-1", investor="I", trader="T1", account=2001, amount="700")["refused"] is None
    other = s2.admin("subscribe", "r-1", investor="I", trader="T2", account=2002, amount="700")
    assert not other["ok"] and other["error"] == "bad_request" and "was used for another transfer" in other["detail"]
    assert s2.core.engine.subscriptions == {} and s2.wallet("I") == 0
    assert ledger_rows(pg_url)[1]["wallet:I"] == Decimal("300")
    for s in (s1, s2):
        s.close()


def test_a_wallet_funding_two_shards_refuses_the_overdraft_and_replay_gives_the_same_state(pg_url: str) -> None:
    hold = HoldingUntilRaced(pg_url)
    s1 = Shard(pg_url, "s1", take_shard(pg_url, "s1"), hold)
    s2 = Shard(pg_url, "s2", take_shard(pg_url, "s2"), hold)
    assert s1.admin("deposit", "dep-1", owner="I", amount="1000")["wallets"] == [{"owner": "I", "balance": "1000"}]
    register_trader(s1, "T1", 1001)
    register_trader(s2, "T2", 1002)
    # 700 + 700 from a 1000 wallet, on two shards, at the same moment
    a, b = race([lambda: s1.admin("subscribe", "a", investor="I", trader="T1", account=2001, amount="700"),
                 lambda: s2.admin("subscribe", "b", investor="I", trader="T2", account=2002, amount="700")])
    funded, refused = (a, b) if a["refused"] is None else (b, a)
    assert funded["transfer"]["status"] == "done"
    assert refused["transfer"]["status"] == "refused"
    assert refused["refused"]["code"] == "insufficient_funds"  # the engine's own, journaled refusal
    assert "the cluster ledger's wallet:I has less than 700" in refused["refused"]["detail"]
    won, lost = (s1, s2) if funded is a else (s2, s1)
    assert len(won.core.engine.subscriptions) == 1 and lost.core.engine.subscriptions == {}
    _, balances = ledger_rows(pg_url)
    assert balances["wallet:I"] == Decimal("300")
    assert balances[f"shard:{won.name}"] == Decimal("700") and balances.get(f"shard:{lost.name}", 0) == 0
    # the engines' wallets hold nothing between steps: the ledger is the wallet
    assert won.wallet("I") == lost.wallet("I") == 0

    # stop on the winning shard: the money comes back to the ledger wallet (the sweep)
    stop = won.admin("stop", "stop-1", subscription=1, requester=None)
    assert stop["ok"] and stop["refused"] is None
    rows, balances = ledger_rows(pg_url)
    assert balances["wallet:I"] == Decimal("1000") and balances[f"shard:{won.name}"] == 0
    assert rows[-1][1:] == (f"shard:{won.name}", "wallet:I", Decimal("700"), "done")
    # now the other shard's subscribe (a new request) is funded
    again = lost.admin("subscribe", "b2", investor="I", trader=lost.core.engine.s.traders and
                       next(iter(lost.core.engine.s.traders)), account=2003, amount="700")
    assert again["refused"] is None and ledger_rows(pg_url)[1]["wallet:I"] == Decimal("300")

    # replay: each shard's journal alone rebuilds its engine, byte for byte, and moves no money
    before = ledger_rows(pg_url)
    for s in (s1, s2):
        replayed = DaemonCore.recover(config(), s.store.recover(), now=T0 + 1, insecure=True)
        assert replayed.engine.to_bytes() == s.core.engine.to_bytes()
    assert ledger_rows(pg_url) == before
    for s in (s1, s2):
        s.close()


def test_partner_credits_and_a_take_back_land_in_the_ledger_wallets(pg_url: str) -> None:
    s1 = Shard(pg_url, "s1", take_shard(pg_url, "s1"))
    s1.admin("deposit", "dep-1", owner="I", amount="1000")
    register_trader(s1, "T", 1001)
    assert s1.admin("register_partner", partner="P", trader_rate_per_lot="5")["refused"] is None
    assert s1.admin("assign_client", client="T", partner="P")["refused"] is None
    assert s1.admin("subscribe", "s-1", investor="I", trader="T", account=2001, amount="1000")["refused"] is None
    take_back = s1.admin("change_investment", "tb-1", subscription=1, requester="I", amount="-100")
    assert take_back["refused"] is None
    # the trader trades one lot: its IB accrues, and is credited at the hour
    core = s1.core
    core.feed_engine(ev.TraderPositionOpened(T0 + 1, "T", 5001, "EURUSD", Side.BUY, Decimal("1"), Decimal("1.1")))
    core.feed_engine(ev.TraderPositionClosed(T0 + 2, "T", 5001, Decimal("1"), Decimal("1.1")))
    s1.ledger.commit()
    core.feed_engine(ev.TimePassed(T0 + 3))  # the engine's clocks start (the next credit hour)
    accrued = sum(core.engine.s.partners.pending.values())
    assert accrued > 0
    core.now = T0 + 2 * HOUR
    core.feed_engine(ev.TimePassed(T0 + 2 * HOUR))
    credited = list(core.engine.s.partners.pending.values())
    s1.ledger.commit()
    rows, balances = ledger_rows(pg_url)
    ib = [r for r in rows if r[1] == "broker:ib"]
    assert len(ib) == 1 and ib[0][2] == "wallet:P" and ib[0][3] > 0 and ib[0][4] == "done"
    assert ib[0][3] == accrued == Decimal(5)  # 1 lot at the IB agreement's 5 USD per lot
    assert balances["wallet:P"] == ib[0][3] and s1.wallet("P") == 0 and not any(credited)
    take = [r for r in rows if r[1] == "shard:s1" and r[2] == "wallet:I"]
    assert [r[3] for r in take] == [Decimal("100")]
    assert balances["wallet:I"] == Decimal("100") and balances["shard:s1"] == Decimal("900")
    # the admin API's `wallet` answers from the ledger, paged by owner
    listed = s1.admin("wallet")
    assert listed["wallets"] == [{"owner": "I", "balance": "100.00"}, {"owner": "P", "balance": str(ib[0][3])}]
    first = s1.admin("wallet", limit=1)
    assert first["more"] and s1.admin("wallet", after="I")["wallets"] == listed["wallets"][1:]
    s1.close()


def test_a_commission_payout_at_stop_goes_to_the_trader_s_ledger_wallet(pg_url: str) -> None:
    """The investor's copy gains 100; stop settles 20 % commission to the trader and returns
    the rest: both from the shard's account to the two ledger wallets."""
    s1 = Shard(pg_url, "s1", take_shard(pg_url, "s1"))
    s1.admin("deposit", "dep-1", owner="I", amount="1000")
    register_trader(s1, "T", 1001)  # commission 20 %
    assert s1.admin("subscribe", "s-1", investor="I", trader="T", account=2001, amount="1000")["refused"] is None
    core = s1.core
    core.feed_engine(ev.AccountUpdated(T0, 1001, Decimal(10000), Decimal(10000)))
    core.feed_engine(ev.AccountUpdated(T0, 2001, Decimal(1000), Decimal(1000)))
    core.feed_engine(ev.TraderPositionOpened(T0 + 1, "T", 5001, "EURUSD", Side.BUY, Decimal("0.1"), Decimal("1.1")))
    (opened,) = [p for p in core.pending.values() if p.row.type == "open"]
    core.feed_engine(ev.CommandFilled(T0 + 2, opened.row.key, 7001, Decimal(opened.row.volume), Decimal("1.1")))
    core.feed_engine(ev.TraderPositionClosed(T0 + 3, "T", 5001, Decimal("0.1"), Decimal("1.2")))
    (closed,) = [p for p in core.pending.values() if p.row.type == "close"]
    core.feed_engine(ev.CommandFilled(T0 + 4, closed.row.key, 7001, Decimal(closed.row.volume), Decimal("1.2"),
                                      Decimal("100")))
    s1.ledger.commit()
    stop = s1.admin("stop", "stop-1", subscription=1, requester=None)
    (paid,) = [r for r in stop["records"] if r["topic"] == "record.commission_paid"]
    (stopped,) = [r for r in stop["records"] if r["topic"] == "record.subscription_stopped"]
    rows, balances = ledger_rows(pg_url)
    assert [(r[1], r[2], r[3]) for r in rows[-2:]] == [("shard:s1", "wallet:I", Decimal(stopped["returned"])),
                                                      ("shard:s1", "wallet:T", Decimal(paid["amount"]))]
    assert balances["wallet:T"] == Decimal(paid["amount"]) == Decimal("20")
    assert balances["wallet:I"] == Decimal("1080")
    # the shard paid out its subscriptions' trading result: its account is minus that gain
    assert balances["shard:s1"] == Decimal("-100")
    assert s1.wallet("T") == s1.wallet("I") == 0
    s1.close()


def test_a_deposed_owner_s_money_step_is_fenced_with_its_transfer(pg_url: str) -> None:
    """The fence is checked in the step's transaction: a daemon that lost the shard writes
    neither the step's events nor its transfers; the new owner funds the request once."""
    from bridge.daemon.cluster import ClusterDb
    from bridge.daemon.store_pg import Fenced

    old_token = take_shard(pg_url, "s1")
    old = Shard(pg_url, "s1", old_token)
    old.admin("deposit", "dep-1", owner="I", amount="1000")
    register_trader(old, "T", 1001)
    db = ClusterDb(pg_url)
    assert db.release("s1", old_token, "node-s1")  # the lease lapses (a pause, a partition) ...
    new_token = db.acquire("s1", old_token, "d2", "", 3_600_000)  # ... and d2 takes the shard
    db.close()
    assert new_token == old_token + 1
    new = Shard(pg_url, "s1", new_token)
    with pytest.raises(Fenced, match=f"token {old_token} is not the lease's \\({new_token}\\)"):
        old.admin("subscribe", "r-9", investor="I", trader="T", account=2001, amount="700")
    rows, balances = ledger_rows(pg_url)
    assert "req:subscribe:r-9" not in [r[0] for r in rows] and balances["wallet:I"] == Decimal("1000")
    assert new.store.recover().last_seq == new.core.seq  # nothing of the deposed step in the journal
    reply = new.admin("subscribe", "r-9", investor="I", trader="T", account=2001, amount="700")
    assert reply["refused"] is None and not reply["transfer"]["repeated"]
    assert ledger_rows(pg_url)[1]["wallet:I"] == Decimal("300")
    for s in (old, new):
        s.close()


def test_a_request_routed_to_another_shard_moves_no_money_there_and_is_funded_once_by_the_owner(
        pg_url: str) -> None:
    """Admin routing (docs/scaling.md): a subscribe to a trader of s2 sent to s1's daemon is
    answered `moved` before any money moves; the client sends it, same id, to s2's owner."""
    from bridge.cluster.routing import Redirect, Serve

    s1 = Shard(pg_url, "s1", take_shard(pg_url, "s1"))
    s2 = Shard(pg_url, "s2", take_shard(pg_url, "s2"))
    s1.admin("deposit", "dep-1", owner="I", amount="1000")
    register_trader(s2, "T2", 1002)
    s1.core.shard = "s1"
    s1.core.route_admin = lambda request: Redirect("s2", "tcp://10.0.0.2:5572") \
        if request.get("args", {}).get("trader") == "T2" else Serve()
    moved = s1.admin("subscribe", "r-1", investor="I", trader="T2", account=2001, amount="700")
    assert (moved["ok"], moved["error"], moved["shard"]) == (False, "moved", "s2")
    assert "req:subscribe:r-1" not in [r[0] for r in ledger_rows(pg_url)[0]] and s1.core.engine.subscriptions == {}
    reply = s2.admin("subscribe", "r-1", investor="I", trader="T2", account=2001, amount="700")
    assert reply["refused"] is None and not reply["transfer"]["repeated"]
    assert ledger_rows(pg_url)[1]["wallet:I"] == Decimal("300")
    for s in (s1, s2):
        s.close()


def test_an_engine_error_inside_a_funded_step_refunds_the_wallet(pg_url: str) -> None:
    """The core rebuilds its engine from the journal after an engine exception (core.reload),
    here inside the step's open transaction: the funding stays journaled and is swept back."""
    s1 = Shard(pg_url, "s1", take_shard(pg_url, "s1"))
    s1.core.reload = s1.store.recover
    s1.admin("deposit", "dep-1", owner="I", amount="1000")
    register_trader(s1, "T", 1001)
    engine = s1.core.engine
    handle = engine.handle

    def failing(event):  # noqa: ANN001, ANN202 - a bug in the engine, on the subscribe only
        if type(event) is ev.Subscribe:
            raise RuntimeError("a bug")
        return handle(event)

    engine.handle = failing
    reply = s1.admin("subscribe", "r-1", investor="I", trader="T", account=2001, amount="700")
    assert reply["transfer"]["status"] == "done" and s1.core.engine is not engine  # rebuilt
    rows, balances = ledger_rows(pg_url)
    assert [(r[1], r[2], r[3]) for r in rows[-2:]] == [("wallet:I", "shard:s1", Decimal("700")),
                                                      ("shard:s1", "wallet:I", Decimal("700"))]
    assert balances["wallet:I"] == Decimal("1000") and s1.wallet("I") == 0
    replayed = DaemonCore.recover(config(), s1.store.recover(), now=T0 + 1, insecure=True)
    assert replayed.engine.to_bytes() == s1.core.engine.to_bytes()
    s1.close()
