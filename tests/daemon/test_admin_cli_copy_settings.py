"""`mtbridge admin get-copy-settings` prints the settings readably (issue 15: settings "settable
from the admin API, the `mtbridge admin` CLI"), the ones changed from the seed's terms marked."""

from __future__ import annotations

from bridge.copytrading.settings import FIELDS, CopySettings
from bridge.daemon import admin_table
from bridge.daemon.admincli import render


def test_the_settings_print_one_per_line_with_the_changed_ones_marked():
    s = CopySettings.from_dict({"mode": "multiplier", "multiplier": "1.5", "symbol_map": "XAUUSD=GOLD",
                                "daily_loss_limit": "2", "daily_loss_unit": "percent"})
    reply = {"id": 1, "ok": True, "subscription": 3, "mode": "multiplier", "settings": s.to_dict(),
             "changed": s.changed()}
    text = render(admin_table.OPS["get_copy_settings"], reply)
    lines = text.splitlines()
    assert lines[0] == "subscription 3: mode multiplier, 5 setting(s) changed from the seed's terms (*)"
    assert [line[2:].split()[0] for line in lines[1:]] == list(FIELDS)
    marked = {line[2:].split()[0] for line in lines[1:] if line.startswith("*")}
    assert marked == set(s.changed())
    assert "* symbol_map           XAUUSD=GOLD" in lines
    assert "  reverse              no" in lines
