"""Where the engine's conversion rates come from in the daemon's normal flow (issue 12 item
1.3, docs/copy-trading.md "Where conversion rates come from"): the trader's own deal reports
and the back office's price feed of `Rules.conversion_symbols()`, through `DaemonCore` in
memory. A copy the engine cannot value is refused `no_rate`; these show it does not happen
when the flow is complete: EURJPY on a USD account, XAUUSD for an EUR trader."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from bridge.domain.rules import default_rules
from bridge.protocol import AccountUpdate, CommandResult, Hello, Open, PositionOpened

from corekit import H, T0, Net, Term, make

D = Decimal
# Seed 003 §4.7: a copy is opened when the trader's is, at the market: the engine must be able
# to value it then, from the rates it has at that moment.
SEED_4_7 = ("The signal for opening an order in the Investor Account triggers when the Trader places an order, "
            "and such Investor order is executed at the market price.")


def _deal(ticket: int, symbol: str, price: str, volume: str = "0.1") -> dict:
    return dict(ticket=ticket, symbol=symbol, side="buy", volume=D(volume), price=D(price), sl=D(0), tp=D(0),
                time=T0 + 1, magic=0, comment="")


def _feed(core, quotes: dict[str, str]) -> None:
    """The back office's price feed: one admin `price` per quote of a conversion pair."""
    for symbol, mid in quotes.items():
        reply = core.on_admin({"op": "price", "args": {"symbol": symbol, "bid": mid, "ask": mid}}, None, T0)
        assert reply["ok"], reply


def _refused(store) -> list[tuple[int, str]]:
    """(trader ticket, code) of the journaled copy refusals."""
    rows = store.db.execute("SELECT body FROM records WHERE topic = 'record.copy_refused' ORDER BY id")
    return [(body["trader_ticket"], body["code"]) for body in (json.loads(b) for (b,) in rows)]


def _world(tmp_path: Path):
    _, store, core = make(tmp_path)
    net = Net()
    tr, inv = Term(core, store, net, b"t", 1001), Term(core, store, net, b"i", 2001)
    tr.send(Hello, **H)
    inv.send(Hello, **{**H, "role": "investor"})
    net.take()
    return core, store, net, tr, inv


def test_the_feed_pairs_are_the_usd_pairs_of_every_currency() -> None:
    assert default_rules().conversion_symbols() == ("AUDUSD", "EURUSD", "GBPUSD", "USDCAD", "USDCHF", "USDJPY",
                                                    "USDNGN")


def test_usdjpy_copy_is_valued_by_the_traders_own_deal(tmp_path: Path) -> None:
    # No price from the back office at all: the trader's USDJPY deal is the JPY rate.
    core, store, net, tr, inv = _world(tmp_path)
    tr.send(PositionOpened, T0 + 5, **_deal(71, "USDJPY", "150.000"))
    (cmd,) = [m for m in net.take(b"i") if isinstance(m, Open)]
    assert (cmd.symbol, cmd.volume) == ("USDJPY", D("0.1"))


def test_eurjpy_copy_on_a_usd_account_is_executed_in_the_normal_flow(tmp_path: Path) -> None:
    # Seed 003 §4.7: SEED_4_7.
    # The back office feeds the conversion pairs (EURUSD among them); the trader's EURJPY deal
    # report gives EURJPY: JPY -> USD = EURUSD / EURJPY values the copy (0.1 lot = 10 850 USD,
    # margin 108.50 at 1:100 within the investor's 1 000).
    core, store, net, tr, inv = _world(tmp_path)
    _feed(core, {"EURUSD": "1.0850"})
    tr.send(PositionOpened, T0 + 5, **_deal(72, "EURJPY", "162.500"))
    (cmd,) = [m for m in net.take(b"i") if isinstance(m, Open)]
    assert (cmd.symbol, cmd.volume) == ("EURJPY", D("0.1"))
    inv.send(CommandResult, T0 + 6, key=cmd.key, ok=True, retcode=10009, ticket=9, price=D("162.510"),
             volume=D("0.1"), time=T0 + 6, message="")
    assert core.copy_map()["1"]["72"] == {"ticket": 9, "volume": "0.1", "state": "open"}
    # with USDJPY fed as well, the direct pair is used; either way no `no_rate`
    _feed(core, {"USDJPY": "150.000"})
    tr.send(PositionOpened, T0 + 7, **_deal(73, "EURJPY", "162.600"))
    assert [m.symbol for m in net.take(b"i") if isinstance(m, Open)] == ["EURJPY"]


def test_eurjpy_without_any_usd_link_is_refused_no_rate_not_raised(tmp_path: Path) -> None:
    # Neither EURUSD nor USDJPY has reached the engine: the copy is refused `no_rate`, journaled.
    core, store, net, tr, inv = _world(tmp_path)
    core.take_logs()
    tr.send(PositionOpened, T0 + 5, **_deal(74, "EURJPY", "162.500"))
    assert [m for m in net.take(b"i") if isinstance(m, Open)] == []
    assert _refused(store) == [(74, "no_rate")]
    assert not [e for _, e, _ in core.take_logs() if e == "engine.error"]


def test_xauusd_for_an_eur_trader_is_sized_in_one_currency(tmp_path: Path) -> None:
    # An EUR trader copied in proportion (§4.5.2): its 800 EUR are 1 000 USD at the fed EURUSD
    # 1.25, against the investor's 1 000 USD: a 0.1-lot XAUUSD deal copies as 0.10 lot.
    _, store, core = make(tmp_path)
    for op, args in [("register_trader", dict(trader="TE", account=1002, account_type="mt4_standard", leverage=100,
                                             commission_pct="0", currency="EUR")),
                     ("deposit", dict(owner="J", amount="1000")),
                     ("subscribe", dict(investor="J", trader="TE", account=2002, amount="1000",
                                        mode="proportional"))]:
        assert core.on_admin({"op": op, "args": args}, None, T0)["ok"]
    store.write(core.take_batch())
    net = Net()
    tr, inv = Term(core, store, net, b"te", 1002), Term(core, store, net, b"j", 2002)
    tr.send(Hello, **{**H, "currency": "EUR", "balance": D(800), "equity": D(800)})
    inv.send(Hello, **{**H, "role": "investor"})
    tr.send(AccountUpdate, balance=D(800), equity=D(800), margin=D(0), free_margin=D(800), leverage=100)
    net.take()
    tr.send(PositionOpened, T0 + 5, **_deal(81, "XAUUSD", "2300.00"))
    assert [m for m in net.take(b"j") if isinstance(m, Open)] == []
    assert _refused(store) == [(81, "no_rate")]  # no EURUSD yet: the equities cannot be compared
    _feed(core, {"EURUSD": "1.25"})
    tr.send(PositionOpened, T0 + 6, **_deal(82, "XAUUSD", "2300.00"))
    (cmd,) = [m for m in net.take(b"j") if isinstance(m, Open)]
    assert (cmd.symbol, cmd.volume) == ("XAUUSD", D("0.1"))
