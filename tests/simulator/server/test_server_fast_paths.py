"""Issue 12 section 3: the simulator's fast paths write the same journal as the plain ones.

"Goals ... with the journal digest unchanged (same bytes, same digest)". `TradeServer(reference=True)`
keeps the plain paths (every band crossing re-checked exactly with Decimals, ticks through
`Journal.append`); these tests run the same accounts and quotes through both and compare the
journals byte for byte, on loads where accounts go into margin call, clear it and are stopped
out. No timing here: the figures are in benchmarks/bench_simulator_ticks.py.
"""

from __future__ import annotations

import random
from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from srv_helpers import MONDAY, account, market

from simulator.prices import RandomWalkFeed, WalkSpec, merge_feeds
from simulator.server import TradeServer
from simulator.server.bands import build_bands

SYMBOLS = {"EURUSD": (D("1.10000"), 5, 2, D(6)), "GBPUSD": (D("1.27000"), 5, 3, D(6)),
           "XAUUSD": (D("2050.00"), 2, 20, D(30))}


def _ticks(n: int, seed: int) -> list:
    feeds = [RandomWalkFeed(WalkSpec(sym, bid, digits, spread, volatility_points=vol, interval_ms=40,
                                     market="forex" if sym != "XAUUSD" else "metals"),
                            seed, MONDAY + 1000, max_ticks=n // len(SYMBOLS) + 1)
             for sym, (bid, digits, spread, vol) in SYMBOLS.items()]
    return list(merge_feeds(*feeds))[:n]


def _thin_server(reference: bool, seed: int, accounts: int = 40, ticks: int = 6000, *,
                 account_type: str = "mt5_standard", currency: str = "USD", cushion_max: int = 30):
    """`accounts` x 6 positions (SL/TP on some), funded a little above their margin (free margin
    left: 1 to `cushion_max` % of the margin); returns the server and the quotes still to run."""
    ts = _ticks(ticks, seed)
    server = TradeServer(seed=seed, start_ms=MONDAY, scrypt_n=2 ** 4, reference=reference)
    server.run(ts[:len(SYMBOLS)])
    rng = random.Random(seed)
    for a in range(accounts):
        email = f"t{a}@example.com"
        login, session = account(server, email, account_type, deposit="100000", currency=currency)
        for i in range(6):
            sym = list(SYMBOLS)[i % len(SYMBOLS)]
            buy = rng.random() < 0.5
            tick = server.symbol_tick(sym, login)
            point = D(1).scaleb(-SYMBOLS[sym][1])
            stops = {}
            if rng.random() < 0.3:
                d = point * rng.randint(200, 2000)
                stops = {"sl": (tick.bid - d) if buy else (tick.ask + d)}
            r = market(server, session, "buy" if buy else "sell", "0.10", sym, **stops)
            assert r.retcode == 10009, r
        info = server.account_info(login)
        cushion = info.margin * D(rng.randint(1, cushion_max)) / 100
        server.withdraw(login, (info.margin_free - cushion).quantize(D("0.01")))
    return server, ts[len(SYMBOLS):]


def _thin_run(reference: bool, seed: int, accounts: int = 40, ticks: int = 6000, **kw):
    server, rest = _thin_server(reference, seed, accounts, ticks, **kw)
    checks = 0
    real = server._refresh_risk

    def counting(acct):
        nonlocal checks
        checks += 1
        real(acct)
    server._refresh_risk = counting
    server.run(rest)
    return server, checks


@pytest.mark.parametrize("reference", [False, True])
def test_stop_out_and_margin_call_land_on_the_first_quote_at_their_level(reference):
    """Issue 12 section 3: "accounts near stop-out are the worst case ... bands re-firing on
    noise". docs/simulator.md (the thin case, second look) reads that the re-checks of an account
    in margin call decide only *when a clear is seen*: the edges are conservative, so a stop-out
    and a margin call land on the first quote whose exact level is at or below their threshold,
    whatever the re-checks' schedule. Checked after every quote, exactly: no account keeps
    positions at or below the stop-out level, every account at or below the margin-call level is
    in margin call - on the fast paths and on the plain ones."""
    server, rest = _thin_server(reference, seed=2, accounts=24, ticks=4000)
    for tick in rest:
        server.on_tick(tick)
        for login, acct in server._accounts.items():
            level = server.margin_level(login)
            if level is None:
                continue
            assert level > acct.type.stop_out_level, (tick, login, level)
            assert acct.in_call or level > acct.type.margin_call_level, (tick, login, level)
    counts = server.journal.counts()
    assert counts.get("stop_out", 0) > 0 and counts.get("margin_call_cleared", 0) > 0, counts


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_thin_margin_fast_path_journal_equals_reference(seed):
    fast, fast_checks = _thin_run(False, seed)
    ref, ref_checks = _thin_run(True, seed)
    assert list(fast.journal.lines()) == list(ref.journal.lines())
    assert fast.digest() == ref.digest()
    counts = fast.journal.counts()
    # the load really exercises the thresholds
    assert counts.get("margin_call", 0) > 0 and counts.get("stop_out", 0) > 0
    assert fast_checks < ref_checks  # the bands spared exact re-checks


def test_thin_margin_run_clears_margin_calls_identically():
    """Clearing is seen only at a re-check, so its timing depends on when re-checks run: the
    fast path must keep the plain path's schedule for accounts in margin call."""
    for seed in range(4, 10):
        fast, _ = _thin_run(False, seed, accounts=30, ticks=4000)
        if fast.journal.counts().get("margin_call_cleared"):
            ref, _ = _thin_run(True, seed, accounts=30, ticks=4000)
            assert fast.digest() == ref.digest()
            return
    pytest.fail("no seed produced a margin_call_cleared record")


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), cushion_max=st.integers(1, 40),
       account_type=st.sampled_from(["mt5_standard", "mt5_pro", "mt5_raw_spread"]),
       currency=st.sampled_from(["USD", "USD", "EUR"]))
