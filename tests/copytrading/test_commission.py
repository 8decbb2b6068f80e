"""Commission §9, §10, §8.3: a high-water mark settled every Sunday 00:00 server time (on the
engine's `now`, never the wall clock) and at stop; deposits and withdrawals are never gain."""

from datetime import datetime, timezone
from decimal import ROUND_HALF_EVEN
from decimal import Decimal as D

from freezegun import freeze_time
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.copytrading import (AccountUpdated, ChangeInvestment, CommissionAccrued, CommissionPaid, Engine,
                                InvestmentChanged, Refused, StopCopying, SubscriptionStopped, TimePassed,
                                WalletDeposited, WalletMovement)
from bridge.copytrading.commission import next_period, next_weekly, settle
from bridge.domain.money import round_money
from bridge.domain.servertime import BROKER_DEFAULT, ServerTimeZone
from tests.copytrading.helpers import DAY, HOUR, T0, World, of

SUNDAY = T0 + 6 * DAY  # 2024-06-09 00:00 UTC (T0 is Monday 2024-06-03)
WEEK = 7 * DAY
# Sunday 00:00 server time for the default broker zone (UTC+2, UTC+3 in US summer time)
PAYOUT = SUNDAY - 3 * HOUR


def _trade(w, points: int, volume="0.1"):
    """Open at 1.10000 and close `points` away: 0.1 lot -> 0.10 USD per point (1 USD per pip),
    0.01 lot -> 0.01 USD per point."""
    w.prices["EURUSD"] = D("1.10000")
    ticket, _ = w.open(volume, price="1.10000")
    w.close(ticket, volume, price=str(D("1.10000") + D(points) * D("0.00001")))


def _usd(w, amount: str):
    """A closed trade of exactly `amount` USD (0.01 lot, one cent per point)."""
    _trade(w, int(D(amount) * 100), "0.01")


def _world(rate="20", amount="1000", deposit=None):
    w = World()
    w.trader(commission=rate)
    sub = w.investor("I", amount=amount, deposit=deposit)
    return w, sub


def _settle(w, week: int):
    """Move the engine to the settlement that ends week `week` (1 = the first Sunday)."""
    w.now = PAYOUT + (week - 1) * WEEK
    return w.handle(TimePassed(w.now))


def _fees(step) -> list:
    return [p.amount for p in of(step, CommissionPaid)]


def test_seed_9_a_plus_100_minus_100_week_pays_nothing():
    """Seed 003 §9: "The Trader determines the commission for copying orders. The commission can
    range from 0% to 50% of the Investor's gain. Commission charges accumulated within one week
    are paid out to the Trader's Wallet on Sundays." The charge of a week is the gain above the
    mark when the week is settled, so issue 12's case ("a +100 then −100 week still pays 20 at
    20 %") pays nothing."""
    w, sub = _world("20")
    _usd(w, "100")
    assert w.engine.subscription_view("I", sub).commission_accrued == D("20.00")  # if settled now
    _usd(w, "-100")
    step = _settle(w, 1)
    assert _fees(step) == [] and of(step, CommissionAccrued) == []
    s = w.engine.subscriptions[sub]
    assert (s.realised, s.high_water_mark, s.commission_paid, s.balance) == (0, 0, 0, D("1000.00"))


def test_gain_loss_recovery_no_fee_until_above_the_mark():
    w, sub = _world("20")
    _usd(w, "100")
    assert _fees(_settle(w, 1)) == [D("20.00")]  # gain 100, mark 0 -> 100
    _usd(w, "-60")
    assert _fees(_settle(w, 2)) == []  # a loss week: gain 40, the mark stays 100
    _usd(w, "40")
    assert _fees(_settle(w, 3)) == []  # recovering, still below the mark: gain 80
    _usd(w, "50")
    step = _settle(w, 4)  # above the mark: 20 % of 130 - 100
    (acc,) = of(step, CommissionAccrued)
    assert (acc.gain, acc.previous_mark, acc.high_water_mark, acc.amount, acc.reason) == \
        (D("130.00"), D("100.00"), D("130.00"), D("6.00"), "weekly")
    assert _fees(step) == [D("6.00")]
    assert w.engine.subscriptions[sub].commission_paid == D("26.00")


