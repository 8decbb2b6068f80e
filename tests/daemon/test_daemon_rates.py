"""Where the engine's conversion rates come from in the daemon's normal flow (issue 12 item
1.3: "document where the daemon gets conversion rates (and make sure it does get them in the
normal flow: EURJPY on a USD account, XAUUSD on an EUR account)"; docs/copy-trading.md "Where
conversion rates come from"): the trader's own deal reports, the terminals' `quotes` of
`Rules.conversion_symbols()` (asked for in every `welcome`), and the back office's admin
`price`, through `DaemonCore` in memory. A copy the engine cannot value is refused `no_rate`;
these show it does not happen when the flow is complete."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from bridge.daemon.core import DaemonCore
from bridge.daemon.quotes import QUOTE_FUTURE_MS, QUOTE_INTERVAL_MS
from bridge.domain.rules import default_rules
from bridge.protocol import (AccountUpdate, CommandResult, ErrorReply, Hello, Open, PositionOpened, Quote, Quotes,
                             Welcome, pack_canonical)

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


def _eur_trader_and_usd_investor(tmp_path: Path) -> tuple:
    """An 800 EUR trader (TE, 1002) copied in proportion by J's 1 000 USD account (2002), both
    terminals welcomed: (store, core, net, the trader's terminal)."""
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
    return store, core, net, tr


def test_xauusd_for_an_eur_trader_is_sized_in_one_currency(tmp_path: Path) -> None:
    # An EUR trader copied in proportion (§4.5.2): its 800 EUR are 1 000 USD at the fed EURUSD
    # 1.25, against the investor's 1 000 USD: a 0.1-lot XAUUSD deal copies as 0.10 lot.
    store, core, net, tr = _eur_trader_and_usd_investor(tmp_path)
    tr.send(PositionOpened, T0 + 5, **_deal(81, "XAUUSD", "2300.00"))
    assert [m for m in net.take(b"j") if isinstance(m, Open)] == []
    assert _refused(store) == [(81, "no_rate")]  # no EURUSD yet: the equities cannot be compared
    _feed(core, {"EURUSD": "1.25"})
    tr.send(PositionOpened, T0 + 6, **_deal(82, "XAUUSD", "2300.00"))
    (cmd,) = [m for m in net.take(b"j") if isinstance(m, Open)]
    assert (cmd.symbol, cmd.volume) == ("XAUUSD", D("0.1"))


# ---------------------------------------------------------------- terminals report the rates

def _quotes(term, now: int, *rates: tuple[str, str, str], time: int | None = None) -> list:
    """The terminal's `quotes` frame: (symbol, bid, ask) each, quoted at `time` (default: now)."""
    return term.send(Quotes, now, quotes=tuple(Quote(sym, D(bid), D(ask), now if time is None else time)
                                               for sym, bid, ask in rates))


def _ticks(store) -> list[tuple[str, Decimal, Decimal]]:
    """(symbol, bid, ask) of the journaled PriceTick events, in order (compare with `_r`)."""
    rows = store.db.execute("SELECT body FROM events WHERE type = 'PriceTick' ORDER BY seq")
    return [(b["symbol"], D(b["bid"]), D(b["ask"])) for b in (json.loads(body) for (body,) in rows)]


def _r(symbol: str, bid: str, ask: str) -> tuple[str, Decimal, Decimal]:
    return symbol, D(bid), D(ask)


def test_every_welcome_asks_for_the_conversion_pairs(tmp_path: Path) -> None:
    _, store, core = make(tmp_path)
    net = Net()
    for conn, login, role in ((b"t", 1001, "trader"), (b"i", 2001, "investor")):
        (welcome,) = [m for m in Term(core, store, net, conn, login).send(Hello, **{**H, "role": role})
                      if isinstance(m, Welcome)]
        assert welcome.quote_symbols == default_rules().conversion_symbols()


def test_eurjpy_copy_on_a_usd_account_gets_its_jpy_rate_from_a_terminals_quotes(tmp_path: Path) -> None:
    # Seed 003 §4.7: SEED_4_7. No admin `price` at all: the investor's terminal quotes USDJPY,
    # as its welcome asked; the trader's EURJPY deal is then valued (JPY -> USD = 1/150) and copied.
    core, store, net, tr, inv = _world(tmp_path)
    assert _quotes(inv, T0 + 2, ("USDJPY", "150.000", "150.010")) == []  # accepted: no error
    assert _ticks(store) == [_r("USDJPY", "150.000", "150.010")]
    tr.send(PositionOpened, T0 + 5, **_deal(91, "EURJPY", "162.500"))
    (cmd,) = [m for m in net.take(b"i") if isinstance(m, Open)]
    assert (cmd.symbol, cmd.volume) == ("EURJPY", D("0.1"))
    inv.send(CommandResult, T0 + 6, key=cmd.key, ok=True, retcode=10009, ticket=19, price=D("162.510"),
             volume=D("0.1"), time=T0 + 6, message="")
    assert core.copy_map()["1"]["91"] == {"ticket": 19, "volume": "0.1", "state": "open"}
    assert _refused(store) == []


def test_xauusd_for_an_eur_trader_copies_once_eurusd_arrives_in_quotes(tmp_path: Path) -> None:
    # The EUR trader's 800 EUR are compared with the investor's 1 000 USD through EURUSD, which
    # the trader's own terminal quotes (no admin price): 1.25 -> 1 000 USD, so 0.1 lot copies 0.1.
    store, core, net, tr = _eur_trader_and_usd_investor(tmp_path)
    tr.send(PositionOpened, T0 + 5, **_deal(83, "XAUUSD", "2300.00"))
    assert _refused(store) == [(83, "no_rate")]
    assert _quotes(tr, T0 + 6, ("EURUSD", "1.25", "1.25")) == []
    tr.send(PositionOpened, T0 + 7, **_deal(84, "XAUUSD", "2300.00"))
    (cmd,) = [m for m in net.take(b"j") if isinstance(m, Open)]
    assert (cmd.symbol, cmd.volume) == ("XAUUSD", D("0.1"))


def test_identical_quotes_are_journaled_once(tmp_path: Path) -> None:
    # Both terminals quote the same EURUSD again and again: one PriceTick in the journal.
    core, store, net, tr, inv = _world(tmp_path)
    for k in range(50):
        _quotes(tr if k % 2 else inv, T0 + 10 + 100 * k, ("EURUSD", "1.08500", "1.08510"))
    assert _ticks(store) == [_r("EURUSD", "1.08500", "1.08510")]


def test_changing_quotes_give_at_most_one_tick_per_symbol_per_interval(tmp_path: Path) -> None:
    # 100 different EURUSD quotes and 100 USDJPY ones within one interval: the first of each is
    # fed at once, the newest is held and fed when the interval ends (a tick), the rest never
    # reach the journal; the engine ends on the last rates reported.
    core, store, net, tr, inv = _world(tmp_path)
    t = T0 + 10
    step = QUOTE_INTERVAL_MS // 200  # 200 frames spread over one interval
    for k in range(100):
        _quotes(inv, t + 2 * k * step, ("EURUSD", f"1.08{k:03d}", f"1.09{k:03d}"))
        _quotes(tr, t + (2 * k + 1) * step, ("USDJPY", f"150.{k:03d}", f"151.{k:03d}"))
    assert _ticks(store) == [_r("EURUSD", "1.08000", "1.09000"), _r("USDJPY", "150.000", "151.000")]
    end = t + QUOTE_INTERVAL_MS + step
    core.tick(end)
    store.write(core.take_batch())
    assert _ticks(store)[2:] == [_r("EURUSD", "1.08099", "1.09099"), _r("USDJPY", "150.099", "151.099")]
    assert core.engine.s.prices["EURUSD"] == (D("1.08099"), D("1.09099"))
    # the bound: over N intervals, at most N rows per symbol, whatever the quote rate
    for k in range(1000):
        _quotes(inv, end + k * 5, ("EURUSD", f"1.1{k:04d}", f"1.2{k:04d}"))
        core.tick(end + k * 5)
    store.write(core.take_batch())
    intervals = 1000 * 5 // QUOTE_INTERVAL_MS + 1
    assert len([s for s, _, _ in _ticks(store)[4:] if s == "EURUSD"]) <= intervals


def test_bad_quotes_are_refused_with_reasons_and_the_good_ones_used(tmp_path: Path) -> None:
    core, store, net, tr, inv = _world(tmp_path)
    before = dict(core.engine.s.prices)
    replies = _quotes(inv, T0 + 10, ("EURUSD", "1.0850", "1.0851"), ("XAUEUR", "2100", "2101"),
                      ("USDJPY", "150.2", "150.1"), ("USDCHF", "0", "0.9"))
    (err,) = [m for m in replies if isinstance(m, ErrorReply)]
    assert (err.code, err.field) == ("quote_refused", "quotes[1].symbol")
    assert "not a symbol the daemon asked for" in err.detail and "3 of 4 quotes refused" in err.detail
    assert _ticks(store) == [_r("EURUSD", "1.0850", "1.0851")]
    assert set(core.engine.s.prices) - set(before) == {"EURUSD"}
    for rates, field, why in ((("USDJPY", "150.2", "150.1"),), "quotes[0].ask", "below bid"), \
                             ((("USDCHF", "0", "0.9"),), "quotes[0].bid", "must be positive"):
        (err,) = [m for m in _quotes(inv, T0 + 20, *rates) if isinstance(m, ErrorReply)]
        assert (err.code, err.field) == ("quote_refused", field) and why in err.detail
    (err,) = [m for m in _quotes(inv, T0 + 30, ("USDJPY", "150.1", "150.2"), time=T0 + 31 + QUOTE_FUTURE_MS)
              if isinstance(m, ErrorReply)]
    assert (err.code, err.field) == ("quote_refused", "quotes[0].time") and "ahead of the daemon clock" in err.detail
    # refused by the protocol itself: no quote at all, or more than 32
    for quotes in ((), tuple(Quote("EURUSD", D(1), D(1), T0) for _ in range(33))):
        inv.seq += 1
        wire = {"v": 1, "type": "quotes", "id": 10**12 + len(quotes), "seq": inv.seq, "ts": T0 + 40, "login": 2001,
                "quotes": [{"symbol": q.symbol, "bid": 1.0, "ask": 1.0, "time": T0} for q in quotes]}
        core.on_frame(b"i", None, pack_canonical(wire), T0 + 40)
        store.write(core.take_batch())
        core.pump(net, T0 + 40)
        (err,) = [m for m in net.take(b"i") if isinstance(m, ErrorReply)]
        assert (err.code, err.field) == ("out_of_range", "quotes")
    assert _ticks(store) == [_r("EURUSD", "1.0850", "1.0851")]
    assert core.engine.s.prices["EURUSD"] == (D("1.0850"), D("1.0851"))


def test_quote_ticks_replay_to_the_same_engine(tmp_path: Path) -> None:
    # Journaled like any engine input: recovery from the journal ends on the same rates and state.
    cfg, store, core = make(tmp_path)
    net = Net()
    inv = Term(core, store, net, b"i", 2001)
    inv.send(Hello, **{**H, "role": "investor"})
    for k in range(30):
        _quotes(inv, T0 + 100 * k, ("EURUSD", f"1.08{k:03d}", f"1.09{k:03d}"), ("USDJPY", "150.1", "150.2"))
        core.tick(T0 + 100 * k)
        store.write(core.take_batch())
    again = DaemonCore.recover(cfg, store.recover(), now=T0 + 5000)
    assert again.engine.s.prices == core.engine.s.prices
    assert again.engine.to_bytes() == core.engine.to_bytes()
