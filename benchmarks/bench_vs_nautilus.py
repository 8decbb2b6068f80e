"""mtbridge's simulated trade server against NautilusTrader's backtest engine, same quotes.

Issue 12 section 3: "runs the same quotes through both, printing the ratios: goal >= 4x with
nothing open and >= 30x with 1 000 positions". Both sides get the same 200 000 quotes of
`bench_simulator_ticks.make_ticks` (5 symbols, seeded random walk) in two cases:

  * nothing open - no positions (mtbridge: no accounts; Nautilus: a venue with one account);
  * 1 000 positions with SL and TP - mtbridge: the `loaded` case (100 accounts x 10 positions);
    Nautilus: 1 000 bracket orders (market entry + stop-market SL + limit TP, hedging OMS) at
    the same random distances, opened on the first quotes.

NautilusTrader is not a project dependency: it is installed into its own virtual environment,
``.bench-venv-nautilus/`` at the repository root (git-ignored), with a Python >= 3.12 that the
script looks for (``--python``, else python3.13 / python3.12 on PATH, else pyenv's), and the
quotes go to it through a temporary CSV file. If it cannot be installed the script says so on
one line and still prints the mtbridge figures (the ratios are then null in the BENCH line).

Timing: CPU seconds of each process (`time.process_time`) from the quote after the positions
are open to the end of the data; median of `--reps`. Both engines journal nothing to disk;
Nautilus logging is bypassed.

    .venv/bin/python benchmarks/bench_vs_nautilus.py [--ticks 200000] [--reps 3] [--version 1.231.0]
        [--python PY312] [--venv .bench-venv-nautilus]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal as D
from pathlib import Path

from bench_simulator_ticks import MONDAY, SYMBOLS, loaded_server, make_ticks

from simulator.server import TradeServer

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".bench-venv-nautilus"
TARGETS = {"nothing_open": 4.0, "positions_1000": 30.0}
WARM = len(SYMBOLS) * 2  # quotes before the timed part (the positions open on these)

# Runs inside the Nautilus virtual environment: argv = quotes.csv, orders.json, reps.
NAUTILUS_SIDE = r'''
import json, statistics, sys, time
from decimal import Decimal
from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.backtest.config import BacktestEngineConfig
from nautilus_trader.config import LoggingConfig, RiskEngineConfig, StrategyConfig
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import AccountType, OmsType, OrderSide
from nautilus_trader.model.identifiers import InstrumentId, Symbol, Venue
from nautilus_trader.model.instruments import CurrencyPair
from nautilus_trader.model.objects import Currency, Money, Price, Quantity
from nautilus_trader.trading.strategy import Strategy

quotes_path, orders_path, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
spec = json.load(open(orders_path))
VENUE = Venue("SIM")

def pair(name, digits):
    return CurrencyPair(
        instrument_id=InstrumentId(Symbol(name), VENUE), raw_symbol=Symbol(name),
        base_currency=Currency.from_str(name[:3]), quote_currency=Currency.from_str(name[3:]),
        price_precision=digits, size_precision=0,
        price_increment=Price(1 / 10 ** digits, digits), size_increment=Quantity.from_int(1),
        lot_size=None, max_quantity=Quantity.from_str("1e9"), min_quantity=Quantity.from_int(1),
        max_price=None, min_price=None, max_notional=None, min_notional=None,
        margin_init=Decimal("0.002"), margin_maint=Decimal("0.002"),
        maker_fee=Decimal(0), taker_fee=Decimal(0), ts_event=0, ts_init=0)

instruments = {name: pair(name, digits) for name, digits in spec["digits"].items()}
quotes = []
for line in open(quotes_path):
    t, sym, bid, ask = line.split(",")
    inst = instruments[sym]
    ns = int(t) * 1_000_000
    quotes.append(QuoteTick(inst.id, Price.from_str(bid), Price.from_str(ask.strip()),
                            Quantity.from_int(10_000_000), Quantity.from_int(10_000_000), ns, ns))

class Config(StrategyConfig, frozen=True):
    warm: int = 10

class Opener(Strategy):
    """Opens the bracket orders once every symbol has a quote, then stops listening."""
    def __init__(self, config, orders):
        super().__init__(config)
        self.orders_spec = orders
        self.seen = 0
        self.t0 = None
    def on_start(self):
        for inst in instruments.values():
            self.subscribe_quote_ticks(inst.id)
    def on_quote_tick(self, tick):
        self.seen += 1
        if self.seen == len(instruments):
            for sym, buy, qty, sl, tp in self.orders_spec:
                inst = instruments[sym]
                order_list = self.order_factory.bracket(
                    instrument_id=inst.id, order_side=OrderSide.BUY if buy else OrderSide.SELL,
                    quantity=Quantity.from_int(qty), sl_trigger_price=Price.from_str(sl),
                    tp_price=Price.from_str(tp))
                self.submit_order_list(order_list)
        if self.seen == self.config.warm:
            for inst in instruments.values():
                self.unsubscribe_quote_ticks(inst.id)
            self.t0 = time.process_time()

def one_run(orders):
    # the risk engine's order-rate limit (100/s) would deny 1 000 brackets sent at once
    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(bypass_logging=True),
                                                 risk_engine=RiskEngineConfig(bypass=True)))
    engine.add_venue(venue=VENUE, oms_type=OmsType.HEDGING, account_type=AccountType.MARGIN,
                     base_currency=USD, starting_balances=[Money(1_000_000_000, USD)],
                     default_leverage=Decimal(500))
    for inst in instruments.values():
        engine.add_instrument(inst)
    engine.add_data(quotes)
    strategy = Opener(Config(warm=spec["warm"]), orders)
    engine.add_strategy(strategy)
    engine.run()
    seconds = time.process_time() - strategy.t0
    cache = engine.cache
    denied = [o for o in cache.orders() if o.status_string() in ("DENIED", "REJECTED")]
    if denied and "--debug" in sys.argv:
        print(denied[0], file=sys.stderr)
    result = {"seconds": seconds, "positions_open": len(cache.positions_open()), "orders_refused": len(denied),
              "positions_closed": len(cache.positions_closed()), "orders_open": len(cache.orders_open())}
    engine.dispose()
    return result

out = {}
for case, orders in (("nothing_open", []), ("positions_1000", spec["orders"])):
    runs = [one_run(orders) for _ in range(reps)]
    out[case] = {"seconds": statistics.median(r["seconds"] for r in runs), **runs[-1]}
import nautilus_trader
out["version"] = nautilus_trader.__version__
print("RESULT " + json.dumps(out))
'''


def python_312(explicit: str | None) -> str | None:
    """A Python >= 3.12 for the Nautilus environment (recent releases need it)."""
    candidates = [explicit] if explicit else []
    candidates += [shutil.which("python3.13"), shutil.which("python3.12")]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if pyenv.is_dir():
        candidates += [str(p / "bin" / "python") for p in sorted(pyenv.iterdir(), reverse=True)]
    for c in candidates:
        if not c:
            continue
        try:
            ok = subprocess.run([c, "-c", "import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)"],
                                capture_output=True, timeout=30).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if ok:
            return c
    return None


def nautilus_python(version: str, explicit: str | None, venv: Path = VENV) -> tuple[str | None, str]:
    """The venv's python with nautilus_trader==`version`, installing it when missing;
    (None, why) when that is impossible."""
    py = venv / "bin" / "python"
    check = f"import nautilus_trader, sys; sys.exit(0 if nautilus_trader.__version__ == '{version}' else 1)"
    if py.exists() and subprocess.run([str(py), "-c", check], capture_output=True).returncode == 0:
        return str(py), "already installed"
    base = python_312(explicit)
    if base is None:
        return None, "no Python >= 3.12 found (nautilus_trader 1.222+ needs it); pass --python"
    if not py.exists():
        r = subprocess.run([base, "-m", "venv", str(venv)], capture_output=True, text=True)
        if r.returncode:
            return None, f"cannot create {venv}: {r.stderr.strip().splitlines()[-1:]}"
    print(f"installing nautilus_trader=={version} into {venv} (one time) ...", flush=True)
    r = subprocess.run([str(py), "-m", "pip", "install", "--quiet", f"nautilus_trader=={version}"],
                       capture_output=True, text=True)
    if r.returncode or subprocess.run([str(py), "-c", check], capture_output=True).returncode:
        last = (r.stderr.strip().splitlines() or ["unknown error"])[-1]
        return None, f"pip install nautilus_trader=={version} failed: {last}"
    return str(py), "installed"


def bracket_orders(ticks: list, seed: int = 1, n: int = 1000) -> list:
    """The loaded case's 1 000 positions as (symbol, buy, units, sl, tp), same random draws
    as `loaded_server` (same seed, same order), around the first quotes."""
    rng = random.Random(seed)
    names = list(SYMBOLS)
    first = {}
    out = []
    for t in ticks[:WARM]:
        first.setdefault(t.symbol, t)
    for i in range(n):
        sym = names[i % 10 % len(names)]
        _, digits, _, vol = SYMBOLS[sym]
        point = D(1).scaleb(-digits)
        tick = first[sym]
        buy = rng.random() < 0.5
        ref = tick.bid if buy else tick.ask
        sl_d = point * int(vol * rng.randint(150, 1500))
        tp_d = point * int(vol * rng.randint(150, 1500))
        sl, tp = (ref - sl_d, ref + tp_d) if buy else (ref + sl_d, ref - tp_d)
        units = 10_000 if sym != "XAUUSD" else 10  # 0.10 lot
        out.append([sym, buy, units, str(sl), str(tp)])
    return out


def mtbridge_side(ticks: list, reps: int) -> dict:
    rest = ticks[WARM:]
    out = {}
    for case in ("nothing_open", "positions_1000"):
        secs = []
        for _ in range(reps):
            if case == "nothing_open":
                server = TradeServer(start_ms=MONDAY)
                server.run(ticks[:WARM])
            else:
                server = loaded_server(ticks[:WARM])
                server.run(ticks[len(SYMBOLS):WARM])
            open_before = sum(len(a.positions) for a in server._accounts.values())
            t0 = time.process_time()
            server.run(rest)
            secs.append(time.process_time() - t0)
        out[case] = {"seconds": statistics.median(secs), "positions_at_start": open_before,
                     "positions_open": sum(len(a.positions) for a in server._accounts.values())}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ticks", type=int, default=200_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--version", default="1.231.0", help="nautilus_trader version (the issue measured 1.231)")
    ap.add_argument("--python", help="a Python >= 3.12 for the Nautilus environment")
    ap.add_argument("--venv", type=Path, default=VENV, help="where NautilusTrader is installed")
    args = ap.parse_args()
    ticks = make_ticks(args.ticks, seed=7)
    n_timed = len(ticks) - WARM
    mt = mtbridge_side(ticks, args.reps)
    for case, r in mt.items():
        print(f"mtbridge  {case:<15} {n_timed / r['seconds']:>10,.0f} quotes/s "
              f"({r['positions_at_start']} positions at start, {r['positions_open']} at end)")
    py, why = nautilus_python(args.version, args.python, args.venv)
    nt: dict = {}
    if py is None:
        print(f"NautilusTrader NOT RUN: {why}; mtbridge figures only")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            qpath, opath = Path(tmp) / "quotes.csv", Path(tmp) / "orders.json"
            with open(qpath, "w") as fh:
                for t in ticks:
                    fh.write(f"{t.time_ms},{t.symbol},{t.bid},{t.ask}\n")
            opath.write_text(json.dumps({"digits": {s: v[1] for s, v in SYMBOLS.items()},
                                         "orders": bracket_orders(ticks), "warm": WARM}))
            r = subprocess.run([py, "-c", NAUTILUS_SIDE, str(qpath), str(opath), str(args.reps)],
                               capture_output=True, text=True)
        lines = [ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")]
        if r.returncode or not lines:
            print(f"NautilusTrader run FAILED (exit {r.returncode}): "
                  f"{(r.stderr.strip().splitlines() or ['no output'])[-1]}")
        else:
            nt = json.loads(lines[-1][len("RESULT "):])
            for case in ("nothing_open", "positions_1000"):
                n = nt[case]
                print(f"Nautilus  {case:<15} {n_timed / n['seconds']:>10,.0f} quotes/s "
                      f"({n['positions_open']} positions open, {n['positions_closed']} closed at end) "
                      f"[nautilus_trader {nt['version']}]")
    ratios = {case: (nt[case]["seconds"] / mt[case]["seconds"] if nt else None) for case in TARGETS}
    for case, target in TARGETS.items():
        if ratios[case] is not None:
            print(f"ratio {case}: mtbridge {ratios[case]:.1f}x faster (target >= {target}x) "
                  f"{'ok' if ratios[case] >= target else 'MISSED'}")
    print("BENCH " + json.dumps({
        "bench": "vs_nautilus", "quotes": n_timed, "reps": args.reps, "clock": "process_time",
        "nautilus": nt.get("version") if nt else None, "nautilus_status": why if py is None else "ran" if nt else "failed",
        "mtbridge_quotes_per_s": {c: round(n_timed / r["seconds"]) for c, r in mt.items()},
        "nautilus_quotes_per_s": {c: round(n_timed / nt[c]["seconds"]) for c in TARGETS} if nt else None,
        "ratios": {c: (round(v, 2) if v is not None else None) for c, v in ratios.items()},
        "targets": TARGETS, "met": {c: (ratios[c] >= t if ratios[c] is not None else None) for c, t in TARGETS.items()},
    }, separators=(",", ":")), flush=True)


if __name__ == "__main__":
    sys.exit(main())
