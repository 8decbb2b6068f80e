"""One `MonitorState` for a cluster (bridge/monitor/desk_state.py), pure, and the console and
dashboard views drawn from it.

"the monitor and the dashboard aggregate the feeds of all daemons into one desk" (issue 16,
section 2)."""

from __future__ import annotations

from decimal import Decimal as D

from rich.console import Console

from bridge.monitor.console import render
from bridge.monitor.dealer import parse
from bridge.monitor.desk_state import desk_state, subscription_key, where
from bridge.monitor.model import Account, EventLine, Subscription, Trader
from bridge.monitor.render import sections
from bridge.monitor.state import MonitorState
from bridge.monitor.views import DEALER, INVESTOR, Principal, desk_view
from bridge.monitor.web_dealer import settings_url

DESK = Principal(DEALER, "desk")
NODES = {"s1": ("d1", "tcp://a:5571"), "s2": ("d2", "tcp://b:5571")}


def shard(last_ts: int, trader: str, trader_login: int, investor_login: int, event_ts: int) -> MonitorState:
    """One daemon's state: a trader, an investor account, its subscription 1 and one event line."""
    s = MonitorState()
    s.health.last_ts, s.health.last_rx, s.health.synced, s.health.connected = last_ts, last_ts, True, True
    s.health.messages = 3
    s.accounts = {trader_login: Account(trader_login, role="trader", owner=trader),
                  investor_login: Account(investor_login, role="investor", owner=f"I{investor_login}",
                                          margin_level=D("150"))}
    s.traders = {trader: Trader(trader, account=trader_login)}
    s.subscriptions = {1: Subscription(1, f"I{investor_login}", trader, investor_login)}
    s.copy_settings = {1: {"mode": "fixed"}}
    line = EventLine(1, event_ts, "copy_opened", "info", f"copy opened for {investor_login}", login=investor_login,
                     subscription=1)
    s.events.append(line)
    s.events_by_login[investor_login] = __import__("collections").deque([line])
    return s


def desk() -> MonitorState:
    return desk_state({"s1": shard(2_000, "T1", 1001, 3001, 1_500), "s2": shard(3_000, "T2", 2001, 4001, 1_200)},
                      NODES, version=7)


def test_every_row_names_its_shard_and_subscriptions_are_kept_apart_by_shard() -> None:
    s = desk()
    assert {a.login: a.shard for a in s.accounts.values()} == {1001: "s1", 3001: "s1", 2001: "s2", 4001: "s2"}
    assert {t.id: t.shard for t in s.traders.values()} == {"T1": "s1", "T2": "s2"}
    # both shards number their first subscription 1
    assert {k: (x.trader, x.account) for k, x in s.subscriptions.items()} == {("s1", 1): ("T1", 3001),
                                                                              ("s2", 1): ("T2", 4001)}
    assert s.subscriptions[subscription_key(s, "s2", 1)].shard == "s2"  # type: ignore[index]
    assert s.copy_settings[("s2", 1)] == {"mode": "fixed"}  # type: ignore[index]
    # events merged by time, renumbered, each saying shard@node
    assert [(e.seq, e.shard, e.text) for e in s.events] == [(1, "s2", "[s2@d2] copy opened for 4001"),
                                                            (2, "s1", "[s1@d1] copy opened for 3001")]
    assert [src.label for src in s.sources] == ["s1@d1", "s2@d2"] and where(s, "s2") == "s2@d2"
    assert s.health.synced and s.health.connected and s.version == 7


def test_the_desk_is_live_only_when_every_source_is() -> None:
    s2 = shard(3_000, "T2", 2001, 4001, 1_200)
    s2.health.synced = False  # s2's new owner has not sent its snapshot yet
    s = desk_state({"s1": shard(2_000, "T1", 1001, 3001, 1_500), "s2": s2}, NODES)
    assert not s.health.synced and s.health.connected


def test_an_investor_sees_only_the_events_of_their_own_shard_subscription() -> None:
    """Subscription 1 exists in s1 and s2: the investor of s2's sees s2's line only."""
    v = desk_view(desk(), Principal(INVESTOR, "4001", 4001, "I4001"))
    assert [e.text for e in v.events] == ["[s2@d2] copy opened for 4001"]
    assert [(x.shard, x.subscription) for x in v.subscriptions] == [("s2", 1)]


def test_the_console_renders_the_shard_of_each_account_and_each_source() -> None:
    console = Console(record=True, width=160)
    console.print(render(desk(), 3_000))
    text = console.export_text()
    assert "shards: s1@d1 [LIVE] tcp://a:5571" in text and "s2@d2 [LIVE] tcp://b:5571" in text
    row = next(line for line in text.splitlines() if " 4001 " in line)
    assert "s2@d2" in row
    assert "[s1@d1] copy opened for 3001" in text


