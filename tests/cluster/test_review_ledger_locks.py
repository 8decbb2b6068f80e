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
from ledgerkit import wait_for_a_blocked_session  # noqa: E402


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

        t = threading.Thread(target=s1_sweep)
        t.start()
        wait_for_a_blocked_session(pg_url)  # s1's sweep waits for wallet:A (s2's step holds it)
        try:
            ledger_pg.apply(c2, Transfer("s2:10:ib", "broker:ib", wallet("Z"), Decimal(1), "ib_credit", "s2"))
        except psycopg.Error as exc:
            errors.append(exc)
            c2.rollback()
        t.join()
        assert errors == [], f"two steps waited on each other in a cycle: {[type(e).__name__ for e in errors]}"
    finally:
        for c in (c1, c2):
            c.rollback()
            c.close()
