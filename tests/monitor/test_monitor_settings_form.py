"""The copy-settings form on the dashboard (issue 15), without a browser: the form shows every
setting with its value, a dealer's POST goes through the admin op `set_copy_settings` to a real
daemon core (its engine, journal batch and feed, no sockets), an investor's or a token-less POST
changes nothing, and a bad value shows the core's own words next to its field.

Issue 15: "Each subscription carries settings, validated (a clear error names the field and the
rule), journaled, editable while copying [...] shown on the desk and to the investor, and
settable from the admin API, the `mtbridge admin` CLI and the dashboard".
"""

from __future__ import annotations

import importlib.util
import re
from decimal import Decimal
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from bridge.copytrading import events as ev
from bridge.copytrading.limits import LimitUnit
from bridge.copytrading.settings import FIELDS, SETTINGS, CopySettings, CopySide
from bridge.daemon import admin, wire
from bridge.domain.errors import DomainError
from bridge.domain.sizing import VolumeMode
from bridge.monitor.auth import LoginThrottle
from bridge.monitor.hub import MonitorHub
from bridge.monitor.state import FeedEvent
from bridge.monitor.web import Dashboard, DashboardConfig
from tests.monitor.test_monitor_web import DEALER_PW, SECRET, Clock, login

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("admin_vector_generator_sf", ROOT / "tests/vectors/generate_admin.py")
gen = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(gen)  # type: ignore[union-attr]

ISSUE = ("Each subscription carries settings, validated (a clear error names the field and the rule), journaled, "
         "editable while copying")
INV_PW = "R3adOnly9-2001"
PAGE = "/subscriptions/1/settings"


class CoreLink:
    """The dashboard's admin link wired to a real daemon core: each request is parsed against the
    admin table and run by `admin.handle` (what the daemon's admin socket does), and the core's
    feed items go to the dashboard's hub (what its feed socket does)."""

    timeout_s = 1.0

    def __init__(self, core, hub: MonitorHub) -> None:
        self.core, self.hub = core, hub
        self.calls: list[tuple[str, dict]] = []
        self.events: list[object] = []  # what the core journaled, read back from the journal's rows

    def call(self, op: str, **args: object) -> dict:
        self.calls.append((op, args))
        self.core.now += 1000
        reply = admin.handle({"id": 1, "op": op, "args": args}, gen.CoreAdapter(self.core), self.core.now)
        self.pump()
        return reply

    def pump(self) -> None:
        self.events += [wire.event_from(name, body) for _seq, _now, name, body in self.core.take_batch().events]
        for topic, body in self.core.take_feed():
            self.hub.apply(FeedEvent(topic, body))

    def sets(self) -> list[dict]:
        return [a for op, a in self.calls if op == "set_copy_settings"]


def creds():
    from bridge.monitor.auth import MemoryCredentialStore, User, hash_password
    from bridge.monitor.views import DEALER, INVESTOR, Principal

    return MemoryCredentialStore([User(Principal(DEALER, "desk"), hash_password(DEALER_PW, n=16)),
                                  User(Principal(INVESTOR, "2001", 2001, "I1"), hash_password(INV_PW, n=16))])


@pytest.fixture
def env():
    core = gen.new_core()
    hub = MonitorHub()
    link = CoreLink(core, hub)
    core.publish_snapshot()
    link.pump()
    for op, args in (("register_trader", {"trader": "T1", "account": 1001, "account_type": "mt4_standard",
                                          "leverage": 100, "commission_pct": "20"}),
                     ("deposit", {"owner": "I1", "amount": "1000"}),
                     ("subscribe", {"investor": "I1", "trader": "T1", "account": 2001, "amount": "1000"})):
        assert link.call(op, **args)["refused"] is None
    link.calls.clear()
    dash = Dashboard(hub, creds(), DashboardConfig(session_secret=SECRET), throttle=LoginThrottle(clock=Clock()),
                     admin=link)  # type: ignore[arg-type]
    return dash, link


def client(dash: Dashboard, user: str = "desk", pw: str = DEALER_PW) -> TestClient:
    c = TestClient(dash.app, base_url="http://testserver")
    assert login(c, user, pw).status_code == 303
    return c


