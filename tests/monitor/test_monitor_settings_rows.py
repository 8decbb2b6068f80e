"""Issue 15 on the desk and the investor page: "the figures behind it (the computed volume before
rounding, the mapped symbol, the price difference, the limit hit), on the desk's event rows, on
the investor's page and in the admin API"; settings "shown on the desk and to the investor"."""

from __future__ import annotations

from bridge.monitor.labels import details_text, settings_text
from bridge.monitor.state import FeedEvent
from tests.monitor.test_monitor_web import client_as, env  # noqa: F401  (the fixture)

ISSUE = ("the figures behind it (the computed volume before rounding, the mapped symbol, the price difference, the "
         "limit hit), on the desk's event rows, on the investor's page and in the admin API")
TS = 1704697300000


def events(dash) -> None:
    for topic, body in (
        ("record.copy_settings_changed", {"subscription": 1, "settings": {
            "mode": "multiplier", "multiplier": "1.5", "reverse": True, "symbol_suffix": "c",
            "symbols_allowed": [], "daily_loss_limit": "0.5", "daily_loss_unit": "percent"}}),
        ("record.copy_refused", {"subscription": 1, "trader": "trader-1", "trader_ticket": 70099,
                                 "code": "below_min_volume", "detail": "copy volume 0.003 lots", "retcode": None,
                                 "details": {"mode": "multiplier", "trader_volume": "0.002", "raw_volume": "0.003",
                                             "multiplier": "1.5", "limit": "0.005"}}),
        ("record.risk_limit_triggered", {"subscription": 1, "limit": "daily_loss_limit", "action": "stop_opening",
                                         "equity": "970", "base": "1000", "loss": "30", "allowed": "5",
                                         "value": "0.5", "unit": "percent", "state": "close_only"}),
        ("record.risk_limit_reset", {"subscription": 1, "limit": "daily_loss_limit", "day_base": "970",
                                     "state": "active"}),
    ):
        dash.hub.apply(FeedEvent(topic, {"ts": TS, **body}))


def test_the_words_of_details_and_settings():
    assert details_text({"volume": "1.00", "equity": "100", "margin": "1100.00"}) == \
        "volume 1.00, equity 100, margin 1100.00"
    assert details_text({"raw_volume": "0.003", "limit": "0.005", "mode": "equal"}).startswith(
        "volume before rounding 0.003, limit 0.005")
    assert settings_text({"mode": "multiplier", "multiplier": "1.5", "reverse": True}) == \
        "mode multiplier, multiplier 1.5, reverse"
    assert settings_text({}) == "the seed's terms"


def test_desk_rows_carry_the_figures_and_the_limit(env):  # noqa: F811
    assert "on the desk's event rows" in ISSUE
    dash, _ = env
    events(dash)
    texts = [e.text for e in dash.hub.state.events]
    refused = next(t for t in texts if "ticket 70099" in t)
    assert "[volume before rounding 0.003, limit 0.005" in refused
    assert any(t.startswith("RISK LIMIT: sub 1 daily loss limit: loss 30.00 >= 5.00 allowed") for t in texts)
    assert any(t.startswith("risk limit lifted: sub 1 daily loss limit") for t in texts)
    settings = next(t for t in texts if t.startswith("copy settings: sub 1"))
    assert "multiplier 1.5" in settings and "symbols allowed" not in settings  # the defaults are left out


def test_the_investor_page_shows_settings_and_why_not_copied(env):  # noqa: F811
    assert "on the investor's page" in ISSUE
    dash, _ = env
    events(dash)
    page = client_as(dash, "investor").get("/investors/2001").text
    assert 'id="copy-settings"' in page and "mode multiplier, multiplier 1.5, reverse, symbol suffix c" in page
    assert 'id="why-not-copied"' in page and "volume before rounding 0.003" in page
    assert "RISK LIMIT: sub 1 daily loss limit" in page
