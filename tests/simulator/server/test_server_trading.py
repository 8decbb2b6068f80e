"""Fills, markup, commission, SL/TP and pending orders across gaps, partial closes, netting."""

from decimal import Decimal as D

from srv_helpers import account, market, new_server, pending, quote

from simulator.server import TradeRequest
from simulator.server import retcodes as rc


def test_market_fills_at_ask_plus_markup_and_bid():
    s = new_server()
    login, sess = account(s)  # MT5 Standard: markup 10 points added to the ask
    quote(s, "1.10000", "1.10002")
    buy = market(s, sess, "buy", "0.10")
    sell = market(s, sess, "sell", "0.10")
    assert buy.retcode == rc.TRADE_RETCODE_DONE and buy.price == D("1.10012")  # 1.10002 + 10 x 0.00001
    assert sell.price == D("1.10000")  # the feed bid
    assert s.symbol_tick("EURUSD", login).ask == D("1.10012")
    [b, se] = s.positions(login)
    # a buy is valued at the bid, a sell at the marked-up ask: both show the spread as a loss
    assert b.price_current == D("1.10000") and b.profit == D("-1.20")
    assert se.price_current == D("1.10012") and se.profit == D("-1.20")


def test_raw_spread_commission_charged_per_side():
    s = new_server()
    login, sess = account(s, account_type="mt5_raw_spread", deposit="1000")
    quote(s, "1.10000", "1.10002")
    r = market(s, sess, "buy", "2.00")
    assert r.price == D("1.10002")  # no markup on Raw Spread
    deal_in = s.history_deals(login)[-1]
    assert deal_in.commission == D("-6.00")  # 3 USD per lot per side x 2 lots
    assert s.account_info(login).balance == D("994.00")
    quote(s, "1.10102", "1.10104")
    market(s, sess, "sell", "2.00", position=r.position)
    deal_out = s.history_deals(login)[-1]
    assert deal_out.entry == rc.DEAL_ENTRY_OUT and deal_out.commission == D("-6.00")
    assert deal_out.profit == D("200.00")  # (1.10102 - 1.10002) x 2 x 100000
    assert s.account_info(login).balance == D("1188.00")  # 1000 - 6 + 200 - 6


def test_sl_fills_at_gapped_price_not_level():
    s = new_server()
    login, sess = account(s, account_type="mt5_raw_spread")
    quote(s, "1.10000", "1.10002")
    r = market(s, sess, "buy", "1.00", sl="1.09900", tp="1.10200")
    quote(s, "1.09950", "1.09952")  # above the SL: nothing
    assert len(s.positions(login)) == 1
    quote(s, "1.09500", "1.09502")  # gap straight through 1.09900
    assert s.positions(login) == []
    out = s.history_deals(login)[-1]
    assert out.reason == rc.DEAL_REASON_SL and out.price == D("1.09500") and out.position_id == r.position
    assert out.profit == D("-502.00")  # (1.09500 - 1.10002) x 100000


def test_sell_tp_uses_marked_up_ask():
    s = new_server()
    login, sess = account(s)  # markup 10
    quote(s, "1.10000", "1.10002")
    market(s, sess, "sell", "1.00", tp="1.09900")
    quote(s, "1.09893", "1.09895")  # account ask 1.09905 > TP
    assert len(s.positions(login)) == 1
    quote(s, "1.09888", "1.09890")  # account ask 1.09900 = TP
    out = s.history_deals(login)[-1]
    assert out.reason == rc.DEAL_REASON_TP and out.price == D("1.09900") and out.profit == D("100.00")


