"""Dealer actions: a plugin acts on any account, with no terminal and no session of its own.

Seed 003 §4.6: trades are copied to the investor account "whether the owner of the account is
signed in or not" - here the investor never logs in; the plugin copies through dealer actions.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from srv_helpers import account, market, new_server, quote

from bridge.domain.errors import Refusal
from simulator.server import retcodes as rc
from simulator.server.plugins import (
    BalanceOperation,
    ClosePosition,
    ModifyPosition,
    OpenPosition,
    ServerPlugin,
)
from simulator.server.plugins import host as host_module
from simulator.server.plugins.rules import default_plugins
from simulator.server.records import DealInfo


class Copier(ServerPlugin):
    """Copies the trader's opens and closes to the investor, half the volume (events in,
    actions out)."""

    name = "copier"

    def __init__(self) -> None:
        self.trader = self.investor = 0
        self.links: dict[int, int] = {}  # trader position -> investor position
        self.results: list = []
        self._opening: int = 0

    def on_position_add(self, event):
        if event.login != self.trader:
            return None
        self._opening = event.position
        side = rc.ORDER_TYPE_BUY if event.type == rc.POSITION_TYPE_BUY else rc.ORDER_TYPE_SELL
        return [OpenPosition(self.investor, event.symbol, side, event.volume / 2, comment=f"copy {event.position}")]

    def on_position_delete(self, event):
        copy = self.links.pop(event.position, None) if event.login == self.trader else None
        return None if copy is None else [ClosePosition(self.investor, copy, comment="copy close")]

    def on_dealer_result(self, action, result):
        self.results.append((type(action).__name__, result.retcode))
        if isinstance(action, OpenPosition) and result.retcode == rc.TRADE_RETCODE_DONE:
            self.links[int(action.comment.split()[1])] = result.position


def _setup():
    copier = Copier()
    s = new_server(plugins=[*default_plugins(), copier])
    trader, tsess = account(s, "tom@example.com", account_type="mt5_raw_spread", deposit="100000", leverage=100)
    investor, _ = account(s, "ivy@example.com", account_type="mt5_raw_spread", deposit="50000", leverage=100)
    copier.trader, copier.investor = trader, investor
    quote(s, "1.10000")
    return s, copier, trader, tsess, investor


def test_returned_actions_copy_opens_and_closes_to_an_account_that_never_logged_in():
    s, copier, trader, tsess, investor = _setup()
    r = market(s, tsess, "buy", "1.00")
    assert r.retcode == rc.TRADE_RETCODE_DONE
    [copy] = s.positions(investor)
    assert (copy.symbol, copy.type, copy.volume, copy.comment) == ("EURUSD", rc.POSITION_TYPE_BUY, D("0.50"),
                                                                   f"copy {r.position}")
    # the copy ran after the trader's request was answered, journaled as the plugin's action
    kinds = [rec["kind"] for rec in s.journal.records() if rec["kind"] in ("answer", "dealer_action")]
    assert kinds[-3:] == ["answer", "dealer_action", "answer"]
    assert s.journal.records("dealer_action")[-1]["plugin"] == "copier"
    quote(s, "1.10050")
    market(s, tsess, "sell", "1.00", position=r.position)
    assert s.positions(investor) == []
    assert copier.results == [("OpenPosition", rc.TRADE_RETCODE_DONE), ("ClosePosition", rc.TRADE_RETCODE_DONE)]
    # the copies record reason EXPERT, as a copier EA's deals do
    assert [d.reason for d in s.history_deals(investor) if d.entry == rc.DEAL_ENTRY_OUT] == [rc.DEAL_REASON_EXPERT]


def test_execute_runs_dealer_actions_between_operations():
    s, copier, trader, tsess, investor = _setup()
    api = s.plugins.apis["copier"]
    r = api.execute(OpenPosition(investor, "EURUSD", rc.ORDER_TYPE_SELL, D("0.30"), magic=7))
    assert r.retcode == rc.TRADE_RETCODE_DONE
    [pos] = api.positions(investor)
    assert (pos.type, pos.volume, pos.magic) == (rc.POSITION_TYPE_SELL, D("0.30"), 7)
    assert api.execute(ModifyPosition(investor, pos.ticket, sl=D("1.11000"))).retcode == rc.TRADE_RETCODE_DONE
    assert api.positions(investor)[0].sl == D("1.11000")
    assert api.execute(ClosePosition(investor, pos.ticket, D("0.10"))).retcode == rc.TRADE_RETCODE_DONE
    assert api.positions(investor)[0].volume == D("0.20")
    gone = api.execute(ClosePosition(investor, 424242))
    assert gone.retcode == rc.TRADE_RETCODE_POSITION_CLOSED and "424242" in gone.comment
    # balance operations: a credit, a debit, a debit beyond the balance (refused, nothing changes)
    before = api.account(investor).balance
    credit = api.execute(BalanceOperation(investor, D("125.50"), "bonus"))
    assert isinstance(credit, DealInfo) and credit.type == rc.DEAL_TYPE_BALANCE and credit.comment == "bonus"
    debit = api.execute(BalanceOperation(investor, D("-25.50")))
    assert isinstance(debit, DealInfo) and api.account(investor).balance == before + D(100)
    refused = api.execute(BalanceOperation(investor, D("-1000000")))
    assert isinstance(refused, Refusal) and refused.code == "insufficient_balance"
    assert api.account(investor).balance == before + D(100)
    bad = api.execute(BalanceOperation(investor, D("0.001")))
    assert isinstance(bad, Refusal) and bad.code == "invalid_amount"


class Eager(ServerPlugin):
    """Tries to act from inside a hook (not allowed: hooks return actions)."""

    name = "eager"

    def on_load(self, api):
        self.api = api

    def hook_trade_request_add(self, event):
        self.api.execute(BalanceOperation(event.login, D(1)))


def test_a_direct_action_inside_a_hook_is_refused_as_a_plugin_failure():
    s = new_server(plugins=[*default_plugins(), Eager()])
    login, sess = account(s, account_type="mt5_raw_spread", deposit="100000", leverage=100)
    quote(s, "1.10000")
    r = market(s, sess, "buy", "1.00")
    assert r.retcode == rc.TRADE_RETCODE_ERROR and "cannot run inside a hook" in r.comment
    assert s.account_info(login).balance == D("100000.00")


class Echo(ServerPlugin):
    """Answers every deal of its account with another deal: would never stop."""

    name = "echo"

    def on_deal_perform(self, event):
        if event.deal.entry == rc.DEAL_ENTRY_IN and event.deal.symbol:
            return [OpenPosition(event.deal.login, "EURUSD", rc.ORDER_TYPE_BUY, D("0.01"))]
        return None


def test_runaway_actions_are_bounded_per_operation(monkeypatch):
    monkeypatch.setattr(host_module, "MAX_ACTIONS_PER_OPERATION", 5)
    s = new_server(plugins=[*default_plugins(), Echo()])
    login, sess = account(s, account_type="mt5_raw_spread", deposit="100000", leverage=100)
    quote(s, "1.10000")
    assert market(s, sess, "buy", "0.01").retcode == rc.TRADE_RETCODE_DONE
    assert len(s.positions(login)) == 1 + 5
    [err] = s.journal.records("plugin_error")
    assert err["plugin"] == "echo" and "more than 5 dealer actions" in err["error"]
    quote(s, "1.10010")  # still up
    assert market(s, sess, "sell", "0.01").retcode == rc.TRADE_RETCODE_DONE


def test_a_dealer_action_is_deterministic():
    digests = set()
    for _ in range(2):
        s, copier, trader, tsess, investor = _setup()
        market(s, tsess, "buy", "1.00")
        digests.add(s.digest())
    assert len(digests) == 1


def test_unknown_action_is_a_type_error():
    s, *_ = _setup()
    with pytest.raises(TypeError, match="not a dealer action"):
        s.plugins.apis["copier"].execute("close everything")


class BadReturns(ServerPlugin):
    """Returns a non-action from an event, next to a good action."""

    name = "bad_returns"

    def __init__(self, returned) -> None:
        self.returned = returned
        self.armed = False

    def on_deal_perform(self, event):
        if not self.armed or event.deal.symbol:
            return None
        self.armed = False  # once: the good action's own deal must not answer again
        return self.returned(event.deal.login)


@pytest.mark.parametrize("returned", [
    lambda login: ["x", BalanceOperation(login, D("1"))],
    lambda login: [BalanceOperation(login, D("1")), "x"],
    lambda login: 5,
], ids=["bad-first", "bad-last", "not-iterable"])
def test_a_bad_returned_value_is_a_plugin_error_not_the_servers(returned):
    plugin = BadReturns(returned)
    s = new_server(plugins=[*default_plugins(), plugin])
    # the opening deposit is the server's own operation: it must succeed whatever the plugin returns
    login, _ = account(s, account_type="mt5_raw_spread", deposit="100000", leverage=100)
    plugin.armed = True
    assert s.deposit(login, D("10"), payer_email="ann@example.com") is not None
    errors = s.journal.records("plugin_error")
    assert errors and all(e["plugin"] == "bad_returns" and "TypeError" in e["error"] for e in errors)
    assert s.plugins.pending == []


class RaisingAction(ServerPlugin):
    """Returns an action whose running raises (a position ticket that is not hashable)."""

    name = "raising_action"

    def on_deal_perform(self, event):
        if event.deal.symbol or event.deal.comment == "bonus":
            return None
        return [ClosePosition(event.deal.login, [1]), BalanceOperation(event.deal.login, D("5"), "bonus")]


def test_an_action_that_raises_while_running_is_a_plugin_error_and_the_queue_drains():
    s = new_server(plugins=[*default_plugins(), RaisingAction()])
    login, _ = account(s, account_type="mt5_raw_spread", deposit="100000", leverage=100)
    [err] = s.journal.records("plugin_error")
    assert err["plugin"] == "raising_action" and err["hook"] == "dealer_action"
    assert s.plugins.pending == []
    assert s.account_info(login).balance == D("100005.00")  # the good action after the bad one ran
