"""Bad requests get the right MT5 retcode and change nothing but the request/answer records."""

from decimal import Decimal as D

import pytest
from srv_helpers import HOUR, MONDAY, account, new_server, quote

from simulator.server import TradeRequest
from simulator.server import retcodes as rc

BUY, SELL = rc.ORDER_TYPE_BUY, rc.ORDER_TYPE_SELL


def _state(s, login):
    return (s.account_info(login), s.positions(login), s.orders(login), s.history_orders(login),
            s.history_deals(login))


@pytest.mark.parametrize("request_, retcode", [
    (TradeRequest(rc.TRADE_ACTION_DEAL, "NOPE", D("0.10"), BUY), rc.TRADE_RETCODE_INVALID),
    (TradeRequest(rc.TRADE_ACTION_DEAL, "EURUSD", D("0.001"), BUY), rc.TRADE_RETCODE_INVALID_VOLUME),
    (TradeRequest(rc.TRADE_ACTION_DEAL, "EURUSD", D(0), BUY), rc.TRADE_RETCODE_INVALID_VOLUME),
    (TradeRequest(rc.TRADE_ACTION_DEAL, "EURUSD", D("NaN"), BUY), rc.TRADE_RETCODE_INVALID_VOLUME),
    (TradeRequest(rc.TRADE_ACTION_DEAL, "EURUSD", D("0.10"), BUY, price=D("NaN")), rc.TRADE_RETCODE_INVALID_PRICE),
    (TradeRequest(rc.TRADE_ACTION_DEAL, "EURUSD", D("0.10"), BUY, price=float("nan")),
     rc.TRADE_RETCODE_INVALID_PRICE),
    (TradeRequest(rc.TRADE_ACTION_DEAL, "EURUSD", D("0.10"), BUY, price=D("1.100025")),  # half a point: no grid price
     rc.TRADE_RETCODE_INVALID_PRICE),
    (TradeRequest(rc.TRADE_ACTION_DEAL, "EURUSD", D("0.10"), BUY, sl=D("1.10100")), rc.TRADE_RETCODE_INVALID_STOPS),
    (TradeRequest(rc.TRADE_ACTION_DEAL, "EURUSD", D("0.10"), SELL, sl=D("1.09000")), rc.TRADE_RETCODE_INVALID_STOPS),
    (TradeRequest(rc.TRADE_ACTION_DEAL, "EURUSD", D("0.10"), BUY, tp=D("1.09900")), rc.TRADE_RETCODE_INVALID_STOPS),
    (TradeRequest(rc.TRADE_ACTION_DEAL, "EURUSD", D("0.10"), BUY, sl=D("1.09999")),  # 1 point < stops level 5
     rc.TRADE_RETCODE_INVALID_STOPS),
    (TradeRequest(rc.TRADE_ACTION_DEAL, "EURUSD", D(100), BUY), rc.TRADE_RETCODE_NO_MONEY),
    (TradeRequest(rc.TRADE_ACTION_DEAL, "EURUSD", D("0.10"), SELL, position=999), rc.TRADE_RETCODE_POSITION_CLOSED),
    (TradeRequest(rc.TRADE_ACTION_DEAL, "EURUSD", D("0.10"), rc.ORDER_TYPE_BUY_LIMIT), rc.TRADE_RETCODE_INVALID),
    (TradeRequest(rc.TRADE_ACTION_DEAL, "EURUSD", D("0.10"), BUY, type_filling=9), rc.TRADE_RETCODE_INVALID_FILL),
    (TradeRequest(rc.TRADE_ACTION_PENDING, "EURUSD", D("0.10"), rc.ORDER_TYPE_BUY_LIMIT, price=D("1.10100")),
     rc.TRADE_RETCODE_INVALID_PRICE),
    (TradeRequest(rc.TRADE_ACTION_PENDING, "EURUSD", D("0.10"), rc.ORDER_TYPE_SELL_STOP, price=D("1.09000"),
                  sl=D("1.08000")), rc.TRADE_RETCODE_INVALID_STOPS),
    (TradeRequest(rc.TRADE_ACTION_PENDING, "EURUSD", D("0.10"), rc.ORDER_TYPE_BUY_STOP, price=D("1.11000"),
                  type_time=rc.ORDER_TIME_SPECIFIED, expiration_ms=1), rc.TRADE_RETCODE_INVALID_EXPIRATION),
    (TradeRequest(rc.TRADE_ACTION_REMOVE, order=12345), rc.TRADE_RETCODE_INVALID),
    (TradeRequest(rc.TRADE_ACTION_SLTP, "EURUSD", position=12345, sl=D("1.09")), rc.TRADE_RETCODE_POSITION_CLOSED),
    (TradeRequest(99, "EURUSD", D("0.10"), BUY), rc.TRADE_RETCODE_INVALID),
])
def test_bad_request_retcode_and_no_state_change(request_, retcode):
    s = new_server(stops_level_points=5)
    login, sess = account(s, account_type="mt5_raw_spread", deposit="1000")
    quote(s, "1.10000", "1.10002")
    before, records = _state(s, login), len(s.journal)
    r = s.order_send(sess, request_)
    assert r.retcode == retcode, r.comment
    assert _state(s, login) == before
    assert [x["kind"] for x in s.journal.records()[records:]] == ["request", "answer"]
    assert s.order_check(sess, request_).retcode == retcode


