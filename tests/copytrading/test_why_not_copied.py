"""Why not copied (issue 15): a refusal carries the figures behind it in `details`, beside the
fields it always had."""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal as D

from bridge.copytrading import CopyRefused, EngineConfig, SetCopySettings, TerminalOffline, TraderPositionOpened
from bridge.copytrading.subscription import SubState
from bridge.daemon import wire
from bridge.domain.trading import Side
from tests.copytrading.helpers import World

ISSUE = ("Every refusal already has a code. Add the explanation a person needs: the figures behind it (the computed "
         "volume before rounding, the mapped symbol, the price difference, the limit hit), on the desk's event rows, "
         "on the investor's page and in the admin API.")


def refusal(step) -> CopyRefused:
    (r,) = [r for r in step.records if isinstance(r, CopyRefused)]
    return r


def explained_world(amount: str = "10000") -> tuple[World, int]:
    w = World(EngineConfig(open_validity_ms=5000))
    w.trader(equity="10000")
    sub = w.investor("I1", amount=amount)
    w.handle(SetCopySettings(w.tick(), sub, "I1", symbols_blocked="USDJPY"))  # any setting: explained
    return w, sub


def test_the_existing_fields_stay_and_details_are_added():
    names = [f.name for f in fields(CopyRefused)]
    assert names == ["now", "subscription", "trader", "trader_ticket", "code", "detail", "retcode", "details"]


def test_the_computed_volume_before_rounding_and_the_limit_hit():
    assert "the computed volume before rounding" in ISSUE and "the limit hit" in ISSUE
    w, _ = explained_world()
    r = refusal(w.open("0.004")[1])
    assert (r.code, r.detail) == ("below_min_volume", "copy volume 0.004 lots")
    assert r.details == {"mode": "equal", "trader_volume": "0.004", "raw_volume": "0.004", "limit": "0.005"}
    r = refusal(w.open("150")[1])
    assert r.code == "above_max_volume" and r.details["limit"] == "100" and r.details["raw_volume"] == "150"


def test_no_money_gives_the_volume_the_equity_and_the_margin():
    w, _ = explained_world(amount="100")
    r = refusal(w.open("1")[1])
    assert r.code == "no_money"
    assert r.details == {"volume": "1.00", "equity": "100", "margin": "1100.00"}


def test_the_symbols_own_volume_rule():
    w, _ = explained_world()
    r = refusal(w.open("0.05", symbol="US30", price="39000.0")[1])  # indices trade in 0.1 lots
    assert r.code == "invalid_volume"
    assert r.details["volume"] == "0.05" and r.details["symbol_min"] and r.details["symbol_step"]


def test_proportional_gives_both_equities_and_leverages():
    w, sub = explained_world()
    w.handle(SetCopySettings(w.tick(), sub, "I1", mode="proportional"))
    r = refusal(w.open("0.0001")[1])
    assert r.details == {"mode": "proportional", "trader_volume": "0.0001", "raw_volume": "0.00005",
                         "investor_equity": "10000", "trader_equity": "10000", "investor_leverage": "100",
                         "trader_leverage": "200", "limit": "0.005"}


def test_state_terminal_and_timing_refusals_are_explained():
    w, sub = explained_world()
    w.handle(TerminalOffline(w.tick(), 2000))
    assert refusal(w.open("1")[1]).details == {"account": "2000"}
    w = World(EngineConfig(open_validity_ms=5000))
    w.trader()
    sub = w.investor("I1", amount="10000")
    w.handle(SetCopySettings(w.tick(), sub, "I1", reverse=True))
    opened_at = w.now - 10_000
    step = w.handle(TraderPositionOpened(w.tick(), "T", 77, "EURUSD", Side.BUY, D("1"), D("1.1"), opened_at))
    r = refusal(step)
    assert r.code == "opened_before_subscription"
    assert r.details == {"opened_at": str(opened_at), "subscribed_at": str(w.engine.subscriptions[sub].started_at)}
    step = w.handle(TraderPositionOpened(w.now + 9000, "T", 78, "EURUSD", Side.BUY, D("1"), D("1.1"), w.now + 1))
    assert refusal(step).details == {"late_ms": "8999", "validity_ms": "5000"}
    w.engine.subscriptions[sub].state = SubState.SUSPENDED
    assert refusal(w.open("1")[1]).details == {"state": "suspended_by_protection"}


def test_a_subscription_on_the_seed_terms_is_told_why_too():
    # issue 15: "Every refusal already has a code. Add the explanation a person needs: the figures
    # behind it" - for every subscription, the seed's terms included
    w = World()
    w.trader()
    w.investor("I1", amount="100")
    r = refusal(w.open("1")[1])
    assert w.engine.subscriptions[1].settings is None
    assert r.code == "no_money"
    equity, margin = D(r.details["equity"]), D(r.details["margin"])
    assert r.details["volume"] == "1.00" and equity < margin
    assert wire.plain(r)["details"] == r.details


def test_details_travel_in_the_journal_and_the_admin_reply():
    from bridge.daemon.admin import record_maps
    w, _ = explained_world()
    r = refusal(w.open("0.004")[1])
    (row,) = record_maps([r])
    assert row["topic"] == "record.copy_refused" and row["details"]["raw_volume"] == "0.004"


def test_an_open_the_server_refused_names_the_symbol_volume_and_retcode():
    from bridge.copytrading import CommandRefused
    from bridge.copytrading.commands import OpenCopy
    w = World()
    w.trader()
    w.investor("I1", amount="10000")
    _, step = w.open("0.5", fill=False)
    (cmd,) = [c for c in step.commands if isinstance(c, OpenCopy)]
    r = refusal(w.handle(CommandRefused(w.tick(), cmd.key, 10019, "no money"), fill=False))
    assert (r.code, r.retcode) == ("server_refused", 10019)
    assert r.details == {"symbol": "EURUSD", "volume": "0.50", "retcode": "10019"}
