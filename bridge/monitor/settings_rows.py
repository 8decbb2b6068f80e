"""The desk's rows for copy settings and risk limits (issue 15): a settings change, a limit's
trip and its lifting at the server-day rollover. Registered in state.py's handler table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.monitor.fmt import money
from bridge.monitor.labels import refusal_label, settings_text
from bridge.monitor.state import ALERT, INFO, MonitorState, _dec, _int

MAX_SETTINGS_KEPT = 10_000  # subscriptions whose settings the desk remembers (oldest dropped first)


def _defaults() -> dict:
    from bridge.copytrading.settings import DEFAULT_SETTINGS  # the one source of the defaults
    return DEFAULT_SETTINGS.to_dict()


def on_settings_changed(s: MonitorState, b: Mapping[str, Any], ts: int) -> None:
    sid = _int(b["subscription"])
    plain = b.get("settings") or {}
    default = _defaults()
    changed = {k: v for k, v in plain.items() if k in default and v != default[k]}
    if sid not in s.copy_settings and len(s.copy_settings) >= MAX_SETTINGS_KEPT:
        del s.copy_settings[next(iter(s.copy_settings))]
    s.copy_settings[sid] = changed
    s._line(ts, "copy_settings", INFO, f"copy settings: sub {sid} {settings_text(changed)}",
            login=s.sub_login(sid), subscription=sid)


def on_limit_triggered(s: MonitorState, b: Mapping[str, Any], ts: int) -> None:
    sid = _int(b["subscription"])
    s._count("risk_limit_trips")
    limit = str(b.get("limit", "?"))
    s._line(ts, "risk_limit", ALERT, f"RISK LIMIT: sub {sid} {refusal_label(limit)}: loss {money(_dec(b.get('loss')))} "
                                     f">= {money(_dec(b.get('allowed')))} allowed (from {money(_dec(b.get('base')))}, "
                                     f"equity {money(_dec(b.get('equity')))}) -> "
                                     f"{str(b.get('action', '?')).replace('_', ' ')}, {b.get('state', '?')}",
            login=s.sub_login(sid), subscription=sid)


def on_limit_reset(s: MonitorState, b: Mapping[str, Any], ts: int) -> None:
    sid = _int(b["subscription"])
    s._line(ts, "risk_limit", INFO, f"risk limit lifted: sub {sid} {refusal_label(str(b.get('limit', '?')))} at the "
                                    f"server-day rollover, day base {money(_dec(b.get('day_base')))}",
            login=s.sub_login(sid), subscription=sid)


HANDLERS = {
    "record.copy_settings_changed": on_settings_changed,
    "record.risk_limit_triggered": on_limit_triggered,
    "record.risk_limit_reset": on_limit_reset,
}