def test_pending_orders_trigger_across_gaps_at_tick_price():
    s = new_server()
    login, sess = account(s, account_type="mt5_raw_spread")
    quote(s, "1.10000", "1.10002")
    sell_stop = pending(s, sess, rc.ORDER_TYPE_SELL_STOP, "1.00", "1.09900", sl="1.10100")
    buy_limit = pending(s, sess, rc.ORDER_TYPE_BUY_LIMIT, "0.50", "1.09800")
    buy_stop = pending(s, sess, rc.ORDER_TYPE_BUY_STOP, "0.30", "1.10300")
    assert sell_stop.retcode == buy_limit.retcode == rc.TRADE_RETCODE_PLACED
    assert [o.ticket for o in s.orders(login)] == [sell_stop.order, buy_limit.order, buy_stop.order]
    quote(s, "1.09700", "1.09702")  # gaps below both the sell stop and the buy limit
    pos = {p.identifier: p for p in s.positions(login)}
    assert pos[sell_stop.order].price_open == D("1.09700") and pos[sell_stop.order].sl == D("1.10100")
    assert pos[buy_limit.order].price_open == D("1.09702")  # better than the limit: the gapped ask
    assert [o.ticket for o in s.orders(login)] == [buy_stop.order]
    filled = [o for o in s.history_orders(login) if o.state == rc.ORDER_STATE_FILLED]
    assert {sell_stop.order, buy_limit.order} <= {o.ticket for o in filled}
    # remove the last one
    r = s.order_send(sess, TradeRequest(rc.TRADE_ACTION_REMOVE, order=buy_stop.order))
    assert r.retcode == rc.TRADE_RETCODE_DONE and s.orders(login) == []
    assert s.history_orders(login)[-1].state == rc.ORDER_STATE_CANCELED


def test_partial_close_and_sltp_modification():
    s = new_server()
    login, sess = account(s, account_type="mt5_raw_spread")
    quote(s, "1.10000", "1.10002")
    r = market(s, sess, "buy", "1.00")
    margin_full = s.account_info(login).margin
    quote(s, "1.10052", "1.10054")
    c = market(s, sess, "sell", "0.40", position=r.position)
    assert c.retcode == rc.TRADE_RETCODE_DONE
    [p] = s.positions(login)
    assert p.volume == D("0.60") and p.ticket == r.position
    assert s.history_deals(login)[-1].profit == D("20.00")  # 0.00050 x 0.4 x 100000
    assert s.account_info(login).margin == (margin_full * D("0.6")).quantize(D("0.01"))
    too_much = market(s, sess, "sell", "0.70", position=r.position)
    assert too_much.retcode == rc.TRADE_RETCODE_INVALID_CLOSE_VOLUME
    m = s.order_send(sess, TradeRequest(rc.TRADE_ACTION_SLTP, "EURUSD", position=r.position,
                                        sl=D("1.09000"), tp=D("1.12000")))
    assert m.retcode == rc.TRADE_RETCODE_DONE
    assert (s.positions(login)[0].sl, s.positions(login)[0].tp) == (D("1.09000"), D("1.12000"))
    market(s, sess, "sell", "0.60", position=r.position)
    assert s.positions(login) == []
    gone = market(s, sess, "sell", "0.10", position=r.position)
    assert gone.retcode == rc.TRADE_RETCODE_POSITION_CLOSED


def test_hedging_keeps_opposite_positions_netting_nets_them():
    s = new_server()
    hedge, hs = account(s, account_type="mt5_raw_spread")
    net, ns = account(s, email="bob@example.com", account_type="mt5_raw_spread", margin_mode="netting")
    quote(s, "1.10000", "1.10002")
    for sess in (hs, ns):
        market(s, sess, "buy", "1.00")
        market(s, sess, "sell", "0.40")
    assert [(p.type, p.volume) for p in s.positions(hedge)] == [(0, D("1.00")), (1, D("0.40"))]
    [p] = s.positions(net)
    assert (p.type, p.volume) == (rc.POSITION_TYPE_BUY, D("0.60"))
    assert s.history_deals(net)[-1].entry == rc.DEAL_ENTRY_OUT
    # increase: volume-weighted open price
    quote(s, "1.10100", "1.10102")
    market(s, sess, "buy", "0.40")
    [p] = s.positions(net)
    assert p.volume == D("1.00") and p.price_open == (D("1.10002") * D("0.6") + D("1.10102") * D("0.4"))
    # reversal: one INOUT deal, the remainder re-opens at the deal price under the same ticket
    r = market(s, ns, "sell", "1.50")
    [q] = s.positions(net)
    assert (q.type, q.volume, q.price_open, q.ticket) == (rc.POSITION_TYPE_SELL, D("0.50"), D("1.10100"), p.ticket)
    assert s.history_deals(net)[-1].entry == rc.DEAL_ENTRY_INOUT and r.position == p.ticket


def test_mt4_accounts_are_always_hedging():
    s = new_server()
    s.register_client("ann@example.com", "Ann")
    refused = s.open_account("ann@example.com", "mt4_standard", "USD", 500, master_password="yS22Fr45",
                             investor_password="Inv12345", margin_mode="netting")
    assert refused.code == "invalid_margin_mode"
