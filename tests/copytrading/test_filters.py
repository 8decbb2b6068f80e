"""Filters (issue 15 item 3), reverse copy (item 4) and the price guard (item 7)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from bridge.copytrading import (CloseCopy, CopyClosed, CopyRefused, EngineConfig, ModifyCopy, OpenCopy, PriceTick,
                                SetCopySettings, TraderPositionModified)
from bridge.domain.trading import Side
from tests.copytrading.helpers import World

ITEM_3 = ("**Filters**: symbol allow/block lists, magic numbers, side (buy only / sell only), trader volume range. "
          "A filtered trade is recorded as refused with its reason.")
ITEM_4 = "**Reverse copy**: buy ↔ sell, SL ↔ TP swapped."
ITEM_7 = ("**Price and delay guards**: maximum slippage in points against the trader's fill price and the open "
          "validity of the link contract; a copy outside either is refused with the figure.")


def world(config: EngineConfig | None = None, **settings: object) -> tuple[World, int]:
    w = World(config)
    w.trader(equity="10000")
    sub = w.investor("I1", amount="10000")
    if settings:
        w.handle(SetCopySettings(w.tick(), sub, "I1", **settings))
    return w, sub


def outcome(step) -> tuple[str, dict | None]:
    opened = [c for c in step.commands if isinstance(c, OpenCopy)]
    if opened:
        return "opened", None
    (refused,) = [r for r in step.records if isinstance(r, CopyRefused)]
    return refused.code, refused.details


@pytest.mark.parametrize("settings, deal, expected", [
    ({"symbols_allowed": "EURUSD,GBPUSD"}, dict(symbol="XAUUSD", price="2300.00"),
     ("symbol_not_allowed", {"symbol": "XAUUSD", "symbols_allowed": "EURUSD,GBPUSD"})),
    ({"symbols_allowed": "EURUSD,GBPUSD"}, dict(symbol="GBPUSD", price="1.27000"), ("opened", None)),
    ({"symbols_blocked": ["XAUUSD"]}, dict(symbol="XAUUSD", price="2300.00"),
     ("symbol_blocked", {"symbol": "XAUUSD", "symbols_blocked": "XAUUSD"})),
    ({"symbols_blocked": ["XAUUSD"]}, dict(symbol="EURUSD"), ("opened", None)),
    ({"side": "buy"}, dict(side=Side.SELL), ("side_filtered", {"side": "sell", "copies": "buy"})),
    ({"side": "sell"}, dict(side=Side.SELL), ("opened", None)),
    ({"min_trader_volume": "0.1", "max_trader_volume": "1"}, dict(volume="0.05"),
     ("trader_volume_below_min", {"trader_volume": "0.05", "limit": "0.1"})),
    ({"min_trader_volume": "0.1", "max_trader_volume": "1"}, dict(volume="2"),
     ("trader_volume_above_max", {"trader_volume": "2", "limit": "1"})),
    ({"min_trader_volume": "0.1", "max_trader_volume": "1"}, dict(volume="1"), ("opened", None)),  # inclusive
])
def test_a_filtered_trade_is_refused_with_its_reason_and_the_figure(settings, deal, expected):
    w, sub = world(**settings)
    _, step = w.open(**deal)
    assert outcome(step) == expected
    if expected[0] != "opened":
        assert not w.engine.subscriptions[sub].copies  # never opened, no margin held
        assert w.engine._books[sub].total == 0


@pytest.mark.parametrize("settings, magic, expected", [
    ({"magics_allowed": "1001,1002"}, 1002, ("opened", None)),
    ({"magics_allowed": "1001,1002"}, 0,  # a trade by hand (magic 0) is not one of the EA's
     ("magic_not_allowed", {"magic": "0", "magics_allowed": "1001,1002"})),
    ({"magics_allowed": [1001]}, None,  # a terminal that did not say the magic: the allow list refuses
     ("magic_not_allowed", {"magic": "unknown", "magics_allowed": "1001"})),
    ({"magics_blocked": [7]}, 7, ("magic_blocked", {"magic": "7", "magics_blocked": "7"})),
    ({"magics_blocked": [7]}, 8, ("opened", None)),
    ({"magics_blocked": [7]}, None, ("opened", None)),  # nothing says it is the blocked one
    ({"magics_allowed": [2**64 - 1]}, 2**64 - 1, ("opened", None)),  # MT5 magics are ulong
])
def test_magic_numbers_filter_the_trader_deals_like_the_other_filters(settings, magic, expected):
    # ITEM_3 "magic numbers": the trader's position_opened carries the EA's magic (wire `magic`,
    # MT4 OrderMagicNumber(), MT5 POSITION_MAGIC) into TraderPositionOpened.magic
    w, sub = world(**settings)
    _, step = w.open(magic=magic)
    assert outcome(step) == expected
    if expected[0] != "opened":
        assert not w.engine.subscriptions[sub].copies


@pytest.mark.parametrize("bad, message", [
    ({"magics_allowed": [-1]}, "magics_allowed: must be at most 64 magic numbers, each a whole number 0.."),
    ({"magics_allowed": [2**64]}, "magics_allowed: must be at most 64 magic numbers, each a whole number 0.."),
    ({"magics_blocked": "12,x"}, "magics_blocked: must be a list of magic numbers"),
    ({"magics_allowed": [True]}, "magics_allowed: must be a list of magic numbers"),
    ({"magics_allowed": "5", "magics_blocked": "5"}, "magics_blocked: 5 also in magics_allowed"),
    ({"magics_allowed": list(range(65))}, "magics_allowed: must be at most 64 magic numbers"),
])
def test_a_magic_list_is_validated_and_a_bad_one_changes_nothing(bad, message):
    w, sub = world(magics_allowed=[1001])
    before = w.engine.subscriptions[sub].copy_settings
    step = w.handle(SetCopySettings(w.tick(), sub, "I1", **bad))
    assert message in " ".join(r.detail for r in step.records if hasattr(r, "detail"))
    assert w.engine.subscriptions[sub].copy_settings == before


def test_reverse_copy_sells_what_the_trader_buys_and_swaps_sl_and_tp():
    w, sub = world(EngineConfig(mirror_stops=True), reverse=True)
    plain = w.investor("I2", account=2001, amount="10000")
    ticket, step = w.open("1", side=Side.BUY, price="1.10000")
    sides = {c.subscription: c.side for c in step.commands if isinstance(c, OpenCopy)}
    assert sides == {sub: Side.SELL, plain: Side.BUY}
    step = w.handle(TraderPositionModified(w.tick(), "T", ticket, D("1.09000"), D("1.12000")))
    stops = {c.subscription: (c.sl, c.tp) for c in step.commands if isinstance(c, ModifyCopy)}
    assert stops == {sub: (D("1.12000"), D("1.09000")), plain: (D("1.09000"), D("1.12000"))}
    # the market rises 100 points: the reversed copy loses what the plain one gains
    step = w.close(ticket, "1", price="1.10100")
    assert {c.subscription for c in step.commands if isinstance(c, CloseCopy)} == {sub, plain}
    profits = {r.subscription: r.profit for r in w.records(CopyClosed)}
    assert profits[plain] > 0 and profits[sub] == -profits[plain]
    sources, holdings = w.engine.ledger()
    assert sources == holdings


def test_turning_reverse_off_leaves_an_open_reversed_copy_reversed():
    w, sub = world(EngineConfig(mirror_stops=True), reverse=True)
    ticket, _ = w.open("1", side=Side.BUY)
    w.handle(SetCopySettings(w.tick(), sub, "I1", reverse=False))
    step = w.handle(TraderPositionModified(w.tick(), "T", ticket, D("1.09000"), D("1.12000")))
    (modify,) = [c for c in step.commands if isinstance(c, ModifyCopy)]
    assert (modify.sl, modify.tp) == (D("1.12000"), D("1.09000"))  # still a sell: its SL is above
    _, step = w.open("1", side=Side.BUY)
    assert [c.side for c in step.commands if isinstance(c, OpenCopy)] == [Side.BUY]


def test_the_price_guard_refuses_with_the_price_difference():
    w, sub = world(max_slippage_points=10)
    w.handle(PriceTick(w.tick(), "EURUSD", D("1.10000"), D("1.10020")))
    _, step = w.open("1", side=Side.BUY, price="1.10000")  # a buy copy fills at the ask: 20 points away
    assert outcome(step) == ("slippage", {"trader_price": "1.10000", "investor_price": "1.10020",
                                          "difference_points": "20", "limit_points": "10"})
    w.handle(SetCopySettings(w.tick(), sub, "I1", max_slippage_points=20))
    w.handle(PriceTick(w.tick(), "EURUSD", D("1.10000"), D("1.10020")))
    _, step = w.open("1", side=Side.BUY, price="1.10000")
    assert outcome(step) == ("opened", None)  # the limit is inclusive


def test_the_price_guard_without_a_known_price_does_not_refuse():
    w, _ = world(max_slippage_points=0)
    _, step = w.open("1", symbol="GBPUSD", price="1.27000")  # no quote of GBPUSD before the deal
    assert outcome(step) == ("opened", None)


def test_a_reversed_copy_is_guarded_at_its_own_side_of_the_quote():
    w, _ = world(max_slippage_points=5, reverse=True)
    w.handle(PriceTick(w.tick(), "EURUSD", D("1.10000"), D("1.10020")))
    _, step = w.open("1", side=Side.BUY, price="1.10020")  # the trader bought at the ask; the copy sells at the bid
    code, details = outcome(step)
    assert code == "slippage" and details["investor_price"] == "1.10000"
