"""The books check's pure half (bridge/cluster/ledger_books.py): facts in, differences out.

"Money that crosses shards: investor wallets and partner (IB) credits live in a ledger in
PostgreSQL; subscribe, stop, commission payouts and partner credits are transactional,
idempotent transfers (exactly once even when two daemons race on the same request)."
(issue 16, section 2)"""

from __future__ import annotations

from decimal import Decimal as D

from bridge.cluster.ledger_books import Event, Moved, ShardFacts, check, named_seqs

FUND = Moved("s1:4:subscribe", "wallet:I", "shard:s1", D(700), "s1")  # a numbered request id's funding
RETURN = Moved("s1:9", "shard:s1", "wallet:I", D(680), "s1")
IB = Moved("s1:9:ib", "broker:ib", "wallet:I", D(5), "s1")  # I is also an IB here: one withdrawal, two payers
EVENTS = {4: Event(4, "WalletDeposited", "I", D(700)), 9: Event(9, "WalletWithdrawn", "I", D(685))}


def books(events=EVENTS, accounts=None):  # noqa: ANN001, ANN201
    accounts = accounts or {"wallet:I": D(985), "shard:s1": D(20)}
    flow = {"external": D(-1000), "wallet:I": D(985), "shard:s1": D(20), "broker:ib": D(-5)}
    facts = ShardFacts("s1", D(700), D(685), (FUND, RETURN, IB), events, broker=D(5))
    return check(accounts, flow, 4, {}, [facts])


def test_numbered_fundings_and_split_sweeps_pair_with_their_journal_events() -> None:
    assert named_seqs("s1", ["s1:4:subscribe", "s1:9", "s1:9:ib", "req:deposit:d", "s10:3"]) == {4, 9}
    result = books()
    assert result.ok, result.differences
    assert "shard:s1: ledger 20.00, its journal says 20.00 (deposited 700.00 - withdrawn 685.00 + broker-funded " \
           "5.00)" in result.summary


def test_an_event_of_another_amount_or_owner_is_named() -> None:
    result = books({4: Event(4, "WalletDeposited", "J", D(700)), 9: Event(9, "WalletWithdrawn", "I", D(680))})
    assert result.differences == [
        "transfer s1:4:subscribe (wallet:I -> shard:s1 700.00): journal of s1 has WalletDeposited(J, 700.00) at "
        "seq 4, not WalletDeposited of that owner and amount",
        "transfer s1:9, s1:9:ib (to wallet:I 685.00): journal of s1 has WalletWithdrawn(I, 680.00) at seq 9, not "
        "WalletWithdrawn of that owner and sum"]


def test_a_wallet_below_zero_and_a_missing_row_are_differences() -> None:
    result = check({"wallet:I": D(-1)}, {"wallet:I": D(-1), "wallet:J": D(3)}, 1, {}, [])
    assert result.differences == ["wallet:I: balance -1.00 is below zero",
                                  "wallet:J: no balance row, its transfers say 3.00"]
