"""Three stop-out figures, each saying what it counts (review desk-and-ops user 2 #10: "Three
different stop-out numbers circulate: report `server closes on trader accounts 4, on investor
accounts 20`, monitor/dashboard `stop-outs 16`, and metrics ..."), checked on the numbers of a
real demo run watched by its dashboard: the report's reconciling sentence, the desk's labelled
counts with their tooltips, and the alerts (one per event and one per engine stop-out)."""

from __future__ import annotations

import re
from html import unescape

import httpx
import pytest

from bridge.monitor.labels import (
    ENGINE_STOP_OUTS, ENGINE_STOP_OUTS_HELP, STOP_OUT_ALERTS, STOP_OUT_EVENTS, STOP_OUT_EVENTS_HELP, stop_out_sentence,
)
from mtbridge_demo.plan import DemoConfig
from mtbridge_demo.report import render_text
from mtbridge_demo.watch import DEALER_USER, WatchConfig
from tests.integration.test_demo_dashboard import DemoThread, login, poll_until

pytestmark = pytest.mark.integration

CFG = DemoConfig(seed=1, traders=3, investors=6, hours=4)  # the server stops trader accounts out
PACE = 4 * 3600 / 3.0  # four simulated hours in ~3 s: the dashboard watches every item


def test_each_stop_out_figure_says_what_it_counts_on_a_real_run() -> None:
    demo = DemoThread(CFG, WatchConfig(dashboard=("127.0.0.1", 0), pace=PACE))
    info = demo.start()
    try:
        with httpx.Client(base_url=info.url, follow_redirects=False, timeout=10) as desk:
            login(desk, DEALER_USER, info.dealer_password)
            assert demo.reported.wait(120), "no report"
            assert demo.error is None, demo.error
            s = demo.report["results"]["stop_outs"]
            events, engine = s["events"], s["engine_stop_outs"]
            closed_t, closed_i = s["server_closes_trader_accounts"], s["server_closes_investor_accounts"]
            assert events > 0 and closed_t + closed_i >= events  # an event closes one position or more

            # the report: one sentence that reconciles them
            text = render_text(demo.report)
            sentence = stop_out_sentence(events, engine, closed_t, closed_i)
            assert sentence in text.splitlines()
            assert (f"stopped accounts out {events} time(s) (stop-out events, one per account per episode), closing "
                    f"{closed_t + closed_i} position(s) ({closed_t} on trader accounts, {closed_i} on investor "
                    f"accounts)") in sentence
            assert f"{events + engine} {STOP_OUT_ALERTS} ({events} + {engine})" in sentence

            # the desk: labelled counts with a tooltip, equal to the report's
            def status() -> str:
                page = desk.get("/").text
                return unescape(re.sub(r"<[^>]+>", "", page.split('id="sec-status">', 1)[1].split("</p>", 1)[0]))

            poll_until(lambda: f"{STOP_OUT_EVENTS} {events} " in status(), what="the desk's stop-out events")
            assert f"{ENGINE_STOP_OUTS} {engine} " in status()
            page = desk.get("/").text
            assert f'title="{STOP_OUT_EVENTS_HELP}">{STOP_OUT_EVENTS}</abbr>' in page
            assert f'title="{ENGINE_STOP_OUTS_HELP}">{ENGINE_STOP_OUTS}</abbr>' in page

            # the alerts: one per event and one per engine stop-out, under a label that says so
            alerts = desk.get("/alerts?kind=stop_out&status=all").text
            rows = re.findall(r'<tr class="alert[^"]*"', alerts)
            assert len(rows) == events + engine
            assert f"<td>{STOP_OUT_ALERTS}</td>" in alerts and 'id="stop-out-legend"' in alerts
    finally:
        demo.release()
    assert demo.error is None, demo.error
