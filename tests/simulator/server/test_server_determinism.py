"""Same scenario + seed -> byte-identical journal; the tick fast path and the index."""

from decimal import Decimal as D

from srv_helpers import MONDAY, account, market, new_server, pending

from simulator.journal import Journal
from simulator.prices import RandomWalkFeed, WalkSpec, merge_feeds
from simulator.server import retcodes as rc
from simulator.server.fastjournal import tick_appender
from simulator.server.triggers import ASK_GE, BID_GE, BID_LE, TriggerIndex


def _scenario(seed: int) -> str:
    s = new_server(seed=seed)
    _, sess = account(s, account_type="mt5_standard", deposit="2000", leverage=1000)
    feeds = [RandomWalkFeed(WalkSpec(sym, bid, 5, 3, volatility_points=D(3), interval_ms=500), seed,
                            MONDAY + 10 * 3_600_000 + 1000, max_ticks=3000)
             for sym, bid in (("EURUSD", D("1.10000")), ("GBPUSD", D("1.27000")))]
    ticks = iter(merge_feeds(*feeds))
    for i, tick in enumerate(ticks):
        s.on_tick(tick)
        if i % 300 == 10:
            side = "buy" if i % 600 == 10 else "sell"
            bid = tick.bid
            off = D("0.00150")
            sl, tp = (bid - off, bid + off) if side == "buy" else (tick.ask + off, tick.ask - off)
            market(s, sess, side, "0.30", symbol=tick.symbol, sl=sl, tp=tp)
            pending(s, sess, rc.ORDER_TYPE_SELL_STOP, "0.10", str(bid - D("0.00050")), symbol=tick.symbol)
    assert s.journal.counts()["deal"] > 10
    return s.digest()


def test_same_seed_same_journal_different_seed_differs():
    assert _scenario(3) == _scenario(3)
    assert _scenario(3) != _scenario(4)


def test_fast_tick_line_equals_journal_append():
    a, b = Journal(), Journal()
    a.append("x", 1, v=D(1))
    b.append("x", 1, v=D(1))
    tick_appender(a)("EURUSD", 5, D("1.10000"), D("1.10020"))
    b.append("tick", 5, symbol="EURUSD", bid=D("1.10000"), ask=D("1.10020"))
    assert list(a.lines()) == list(b.lines()) and a.digest() == b.digest() and a.counts() == b.counts()
    a.append("y", 6)  # the journal continues normally after the fast path
    b.append("y", 6)
    assert a.digest() == b.digest()


def test_trigger_index_fires_crossed_levels_in_registration_order():
    idx = TriggerIndex()
    e1 = idx.add("X", BID_LE, 100, "sl-buy")
    e2 = idx.add("X", BID_GE, 120, "tp-buy")
    e3 = idx.add("X", ASK_GE, 130, "sl-sell")
    e4 = idx.add("X", BID_LE, 90, "sl-buy-2")
    assert idx.add("X", BID_LE, -5, "never") == 0
    levels = idx.levels("X")
    assert levels.quiet(101, 103) and idx.fire(levels, 101, 103) == []
    assert idx.remove(e4)
    assert not levels.quiet(80, 131)
    assert idx.fire(levels, 80, 131) == [(e1, "sl-buy"), (e3, "sl-sell")]  # gap through both
    assert levels.quiet(119, 10_000) and not levels.quiet(125, 126)
    assert idx.fire(levels, 125, 126) == [(e2, "tp-buy")]
    assert len(idx) == 0 and not idx.remove(e1)
    assert levels.quiet(1, 1 << 40)  # nothing left: every quote is quiet


def test_risk_bands_only_reevaluate_near_the_threshold():
    s = new_server()
    login, sess = account(s, account_type="mt5_pro", deposit="100000", leverage=500)
    from srv_helpers import quote
    quote(s, "1.10000", "1.10002")
    market(s, sess, "buy", "1.00")
    market(s, sess, "sell", "1.00")
    # two margin-call band edges (one per side), far away from the current quote
    assert [e > 0 for e in s._accounts[login].bands.eids] == [True, True]
    calls = 0
    real = s._refresh_risk

    def counting(acct):
        nonlocal calls
        calls += 1
        real(acct)
    s._refresh_risk = counting
    for i in range(200):
        quote(s, str(D("1.10000") + D(i % 7) / 100000), str(D("1.10002") + D(i % 7) / 100000))
    assert calls == 0
