"""Per-subscription copy settings (issue 15): the value, its validation, and how a subscription
carries, journals and edits it."""

from __future__ import annotations

import json
from decimal import Decimal as D

import msgpack
import pytest

from bridge.copytrading import CopyOpened, EditSettings, Engine, OpenCopy, Refused, SetCopySettings
from bridge.copytrading.records import CopySettingsChanged
from bridge.copytrading.settings import DEFAULT_SETTINGS, CopySettings, CopySide, seed_settings
from bridge.copytrading.state import PACK_MAGIC, PACK_VERSION
from bridge.daemon import wire
from bridge.domain.errors import DomainError
from bridge.domain.sizing import VolumeMode
from tests.copytrading.helpers import World


def world() -> tuple[World, int]:
    w = World()
    w.trader(equity="10000")
    sub = w.investor("I1", amount="10000")
    return w, sub


# ---------------------------------------------------------------------- the value
def test_defaults_are_the_seed_terms():
    # seed 003 §2.4: "set one of two options ... (Equal copying 1-to-1 or In Proportional to the
    # Investor's funds)"; the engine's default was and stays equal copying
    assert DEFAULT_SETTINGS == CopySettings() == seed_settings(VolumeMode.EQUAL)
    assert DEFAULT_SETTINGS.is_seed and seed_settings(VolumeMode.PROPORTIONAL).is_seed
    d = DEFAULT_SETTINGS
    assert (d.mode, d.symbols_allowed, d.symbols_blocked, d.side, d.reverse, d.max_slippage_points) == (
        VolumeMode.EQUAL, (), (), CopySide.BOTH, False, None)
    assert not CopySettings(reverse=True).is_seed
    assert not CopySettings(mode=VolumeMode.BALANCE_RATIO).is_seed


def test_from_dict_round_trips_through_plain_values():
    s = CopySettings.from_dict({"mode": "multiplier", "multiplier": "1.5", "symbols_allowed": "GBPUSD, EURUSD",
                                "side": "buy", "min_trader_volume": 0.1, "reverse": True,
                                "max_slippage_points": 30})
    assert s.multiplier == D("1.5") and s.symbols_allowed == ("EURUSD", "GBPUSD") and s.side is CopySide.BUY
    plain = json.loads(json.dumps(s.to_dict()))
    assert CopySettings.from_dict(plain) == s
    assert s.changed() == {"mode": "multiplier", "multiplier": "1.5", "symbols_allowed": ["EURUSD", "GBPUSD"],
                           "side": "buy", "min_trader_volume": "0.1", "reverse": True, "max_slippage_points": 30}


@pytest.mark.parametrize("data, message", [
    ({"lots": 1}, "unknown field lots (known: mode, fixed_volume"),
    ({"mode": "double"}, "mode: must be one of equal | proportional | fixed | multiplier | balance_ratio, got 'double'"),
    ({"reverse": "yes"}, "reverse: must be true or false, got 'yes'"),
    ({"max_slippage_points": 1.5}, "max_slippage_points: must be a whole number of points 0..1000000, got 1.5"),
    ({"max_slippage_points": -1}, "max_slippage_points: must be a whole number of points 0..1000000, got -1"),
    ({"mode": "fixed", "fixed_volume": "0"}, "fixed_volume: must be lots > 0 and <= 100"),
    ({"mode": "fixed", "fixed_volume": "abc"}, "fixed_volume: must be a decimal number, got 'abc'"),
    ({"mode": "fixed"}, "fixed_volume: required with mode fixed"),
    ({"fixed_volume": "0.5"}, "fixed_volume: required with mode fixed, and only with it"),
    ({"mode": "multiplier", "multiplier": "101"}, "multiplier: must be a factor > 0 and <= 100"),
    ({"min_trader_volume": "2", "max_trader_volume": "1"}, "min_trader_volume: must not exceed max_trader_volume"),
    ({"symbols_allowed": "EURUSD", "symbols_blocked": ["EURUSD"]}, "symbols_blocked: EURUSD also in symbols_allowed"),
    ({"symbols_allowed": [1]}, "symbols_allowed: must be a list of symbols or comma-separated text"),
    ({"side": "long"}, "side: must be one of both | buy | sell, got 'long'"),
])
def test_a_bad_setting_names_the_field_and_the_rule(data, message):
    with pytest.raises(DomainError) as err:
        CopySettings.from_dict(data)
    assert err.value.code == "invalid_settings" and message in err.value.detail


