"""Adversarial review (issue 16 §2) of bridge/daemon/ledger_pg.py's lock order.

Its doc: "Account rows are locked in name order before anything moves, so two steps never
wait on each other in a cycle." The order holds within one `apply`, not within a step: a
funded step locks the investor's wallet first (`apply(funding)`), then its sweep locks the
wallets the step credited (ledger_shell `_write`: an hourly IB credit or rebate, a commission
to a trader -- `partners.credit` runs whenever the step's time passes the hour). Shard s1
funding Z and crediting partner A, while shard s2 funds A and credits partner Z, wait on each
other: PostgreSQL aborts one (deadlock detected), which crashes that daemon's admin task
(fail-stop) and loses the request's reply."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

pytest.importorskip("psycopg")

import psycopg  # noqa: E402

from bridge.cluster.ledger import EXTERNAL, Transfer, shard_account, wallet  # noqa: E402
from bridge.daemon import ledger_pg  # noqa: E402
from bridge.daemon.cluster import ClusterDb  # noqa: E402


def test_two_funded_steps_crediting_each_other_s_wallet_do_not_deadlock(pg_url: str) -> None:
    ClusterDb(pg_url).close()
    with psycopg.connect(pg_url, autocommit=True) as setup:
        ledger_pg.ensure(setup)
        with setup.transaction():
            for owner in ("A", "Z"):
                ledger_pg.apply(setup, Transfer(f"dep-{owner}", EXTERNAL, wallet(owner), Decimal(100), "deposit", "s1"))
    c1, c2 = psycopg.connect(pg_url), psycopg.connect(pg_url)
    errors: list = []
    try:
        # s1's step: funding of Z, then (sweep) an IB credit to partner A
        ledger_pg.apply(c1, Transfer("s1:5:subscribe", wallet("Z"), shard_account("s1"), Decimal(50), "subscribe", "s1"))
        # s2's step: funding of A, then (sweep) an IB credit to partner Z
        ledger_pg.apply(c2, Transfer("s2:9:subscribe", wallet("A"), shard_account("s2"), Decimal(50), "subscribe", "s2"))

        def s1_sweep() -> None:
            try:
                ledger_pg.apply(c1, Transfer("s1:6:ib", "broker:ib", wallet("A"), Decimal(1), "ib_credit", "s1"))
            except psycopg.Error as exc:
                errors.append(exc)

        # both steps hold their funding (the wallet each debits) while each sweeps into the
        # other's wallet: the order that was a lock cycle. A credit must not wait for the
        # wallet another step holds, so neither sweep blocks (before: s1's sweep waited for
        # wallet:A, s2's for wallet:Z, and PostgreSQL aborted one as a deadlock victim)
        t = threading.Thread(target=s1_sweep)
        t.start()
        try:
            ledger_pg.apply(c2, Transfer("s2:10:ib", "broker:ib", wallet("Z"), Decimal(1), "ib_credit", "s2"))
        except psycopg.Error as exc:
            errors.append(exc)
            c2.rollback()
        t.join()
        assert errors == [], f"two steps waited on each other in a cycle: {[type(e).__name__ for e in errors]}"
        c1.commit()
        c2.commit()
        # and no money was lost on the way: each wallet 100 - 50 (funding) + 1 (credit)
        with psycopg.connect(pg_url, autocommit=True) as check:
            assert ledger_pg.balance(check, wallet("A")) == ledger_pg.balance(check, wallet("Z")) == Decimal(51)
            # a later debit folds the credit booked while the wallet was held into its row
            with check.transaction():
                ledger_pg.apply(check, Transfer("out-Z", wallet("Z"), EXTERNAL, Decimal(51), "withdraw", "s1"))
            assert ledger_pg.balance(check, wallet("Z")) == 0
            assert check.execute("SELECT count(*) FROM mtbridge_cluster.ledger_transfers WHERE target = 'wallet:Z' "
                                 "AND NOT posted").fetchone()[0] == 0
    finally:
        for c in (c1, c2):
            c.rollback()
            c.close()


class _Aborts:
    """`ledger_pg.apply` that PostgreSQL aborts (deadlock victim) the first `times` calls."""

    def __init__(self, times: int) -> None:
        self.left, self.real = times, ledger_pg.apply

    def __call__(self, conn, t: Transfer):  # noqa: ANN001, ANN204
        if self.left:
            self.left -= 1
            raise psycopg.errors.DeadlockDetected("deadlock detected")
        return self.real(conn, t)


@pytest.mark.parametrize("aborts", [1, 3])
def test_a_step_postgresql_aborts_is_run_again_or_answered_cleanly(pg_url: str, monkeypatch, aborts: int) -> None:  # noqa: ANN001
    """"exactly once even when two daemons race on the same request" (issue 16, section 2): a
    funded step that PostgreSQL aborts (deadlock victim) rolled back before its engine saw
    anything; it runs again (ledger_shell.RETRIES = 3 times in all), then it is a clean
    `refused ledger_busy` reply with nothing moved -- never an exception out of the admin task."""
    from bridge.daemon import ledger_shell
    from ledgerkit import Shard, ledger_rows, register_trader, take_shard

    s1 = Shard(pg_url, "s1", take_shard(pg_url, "s1"))
    try:
        assert s1.admin("deposit", "dep-1", owner="I", amount="1000")["ok"]
        register_trader(s1, "T1", 1001)
        monkeypatch.setattr(ledger_pg, "apply", _Aborts(aborts))
        reply = s1.admin("subscribe", "r-1", investor="I", trader="T1", account=2001, amount="700")
        monkeypatch.undo()
        wallet_i = ledger_rows(pg_url)[1]["wallet:I"]
        if aborts < ledger_shell.RETRIES:
            assert reply["ok"] and reply["refused"] is None and reply["transfer"]["status"] == "done", reply
            assert [s.investor for s in s1.core.engine.subscriptions.values()] == ["I"] and wallet_i == 300
        else:
            assert reply["ok"] is False and reply["error"] == "refused" and reply["code"] == "ledger_busy", reply
            assert s1.core.engine.subscriptions == {} and wallet_i == 1000
            # nothing claimed: the same request later is funded once
            again = s1.admin("subscribe", "r-1", investor="I", trader="T1", account=2001, amount="700")
            assert again["refused"] is None and not again["transfer"]["repeated"], again
    finally:
        s1.close()


def test_a_step_aborted_after_its_engine_ran_is_not_run_twice(pg_url: str, monkeypatch) -> None:  # noqa: ANN001
    """An abort after the engine was fed (the sweep's transfers: cannot wait, so cannot be a
    deadlock victim, but say it were) is not retried: that would feed the engine twice. The
    error goes on (fail-stop), and nothing of the step is in the journal or the ledger."""
    from ledgerkit import Shard, ledger_rows, register_trader, take_shard

    s1 = Shard(pg_url, "s1", take_shard(pg_url, "s1"))
    try:
        assert s1.admin("deposit", "dep-1", owner="I", amount="1000")["ok"]
        register_trader(s1, "T1", 1001)
        seq = s1.core.seq
        real = ledger_pg.record_outcome

        def aborted(conn, key, outcome):  # noqa: ANN001, ANN202
            raise psycopg.errors.DeadlockDetected("deadlock detected")

        monkeypatch.setattr(ledger_pg, "record_outcome", aborted)
        with pytest.raises(psycopg.errors.DeadlockDetected):
            s1.admin("subscribe", "r-1", investor="I", trader="T1", account=2001, amount="700")
        monkeypatch.setattr(ledger_pg, "record_outcome", real)
        assert len(s1.core.engine.subscriptions) == 1 and s1.core.seq > seq  # fed once, not twice
        assert ledger_rows(pg_url)[1]["wallet:I"] == 1000  # rolled back: nothing of it committed
    finally:
        s1.close()
