"""The cluster ledger's pure rules (bridge/cluster/ledger.py): keys, funding, sweeps.

"Money that crosses shards: investor wallets and partner (IB) credits live in a ledger in
PostgreSQL; subscribe, stop, commission payouts and partner credits are transactional,
idempotent transfers (exactly once even when two daemons race on the same request)."
(issue 16, section 2)"""

from __future__ import annotations

from decimal import Decimal

import pytest

from bridge.cluster import ledger as L


def test_a_request_with_an_id_has_one_key_on_every_shard_and_daemon() -> None:
    assert L.request_key("subscribe", "r-17", "s1", 41) == L.request_key("subscribe", "r-17", "s2", 99) \
        == "req:subscribe:r-17"
    # without an id, or with a number (a connection's counter: 1, 2, 3 ... from every client):
    # the journal position of the step, unique in its shard
    assert L.request_key("subscribe", None, "s1", 41) == L.request_key("subscribe", 1, "s1", 41) == "s1:41:subscribe"
    assert L.request_key("subscribe", None, "s1", 41) != L.request_key("subscribe", None, "s2", 41)


def test_funding_is_what_the_request_takes_from_the_wallet() -> None:
    assert L.funding("subscribe", {"investor": "I", "amount": Decimal("700")}, {}) == ("I", Decimal("700"))
    assert L.funding("change_investment", {"subscription": 3, "amount": Decimal("50")}, {3: "I"}) == \
        ("I", Decimal("50"))
    # a take-back pays into the wallet (a sweep), an unknown subscription or a bad amount is
    # the engine's to refuse: nothing to fund
    assert L.funding("change_investment", {"subscription": 3, "amount": Decimal("-50")}, {3: "I"}) is None
    assert L.funding("change_investment", {"subscription": 4, "amount": Decimal("50")}, {3: "I"}) is None
    assert L.funding("subscribe", {"investor": "I", "amount": Decimal("0.001")}, {}) is None
    assert L.funding("edit", {"subscription": 3}, {3: "I"}) is None


def test_a_sweep_pays_ib_credits_from_the_broker_and_the_rest_from_the_shard() -> None:
    # P is both a trader (commission 12.50) and a partner (IB credit 3.20, rebate of a client 0)
    out = L.sweep("s2", 57, "P", Decimal("15.70"), [("commission", Decimal("12.50")), ("ib_credit", Decimal("3.20"))])
    assert [(t.key, t.source, t.target, t.amount, t.kind) for t in out] == [
        ("s2:57:ib", "broker:ib", "wallet:P", Decimal("3.20"), "ib_credit"),
        ("s2:57", "shard:s2", "wallet:P", Decimal("12.50"), "commission")]
    # a refused subscribe's funding comes back as a refund
    refund = L.sweep("s1", 9, "I", Decimal("700"), [("deposit", Decimal("700"))])
    assert [(t.source, t.kind, t.amount) for t in refund] == [("shard:s1", "refund", Decimal("700"))]
    assert L.sweep("s1", 9, "I", Decimal("0"), [("return", Decimal("5"))]) == []


@pytest.mark.parametrize("kw, problem", [
    (dict(amount=Decimal("0")), "must be positive whole cents"),
    (dict(amount=Decimal("1.005")), "must be positive whole cents"),
    (dict(target="wallet:I"), "cannot pay itself"),
    (dict(source="wallet:"), "has no owner"),
    (dict(key=""), "key must be"),
])
def test_a_bad_transfer_is_refused_in_one_line(kw: dict, problem: str) -> None:
    base = dict(key="k", source="wallet:I", target="shard:s1", amount=Decimal("1"), kind="subscribe", shard="s1")
    with pytest.raises(L.LedgerError, match=problem):
        L.Transfer(**{**base, **kw})


def test_the_ledger_is_switched_on_in_the_cluster_table_and_off_by_default() -> None:
    from bridge.cluster.config import parse_cluster

    def fail(key: str, problem: str) -> Exception:
        return ValueError(f"{key}: {problem}")

    base = {"node": "d1", "shards": ["s1"]}
    assert parse_cluster(base, "tcp://127.0.0.1:5570", fail).ledger is False
    assert parse_cluster({**base, "ledger": True}, "tcp://127.0.0.1:5570", fail).ledger is True
    with pytest.raises(ValueError, match="cluster.ledger: 'yes': true or false"):
        parse_cluster({**base, "ledger": "yes"}, "tcp://127.0.0.1:5570", fail)


def test_a_request_digest_is_the_request_not_its_spelling() -> None:
    """docs/scaling.md: a repeat must match "the SHA-256 of the canonical request (op and every
    argument as the admin table converted them, defaults in)"."""
    from bridge.daemon import admin

    def digest(**args: object) -> str:
        parsed = admin.parse_request({"id": "r-1", "op": "subscribe", "args": args})
        assert isinstance(parsed, admin.AdminRequest), parsed
        return L.request_digest("subscribe", parsed.args)

    base = digest(investor="I", trader="T1", account=2001, amount="700")
    assert digest(amount="700.00", account=2001, trader="T1", investor="I") == base  # order, trailing zeros
    assert digest(investor="I", trader="T1", account=2001, amount="700", mode="equal") == base  # the default, said
    assert digest(investor="I", trader="T2", account=2001, amount="700") != base
    assert digest(investor="I", trader="T1", account=2002, amount="700") != base
    assert L.request_digest("change_investment", {"amount": Decimal(700)}) != \
        L.request_digest("subscribe", {"amount": Decimal(700)})
