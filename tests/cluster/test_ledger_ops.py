"""`mtbridge cluster ledger balances | transfers | check` on a real PostgreSQL (the session's
throwaway server): what the engineer on call reads, and the reconciliation that proves the
books balance (docs/scaling.md "Checking the books").

"Money that crosses shards: investor wallets and partner (IB) credits live in a ledger in
PostgreSQL; subscribe, stop, commission payouts and partner credits are transactional,
idempotent transfers (exactly once even when two daemons race on the same request)."
(issue 16, section 2)"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

pytest.importorskip("psycopg")

from bridge.cli import main  # noqa: E402
from bridge.copytrading import events as ev  # noqa: E402
from bridge.domain.trading import Side  # noqa: E402
from ledgerkit import T0, Shard, ledger_rows, register_trader, take_shard  # noqa: E402

HOUR = 3_600_000


def busy_books(url: str) -> None:
    """Two shards and every kind of movement: deposits, fundings, a refused overdraft, a
    gain with its commission at stop, a take-back, an IB credit, a wallet-to-wallet transfer."""
    s1, s2 = Shard(url, "s1", take_shard(url, "s1")), Shard(url, "s2", take_shard(url, "s2"))
    s1.admin("deposit", "dep-1", owner="I", amount="1500")
    s1.admin("deposit", "dep-2", owner="J", amount="300")
    register_trader(s1, "T", 1001)  # commission 20 %
    register_trader(s2, "U", 1002)
    assert s2.admin("register_partner", partner="P", trader_rate_per_lot="5")["refused"] is None
    assert s2.admin("assign_client", client="U", partner="P")["refused"] is None
    assert s1.admin("subscribe", "a", investor="I", trader="T", account=2001, amount="1000")["refused"] is None
    assert s2.admin("subscribe", "b", investor="I", trader="U", account=2002, amount="400")["refused"] is None
    over = s2.admin("subscribe", "c", investor="J", trader="U", account=2003, amount="301")
    assert over["transfer"]["status"] == "refused"
    assert s2.admin("change_investment", "tb", subscription=1, requester="I", amount="-100")["refused"] is None
    s1.admin("transfer", "tr-1", from_owner="J", to_owner="I", amount="50")
    core = s1.core  # the copy gains 100; the stop pays 20 commission and returns 1 080
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
    assert s1.admin("stop", "stop-1", subscription=1, requester=None)["refused"] is None
    core = s2.core  # U trades one lot: P's IB credit (5) at the hour, paid by broker:ib
    core.feed_engine(ev.TraderPositionOpened(T0 + 1, "U", 5002, "EURUSD", Side.BUY, Decimal("1"), Decimal("1.1")))
    core.feed_engine(ev.TraderPositionClosed(T0 + 2, "U", 5002, Decimal("1"), Decimal("1.1")))
    s2.ledger.commit()
    core.feed_engine(ev.TimePassed(T0 + 3))
    core.now = T0 + 2 * HOUR
    core.feed_engine(ev.TimePassed(T0 + 2 * HOUR))
    s2.ledger.commit()
    s1.close()
    s2.close()


def run(capsys, *argv: str) -> tuple[int, str]:  # noqa: ANN001
    status = main(["cluster", "ledger", *argv])
    out = capsys.readouterr()
    return status, out.out + out.err


def test_check_proves_the_books_of_every_movement_balance(pg_url: str, capsys) -> None:  # noqa: ANN001
    busy_books(pg_url)
    status, out = run(capsys, "check", "--url", pg_url)
    assert status == 0, out
    assert "the books balance" in out
    # the shard accounts against what their journals say (deposited - withdrawn + broker-funded)
    _rows, balances = ledger_rows(pg_url)
    assert balances["shard:s1"] == Decimal("-100")  # the gain the market paid
    assert "shard:s1: ledger -100.00, its journal says -100.00 (deposited 1000.00 - withdrawn 1100.00 + " \
           "broker-funded 0.00)" in out
    assert balances["shard:s2"] == Decimal("300")  # 400 in, 100 taken back; P's 5 came from broker:ib
    assert "shard:s2: ledger 300.00, its journal says 300.00 (deposited 400.00 - withdrawn 105.00 + " \
           "broker-funded 5.00)" in out
    assert "external: -1800.00" in out and "broker:ib: -5.00" in out
    status, doc = run(capsys, "check", "--url", pg_url, "--json")
    assert status == 0 and json.loads(doc)["ok"] is True and json.loads(doc)["differences"] == []


def test_check_lists_each_difference_precisely_and_exits_1(pg_url: str, capsys) -> None:  # noqa: ANN001
    import psycopg

    busy_books(pg_url)
    j = ledger_rows(pg_url)[1]["wallet:J"]
    assert j == Decimal(250)  # 300 - 50 to I
    with psycopg.connect(pg_url, autocommit=True) as conn:
        # a balance edited by hand; a sweep's journal event lost; a key in the books twice
        conn.execute("UPDATE mtbridge_cluster.ledger_accounts SET balance = balance + 7 WHERE owner = 'wallet:J'")
        sweep = conn.execute("SELECT key, amount FROM mtbridge_cluster.ledger_transfers WHERE shard = 's2' AND "
                             "source = 'shard:s2' AND target = 'wallet:I'").fetchone()
        seq = int(sweep[0].split(":")[1])
        conn.execute("DELETE FROM shard_s2.events WHERE seq = %s", (seq,))
        conn.execute("ALTER TABLE mtbridge_cluster.ledger_transfers DROP CONSTRAINT ledger_transfers_pkey")
        conn.execute("INSERT INTO mtbridge_cluster.ledger_transfers (key, source, target, amount, kind, shard, "
                     "status, at) VALUES ('req:deposit:dep-2', 'external', 'wallet:J', 300, 'deposit', 's1', "
                     "'refused', 0)")
    status, out = run(capsys, "check", "--url", pg_url)
    assert status == 1, out
    diffs = out.split("difference(s):\n")[1].splitlines()
    assert diffs == [
        "  wallet:J: balance 257.00, its transfers say 250.00 (difference 7.00)",
        "  transfer key req:deposit:dep-2: 2 rows (a key is one transfer)",
        "  shard:s2: ledger 300.00, its journal says 400.00 (deposited 400.00 - withdrawn 5.00 + broker-funded "
        "5.00): 100.00 less in the ledger; money from before `ledger = true`? run `mtbridge cluster ledger "
        "adopt-wallets`",
        f"  transfer {sweep[0]} (to wallet:I 100.00): journal of s2 has nothing at seq {seq}, not WalletWithdrawn "
        "of that owner and sum"]


def test_balances_and_transfers_are_paged_filtered_and_newest_first(pg_url: str, capsys) -> None:  # noqa: ANN001
    busy_books(pg_url)
    _rows, balances = ledger_rows(pg_url)
    status, out = run(capsys, "balances", "--url", pg_url, "--json", "--limit", "3")
    page = json.loads(out)
    assert status == 0 and page["more"] is True
    assert [a["account"] for a in page["accounts"]] == sorted(balances)[:3] == ["shard:s1", "shard:s2", "wallet:I"]
    status, out = run(capsys, "balances", "--url", pg_url, "--kind", "wallet", "--after", page["next_after"])
    lines = out.splitlines()
    assert [line.split() for line in lines[1:-1]] == [[a, f"{balances[a]:.2f}"]
                                                      for a in sorted(balances) if a > "wallet:I"]
    assert lines[-1] == f"({len(lines) - 2} accounts)"

    status, out = run(capsys, "transfers", "--url", pg_url, "--owner", "I", "--json")
    mine = json.loads(out)["transfers"]
    ids = [t["id"] for t in mine]
    assert ids == sorted(ids, reverse=True) and all("wallet:I" in (t["from"], t["to"]) for t in mine)
    assert {t["key"] for t in mine} >= {"req:deposit:dep-1", "req:subscribe:a", "req:subscribe:b", "req:transfer:tr-1"}
    status, out = run(capsys, "transfers", "--url", pg_url, "--status", "refused", "--json")
    (refused,) = json.loads(out)["transfers"]
    assert (refused["key"], refused["from"], refused["amount"]) == ("req:subscribe:c", "wallet:J", "301")
    status, out = run(capsys, "transfers", "--url", pg_url, "--kind", "commission", "--json")
    (paid,) = json.loads(out)["transfers"]
    assert (paid["from"], paid["to"], paid["amount"], paid["shard"]) == ("shard:s1", "wallet:T", "20.00", "s1")
    status, out = run(capsys, "transfers", "--url", pg_url, "--shard", "s2", "--limit", "2", "--json")
    first = json.loads(out)
    status, out = run(capsys, "transfers", "--url", pg_url, "--shard", "s2", "--before", str(first["next_before"]),
                      "--limit", "1000", "--json")
    rest = json.loads(out)
    assert first["more"] and len(first["transfers"]) == 2 and not rest["more"]
    import psycopg

    from bridge.daemon import ledger_pg

    with psycopg.connect(pg_url, autocommit=True) as conn:  # every s2 transfer once, newest first
        s2 = [r.transfer.key for r in ledger_pg.transfers(conn, "s2")]
    assert [t["key"] for t in first["transfers"] + rest["transfers"]] == s2[::-1]


def test_bad_input_is_one_line_and_changes_nothing(pg_url: str, capsys) -> None:  # noqa: ANN001
    status, out = run(capsys, "check", "--url", pg_url)
    assert (status, out.strip()) == (2, "mtbridge cluster: error: this cluster has no ledger tables (no daemon "
                                        "ran with [cluster] ledger = true)")
    with pytest.raises(SystemExit):
        main(["cluster", "ledger", "balances", "--url", pg_url, "--limit", "0"])
    assert "limit must be 1-1000" in capsys.readouterr().err
