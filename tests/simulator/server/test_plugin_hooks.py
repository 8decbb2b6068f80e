"""The plugin interface on the pure server: hook order, veto, adjust, failing plugins.

MetaTrader 5 Server API, "Request Processing on the Server" (the order these tests check):
"After all checks and verifications, but prior to adding the order, the HookTradeRequestAdd
hook is called." ... "After an additional verification of all incoming parameters of a
request, immediately before execution, the HookTradeRequestProcess hook is called." ... "If
request execution implies creation of a deal, the OnDealPerform event is triggered." ...
"After a successful execution of a request, the OnTradeRequestProcess event is called."
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

import pytest
from srv_helpers import account, market, new_server, quote

from simulator.server import retcodes as rc
from simulator.server.plugins import Adjust, ServerPlugin, Veto
from simulator.server.plugins.host import HOOKS
from simulator.server.plugins.rules import default_plugins


class Recorder(ServerPlugin):
    """Writes down every hook and event it sees, in order."""

    name = "recorder"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def _note(self, hook: str, *args) -> None:
        self.seen.append(hook)

    def check_trade_allowed(self, account):
        self._note("check_trade_allowed")

    def hook_trade_request_add(self, event):
        self._note("hook_trade_request_add")

    def hook_trade_request_process(self, event):
        self._note("hook_trade_request_process")

    def on_deal_perform(self, event):
        self._note(f"on_deal_perform:{event.deal.entry}")

    def on_position_add(self, event):
        self._note("on_position_add")

    def on_position_update(self, event):
        self._note("on_position_update")

    def on_position_delete(self, event):
        self._note("on_position_delete")

    def on_margin_call(self, event):
        self._note("on_margin_call")

    def on_stop_out(self, event):
        self._note("on_stop_out")

    def on_trade_request_process(self, event):
        self._note("on_trade_request_process")

    def on_trade_request_refuse(self, event):
        self._note(f"on_trade_request_refuse:{event.retcode}")


def _server(*extra: ServerPlugin, **kw):
    return new_server(plugins=[*default_plugins(), *extra], **kw)


def test_a_request_goes_through_the_hooks_in_the_real_servers_order():
    rec = Recorder()
    s = _server(rec)
    login, sess = account(s, account_type="mt5_raw_spread", deposit="10000", leverage=100)
    quote(s, "1.10000")
    rec.seen.clear()
    r = market(s, sess, "buy", "1.00")
    assert r.retcode == rc.TRADE_RETCODE_DONE
    assert rec.seen == ["check_trade_allowed", "hook_trade_request_add", "hook_trade_request_process",
                        f"on_deal_perform:{rc.DEAL_ENTRY_IN}", "on_position_add", "on_trade_request_process"]
    rec.seen.clear()
    r = market(s, sess, "sell", "0.40", position=r.position)
    assert rec.seen[-3:] == [f"on_deal_perform:{rc.DEAL_ENTRY_OUT}", "on_position_update", "on_trade_request_process"]
    rec.seen.clear()
    market(s, sess, "sell", "2.00", symbol="NOPE")  # refused by the server's own checks
    assert rec.seen == ["check_trade_allowed", f"on_trade_request_refuse:{rc.TRADE_RETCODE_INVALID}"]


def test_a_quote_that_stops_an_account_out_raises_margin_then_deal_then_position_events():
    rec = Recorder()
    s = _server(rec)
    login, sess = account(s, account_type="mt5_pro", deposit="500", leverage=2000)
    quote(s, "1.00000")
    market(s, sess, "buy", "1.00")
    quote(s, "1.01000")
    market(s, sess, "buy", "1.00")
    rec.seen.clear()
    quote(s, "1.00279")  # level 28.25 %: margin call (tests/simulator/server/test_server_risk.py)
    assert rec.seen == ["on_margin_call"]
    rec.seen.clear()
    quote(s, "1.00263")  # level 10.17 %: stop-out closes the largest loser
    assert rec.seen == ["on_stop_out", f"on_deal_perform:{rc.DEAL_ENTRY_OUT}", "on_position_delete"]


class Cap(ServerPlugin):
    """Vetoes EURUSD requests above 2 lots; cuts others above 1 lot down to 1 lot."""

    name = "cap"

    def hook_trade_request_add(self, event):
        volume = event.request.volume
        if event.request.symbol == "EURUSD" and volume > 2:
            return Veto(rc.TRADE_RETCODE_REJECT, f"{volume} lots is above the 2-lot cap")
        if volume > 1:
            return Adjust(replace(event.request, volume=D("1.00")))
        return None


def test_a_veto_refuses_with_the_plugins_retcode_and_changes_nothing():
    s = _server(Cap())
    login, sess = account(s, account_type="mt5_raw_spread", deposit="100000", leverage=100)
    quote(s, "1.10000")
    before = (s.account_info(login), s.positions(login), s.history_deals(login))
    r = market(s, sess, "buy", "2.50")
    assert r.retcode == rc.TRADE_RETCODE_REJECT
    assert r.comment == "cap: 2.50 lots is above the 2-lot cap"
    assert (s.account_info(login), s.positions(login), s.history_deals(login)) == before
    assert s.journal.records("answer")[-1]["retcode"] == rc.TRADE_RETCODE_REJECT


def test_an_adjusted_request_is_checked_again_and_executed_as_adjusted():
    s = _server(Cap())
    login, sess = account(s, account_type="mt5_raw_spread", deposit="100000", leverage=100)
    quote(s, "1.10000")
    r = market(s, sess, "buy", "1.50")
    assert r.retcode == rc.TRADE_RETCODE_DONE and r.volume == D("1.00")
    [pos] = s.positions(login)
    assert pos.volume == D("1.00")
    [adj] = s.journal.records("request_adjusted")
    assert adj["plugins"] == ["cap"] and adj["request"]["volume"] == "1.00"


class Shrink(ServerPlugin):
    name = "shrink"

    def hook_trade_request_add(self, event):
        return Adjust(replace(event.request, volume=D("0.001")))  # below the volume step


def test_an_adjustment_the_server_would_refuse_is_refused():
    s = _server(Shrink())
    login, sess = account(s, account_type="mt5_raw_spread", deposit="100000", leverage=100)
    quote(s, "1.10000")
    r = market(s, sess, "buy", "1.00")
    assert r.retcode == rc.TRADE_RETCODE_INVALID_VOLUME and s.positions(login) == []


class Broken(ServerPlugin):
    """Fails on GBPUSD requests, on every deal it sees, and on every rollover."""

    name = "broken"

    def hook_trade_request_add(self, event):
        if event.request.symbol == "GBPUSD":
            return 1 / 0
        return None

    def on_deal_perform(self, event):
        raise RuntimeError("deal sink down")


def test_a_failing_hook_rejects_its_request_with_10011_and_the_server_stays_up():
    s = _server(Broken())
    login, sess = account(s, account_type="mt5_raw_spread", deposit="100000", leverage=100)
    quote(s, "1.27000", symbol="GBPUSD")
    quote(s, "1.10000")
    r = market(s, sess, "buy", "1.00", symbol="GBPUSD")
    assert r.retcode == rc.TRADE_RETCODE_ERROR
    assert "broken" in r.comment and "ZeroDivisionError" in r.comment
    assert s.positions(login) == []
    err = [e for e in s.journal.records("plugin_error") if e["hook"] == "hook_trade_request_add"]
    assert err[0]["plugin"] == "broken" and err[0]["error"].startswith("ZeroDivisionError")
    # the server is up: quotes move, other requests execute (their failing deal event is journaled)
    quote(s, "1.10010")
    ok = market(s, sess, "buy", "1.00")
    assert ok.retcode == rc.TRADE_RETCODE_DONE and len(s.positions(login)) == 1
    assert any(e["hook"] == "on_deal_perform" and "deal sink down" in e["error"]
               for e in s.journal.records("plugin_error"))


class Liar(ServerPlugin):
    name = "liar"

    def hook_trade_request_process(self, event):
        return Veto(rc.TRADE_RETCODE_DONE, "a veto that says done")


def test_a_veto_with_a_success_retcode_is_a_plugin_failure():
    s = _server(Liar())
    login, sess = account(s, account_type="mt5_raw_spread", deposit="100000", leverage=100)
    quote(s, "1.10000")
    r = market(s, sess, "buy", "1.00")
    assert r.retcode == rc.TRADE_RETCODE_ERROR and s.positions(login) == []


class Locked(ServerPlugin):
    name = "locked"

    def check_trade_allowed(self, account):
        raise KeyError("rights table missing")


def test_a_failing_trade_permission_check_rejects_and_reports_trading_not_allowed():
    s = _server(Locked())
    login, sess = account(s, account_type="mt5_raw_spread", deposit="100000", leverage=100)
    quote(s, "1.10000")
    assert market(s, sess, "buy", "1.00").retcode == rc.TRADE_RETCODE_ERROR
    assert s.account_info(login).trade_allowed is False


def test_hooks_are_resolved_once_and_only_for_the_plugins_that_override_them():
    rec = Recorder()
    s = _server(rec, Cap())
    host = s.plugins
    assert [p.name for p, _ in host.hook_trade_request_add] == ["recorder", "cap"]
    assert [p.name for p, _ in host.check_trade_allowed] == ["minimum_deposit", "recorder"]
    assert host.on_eod_start == [] and set(host.table) == set(HOOKS)
    # the engines sit on the tick path as the server's own methods: no loop over plugins
    assert s._refresh_risk.__self__ is host.risk and s._bands_fired.__self__ is host.risk


def test_plugins_are_checked_at_load():
    with pytest.raises(ValueError, match="unique"):
        new_server(plugins=[*default_plugins(), Cap(), Cap()])
    with pytest.raises(ValueError, match="margin model"):
        new_server(plugins=[])
    with pytest.raises(TypeError, match="not a ServerPlugin"):
        new_server(plugins=[*default_plugins(), object()])
