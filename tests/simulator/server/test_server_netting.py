"""The simulated server's netting accounts (issue 15 item 9), against MetaTrader 5's own
description of netting, quoted in MT5_NETTING. Hedging stays the default."""

from decimal import Decimal as D

from srv_helpers import account, market, new_server, quote

from simulator.server import retcodes as rc

MT5_NETTING = ("If there is an open position for a symbol, executing a deal in the same direction increases the "
               "volume of this position. If a deal is executed in the opposite direction, the volume of the "
               "existing position can be decreased, the position can be closed (when the deal volume is equal to "
               "the position volume) or reversed (if the volume of the opposite deal is greater than the current "
               "position).")


def _netting():
    s = new_server()
    login, sess = account(s, account_type="mt5_raw_spread", margin_mode="netting")  # no markup: fills at bid/ask
    return s, login, sess


def test_accounts_hedge_unless_opened_netting():
    s = new_server()
    hedge, _ = account(s)
    net, _ = account(s, email="bob@example.com", margin_mode="netting")
    assert s.account_info(hedge).margin_mode == rc.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING
    assert s.account_info(net).margin_mode == rc.ACCOUNT_MARGIN_MODE_RETAIL_NETTING  # what simulator.mt5 reports


def test_a_same_direction_deal_increases_the_position_at_the_volume_weighted_price():
    assert "executing a deal in the same direction increases the volume of this position" in MT5_NETTING
    s, login, sess = _netting()
    quote(s, "1.10000", "1.10002")
    first = market(s, sess, "buy", "1.00")
    quote(s, "1.10300", "1.10302")
    added = market(s, sess, "buy", "0.50")
    [p] = s.positions(login)
    assert added.position == first.position == p.ticket  # one position, the first order's ticket
    assert p.volume == D("1.50")
    assert p.price_open == (D("1.10002") * 1 + D("1.10302") * D("0.5")) / D("1.5")
    assert [d.entry for d in s.history_deals(login) if d.type in (rc.DEAL_TYPE_BUY, rc.DEAL_TYPE_SELL)] == \
        [rc.DEAL_ENTRY_IN, rc.DEAL_ENTRY_IN]


def test_an_opposite_deal_decreases_closes_or_reverses_the_position():
    assert "decreased, the position can be closed" in MT5_NETTING and "or reversed" in MT5_NETTING
    s, login, sess = _netting()
    quote(s, "1.10000", "1.10002")
    ticket = market(s, sess, "buy", "1.00").position
    quote(s, "1.10102", "1.10104")
    market(s, sess, "sell", "0.40")  # decreased
    [p] = s.positions(login)
    out = s.history_deals(login)[-1]
    assert (p.ticket, p.volume, out.entry, out.volume) == (ticket, D("0.60"), rc.DEAL_ENTRY_OUT, D("0.40"))
    assert out.profit == D("40.00")  # (1.10102 - 1.10002) x 0.40 x 100 000
    market(s, sess, "sell", "1.00")  # 0.60 against it: reversed, 0.40 sell left
    [q] = s.positions(login)
    inout = s.history_deals(login)[-1]
    assert (q.ticket, q.type, q.volume, q.price_open) == (ticket, rc.POSITION_TYPE_SELL, D("0.40"), D("1.10102"))
    assert (inout.entry, inout.volume, inout.profit) == (rc.DEAL_ENTRY_INOUT, D("1.00"), D("60.00"))
    market(s, sess, "buy", "0.40")  # equal volume: closed
    assert s.positions(login) == [] and s.history_deals(login)[-1].entry == rc.DEAL_ENTRY_OUT
