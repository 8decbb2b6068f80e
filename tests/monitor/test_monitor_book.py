"""Positions and exposure in money from the feed's `positions` / `prices` (docs/monitoring.md F14, F15).

Issue 13 §1: "Exposure in money: per symbol, net and gross lots, notional in the desk currency,
floating P/L; per trader and in total."
"""

from __future__ import annotations

from decimal import Decimal as D

from bridge.monitor.book import exposure_by_trader, money_exposure, position_rows, total
from bridge.monitor.state import FeedEvent, MonitorState

T0 = 1_704_697_200_000


def state() -> MonitorState:
    s = MonitorState()
    for i, (topic, body) in enumerate([
        ("account.update", {"login": 1001, "role": "trader", "owner": "T", "currency": "USD"}),
        ("account.update", {"login": 2001, "role": "investor", "owner": "I", "currency": "EUR"}),
        ("trader.stats", {"trader": "T", "account": 1001}),
        ("subscription.update", {"subscription": 1, "investor": "I", "trader": "T", "account": 2001,
                                 "state": "active"}),
        ("positions", {"login": 1001, "positions": [
            {"ticket": 55, "symbol": "EURUSD", "side": "buy", "volume": "1", "price": "1.08000"},
            {"ticket": 56, "symbol": "USDJPY", "side": "sell", "volume": "0.5", "price": "150.000"}]}),
        ("positions", {"login": 2001, "positions": [
            {"ticket": 9, "symbol": "EURUSD", "side": "buy", "volume": "0.3", "price": "1.08000",
             "trader": "T", "trader_ticket": 55}]}),
        ("prices", {"symbols": [{"symbol": "EURUSD", "bid": "1.08100", "ask": "1.08120"},
                                {"symbol": "USDJPY", "bid": "149.980", "ask": "150.000"}]}),
    ], start=1):
        s.apply(FeedEvent(topic, {"ts": T0 + i, "instance": "i", "fseq": i, **body}))
    return s


def test_position_rows_price_and_floating_in_the_account_currency():
    rows = {r.position.ticket: r for r in position_rows(state())}
    # a buy closes at the bid: (1.08100 - 1.08000) x 1 lot x 100 000 = 100 USD
    assert rows[55].current == D("1.08100") and rows[55].profit == D("100.00000")
    # a sell closes at the ask: (150.000 - 150.000) x 0.5 x 100 000 = 0 JPY
    assert rows[56].current == D("150.000") and rows[56].profit == 0
    # the copy: 30 USD on a EUR account, at the EURUSD mid 1.08110
    assert rows[9].currency == "EUR" and rows[9].profit.quantize(D("0.01")) == D("27.75")
    assert (rows[9].position.trader, rows[9].position.trader_ticket) == ("T", 55)


def test_exposure_in_usd_per_symbol_per_trader_and_total():
    s = state()
    ex = {e.symbol: e for e in money_exposure(s)}
    eur = ex["EURUSD"]
    assert (eur.buy, eur.sell, eur.net, eur.gross, eur.positions) == (D("1.3"), D(0), D("1.3"), D("1.3"), 2)
    assert eur.notional == D("1.3") * 100_000 * D("1.08110")  # lots x contract x mid, already USD
    assert eur.profit == D("130.00000")  # 100 + 30 USD
    jpy = ex["USDJPY"]
    assert jpy.net == D("-0.5") and jpy.notional == D("-50000.000")  # 0.5 x 100 000 x 149.99 JPY / 149.99
    net, gross, pl = total(list(ex.values()))
    assert net == eur.notional + jpy.notional and gross == eur.gross_notional + jpy.gross_notional
    assert pl == D("130.00000")
    [(tid, rows)] = exposure_by_trader(s)
    assert tid == "T" and {r.symbol for r in rows} == {"EURUSD", "USDJPY"}


def test_missing_quote_leaves_the_money_unknown_not_zero():
    s = state()
    s.apply(FeedEvent("positions", {"ts": T0 + 99, "instance": "i", "fseq": 99, "login": 1001, "positions": [
        {"ticket": 57, "symbol": "GBPUSD", "side": "buy", "volume": "0.1", "price": "1.27"}]}))
    ex = {e.symbol: e for e in money_exposure(s)}
    assert ex["GBPUSD"].notional is None and ex["GBPUSD"].profit is None
    assert total(list(ex.values()))[0] is None
    s.apply(FeedEvent("positions", {"ts": T0 + 100, "instance": "i", "fseq": 100, "login": 1001, "positions": []}))
    assert 1001 not in s.positions