def test_the_dashboard_lists_both_shards_subscriptions_and_links_their_settings_by_shard() -> None:
    secs = sections(desk(), DESK, 3_000)
    assert 'data-subscription="1" data-shard="s1"' in secs["subscriptions"]
    assert 'data-subscription="1" data-shard="s2"' in secs["subscriptions"]
    assert 'data-login="4001" data-status="ok" data-shard="s2"' in secs["accounts"]
    assert 'data-shard="s2">s2@d2 <span class="feed feed-live">' in secs["status"]
    assert settings_url("s2", 1) == "/subscriptions/s2/1/settings" and settings_url("", 1) == "/subscriptions/1/settings"


def test_a_dealer_action_form_carries_the_shard_and_a_bad_shard_sends_nothing() -> None:
    req = parse({"action": "suspend", "subscription": "1", "shard": "s2"})
    assert not isinstance(req, str) and req.shard == "s2" and req.subject == "subscription 1 of shard s2"
    assert req.args == {"subscription": 1}  # the shard travels in the request's envelope, not as an argument
    assert parse({"action": "suspend", "subscription": "1", "shard": "s-2"}) == \
        "shard: letters, digits and _ only, at most 40"
    one = parse({"action": "suspend", "subscription": "1"})
    assert not isinstance(one, str) and one.shard == "" and one.subject == "subscription 1"


def test_a_shard_that_moves_is_followed_to_its_new_owners_feed_without_a_restart() -> None:
    """Failover or hand-over: the lease table names a new owner (and its feed) for s2; the next
    refresh moves s2's subscriber there and the desk names the new node."""
    from bridge.monitor.feed import ClusterFeeds
    from bridge.monitor.hub import DeskHub

    leases = {"s1": ("d1", "tcp://127.0.0.1:9"), "s2": ("d2", "tcp://127.0.0.1:10")}
    hub = DeskHub(clock=lambda: 0)
    feeds = ClusterFeeds(lambda: dict(leases), hub, refresh_s=3600)
    try:
        feeds.refresh()
        first = feeds.subscribers["s1"]
        leases["s2"] = ("d3", "tcp://127.0.0.1:11")  # d2 died; d3 took s2
        feeds.refresh()
        assert feeds.subscribers["s2"].address == "tcp://127.0.0.1:11" and feeds.subscribers["s1"] is first
        assert hub.nodes["s2"] == ("d3", "tcp://127.0.0.1:11")
    finally:
        feeds.stop()


def test_the_cluster_options_and_their_one_line_errors() -> None:
    from bridge.monitor.commands import _cluster_feeds
    from bridge.monitor.feed import listed_feeds

    assert _cluster_feeds({"connect": "tcp://a:1"}) is None  # one daemon: unchanged
    assert listed_feeds(["s1=tcp://a:1", "tcp://b:1"])() == {"s1": ("", "tcp://a:1"), "tcp://b:1": ("", "tcp://b:1")}
    for conf, why in (({"cluster": "postgresql://x/y", "feed": ["tcp://a:1"]}, "--cluster and --feed exclude each other"),
                      ({"cluster": "postgresql://x/y", "connect": "tcp://a:1"}, "--connect is one daemon"),
                      ({"cluster": "tcp://a:1"}, "expected postgresql://"),
                      ({"feed": ["s1=tcp://a:1", "s1=tcp://b:1"]}, "s1 is listed twice")):
        try:
            _cluster_feeds(conf)
        except ValueError as exc:
            assert why in str(exc)
        else:
            raise AssertionError(conf)


def test_a_cluster_url_is_printed_without_its_password() -> None:
    from bridge.monitor.commands import _no_password

    assert _no_password("postgresql://desk:s3cret@db:5432/mtbridge") == "postgresql://desk@db:5432/mtbridge"
    assert _no_password("postgresql://db/mtbridge") == "postgresql://db/mtbridge"


def test_a_dealer_action_goes_to_the_shards_owner_as_the_lease_table_names_it_now() -> None:
    """The owners are re-read for each request: after a failover of s2 from d2 to d3 the next
    action goes to d3's admin endpoint, without a restart of the dashboard."""
    from bridge.monitor.web_dealer import DealerLink

    owners = {"s1": "tcp://d1:5572", "s2": "tcp://d2:5572"}
    link = DealerLink("", None, owners=lambda: dict(owners))
    try:
        assert link.target("s2") == "tcp://d2:5572"
        owners["s2"] = "tcp://d3:5572"
        assert link.target("s2") == "tcp://d3:5572"
        assert link.target(None) == "tcp://d1:5572"  # no shard (a trader action): any owner routes it
        del owners["s2"]  # s2 has no owner for now: any daemon answers (`no_owner`, said on the page)
        assert link.target("s2") == "tcp://d1:5572"
        assert DealerLink("tcp://fixed:5572", None).target("s2") == "tcp://fixed:5572"  # --admin-endpoint
    finally:
        link.close()