def test_a_loss_week_then_a_recovery_week():
    w, sub = _world("20")
    _usd(w, "-100")
    assert _fees(_settle(w, 1)) == []  # gain -100: below the initial mark 0
    _usd(w, "60")
    assert _fees(_settle(w, 2)) == []  # gain -40: still nothing
    _usd(w, "70")
    assert _fees(_settle(w, 3)) == [D("6.00")]  # gain 30 above the mark 0
    assert w.engine.subscriptions[sub].high_water_mark == D("30.00")


def test_the_documented_three_weeks_with_a_deposit_in_the_middle():
    """docs/copy-trading.md, "Commission": gain, loss, recovery; 500 added in week 2."""
    w, sub = _world("20", amount="1000", deposit="1500")
    s = w.engine.subscriptions[sub]
    _usd(w, "100")
    assert _fees(_settle(w, 1)) == [D("20.00")] and s.balance == D("1080.00")
    step = w.handle(ChangeInvestment(w.tick(), sub, "I", D("500")))
    assert of(step, InvestmentChanged)[0].invested == D("1500")
    _usd(w, "-60")
    # the balance grew by 440 over the week, the gain fell to 40: nothing
    assert _fees(_settle(w, 2)) == [] and s.balance == D("1520.00") and s.high_water_mark == D("100.00")
    _usd(w, "90")
    assert _fees(_settle(w, 3)) == [D("6.00")] and s.balance == D("1604.00") and s.high_water_mark == D("130.00")
    assert s.balance == s.invested + s.realised - s.commission_paid


def test_deposits_and_withdrawals_are_never_gain():
    w, sub = _world("20", amount="1000", deposit="3000")
    s = w.engine.subscriptions[sub]
    _usd(w, "10")
    w.handle(ChangeInvestment(w.tick(), sub, "I", D("1500")))  # a top-up from the wallet
    w.handle(WalletDeposited(w.tick(), "I", D("700")))  # money into the wallet
    # the server shows a balance 250 above the engine's ledger (a deposit straight into the
    # investor account): the engine's gain is its closed results, not the server's balance
    w.handle(AccountUpdated(w.tick(), 2000, s.balance + 250, s.balance + 250))
    step = _settle(w, 1)
    assert _fees(step) == [D("2.00")] and of(step, CommissionAccrued)[0].gain == D("10.00")
    step = w.handle(ChangeInvestment(w.tick(), sub, "I", D("-2000")))  # take most of it back
    assert of(step, InvestmentChanged)[0].invested == D("500")
    _usd(w, "-5")
    assert _fees(_settle(w, 2)) == []  # the balance fell by 2005: a 5 loss, the mark stays 10
    _usd(w, "15")
    assert _fees(_settle(w, 3)) == [D("2.00")]  # gain 20: 20 % of 10 above the mark
    assert w.engine.wallet("I", "I") == D("3000") - 1000 - 1500 + 700 + 2000


def test_change_investment_refusals_change_nothing():
    w, sub = _world("20", amount="1000", deposit="1100")
    before = w.engine.to_state()
    for amount, code in ((D("200"), "insufficient_funds"), (D("0"), "invalid_amount"),
                         (D("0.001"), "invalid_amount"), (D("-1000"), "above_invested"),
                         (D("-1000.01"), "insufficient_free_margin")):
        (ref,) = of(w.engine.handle(ChangeInvestment(w.tick(), sub, "I", amount)), Refused)
        assert ref.code == code, (amount, ref)
    (ref,) = of(w.engine.handle(ChangeInvestment(w.tick(), sub, "X", D("10"))), Refused)
    assert ref.code == "forbidden"
    after = w.engine.to_state()
    assert {k: v for k, v in after.items() if k not in ("seq", "now")} == \
        {k: v for k, v in before.items() if k not in ("seq", "now")}
    # an open copy holds margin: what it holds cannot be taken back
    w.prices["EURUSD"] = D("1.10000")
    w.open("1", price="1.10000")
    margin = w.engine._books[sub].total
    (ref,) = of(w.engine.handle(ChangeInvestment(w.tick(), sub, "I", -(D("1000") - margin + D("0.01")))), Refused)
    assert ref.code == "insufficient_free_margin"


