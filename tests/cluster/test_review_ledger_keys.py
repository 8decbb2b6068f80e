"""Adversarial review (issue 16 §2) of the cluster ledger's idempotency keys.

docs/scaling.md: "The same key for another movement (another shard, amount or wallet) is
`bad_request` ("was used for another transfer"), nothing applied." `Transfer.same_as` compares
only (source, target, amount, shard): two *different* requests with one text id, the same
investor, shard and amount -- a subscribe to another account or trader of the shard, a top-up
of another subscription -- are taken for a repeat: the second is answered `ok, repeated: true`
and silently never runs ("refused with a reason; never lost")."""

from __future__ import annotations

from decimal import Decimal

import pytest

pytest.importorskip("psycopg")

from ledgerkit import Shard, ledger_rows, register_trader, take_shard  # noqa: E402


def test_one_text_id_for_two_different_subscribes_is_not_answered_as_a_repeat(pg_url: str) -> None:
    s1 = Shard(pg_url, "s1", take_shard(pg_url, "s1"))
    try:
        assert s1.admin("deposit", "dep-1", owner="I", amount="5000")["ok"]
        register_trader(s1, "T1", 1001)
        register_trader(s1, "T2", 1002)
        first = s1.admin("subscribe", "r-1", investor="I", trader="T1", account=2001, amount="700")
        assert first["ok"] and first["refused"] is None, first
        # another request (another trader, another account) that reuses the token
        other = s1.admin("subscribe", "r-1", investor="I", trader="T2", account=2002, amount="700")
        subs = sorted((s.trader, s.account) for s in s1.core.engine.subscriptions.values())
        ran = subs == [("T1", 2001), ("T2", 2002)]
        refused = other.get("ok") is False and other.get("error") == "bad_request"
        assert ran or refused, (other, subs, ledger_rows(pg_url)[1]["wallet:I"])
    finally:
        s1.close()


def test_one_text_id_for_top_ups_of_two_subscriptions_is_not_answered_as_a_repeat(pg_url: str) -> None:
    s1 = Shard(pg_url, "s1", take_shard(pg_url, "s1"))
    try:
        assert s1.admin("deposit", "dep-1", owner="I", amount="5000")["ok"]
        register_trader(s1, "T1", 1001)
        for rid, account in (("a", 2001), ("b", 2002)):
            assert s1.admin("subscribe", rid, investor="I", trader="T1", account=account, amount="700")["refused"] \
                is None
        ids = sorted(s1.core.engine.subscriptions)
        assert s1.admin("change_investment", "top", subscription=ids[0], requester="I", amount="100")["ok"]
        other = s1.admin("change_investment", "top", subscription=ids[1], requester="I", amount="100")
        invested = [s1.core.engine.subscriptions[i].invested for i in ids]
        ran = invested == [Decimal("800"), Decimal("800")]
        refused = other.get("ok") is False and other.get("error") == "bad_request"
        assert ran or refused, (other, invested)
    finally:
        s1.close()


def test_a_repeat_of_a_request_the_engine_refused_still_says_it_was_refused(pg_url: str) -> None:
    """The first attempt is funded (`done`), refused by the engine (the account is in use) and
    refunded. The same request again (a client retry after a lost reply, or the racing daemon)
    gets `ok, repeated: true, transfer.status: done` and no `refused`: it reads as a
    subscription made, while nothing was ("refused with a reason")."""
    s1 = Shard(pg_url, "s1", take_shard(pg_url, "s1"))
    try:
        assert s1.admin("deposit", "dep-1", owner="I", amount="5000")["ok"]
        register_trader(s1, "T1", 1001)
        first = s1.admin("subscribe", "r-1", investor="I", trader="T1", account=1001, amount="700")
        assert first["ok"] and first["refused"] is not None, first  # account_in_use: the trader's own login
        assert s1.core.engine.subscriptions == {} and ledger_rows(pg_url)[1]["wallet:I"] == Decimal("5000")
        again = s1.admin("subscribe", "r-1", investor="I", trader="T1", account=1001, amount="700")
        assert again.get("refused") == first["refused"], again
    finally:
        s1.close()


def test_a_request_served_on_a_stale_route_does_not_burn_its_id_for_the_right_shard(pg_url: str) -> None:
    """Admin routing reads the traders table every renew_ms: just after T2 is registered on s2,
    d1 still serves `subscribe T2` itself (route_admin: unknown trader -> Serve). s1 funds it,
    its engine refuses `unknown_trader`, the sweep refunds -- and the key `req:subscribe:r-1`
    now names shard:s1. The client's retry with the same token, correctly moved to s2, is
    `bad_request` ("was used for another transfer") for ever: the request can never run."""
    s1 = Shard(pg_url, "s1", take_shard(pg_url, "s1"))
    s2 = Shard(pg_url, "s2", take_shard(pg_url, "s2"))
    try:
        assert s1.admin("deposit", "dep-1", owner="I", amount="5000")["ok"]
        register_trader(s2, "T2", 2001)
        stale = s1.admin("subscribe", "r-1", investor="I", trader="T2", account=3001, amount="700")
        assert stale["refused"]["code"] == "unknown_trader", stale
        retry = s2.admin("subscribe", "r-1", investor="I", trader="T2", account=3001, amount="700")
        assert retry["ok"] and retry.get("refused") is None, retry
        assert [s.trader for s in s2.core.engine.subscriptions.values()] == ["T2"]
    finally:
        s1.close()
        s2.close()
