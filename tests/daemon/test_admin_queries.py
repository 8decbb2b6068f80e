"""The admin list queries read what the feed shows (admin_queries.py)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from corekit import H, T0, Net, Term, make, opened

from bridge.protocol import CommandResult, Hello, Open, PositionOpened

ENVELOPE = ("ts", "instance", "fseq")


def test_list_subscriptions_rows_are_the_feeds_subscription_rows(tmp_path: Path) -> None:
    """Review of issue 10: "the admin `list_subscriptions` rebuilds a feed row instead of reusing
    the feed's". After a copy is opened and filled, each admin row is the subscription's last
    `subscription.update` on the feed, field for field and in the same order."""
    _cfg, store, core = make(tmp_path)
    net = Net()
    trader, inv = Term(core, store, net, b"t", 1001), Term(core, store, net, b"i", 2001)
    trader.send(Hello, **H)
    inv.send(Hello, **{**H, "role": "investor"})
    trader.send(PositionOpened, T0 + 1, **opened(5))
    cmd = next(m for m in net.take(b"i") if isinstance(m, Open))
    inv.send(CommandResult, T0 + 2, key=cmd.key, ok=True, retcode=10009, ticket=9001, price=Decimal("1.1"),
             volume=cmd.volume, time=T0 + 2, message="")
    feed = core.take_feed()
    reply = core.on_admin({"op": "list_subscriptions", "args": {}}, None, T0 + 2)
    assert reply["ok"], reply
    last = {}
    for topic, body in feed:
        if topic == "subscription.update":
            last[body["subscription"]] = {k: v for k, v in body.items() if k not in ENVELOPE}
    rows = reply["subscriptions"]
    assert rows and [r["subscription"] for r in rows] == sorted(last)
    for row in rows:
        assert list(row.items()) == list(last[row["subscription"]].items())
