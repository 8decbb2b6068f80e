"""`set_copy_settings` / `get_copy_settings` (issue 15: "settable from the admin API, the
`mtbridge admin` CLI and the dashboard"; "Why not copied ... in the admin API")."""

from __future__ import annotations

import importlib.util
from decimal import Decimal
from pathlib import Path

from bridge.copytrading import events as ev
from bridge.copytrading.settings import CopySettings, CopySide
from bridge.daemon import admin, wire
from bridge.domain.sizing import VolumeMode

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("admin_vector_generator_cs", ROOT / "tests/vectors/generate_admin.py")
gen = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(gen)  # type: ignore[union-attr]


def core_with_subscription():
    core = gen.new_core()
    now = gen.T0
    core.feed_engine(ev.TraderRegistered(now, "T1", 1001, "mt4_standard", 100, Decimal("20")))
    core.feed_engine(ev.WalletDeposited(now, "I1", Decimal("1000")))
    core.feed_engine(ev.Subscribe(now, "I1", "T1", 2001, Decimal("1000")))
    return core


def call(core, op: str, **args):
    return admin.handle({"id": 1, "op": op, "args": args}, gen.CoreAdapter(core), gen.T0 + 1000)


def test_set_then_get_and_the_journaled_event_replays_to_the_same_settings():
    core = core_with_subscription()
    reply = call(core, "set_copy_settings", subscription=1, requester="I1", mode="fixed", fixed_volume="0.5",
                 side="sell", symbols_allowed="EURUSD")
    assert reply["ok"] and reply["refused"] is None
    got = call(core, "get_copy_settings", subscription=1)
    assert got["changed"] == {"mode": "fixed", "fixed_volume": "0.5", "symbols_allowed": ["EURUSD"], "side": "sell"}
    settings = core.engine.subscriptions[1].settings
    assert settings == CopySettings(mode=VolumeMode.FIXED, fixed_volume=Decimal("0.5"), side=CopySide.SELL,
                                    symbols_allowed=("EURUSD",))
    # what the journal holds replays to the same settings
    parsed = admin.parse_request({"id": 1, "op": "set_copy_settings", "args": {
        "subscription": 1, "requester": "I1", "mode": "fixed", "fixed_volume": "0.5", "side": "sell",
        "symbols_allowed": "EURUSD"}})
    event = parsed.event(gen.T0)  # type: ignore[union-attr]
    replayed = wire.event_from("SetCopySettings", wire.event_body(event))
    assert CopySettings.from_dict({k: getattr(replayed, k) for k in ("mode", "fixed_volume", "side",
                                                                      "symbols_allowed")}) == settings


def test_nil_resets_a_setting_and_absent_leaves_it():
    core = core_with_subscription()
    call(core, "set_copy_settings", subscription=1, requester=None, reverse=True, max_slippage_points=20)
    call(core, "set_copy_settings", subscription=1, requester=None, max_slippage_points=None)
    assert call(core, "get_copy_settings", subscription=1)["changed"] == {"reverse": True}


def test_bad_values_name_the_argument_and_change_nothing():
    core = core_with_subscription()
    reply = call(core, "set_copy_settings", subscription=1, requester="I1", multiplier="-1")
    assert (reply["ok"], reply["error"], reply["field"]) == (False, "bad_args", "args.multiplier")
    reply = call(core, "set_copy_settings", subscription=1, requester="I1", side="long")
    assert reply["field"] == "args.side" and "one of both | buy | sell" in reply["detail"]
    # a rule across fields is the engine's: refused, journaled, ok true
    reply = call(core, "set_copy_settings", subscription=1, requester="I1", mode="multiplier")
    assert reply["refused"]["code"] == "invalid_settings" and "multiplier: required" in reply["refused"]["detail"]
    reply = call(core, "set_copy_settings", subscription=1, requester="I2", reverse=True)
    assert reply["refused"]["code"] == "forbidden"
    assert core.engine.subscriptions[1].settings is None


def test_get_of_an_unknown_subscription_is_an_error():
    core = core_with_subscription()
    reply = call(core, "get_copy_settings", subscription=5)
    assert (reply["ok"], reply["error"], reply["field"]) == (False, "unknown_subscription", "args.subscription")


def test_the_daemon_recovers_settings_from_its_journal(tmp_path: Path) -> None:
    from bridge.daemon.core import DaemonCore
    from bridge.daemon.store import SqliteStore
    from tests.daemon.corekit import T0, make

    cfg, store, core = make(tmp_path)
    reply = core.on_admin({"op": "set_copy_settings", "args": {
        "subscription": 1, "requester": None, "mode": "multiplier", "multiplier": "0.5", "reverse": True,
        "symbols_allowed": "EURUSD,GBPUSD"}}, None, T0 + 1)
    assert reply["ok"] and reply["refused"] is None
    store.write(core.take_batch())
    expected = core.engine.subscriptions[1].settings
    assert expected is not None and expected.reverse
    store.close()
    again = DaemonCore.recover(cfg, SqliteStore(tmp_path / "j.db").recover(), now=T0 + 2, insecure=True)
    assert again.engine.subscriptions[1].settings == expected