def test_the_event_carries_every_setting():
    from dataclasses import fields

    from bridge.copytrading.settings import FIELDS
    assert [f.name for f in fields(SetCopySettings)] == ["now", "subscription", "requester", *FIELDS, "actor"]


def test_construction_validates_too():
    with pytest.raises(DomainError, match="multiplier: required with mode multiplier"):
        CopySettings(mode=VolumeMode.MULTIPLIER)
    with pytest.raises(DomainError, match="side: must be one of"):
        CopySettings(side="buy")  # type: ignore[arg-type]


def test_a_partial_edit_moving_off_a_mode_drops_its_parameter():
    fixed = CopySettings.from_dict({"mode": "fixed", "fixed_volume": "0.5", "reverse": True})
    assert CopySettings.from_dict({"mode": "equal"}, fixed) == CopySettings(reverse=True)
    assert CopySettings.from_dict({"reverse": None}, fixed) == CopySettings(
        mode=VolumeMode.FIXED, fixed_volume=D("0.5"))


# ---------------------------------------------------------------------- on a subscription
def test_a_subscription_carries_settings_and_the_seed_terms_store_none():
    w, sub = world()
    s = w.engine.subscriptions[sub]
    assert s.settings is None and s.copy_settings == DEFAULT_SETTINGS
    step = w.handle(SetCopySettings(w.tick(), sub, "I1", reverse=True, symbols_blocked="XAUUSD"))
    assert s.settings == CopySettings(reverse=True, symbols_blocked=("XAUUSD",))
    (changed,) = [r for r in step.records if isinstance(r, CopySettingsChanged)]
    assert changed.settings == s.settings.recorded()  # to_dict, the magic lists left out while empty
    assert CopySettings.from_dict(changed.settings) == s.settings
    # back to the seed's terms: stored as None again, the fan-out's fast path
    w.handle(SetCopySettings(w.tick(), sub, None, reverse=None, symbols_blocked=None, mode="proportional"))
    assert s.settings is None and s.mode is VolumeMode.PROPORTIONAL


def test_a_seed_only_edit_records_what_it_always_did():
    w, sub = world()
    step = w.handle(EditSettings(w.tick(), sub, "I1", mode=VolumeMode.PROPORTIONAL))
    assert [type(r).__name__ for r in step.records] == ["SubscriptionEdited"]


def test_a_bad_edit_is_refused_and_changes_nothing():
    w, sub = world()
    w.handle(SetCopySettings(w.tick(), sub, "I1", reverse=True))
    before = w.engine.to_state()
    step = w.handle(SetCopySettings(w.tick(), sub, "I1", mode="fixed", reverse=False))
    (refused,) = [r for r in step.records if isinstance(r, Refused)]
    assert (refused.request, refused.code) == ("set_copy_settings", "invalid_settings")
    assert "fixed_volume: required with mode fixed" in refused.detail
    # the seed's edit of the mode refuses a mode that needs a parameter the same way
    step = w.handle(EditSettings(w.tick(), sub, "I1", mode=VolumeMode.MULTIPLIER, protection_pct=D("10")))
    (refused,) = [r for r in step.records if isinstance(r, Refused)]
    assert (refused.request, refused.code) == ("edit", "invalid_settings")
    after = w.engine.to_state()
    assert {k: v for k, v in after.items() if k not in ("seq", "now")} == \
        {k: v for k, v in before.items() if k not in ("seq", "now")}


def test_subscribe_with_a_mode_that_needs_a_parameter_is_refused():
    from bridge.copytrading import Subscribe, WalletDeposited
    w = World()
    w.trader()
    w.handle(WalletDeposited(w.tick(), "I1", D("1000")))
    step = w.handle(Subscribe(w.tick(), "I1", "T", 2000, D("1000"), mode=VolumeMode.FIXED))
    (refused,) = [r for r in step.records if isinstance(r, Refused)]
    assert refused.code == "invalid_settings" and "fixed_volume" in refused.detail
    sub = w.investor("I2", account=2001, mode=VolumeMode.BALANCE_RATIO)
    assert w.engine.subscriptions[sub].settings == CopySettings(mode=VolumeMode.BALANCE_RATIO)