def test_fast_path_journal_equals_reference_line_by_line(seed, cushion_max, account_type, currency):
    """Any seed, funding level, markup (10, 4, 0 points) and account currency (EUR: profits
    converted, the account re-checked on every quote): the fast path writes the reference's
    journal line for line - margin calls, clears and stop-outs at the same quotes."""
    kw = {"accounts": 16, "ticks": 3000, "account_type": account_type, "currency": currency,
          "cushion_max": cushion_max}
    fast, _ = _thin_run(False, seed, **kw)
    ref, _ = _thin_run(True, seed, **kw)
    fast_lines, ref_lines = list(fast.journal.lines()), list(ref.journal.lines())
    for i, (a, b) in enumerate(zip(fast_lines, ref_lines)):
        assert a == b, f"line {i} differs"
    assert len(fast_lines) == len(ref_lines)


def test_bands_worked_example_from_the_docstring():
    """simulator/server/bands.py: 1 lot EURUSD buy at 1.10000 and 1 lot GBPUSD sell at
    1.27000, no markup, balance 600.00, margin 430.00, margin call 40 %."""
    server = TradeServer(start_ms=MONDAY, scrypt_n=2 ** 4)
    from simulator.prices import Tick
    server.on_tick(Tick("EURUSD", MONDAY + 1, D("1.10000"), D("1.10000")))
    server.on_tick(Tick("GBPUSD", MONDAY + 2, D("1.27000"), D("1.27000")))
    symbols = server._symbols
    spec_eu, spec_gu = symbols["EURUSD"].spec, symbols["GBPUSD"].spec
    mb = build_bands(D("600.00"), D(0), D(0),
                     [(spec_eu, False, D(1), D("1.10000")), (spec_gu, True, D(1), D("1.27000"))],
                     symbols, {"EURUSD": [D(100000), D(0)], "GBPUSD": [D(0), D(100000)]}, 0,
                     D("430.00"), D(40))
    assert mb.u == [1000, 1000]  # one point is 1 USD, in units of 0.001 USD
    assert mb.c == 17_600_000 - 1  # rounded down one more unit
    assert mb.floor == 172_000 + 1 + 10
    assert mb.equity() == 600_000 - 1
    assert mb.plan([1, 1])
    reserve = 600_000 - 1 - (172_000 + 1 + 10) - 1
    assert reserve == 427_987
    room = reserve * 3 // 4 // 2000  # three quarters spread over two exposures of 1 000 per point
    assert mb.room == [room, room] == [160, 160]
    assert mb.edges == [-110_000 + 160 + 1, 127_000 + 160 + 1]  # bid <= 1.09839, ask >= 1.27161
    assert mb.worst == 600_000 - 1 - 320_000 and mb.worst > mb.floor
    # the EURUSD edge fires with the bid 2 points beyond it (1.09837): only that edge moves,
    # as far as the pool still pays for (104 points, not 160)
    symbols["EURUSD"].bid_pts = 109_837
    assert mb.replace_one(0)
    worst = 279_999 - 1000 * 3  # exposure 0 at its current price instead of its old edge
    assert (worst - mb.floor - 1) // 1000 == 104
    assert mb.edges[0] == -109_837 + 104 + 1
    assert mb.worst == worst - 104_000 and mb.worst > mb.floor
    symbols["EURUSD"].bid_pts = 109_600  # 237 points more: the pool cannot pay, re-place all
    assert not mb.replace_one(0)


def test_tick_size_follows_recent_quotes_only():
    server = TradeServer(start_ms=MONDAY, scrypt_n=2 ** 4)
    from simulator.prices import Tick
    bid = 110_000
    for i in range(300):
        bid += 4 if i % 2 else -4  # moves of 4 points
        server.on_tick(Tick("EURUSD", MONDAY + i, D(bid).scaleb(-5), D(bid + 2).scaleb(-5)))
    assert server._symbols["EURUSD"].tick_size() == 4
    for i in range(300, 600):
        bid += 10 if i % 2 else -10  # the symbol gets livelier: the estimate follows
        server.on_tick(Tick("EURUSD", MONDAY + i, D(bid).scaleb(-5), D(bid + 2).scaleb(-5)))
    assert server._symbols["EURUSD"].tick_size() == 10


def test_the_tick_path_reads_the_servers_attributes_from_inline_values():
    """Issue 14 (performance after the plugin move): CPython keeps up to 29 instance attributes
    inline and specialises ``self.x`` reads for them (LOAD_ATTR_INSTANCE_VALUE); with 30 the
    object falls back to a dict and every read of the tick path to a hashed look-up
    (LOAD_ATTR_WITH_HINT). The plugins' four attributes had made 30; the cold ones are now
    reached through the host. Structural, not timed: the figures are in benchmarks/."""
    import dis
    import platform
    import sys

    server = TradeServer(start_ms=MONDAY)
    server.run(_ticks(2000, 3))
    assert len(vars(server)) < 30, sorted(vars(server))
    fresh = TradeServer(start_ms=MONDAY)  # vars() above gave `server` a real dict: measure another one
    fresh.run(_ticks(2000, 3))
    if platform.python_implementation() == "CPython" and sys.version_info[:2] in ((3, 11), (3, 12)):
        names = {i.opname for i in dis.get_instructions(type(fresh).on_tick, adaptive=True)}
        assert "LOAD_ATTR_INSTANCE_VALUE" in names and "LOAD_ATTR_WITH_HINT" not in names, sorted(names)