def test_stop_mid_week_settles_the_partial_week_by_the_same_rule():
    w, sub = _world("20")
    _usd(w, "100")
    assert _fees(_settle(w, 1)) == [D("20.00")]
    _usd(w, "-30")
    _usd(w, "80")  # gain 150 mid-week: 20 % of 50 above the mark
    step = w.handle(StopCopying(w.tick(), sub, "I"))
    (acc,) = of(step, CommissionAccrued)
    assert (acc.reason, acc.amount, acc.high_water_mark) == ("stop", D("10.00"), D("150.00"))
    assert [(p.amount, p.reason) for p in of(step, CommissionPaid)] == [(D("10.00"), "stop")]
    (stopped,) = of(step, SubscriptionStopped)
    assert (stopped.commission, stopped.returned) == (D("10.00"), D("1000") + 150 - 30)


def test_stop_after_a_plus_100_minus_100_partial_week_pays_nothing():
    w, sub = _world("20")
    _usd(w, "100")
    _usd(w, "-100")
    step = w.handle(StopCopying(w.tick(), sub, "I"))
    assert of(step, CommissionPaid) == [] and of(step, SubscriptionStopped)[0].returned == D("1000.00")


def test_exactly_at_the_mark_pays_nothing():
    w, sub = _world("20")
    _usd(w, "100")
    _settle(w, 1)
    _usd(w, "-30")
    _usd(w, "30")  # back to exactly 100
    step = _settle(w, 2)
    assert of(step, CommissionAccrued) == [] and _fees(step) == []
    _usd(w, "0.01")  # one cent above: 20 % of 0.01 = 0.002, below half a cent: carried
    step = _settle(w, 3)
    assert [a.amount for a in of(step, CommissionAccrued)] == [D("0.002")] and _fees(step) == []
    assert w.engine.subscriptions[sub].accrued == D("0.002")


def test_rounding_is_half_up_on_the_exact_total_with_the_half_cent_trap():
    # 50 % of 5.33 is 2.665: half up gives 2.67 (half-even, banker's rounding, would give 2.66)
    assert settle(D("5.33"), D(0), D("50")).due == D("2.67")
    assert D("2.665").quantize(D("0.01"), ROUND_HALF_EVEN) == D("2.66")
    # 50 % of 5.35 is 2.675: 2.68 in Decimal; binary floats round it to 2.67
    assert settle(D("5.35"), D(0), D("50")).due == D("2.68") and round(5.35 * 0.5, 2) == 2.67
    # sub-cent rests carry: 0.004 pays nothing, another 0.004 makes 0.008, paid as 0.01
    first = settle(D("0.02"), D(0), D("20"))
    assert (first.due, first.owed) == (D("0.00"), D("0.004"))
    second = settle(D("0.04"), first.mark, D("20"), first.owed)
    assert (second.due, second.owed) == (D("0.01"), D("-0.002"))


def test_half_a_cent_is_paid_as_a_cent_in_the_engine():
    w, sub = _world("12.5")
    _usd(w, "0.04")  # 12.5 % of 0.04 = 0.005
    step = _settle(w, 1)
    assert [a.amount for a in of(step, CommissionAccrued)] == [D("0.005")] and _fees(step) == [D("0.01")]
    assert w.engine.subscriptions[sub].accrued == D("-0.005")  # paid half a cent ahead
    _usd(w, "0.04")  # another 0.005: the exact total 0.010 is what has been paid
    assert _fees(_settle(w, 2)) == [] and w.engine.subscriptions[sub].accrued == 0