def test_settings_persist_through_state_bytes_and_the_journal():
    w, sub = world()
    w.handle(SetCopySettings(w.tick(), sub, "I1", mode="multiplier", multiplier=D("1.5"),
                             symbols_allowed="EURUSD", max_slippage_points=20))
    s = w.engine.subscriptions[sub].settings
    assert Engine.from_state(json.loads(json.dumps(w.engine.to_state()))).subscriptions[sub].settings == s
    assert Engine.from_bytes(w.engine.to_bytes()).subscriptions[sub].settings == s
    # the journaled event replays to the same settings
    event = SetCopySettings(w.tick(), sub, None, side="sell", multiplier=D("2"), symbols_allowed=None)
    again = wire.event_from("SetCopySettings", wire.event_body(event))
    w2 = Engine.from_state(w.engine.to_state())
    w.engine.handle(event)
    w2.handle(again)
    assert w.engine.subscriptions[sub].settings == w2.subscriptions[sub].settings
    assert w2.subscriptions[sub].settings.side is CopySide.SELL


def test_old_states_and_snapshots_without_settings_load_as_the_seed_terms():
    w, sub = world()
    w.handle(EditSettings(w.tick(), sub, "I1", mode=VolumeMode.PROPORTIONAL))
    state = w.engine.to_state()
    for body in state["subscriptions"].values():
        del body["settings"]  # as written before settings existed
    old = Engine.from_state(state).subscriptions[sub]
    assert old.settings is None and old.copy_settings == seed_settings(VolumeMode.PROPORTIONAL)
    # a packed snapshot of the older layout (no Subscription.settings) loads by field name
    magic, version, lay, strings, body = msgpack.unpackb(w.engine.to_bytes(), strict_map_key=False)
    names = lay["Subscription"]
    i = names.index("settings")
    lay = {**lay, "Subscription": names[:i] + names[i + 1:]}
    lay.pop("CopySettings", None)
    fields = list(lay["_Persisted"])
    subs = body[fields.index("subscriptions")]
    for k in subs:
        subs[k] = subs[k][:i] + subs[k][i + 1:]
    old = Engine.from_bytes(msgpack.packb([PACK_MAGIC, PACK_VERSION, lay, strings, body]))
    assert old.subscriptions[sub].settings is None
    assert old.subscriptions[sub].mode is VolumeMode.PROPORTIONAL


def test_an_edit_applies_to_trades_opened_after_it_and_open_copies_keep_theirs():
    w, sub = world()
    first, step = w.open("1", side=w_side("buy"))
    assert [c.volume for c in step.commands if isinstance(c, OpenCopy)] == [D("1")]
    w.handle(SetCopySettings(w.tick(), sub, "I1", mode="multiplier", multiplier="0.5", reverse=True))
    copy = w.engine.subscriptions[sub].copies[first]
    assert (copy.volume, copy.side.value) == (D("1"), "buy")  # the open copy is untouched
    second, step = w.open("1", side=w_side("buy"))
    (cmd,) = [c for c in step.commands if isinstance(c, OpenCopy)]
    assert (cmd.volume, cmd.side.value) == (D("0.50"), "sell")
    assert len(w.records(CopyOpened)) == 2


def w_side(name: str):
    from bridge.domain.trading import Side
    return Side(name)


def test_equal_settings_share_one_instance_but_keep_their_exact_figures():
    from bridge.copytrading.settings import shared
    a = shared(CopySettings.from_dict({"mode": "fixed", "fixed_volume": "1.5"}))
    b = shared(CopySettings.from_dict({"mode": "fixed", "fixed_volume": "1.5"}))
    c = shared(CopySettings.from_dict({"mode": "fixed", "fixed_volume": "1.50"}))
    assert a is b and a == c and c is not a
    assert c.to_dict()["fixed_volume"] == "1.50"