def test_market_closed_at_the_weekend():
    s = new_server()
    login, sess = account(s, account_type="mt5_raw_spread")
    quote(s, "1.10000", "1.10002")
    s.advance_to(MONDAY + 5 * 24 * HOUR + HOUR)  # Saturday 01:00
    r = s.order_send(sess, TradeRequest(rc.TRADE_ACTION_DEAL, "EURUSD", D("0.10"), BUY))
    assert r.retcode == rc.TRADE_RETCODE_MARKET_CLOSED and s.positions(login) == []


def test_trading_disabled_below_minimum_deposit_and_for_investor():
    s = new_server()
    login, sess = account(s, account_type="mt5_raw_spread", deposit="50")  # Raw Spread minimum: 100 USD
    quote(s, "1.10000", "1.10002")
    req = TradeRequest(rc.TRADE_ACTION_DEAL, "EURUSD", D("0.01"), BUY)
    assert s.order_send(sess, req).retcode == rc.TRADE_RETCODE_TRADE_DISABLED
    assert s.account_info(login).trade_allowed is False
    s.deposit(login, D(50), payer_email="ann@example.com")
    assert s.order_send(sess, req).retcode == rc.TRADE_RETCODE_DONE
    investor = s.login(login, "Inv12345")
    assert investor.read_only
    assert s.order_send(investor, req).retcode == rc.TRADE_RETCODE_TRADE_DISABLED
    assert len(s.positions(login)) == 1  # but it can read


def test_no_quote_yet_is_price_off():
    s = new_server()
    _, sess = account(s)
    r = s.order_send(sess, TradeRequest(rc.TRADE_ACTION_DEAL, "GBPUSD", D("0.10"), BUY))
    assert r.retcode == rc.TRADE_RETCODE_PRICE_OFF


@pytest.mark.parametrize("symbol, comment", [
    ("eurusd", "unknown symbol 'eurusd' (did you mean 'EURUSD'?)"),
    ("EURUSDm", "unknown symbol 'EURUSDm' (did you mean 'EURUSD'?)"),
    ("NOPE", "unknown symbol 'NOPE'"),
])
def test_unknown_symbol_suggests_the_listed_one(symbol, comment):
    # review (desk-and-ops, user 1 #12): no "did you mean EURUSD?" for `eurusd` / `EURUSDm`
    s = new_server()
    _, sess = account(s, account_type="mt5_raw_spread", deposit="1000")
    quote(s, "1.10000", "1.10002")
    r = s.order_send(sess, TradeRequest(rc.TRADE_ACTION_DEAL, symbol, D("0.10"), BUY))
    assert (r.retcode, r.comment) == (rc.TRADE_RETCODE_INVALID, comment)


def test_stop_distance_of_one_point_is_singular():
    # review (desk-and-ops, user 1 #12): "must be at least 1 points below" (grammar)
    s = new_server(stops_level_points=1)
    _, sess = account(s, account_type="mt5_raw_spread", deposit="1000")
    quote(s, "1.10000", "1.10002")
    r = s.order_send(sess, TradeRequest(rc.TRADE_ACTION_DEAL, "EURUSD", D("0.10"), BUY, sl=D("1.10000")))
    assert r.retcode == rc.TRADE_RETCODE_INVALID_STOPS
    assert r.comment == "sl 1.10000 must be at least 1 point below 1.10000"
