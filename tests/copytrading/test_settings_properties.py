"""Property tests of copy settings over random trader activity (issue 15, "How it is checked"):

"for random settings and random trader activity, money balances to the cent, no copy outlives
its trader position, a filtered or refused trade never opens, modes and limits compose in the
documented order. Replay gives identical commands."
"""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from bridge.copytrading import (CopyRefused, Engine, OpenCopy, PriceTick, RiskLimitTriggered, SetCopySettings,
                                Subscribe, TraderPositionOpened, WalletDeposited)
from bridge.copytrading.settings import CopySide, map_symbol
from bridge.domain.currency import Rates
from bridge.domain.sizing import VolumeMode, copy_volume, normalise
from bridge.domain.trading import Side
from tests.copytrading.test_properties import SETTINGS, SYMBOLS, Run, action, check

ISSUE = ("for random settings and random trader activity, money balances to the cent, no copy outlives its trader "
         "position, a filtered or refused trade never opens, modes and limits compose in the documented order. "
         "Replay gives identical commands.")
SUBS = (1, 2, 3, 4)  # 4: a Standard Cent account (USC, item 2)


@st.composite
def copy_settings(draw) -> dict:
    mode = draw(st.sampled_from(list(VolumeMode)))
    out: dict = {"mode": mode.value}
    if mode is VolumeMode.FIXED:
        out["fixed_volume"] = str(D(draw(st.integers(1, 300))) / 100)
    if mode is VolumeMode.MULTIPLIER:
        out["multiplier"] = str(D(draw(st.integers(1, 400))) / 100)
    symbols = st.lists(st.sampled_from(sorted(SYMBOLS)), min_size=1, max_size=2, unique=True)
    choice = draw(st.sampled_from(["none", "allowed", "blocked"]))
    if choice == "allowed":
        out["symbols_allowed"] = draw(symbols)
    elif choice == "blocked":
        out["symbols_blocked"] = ",".join(draw(symbols))
    out["side"] = draw(st.sampled_from(["both", "buy", "sell"]))
    low = draw(st.none() | st.integers(1, 100))
    high = draw(st.none() | st.integers(50, 300))
    if low is not None and (high is None or low <= high):
        out["min_trader_volume"] = str(D(low) / 100)
    if high is not None:
        out["max_trader_volume"] = str(D(high) / 100)
    out["reverse"] = draw(st.booleans())
    out["max_slippage_points"] = draw(st.none() | st.integers(0, 40))
    out["symbol_suffix"] = draw(st.sampled_from(["", "c", ".m"]))  # item 2: a cent account's EURUSDc
    for name, unit_name, action_name in (("daily_loss_limit", "daily_loss_unit", "daily_loss_action"),
                                         ("max_drawdown", "max_drawdown_unit", "max_drawdown_action")):
        if draw(st.booleans()):  # item 8: limits that act
            unit = draw(st.sampled_from(["money", "percent"]))
            out[name] = str(draw(st.integers(1, 30)) if unit == "percent" else draw(st.integers(1, 800)))
            out[unit_name] = unit
            out[action_name] = draw(st.sampled_from(["stop_opening", "close_and_suspend", "close_and_stop"]))
    out["copy_stops"] = draw(st.sampled_from([None, True, False]))  # item 5
    out["mirror_stop_changes"] = draw(st.sampled_from([None, True, False]))
    if draw(st.booleans()):
        out["symbol_map"] = {draw(st.sampled_from(sorted(SYMBOLS))): "ALIAS"}
    return out


settings_action = st.tuples(st.just("settings"), st.sampled_from(SUBS), copy_settings())
quote_action = st.tuples(st.just("quote"), st.sampled_from(sorted(SYMBOLS)), st.integers(0, 30))
activity = st.one_of(action, settings_action, quote_action)


