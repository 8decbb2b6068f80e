"""Ticks per second through the simulated trade server (`simulator.server.TradeServer`).

Two loads, same run, same pre-generated quotes (generation is not timed):
  * empty   - no accounts, no positions (journal + tick history + index checks only);
  * loaded  - 100 accounts x 10 open positions over 5 symbols, every position with SL and TP,
              margin levels kept current through the risk-band index.
Prints the median ticks/s over several repetitions (a fresh server per repetition).

    .venv/bin/python benchmarks/bench_simulator_ticks.py [--ticks 200000] [--reps 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from decimal import Decimal as D

from simulator.prices import RandomWalkFeed, WalkSpec, merge_feeds
from simulator.server import TradeRequest, TradeServer
from simulator.server import retcodes as rc

MONDAY = 1704067200000  # 2024-01-01 00:00 UTC, a Monday
SYMBOLS = {  # symbol: (start bid, digits, spread points, volatility points)
    "EURUSD": (D("1.10000"), 5, 2, D(1)),
    "GBPUSD": (D("1.27000"), 5, 3, D(1)),
    "AUDUSD": (D("0.68000"), 5, 3, D(1)),
    "NZDUSD": (D("0.62000"), 5, 4, D(1)),
    "XAUUSD": (D("2050.00"), 2, 20, D(5)),
}


def make_ticks(n: int, seed: int) -> list:
    per = n // len(SYMBOLS) + 1
    feeds = [RandomWalkFeed(WalkSpec(sym, bid, digits, spread, volatility_points=vol, interval_ms=40,
                                     market="forex" if sym != "XAUUSD" else "metals"),
                            seed, MONDAY + 1000, max_ticks=per)
             for sym, (bid, digits, spread, vol) in SYMBOLS.items()]
    return list(merge_feeds(*feeds))[:n]


def loaded_server(ticks: list, accounts: int = 100, per_account: int = 10, seed: int = 1) -> TradeServer:
    server = TradeServer(start_ms=MONDAY, seed=seed, scrypt_n=2 ** 10)
    first = {}
    for t in ticks:  # one opening quote per symbol
        if t.symbol not in first:
            first[t.symbol] = t
            server.on_tick(t)
        if len(first) == len(SYMBOLS):
            break
    rng = random.Random(seed)
    names = list(SYMBOLS)
    for a in range(accounts):
        email = f"trader{a}@example.com"
        server.register_client(email, f"Trader {a}")
        login = server.open_account(email, "mt5_standard", "USD", 500, master_password="yS22Fr45",
                                    investor_password="Inv12345")
        server.deposit(login, D(100000), payer_email=email)
        session = server.login(login, "yS22Fr45")
        for i in range(per_account):
            sym = names[i % len(names)]
            _, digits, _, vol = SYMBOLS[sym]
            point = D(1).scaleb(-digits)
            tick = server.symbol_tick(sym, login)
            buy = rng.random() < 0.5
            ref = tick.bid if buy else tick.ask
            sl_d = point * int(vol * rng.randint(150, 1500))
            tp_d = point * int(vol * rng.randint(150, 1500))
            sl, tp = (ref - sl_d, ref + tp_d) if buy else (ref + sl_d, ref - tp_d)
            r = server.order_send(session, TradeRequest(rc.TRADE_ACTION_DEAL, sym, D("0.10"),
                                                        rc.ORDER_TYPE_BUY if buy else rc.ORDER_TYPE_SELL,
                                                        sl=sl, tp=tp))
            assert r.retcode == rc.TRADE_RETCODE_DONE, r
    return server


def time_run(server: TradeServer, ticks: list) -> float:
    t0 = time.perf_counter()
    server.run(ticks)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ticks", type=int, default=200_000)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    ticks = make_ticks(args.ticks, seed=7)
    warm = ticks[: len(SYMBOLS) * 2]
    rest = ticks[len(SYMBOLS) * 2:]
    empty, loaded = [], []
    closes = 0
    for _ in range(args.reps):
        s = TradeServer(start_ms=MONDAY)
        empty.append(len(rest) / time_run(s, ticks[:len(warm)] + rest))
        s = loaded_server(warm)
        s.run(warm[len(SYMBOLS):])
        open_before = sum(len(s.positions(lg)) for lg in s._accounts)
        loaded.append(len(rest) / time_run(s, rest))
        open_after = sum(len(s.positions(lg)) for lg in s._accounts)
        closes = open_before - open_after
    print(f"ticks per repetition: {len(rest)}, repetitions: {args.reps}")
    print(f"empty  (no accounts):                    median {statistics.median(empty):>10,.0f} ticks/s "
          f"(min {min(empty):,.0f}, max {max(empty):,.0f})")
    print(f"loaded (100 acc x 10 pos, SL+TP, 5 sym): median {statistics.median(loaded):>10,.0f} ticks/s "
          f"(min {min(loaded):,.0f}, max {max(loaded):,.0f}); {open_before} positions at start, "
          f"{closes} closed by SL/TP during the run")


if __name__ == "__main__":
    main()
