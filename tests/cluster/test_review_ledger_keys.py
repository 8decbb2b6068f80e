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