class SettingsRun(Run):
    """The property world, checking every step's opens and refusals against the settings in force."""

    def handle(self, event, fill: bool = True):
        before = None
        if isinstance(event, TraderPositionOpened):
            before = {s.id: (s.copy_settings, s.balance, s.currency) for s in self.engine.subscriptions.values()}
            before["trader_balance"] = self.engine.traders["T"].balance
        step = super().handle(event, fill)
        if before is not None:
            check_fan_out(event, step, before, self.engine)
        held = {s.id for s in self.engine.subscriptions.values() if s.limit_hit is not None}
        assert not [c for c in step.commands if isinstance(c, OpenCopy) and c.subscription in held]
        for r in step.records:  # a limit's trip: the loss reached what the limit allows
            if isinstance(r, RiskLimitTriggered):
                assert r.loss >= r.allowed and r.loss == r.base - r.equity
        return step


def check_fan_out(e: TraderPositionOpened, step, settings: dict, engine: Engine) -> None:
    opened = {c.subscription: c for c in step.commands if isinstance(c, OpenCopy) and c.trader_ticket == e.ticket}
    refused = [r for r in step.records if isinstance(r, CopyRefused) and r.trader_ticket == e.ticket]
    for r in refused:  # a filtered or refused trade never opens
        assert r.subscription not in opened, r
        sub = engine.subscriptions[r.subscription]
        assert e.ticket not in sub.copies, r
        assert isinstance(r.details, dict) and r.details, r  # why not copied: the figures, for everyone
    for r in step.records:  # opens refused later (server, withdrawn) are explained too
        if isinstance(r, CopyRefused):
            assert isinstance(r.details, dict) and r.details, r
    for sub_id, cmd in opened.items():
        s, balance, currency = settings[sub_id]
        # the filters passed
        assert not s.symbols_allowed or e.symbol in s.symbols_allowed
        assert e.symbol not in s.symbols_blocked
        assert s.side is CopySide.BOTH or s.side.value == e.side.value
        assert s.min_trader_volume is None or e.volume >= s.min_trader_volume
        assert s.max_trader_volume is None or e.volume <= s.max_trader_volume
        # the symbol mapping: the investor's name, an explicit pair first
        assert cmd.symbol == map_symbol(s, e.symbol)
        # reverse
        assert cmd.side is (e.side.opposite if s.reverse else e.side)
        # the mode, then the seed's §5 limits: half up to 0.01, 0.01 .. 100 lots
        assert D("0.01") <= cmd.volume <= D("100") and cmd.volume == cmd.volume.quantize(D("0.01"))
        if s.mode is VolumeMode.FIXED:
            assert cmd.volume == normalise(s.fixed_volume).volume
        elif s.mode is VolumeMode.MULTIPLIER:
            assert cmd.volume == normalise(s.multiplier * e.volume).volume
        elif s.mode is VolumeMode.EQUAL:
            assert cmd.volume == normalise(e.volume).volume
        elif s.mode is VolumeMode.BALANCE_RATIO:  # the fan-out's precomputed form = the domain's formula
            # a cent account's balance is in USC: the domain converts it (item 2)
            assert cmd.volume == copy_volume(s.mode, e.volume, investor_balance=balance,
                                             trader_balance=settings["trader_balance"], investor_currency=currency,
                                             trader_currency="USD", rates=Rates()).volume