def test_the_rate_is_locked_at_start_and_the_cap_applies_at_settlement():
    """Seed 003 §10: "The commission the Investor pays to the Trader is set at the moment when the
    Investor presses "Start Copying". If the Trader changes the commission amount, it does not
    affect the amount due under this subscription to the Trader." §8.3 lets the service
    "reduce the commission set by the Trader": the cap in force at the settlement applies."""
    from bridge.copytrading import CommissionCapSet, TraderCommissionChanged
    w, sub = _world("20")
    w.handle(TraderCommissionChanged(w.tick(), "T", D("50")))  # §10: not this subscription
    _usd(w, "100")
    assert _fees(_settle(w, 1)) == [D("20.00")]
    w.handle(CommissionCapSet(w.tick(), "T", D("10")))  # §8.3: the service caps it
    _usd(w, "100")
    step = _settle(w, 2)
    assert _fees(step) == [D("10.00")] and of(step, CommissionAccrued)[0].rate_pct == D("10")


def test_mark_and_carry_survive_a_restart_mid_week():
    w, sub = _world("12.5")
    _usd(w, "100")
    _settle(w, 1)
    _usd(w, "0.04")
    _settle(w, 2)
    _usd(w, "-50")
    after_restart = []
    for restored in (Engine.from_state(w.engine.to_state()), Engine.from_bytes(w.engine.to_bytes())):
        s = restored.subscriptions[sub]
        assert (s.high_water_mark, s.accrued) == (D("100.04"), D("-0.005"))
        after_restart.append(restored.handle(TimePassed(PAYOUT + 2 * WEEK)).records)
    # the engine that never restarted is the reference
    assert after_restart == [w.engine.handle(TimePassed(PAYOUT + 2 * WEEK)).records] * 2


# ---------------------------------------------------------------------- property
_WEEK_ACTIONS = st.lists(st.one_of(
    st.tuples(st.just("trade"), st.integers(-20_000, 20_000)),  # cents
    st.tuples(st.just("top_up"), st.integers(1, 50_000)),
    st.tuples(st.just("take_back"), st.integers(1, 20_000)),
), max_size=4)


def _run(rate: str, weeks, flows: bool, stop: bool):
    w, sub = _world(rate, amount="1000", deposit="10000")
    fees, gains = [], []
    for i, week in enumerate(weeks, start=1):
        for kind, cents in week:
            if kind == "trade":
                _usd(w, str(D(cents) / 100))
            elif flows:
                amount = D(cents) / 100
                w.handle(ChangeInvestment(w.tick(), sub, "I", amount if kind == "top_up" else -amount))
        gains.append(w.engine.subscriptions[sub].realised)
        fees.append(of(_settle(w, i), CommissionAccrued))
    if stop:
        w.handle(StopCopying(w.tick(), sub, "I"))
    return w, sub, fees, gains


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["0", "12.5", "20", "33.3", "50"]), st.lists(_WEEK_ACTIONS, min_size=1, max_size=6),
       st.booleans())
def test_fees_total_the_rate_times_the_rise_of_the_mark(rate, weeks, stop):
    w, sub, fees, gains = _run(rate, weeks, flows=True, stop=stop)
    s = w.engine.subscriptions[sub]
    r = D(rate) / 100
    # the mark is the highest gain seen at a settlement (the initial mark is 0)
    assert s.high_water_mark == max([D(0), *gains, *([s.realised] if stop else [])])
    # paid = the exact fees rounded once, half up: rate x (final mark - initial mark)
    assert s.commission_paid == round_money(r * s.high_water_mark)
    # no week pays more than the rate times its own net gain
    previous = D(0)
    for gain, accrued in zip(gains, fees):
        assert sum((a.amount for a in accrued), D(0)) <= r * max(gain - previous, D(0))
        previous = gain
    # deposits and withdrawals change no fee: the same trades without them settle the same
    _, _, fees_alone, _ = _run(rate, weeks, flows=False, stop=stop)
    assert [[a.amount for a in f] for f in fees] == [[a.amount for a in f] for f in fees_alone]
    sources, holdings = w.engine.ledger()
    assert sources == holdings