class Controls(HTMLParser):
    """What a browser would submit from `#settings-form`: each control's name and value (a box
    unchecked: absent), plus the hidden fields."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.names: list[str] = []  # every control, a box unchecked too
        self._select: str | None = None
        self._in_form = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "form":
            self._in_form = a.get("id") == "settings-form"
        if not self._in_form:
            return
        if tag in ("input", "select"):
            self.names.append(a["name"])
        if tag == "input" and (a.get("type") != "checkbox" or "checked" in a):
            self.values[a["name"]] = a.get("value", "on")
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a["value"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "form":
            self._in_form = False


def controls(c: TestClient) -> dict[str, str]:
    r = c.get(PAGE)
    assert r.status_code == 200, r.text
    return Controls(r.text).values


def settings_of(link: CoreLink) -> CopySettings:
    return link.core.engine.subscriptions[1].copy_settings


# ---------------------------------------------------------------------- the form
def test_the_form_shows_every_setting_with_its_value_in_force(env):
    dash, link = env
    assert link.call("set_copy_settings", subscription=1, requester=None, mode="multiplier", multiplier="1.5",
                     symbols_allowed="GBPUSD,EURUSD", reverse=True, copy_stops=False, symbol_map="XAUUSD=GOLD",
                     daily_loss_limit="2", daily_loss_unit="percent")["refused"] is None
    link.calls.clear()
    c = client(dash)
    page = c.get(PAGE).text
    form = Controls(page)
    assert form.names == ["csrf", "seen", *FIELDS]  # one control per field of CopySettings, in order
    got = form.values
    assert {k: got[k] for k in ("mode", "multiplier", "symbols_allowed", "reverse", "copy_stops", "symbol_map",
                                "daily_loss_limit", "daily_loss_unit", "side", "fixed_volume",
                                "mirror_stop_changes", "max_drawdown_action")} == {
        "mode": "multiplier", "multiplier": "1.5", "symbols_allowed": "EURUSD,GBPUSD", "reverse": "on",
        "copy_stops": "false", "symbol_map": "XAUUSD=GOLD", "daily_loss_limit": "2", "daily_loss_unit": "percent",
        "side": "both", "fixed_volume": "", "mirror_stop_changes": "", "max_drawdown_action": "stop_opening"}
    assert "copy_pending" not in got  # its box unchecked
    changed = set(re.findall(r'class="setting changed[^"]*" data-setting="(\w+)"', page))
    assert changed == {"mode", "multiplier", "symbols_allowed", "reverse", "copy_stops", "symbol_map",
                       "daily_loss_limit", "daily_loss_unit"}
    legends = re.findall(r"<legend>([^<]+)</legend>", page)
    assert legends == ["Volume mode", "Filters", "Reverse copy", "Price guard", "Symbol mapping", "Stops",
                       "Risk limits", "Pending orders"]
    assert 'placeholder="no minimum"' in page  # an empty box says what it means (the admin doc's nil clause)
    assert [op for op, _ in link.calls] == ["get_copy_settings"]  # the values come from the daemon


def test_the_account_page_links_to_the_form_for_a_dealer_only(env):
    dash, _ = env
    dash.hub.apply(FeedEvent("account", {"ts": gen.T0, "login": 2001, "role": "investor", "owner": "I1",
                                         "currency": "USD", "balance": "1000", "equity": "1000", "margin": "0",
                                         "free_margin": "1000"}))
    assert f'href="{PAGE}"' in client(dash).get("/accounts/2001").text
    assert PAGE not in client(dash, "2001", INV_PW).get("/accounts/2001").text


# ---------------------------------------------------------------------- a change, end to end
def test_a_dealers_change_goes_through_set_copy_settings_and_reaches_the_desk(env):
    assert "editable while copying" in ISSUE
    dash, link = env
    c = client(dash)
    form = controls(c)
    form.update({"mode": "fixed", "fixed_volume": "0.5", "reverse": "on", "max_slippage_points": "20",
                 "symbol_suffix": "c", "side": "sell"})
    r = c.post(PAGE, data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == PAGE
    # only what the dealer changed is sent, as the service (requester nil) with the dealer's name
    assert link.sets() == [{"subscription": 1, "requester": None, "actor": "desk", "mode": "fixed",
                            "fixed_volume": "0.5", "side": "sell", "reverse": True, "max_slippage_points": 20,
                            "symbol_suffix": "c"}]
    assert settings_of(link) == CopySettings(mode=VolumeMode.FIXED, fixed_volume=Decimal("0.5"), side=CopySide.SELL,
                                             reverse=True, max_slippage_points=20, symbol_suffix="c")
    journaled = [e for e in link.events if isinstance(e, ev.SetCopySettings)]
    assert [(e.actor, e.requester, e.reverse, e.copy_pending) for e in journaled] == [("desk", None, True, ev.UNSET)]
    page = c.get(PAGE).text
    assert "copy settings, subscription 1: done, changed mode, fixed_volume, side, reverse" in page
    after = Controls(page).values
    assert (after["mode"], after["fixed_volume"], after["reverse"], after["symbol_suffix"]) == ("fixed", "0.5", "on", "c")
    # the desk's rows, from the daemon's feed: the settings change and the audit line
    texts = [e.text for e in dash.hub.state.events]
    assert "copy settings: sub 1 mode fixed, fixed volume 0.5, side sell, reverse, max slippage points 20, " \
           "symbol suffix c" in texts
    assert "dealer desk: set copy settings, sub 1: done" in texts


def test_an_unchanged_form_sends_nothing(env):
    dash, link = env
    c = client(dash)
    r = c.post(PAGE, data=controls(c), follow_redirects=True)
    assert "copy settings, subscription 1: nothing changed" in r.text and link.sets() == []


def test_moving_off_fixed_drops_its_volume_without_a_word(env):
    dash, link = env
    link.call("set_copy_settings", subscription=1, requester=None, mode="fixed", fixed_volume="0.5")
    c = client(dash)
    form = {**controls(c), "mode": "proportional"}  # the old fixed volume still stands in its box
    assert c.post(PAGE, data=form, follow_redirects=False).status_code == 303
    assert link.sets()[-1] == {"subscription": 1, "requester": None, "actor": "desk", "mode": "proportional"}
    assert settings_of(link) == CopySettings(mode=VolumeMode.PROPORTIONAL)


def test_clearing_a_box_resets_the_setting_to_its_default(env):
    dash, link = env
    link.call("set_copy_settings", subscription=1, requester=None, daily_loss_limit="50", daily_loss_unit="money",
              reverse=True)
    c = client(dash)
    form = {**controls(c), "daily_loss_limit": ""}
    del form["reverse"]  # the box unticked
    assert c.post(PAGE, data=form, follow_redirects=False).status_code == 303
    assert link.sets()[-1] == {"subscription": 1, "requester": None, "actor": "desk", "reverse": False,
                               "daily_loss_limit": None}
    assert settings_of(link) == CopySettings()


# ---------------------------------------------------------------------- refused: nothing changes
def test_an_investor_can_neither_see_nor_post_the_form(env):
    dash, link = env
    c = client(dash, "2001", INV_PW)
    assert c.get(PAGE).status_code == 403
    token = re.search(r'name="csrf" value="([^"]+)"', c.get("/").text).group(1)
    r = c.post(PAGE, data={"csrf": token, "seen": "x", "reverse": "on"}, follow_redirects=False)
    assert r.status_code == 403
    assert link.calls == [] and settings_of(link) == CopySettings()
    anonymous = TestClient(dash.app, base_url="http://testserver")
    assert anonymous.get(PAGE, follow_redirects=False).status_code == 303


def test_a_post_without_the_csrf_token_changes_nothing(env):
    dash, link = env
    c = client(dash)
    form = {**controls(c), "reverse": "on"}
    link.calls.clear()
    for token in ("", "x" * 43):
        assert c.post(PAGE, data={**form, "csrf": token}, follow_redirects=False).status_code == 403
    del form["csrf"]
    assert c.post(PAGE, data=form, follow_redirects=False).status_code == 403
    assert link.calls == [] and settings_of(link) == CopySettings()


def _engine_words(changes: dict) -> str:
    try:
        CopySettings.from_dict(changes)
    except DomainError as err:
        return err.detail
    raise AssertionError("valid")


def _admin_words(name: str, value: object) -> str:
    e = admin.parse_request({"id": 1, "op": "set_copy_settings", "args": {"subscription": 1, "requester": None,
                                                                         name: value}})
    assert isinstance(e, admin.AdminError)
    return e.detail


@pytest.mark.parametrize(("edit", "field", "words"), [
    # a rule across fields: the engine's refusal (journaled, ok true), its detail names the field
    ({"mode": "multiplier"}, "multiplier", lambda: _engine_words({"mode": "multiplier"})),
    ({"min_trader_volume": "2", "max_trader_volume": "1"}, "min_trader_volume",
     lambda: _engine_words({"min_trader_volume": "2", "max_trader_volume": "1"})),
    # a value out of its rule: the admin table's bad_args, field args.NAME
    ({"max_slippage_points": "ten"}, "max_slippage_points", lambda: _admin_words("max_slippage_points", "ten")),
    ({"daily_loss_limit": "-5"}, "daily_loss_limit", lambda: _admin_words("daily_loss_limit", "-5")),
    ({"copy_stops": "maybe"}, "copy_stops", lambda: _admin_words("copy_stops", "maybe")),
])
def test_a_bad_value_shows_the_cores_words_next_to_its_field_and_changes_nothing(env, edit, field, words):
    assert "a clear error names the field and the rule" in ISSUE
    dash, link = env
    c = client(dash)
    form = {**controls(c), **edit}
    r = c.post(PAGE, data=form, follow_redirects=False)
    assert r.status_code == 400
    message = re.search(rf'id="error-{field}" role="alert">([^<]+)</span>', r.text)
    assert message and words() in unescape(message.group(1))
    assert 'id="settings-error"' in r.text and "Nothing was changed." in r.text
    shown = Controls(r.text).values
    typed = {k: v for k, v in edit.items() if SETTINGS[k].kind not in ("bool", "enum")}
    assert {k: shown[k] for k in typed} == typed  # the dealer's typing stays, to be corrected
    assert settings_of(link) == CopySettings() and link.core.engine.subscriptions[1].settings is None
    assert not any("copy settings: sub 1" in e.text for e in dash.hub.state.events)


def test_a_stale_form_is_turned_back_with_the_settings_of_now(env):
    dash, link = env
    c = client(dash)
    form = {**controls(c), "reverse": "on"}
    link.call("set_copy_settings", subscription=1, requester="I1", side="buy")  # the investor, meanwhile
    r = c.post(PAGE, data=form, follow_redirects=False)
    assert r.status_code == 409 and "The settings changed since the form was shown" in r.text
    assert Controls(r.text).values["side"] == "buy"
    assert [a for a in link.sets() if a.get("actor") == "desk"] == []
    assert settings_of(link) == CopySettings(side=CopySide.BUY)


def test_an_unknown_subscription_is_404(env):
    dash, _ = env
    assert client(dash).get("/subscriptions/9/settings").status_code == 404


def test_without_an_admin_link_the_form_is_off(env):
    dash, _ = env
    dash.admin = None
    r = client(dash).get(PAGE)
    assert r.status_code == 409 and 'id="dealer-off"' in r.text


# ---------------------------------------------------------------------- one source for the settings
def test_the_admin_op_and_the_form_are_built_from_the_settings_fields():
    op = admin.OPS["set_copy_settings"]
    names = [a.name for a in op.args]
    assert names == ["subscription", "requester", *FIELDS, "actor"]
    for name, spec in SETTINGS.items():
        arg = op.arg(name)
        assert (arg.type, arg.doc, arg.enum, arg.maximum, arg.required, arg.default) == (
            spec.kind, spec.doc, spec.enum, spec.maximum, False, ev.UNSET)
    # the prefix and suffix bound is the settings' own (it was a second hard-coded 8)
    from bridge.copytrading.settings import MAX_AFFIX
    assert op.arg("symbol_suffix").max_len == MAX_AFFIX == SETTINGS["symbol_suffix"].max_len
    assert SETTINGS["daily_loss_unit"].enum is LimitUnit
