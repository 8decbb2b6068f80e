"""Account state, stop-out, minimum deposit and leverage change (seeds 000 and 004)."""

from decimal import Decimal as D

from bridge.domain import (PositionRisk, Rates, default_rules, leverage_change_refusal, margin_level,
                           snapshot, stop_out, trading_refusal)

RULES = default_rules()


def calc(leverage=1000, account_type="standard"):
    return RULES.margin_for(account_type, "USD", leverage)


def test_snapshot_and_margin_level():
    positions = [PositionRisk(1, "forex_majors", D(145840), D("-20.50"))]
    snap = snapshot(D(1000), positions, calc())
    assert snap.equity == D("979.50") and snap.margin == D("145.84")
    assert snap.free_margin == D("833.66")
    assert snap.margin_level == D("979.50") / D("145.84") * 100


def test_margin_level_is_undefined_without_margin():
    assert margin_level(D(100), D(0)) is None
    assert snapshot(D(100), [], calc()).margin_level is None


def test_stop_out_closes_the_largest_loser_and_reevaluates():
    # Hand calculation, USD account 1:1000, forex_majors tiers:
    #   #1 notional 1 459 000, profit -300     #2 notional 658 750, profit -500
    #   #3 notional   145 840, profit +40      aggregate 2 263 590 -> margin 5 117.95 (seed step 3)
    # balance 6 000 -> equity 6 000 - 300 - 500 + 40 = 5 240
    # level = 5 240 / 5 117.95 = 102.38 % ... at stop-out level 110 %: stop-out.
    positions = [PositionRisk(1, "forex_majors", D(1459000), D(-300)),
                 PositionRisk(2, "forex_majors", D(658750), D(-500)),
                 PositionRisk(3, "forex_majors", D(145840), D(40))]
    closes = stop_out(D(6000), positions, calc(), stop_out_level=D(110))
    # first victim: #2, the largest loss (-500). Aggregate left 1 604 840:
    #   200 000/1000 + 1 404 840/500 = 200 + 2 809.68 = 3 009.68; level 5 240/3 009.68 = 174 % > 110: stop.
    assert [c.ticket for c in closes] == [2]
    assert closes[0].margin_after == D("3009.68")
    assert closes[0].margin_level_before == D(5240) / D("5117.95") * 100
    assert closes[0].margin_level_after == D(5240) / D("3009.68") * 100


def test_stop_out_continues_until_above_the_level():
    positions = [PositionRisk(1, "forex_majors", D(1459000), D(-300)),
                 PositionRisk(2, "forex_majors", D(658750), D(-500)),
                 PositionRisk(3, "forex_majors", D(145840), D(40))]
    # At 200 %: after #2 the level is 174 % (still <= 200) -> close #1 (-300) next:
    #   left 145 840 -> margin 145.84, level 5 240 / 145.84 = 3 593 % -> stop.
    closes = stop_out(D(6000), positions, calc(), stop_out_level=D(200))
    assert [c.ticket for c in closes] == [2, 1]
    assert closes[-1].margin_after == D("145.84")


def test_stop_out_at_exactly_the_level_fires():
    # equity 29.168 / margin 145.84 = exactly 20 %: "at or below" -> close.
    positions = [PositionRisk(1, "forex_majors", D(145840), D("-970.832"))]
    closes = stop_out(D(1000), positions, calc(), stop_out_level=D(20))
    assert [c.ticket for c in closes] == [1]
    assert stop_out(D("1000.01"), positions, calc(), stop_out_level=D(20)) == []


def test_minimum_deposit_disables_trading():
    pro = RULES.account_types.get("pro")
    standard = RULES.account_types.get("standard")
    assert trading_refusal(pro, "USD", D("99.99"), Rates()).code == "trade_disabled"
    assert trading_refusal(pro, "USD", D(100), Rates()) is None
    assert trading_refusal(standard, "USD", D("0.99"), Rates()) is not None
    assert trading_refusal(standard, "USD", D(1), Rates()) is None
    cent = RULES.account_types.get("standard_cent")
    assert trading_refusal(cent, "USC", D(99), Rates()) is not None  # 1 USD = 100 USC
    assert trading_refusal(cent, "USC", D(100), Rates()) is None
    # 100 USD at EURUSD 1.08 = 92.5925.. EUR, rounded half up to 92.59 EUR
    assert trading_refusal(pro, "EUR", D("92.59"), Rates({"EURUSD": D("1.08")})) is None
    assert trading_refusal(pro, "EUR", D("92.58"), Rates({"EURUSD": D("1.08")})) is not None


def test_leverage_change_is_free_with_nothing_open():
    standard = RULES.account_types.get("standard")
    assert leverage_change_refusal(standard, calc(), D(0), [], 100) is None
    assert leverage_change_refusal(standard, calc(), D(0), [], 777).code == "invalid_leverage"


def test_leverage_change_with_positions_only_if_margin_holds():
    standard = RULES.account_types.get("standard")
    positions = [PositionRisk(1, "forex_majors", D(145840), D(0))]
    # at 1:100 the margin is 145 840 / 100 = 1 458.40
    assert leverage_change_refusal(standard, calc(), D("1458.40"), positions, 100) is None
    refusal = leverage_change_refusal(standard, calc(), D("1458.39"), positions, 100)
    assert refusal.code == "insufficient_margin" and "1458.40" in refusal.detail
