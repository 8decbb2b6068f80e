"""Tiered margin, margin call, stop-out (hand-calculated) and swaps."""

from decimal import Decimal as D

from srv_helpers import HOUR, MONDAY, account, market, new_server, quote

from simulator.server import retcodes as rc

DAY = 24 * HOUR


def _two_longs():
    """MT5 Pro (markup 4 points, no commission), USD, 1:2000, balance 500; zero feed spread."""
    s = new_server()
    login, sess = account(s, account_type="mt5_pro", deposit="500", leverage=2000)
    quote(s, "1.00000")
    a = market(s, sess, "buy", "1.00")  # fills at 1.00004 -> notional 100 004
    quote(s, "1.01000")
    b = market(s, sess, "buy", "1.00")  # fills at 1.01004 -> notional 101 004
    return s, login, a, b


def test_tiered_margin_of_two_positions():
    s, login, a, b = _two_longs()
    assert (a.price, b.price) == (D("1.00004"), D("1.01004"))
    # forex_majors, family "standard", account 1:2000: group notional 201 008
    #   first  50 000 at 1:2000 =  25
    #   next  150 000 at 1:1000 = 150
    #   last    1 008 at 1:500  =   2.016   -> 177.016 -> 177.02
    assert s.account_info(login).margin == D("177.02")


def test_margin_call_then_stop_out_closes_largest_loser_first():
    s, login, a, b = _two_longs()
    # equity(bid) = 500 + (bid - 1.00004) x 100000 + (bid - 1.01004) x 100000
    quote(s, "1.00279")
    #   = 500 + 275 - 725 = 50 ; level = 50 / 177.02 = 28.25 % <= 40 % (call) but > 20 % (stop-out)
    info = s.account_info(login)
    assert info.equity == D("50.00") and len(s.positions(login)) == 2
    calls = s.journal.records("margin_call")
    assert len(calls) == 1 and calls[0]["margin_level"] == "28.25"
    quote(s, "1.00263")
    #   = 500 + 259 - 741 = 18 ; level = 18 / 177.02 = 10.17 % <= 20 % -> stop-out
    #   largest loser: B (-741) closed first; margin of A alone (notional 100 004):
    #   25 + 50 004 / 1000 = 75.004 -> 75.00 ; level 18 / 75.00 = 24 % > 20 % -> stop
    [so] = s.journal.records("stop_out")
    assert so["margin_level"] == "10.17"
    out = [d for d in s.history_deals(login) if d.reason == rc.DEAL_REASON_SO]
    assert [(d.position_id, d.profit, d.price) for d in out] == [(b.position, D("-741.00"), D("1.00263"))]
    [left] = s.positions(login)
    assert left.ticket == a.position
    info = s.account_info(login)
    assert info.balance == D("-241.00") and info.equity == D("18.00") and info.margin == D("75.00")
    assert info.margin_level == D(24)


def test_stop_out_on_price_gap_closes_everything_needed():
    s, login, a, b = _two_longs()
    quote(s, "0.99000")  # equity 500 - 1004 - 2004 < 0: both go, loser B first
    out = [d.position_id for d in s.history_deals(login) if d.reason == rc.DEAL_REASON_SO]
    assert out == [b.position, a.position] and s.positions(login) == []
    assert s.account_info(login).balance == D("-2508.00")


def test_no_money_is_refused_with_10019_and_changes_nothing():
    s = new_server()
    login, sess = account(s, account_type="mt5_pro", deposit="100", leverage=100)
    quote(s, "1.10000", "1.10002")
    before = (s.account_info(login), s.positions(login), s.history_deals(login))
    r = market(s, sess, "buy", "1.00")  # margin 110 006 / 100 = 1100.06 > 100
    assert r.retcode == rc.TRADE_RETCODE_NO_MONEY
    assert (s.account_info(login), s.positions(login), s.history_deals(login)) == before


def test_swaps_one_week_with_triple_wednesday_and_swap_free():
    s = new_server()  # starts Monday 10:00
    normal, ns = account(s, account_type="mt5_raw_spread")
    free, fs = account(s, email="bob@example.com", account_type="mt5_raw_spread", swap_free=True)
    quote(s, "1.10000", "1.10002")
    market(s, ns, "buy", "1.00")
    market(s, fs, "buy", "1.00")
    s.advance_to(MONDAY + 7 * DAY + 10 * HOUR)  # next Monday 10:00
    # EURUSD swap_long -7.5 points x 0.00001 x 100000 = -7.50 USD per lot per night
    # Mon, Tue: 1 night each; Wed (triple day): 3; Thu, Fri: 1 each; Sat, Sun closed: 0
    # -> (1 + 1 + 3 + 1 + 1) x -7.50 = -52.50
    swaps = [r for r in s.journal.records("swap") if r["login"] == normal]
    assert [r["nights"] for r in swaps] == [1, 1, 3, 1, 1]
    assert [r["amount"] for r in swaps] == ["-7.50", "-7.50", "-22.50", "-7.50", "-7.50"]
    assert s.positions(normal)[0].swap == D("-52.50")
    assert s.positions(free)[0].swap == D(0)
    quote(s, "1.10002", "1.10004")
    market(s, ns, "sell", "1.00", position=s.positions(normal)[0].ticket)
    assert s.history_deals(normal)[-1].swap == D("-52.50")  # realised with the close


def test_short_swap_is_a_credit_on_eurusd():
    s = new_server()
    login, sess = account(s, account_type="mt5_raw_spread")
    quote(s, "1.10000", "1.10002")
    market(s, sess, "sell", "2.00")
    s.advance_to(MONDAY + DAY + 1)  # Tuesday 00:00:00.001: one rollover (Monday night)
    assert s.positions(login)[0].swap == D("4.20")  # 2.1 points x 0.00001 x 100000 x 2 lots


def test_leverage_change_refused_when_margin_would_not_hold():
    s = new_server()
    login, sess = account(s, account_type="mt5_pro", deposit="200", leverage=1000)
    quote(s, "1.00000")
    market(s, sess, "buy", "1.00")  # notional 100 004
    # at 1:1000 the 1:2000 bracket is capped: 50 000/1000 + 50 004/1000 = 100.00
    assert s.account_info(login).margin == D("100.00")
    refused = s.set_leverage(login, 1)
    assert refused.code == "insufficient_margin" and s.account_info(login).leverage == 1000
    assert s.set_leverage(login, 2000) is None
    assert s.account_info(login).margin == D("75.00")  # 50 000/2000 + 50 004/1000 = 75.004