def test_sunday_payout_follows_the_engine_now_not_the_wall_clock():
    w, sub = _world()
    _usd(w, "100")
    # The wall clock says Sunday midnight UTC; the engine's now is just before server Sunday: no payout.
    with freeze_time("2024-06-09 00:00:00"):
        step = w.engine.handle(TimePassed(PAYOUT - 1))
        assert of(step, CommissionPaid) == []
    # The wall clock says Wednesday; the engine's now reaches Sunday 00:00: payout.
    with freeze_time("2024-06-05 12:00:00"):
        step = w.engine.handle(TimePassed(PAYOUT))
    (paid,) = of(step, CommissionPaid)
    assert (paid.now, paid.amount, paid.reason, paid.trader) == (PAYOUT, D("20.00"), "weekly", "T")
    moves = of(step, WalletMovement)
    assert [(m.owner, m.amount, m.kind) for m in moves] == [("T", D("20.00"), "commission")]
    assert w.engine.subscriptions[sub].balance == D("1080.00")
    # one payout per Sunday
    assert of(w.engine.handle(TimePassed(PAYOUT + HOUR)), CommissionPaid) == []


def test_sunday_payout_with_now_taken_from_a_frozen_clock():
    # How the daemon's shell builds `now`: from the (here frozen) wall clock.
    def shell_now() -> int:
        return int(datetime.now(timezone.utc).timestamp() * 1000)

    with freeze_time("2024-06-03 00:00:00") as frozen:
        w = World(now=shell_now())
        w.trader()
        w.investor("I", amount="1000")
        _usd(w, "100")
        frozen.move_to("2024-06-08 20:59:59")  # Saturday 23:59:59 server time
        assert of(w.engine.handle(TimePassed(shell_now())), CommissionPaid) == []
        frozen.move_to("2024-06-08 21:00:00")  # Sunday 00:00 server time
        (paid,) = of(w.engine.handle(TimePassed(shell_now())), CommissionPaid)
        assert paid.amount == D("20.00")
        frozen.move_to("2024-06-15 21:00:01")  # nothing accrued that week
        assert of(w.engine.handle(TimePassed(shell_now())), CommissionPaid) == []


def test_next_weekly_boundaries():
    assert next_weekly(T0, 6) == SUNDAY
    assert next_weekly(SUNDAY, 6) == SUNDAY + 7 * DAY  # strictly after
    assert next_weekly(SUNDAY - 1, 6) == SUNDAY
    # server time UTC+2: Sunday 00:00 server time is Saturday 22:00 UTC
    assert next_weekly(T0, 6, ServerTimeZone(2 * HOUR)) == SUNDAY - 2 * HOUR
    # UTC+2 with US summer time (June): UTC+3, so Saturday 21:00 UTC; UTC-5: Sunday 05:00 UTC
    assert next_weekly(T0, 6, BROKER_DEFAULT) == SUNDAY - 3 * HOUR
    assert next_weekly(T0, 6, ServerTimeZone(-5 * HOUR)) == SUNDAY + 5 * HOUR


def test_next_period_in_server_time():
    half = ServerTimeZone(5 * HOUR + 30 * 60_000)  # UTC+5:30: server hours start at :30 UTC
    assert next_period(T0, HOUR, half) == T0 + 30 * 60_000
    assert next_period(T0, HOUR, BROKER_DEFAULT) == T0 + HOUR
    assert next_period(T0, DAY, BROKER_DEFAULT) == T0 + DAY - 3 * HOUR  # server midnight


@given(st.integers(min_value=1_700_000_000_000, max_value=1_900_000_000_000),
       st.sampled_from([BROKER_DEFAULT, ServerTimeZone(-5 * HOUR, "us"), ServerTimeZone(2 * HOUR, "eu"),
                        ServerTimeZone(-5 * HOUR)]))
def test_next_weekly_is_the_next_server_sunday_midnight(now, zone):
    nxt = next_weekly(now, 6, zone)
    local = zone.to_server(nxt)
    assert nxt > now and local % DAY == 0 and (local // DAY + 3) % 7 == 6
    assert nxt - now <= 7 * DAY + HOUR  # at most a week (and the DST hour)
    assert next_weekly(nxt - 1, 6, zone) == nxt