def run(actions, refuse=frozenset(), restarts: bool | str = True) -> SettingsRun:
    from bridge.copytrading import ClientAssigned, PartnerRegistered

    w = SettingsRun(set(refuse))
    w.prices.update(SYMBOLS)
    w.trader(equity="10000", commission="30")
    w.handle(PartnerRegistered(w.tick(), "P"))
    w.handle(ClientAssigned(w.tick(), "I1", "P"))
    w.investor("I1", account=2001, amount="3000", protection="30")
    w.investor("I2", account=2002, amount="5000", mode=VolumeMode.PROPORTIONAL, deposit="6000")
    w.investor("I3", account=2003, amount="800")
    w.handle(WalletDeposited(w.tick(), "I4", D("900")))  # a cent account: 900 USD -> 90 000 USC
    w.handle(Subscribe(w.tick(), "I4", "T", 2004, D("900"), mode=VolumeMode.PROPORTIONAL,
                       account_type="mt4_standard_cent", currency="USC"))
    assert w.engine.subscriptions[4].balance == D("90000")
    tickets: list[int] = []
    for a in actions:
        kind = a[0]
        if kind == "open":
            _, sym, centi, buy = a
            t, _ = w.open(str(D(centi) / 100), symbol=sym, side=Side.BUY if buy else Side.SELL,
                          price=str(w.prices[sym]))
            tickets.append(t)
        elif kind in ("partial", "close") and tickets:
            t = tickets[a[1] % len(tickets)]
            pos = w.engine.traders["T"].positions[t]
            if kind == "partial":
                vol = (pos.volume * a[2] / 100).quantize(D("0.01"))
                if 0 < vol < pos.volume:
                    w.close(t, str(vol), symbol=pos.symbol)
            else:
                w.close(t, str(pos.volume), symbol=pos.symbol, reason=a[2])
                tickets.remove(t)
        elif kind == "settings":
            sub = w.engine.subscriptions[a[1]]
            w.handle(SetCopySettings(w.tick(), a[1], sub.investor, **a[2]))
        elif kind == "quote":  # a quote near the last price: the price guard has something to compare
            _, sym, spread = a
            step = D("0.10") if sym == "XAUUSD" else D("0.00001")
            w.handle(PriceTick(w.tick(), sym, w.prices[sym], w.prices[sym] + step * spread))
        elif kind == "restart" and restarts == "bytes":
            w.engine = Engine.from_bytes(w.engine.to_bytes())
        elif kind == "restart" and restarts:
            w.engine = Engine.from_state(w.engine.to_state())
        else:
            _other(w, a)
        check(w)  # money to the cent; no copy outlives its trader position
    return w


def _other(w: SettingsRun, a: tuple) -> None:
    """The remaining actions of the engine's property world (moves, time, equity, edits, stops)."""
    from bridge.copytrading import AccountUpdated, EditSettings, StopCopying, TimePassed
    from tests.copytrading.test_properties import STEP
    kind = a[0]
    if kind == "move":
        _, sym, steps = a
        price = max(w.prices[sym] + STEP[sym] * steps, STEP[sym] * 100)
        w.prices[sym] = price
        w.handle(PriceTick(w.tick(), sym, price, price + STEP[sym]))
    elif kind == "time":
        w.handle(TimePassed(w.tick(a[1])))
    elif kind == "trader_equity":
        w.handle(AccountUpdated(w.tick(), 1000, D(a[1]), D(a[1])))
    elif kind == "edit":
        sub = w.engine.subscriptions[a[1]]
        w.handle(EditSettings(w.tick(), a[1], sub.investor, protection_pct=None if a[2] is None else D(a[2])))
    elif kind == "stop":
        sub = w.engine.subscriptions[a[1]]
        w.handle(StopCopying(w.tick(), a[1], sub.investor, close_open=a[2]))


start = st.lists(settings_action, max_size=3)


@SETTINGS
@given(first=start, actions=st.lists(activity, max_size=40), refuse=st.sets(st.integers(1, 40), max_size=5))
def test_invariants_hold_for_random_settings_and_activity(first, actions, refuse):
    assert "money balances to the cent" in ISSUE
    w = run([*first, *actions], refuse)
    check(w)


@SETTINGS
@given(first=start, actions=st.lists(activity, max_size=30), refuse=st.sets(st.integers(1, 30), max_size=3))
def test_replay_with_settings_gives_identical_commands(first, actions, refuse):
    assert "Replay gives identical commands." in ISSUE
    plain = run([*first, *actions], refuse, restarts=False)
    for restarts in (True, "bytes"):
        again = run([*first, *actions], refuse, restarts=restarts)
        assert plain.log == again.log
        assert [s.records for s in plain.steps] == [s.records for s in again.steps]
        assert plain.engine.to_state() == again.engine.to_state()
