"""The EAs end to end (`make mql-e2e`): the real trader and investor EA sources, built natively,
against the simulated trade server and a real `mtbridge daemon` over CURVE, compared with
mtbridge's Python simulated terminals running the same seeded scenario (docs/mql-e2e.md).

    python -m mqlnative.e2e [--short] [--seed N] [--only MT4,MT5,cross] [--timezone UTC-5] [--keep DIR]

For each configuration (MT4: an MT4 trader and MT4 investors; MT5: all MT5, plus an MT5
netting account; cross: an MT4 trader copied to MT5 investors and an MT5 trader copied to MT4
investors) the scenario runs twice, each time with a fresh server (same seed) and daemon:
once with the Python terminals, once with the EAs. The investors' trades (copy keys, sides,
volumes, closes and their reasons, trader tickets numbered by opening order) must be equal;
no copy may open after its trader position's open time + `open_validity_ms`, none twice,
and the daemon, configured with the trade server's zone (`--timezone`, default the broker's
usual UTC+2/us), must log no `terminal.utc_offset_mismatch`.
The final line: `mql e2e: MT4 ok, MT5 ok, cross ok: N copies, M closes, identical to the
Python terminals`.

The scenario (every step waits until the daemon settled it): opens; an SL/TP modification
(mirrored: `mirror_stops = true`); two partial closes; a TP hit; an SL hit; an investor EA
restarted right after an open (its journal kept); an investor terminal restart; an investor
offline for longer than the open validity while the trader opens (never copied there); a
stop-out of the trader (and of a copy). On the netting account the investor EA must refuse
to start with a message naming netting.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from bridge.domain.errors import DomainError
from bridge.domain.servertime import BROKER_DEFAULT, ServerTimeZone
from mqlnative.host.e2e_sides import EaSide, PythonSide, Side
from mqlnative.host.e2e_world import Market, Role

SEED = 11
VALIDITY_MS = 3000
SETTLE_S = 60.0  # generous: a loaded 2-core machine, a daemon subprocess, four terminals

CONFIGS: dict[str, list[list[Role]]] = {
    "MT4": [[Role("trader", "MT4", "trader"), Role("inv1", "MT4", "investor"),
             Role("inv2", "MT4", "investor", mode="proportional")]],
    "MT5": [[Role("trader", "MT5", "trader"), Role("inv1", "MT5", "investor"),
             Role("inv2", "MT5", "investor", mode="proportional"),
             Role("net", "MT5", "investor", margin_mode="netting", subscribed=False)]],
    "cross": [[Role("trader", "MT4", "trader"), Role("inv1", "MT5", "investor"),
               Role("inv2", "MT5", "investor", mode="proportional")],
              [Role("trader", "MT5", "trader"), Role("inv1", "MT4", "investor"),
               Role("inv2", "MT4", "investor", mode="proportional")]],
}


class Scenario:
    """The trader's actions and the waits between them, on one side."""

    def __init__(self, market: Market, side: Side, short: bool) -> None:
        self.m = market
        self.side = side
        self.short = short
        self.events = 0
        self.online = {n for n, r in market.roles.items() if r.subscribed}
        self.notes: list[str] = []

    async def settle(self, trader_events: int, what: str) -> None:
        self.events += trader_events
        await self.side.until(lambda: self.m.settled(self.events, self.online), what, SETTLE_S)

    async def run(self) -> None:
        m, s = self.m, self.side
        for name, role in m.roles.items():
            if role.subscribed:
                await s.start(name)
        await self.settle(0, "every terminal welcomed")
        # MT4 reports open times in whole seconds (OrderOpenTime). An open the trader EA sees
        # within its second gets the EA's clock (MtbSeenTime), but that clock may lag by up to
        # a timer period (MtbNowMs takes its milliseconds from the first read in each second),
        # so a trade within ~50 ms of the subscription can still read as older than it and is
        # not copied (§4.1; seen without this wait: A reported at .101, inv2 subscribed at .102).
        # A trade in a later second reads at least that second's start: after the subscription.
        first_second = (m.subscribed_at // 1000 + 1) * 1000
        await s.until(lambda: m.clock.now_ms() >= first_second, "the second after the subscriptions", SETTLE_S)
        for name, role in m.roles.items():
            if not role.subscribed and s.checks_start:
                log = s.refused_start(name)
                if log is None:
                    raise AssertionError(f"{name}: the investor EA started on an MT5 netting account")
                if "netting" not in log.lower():
                    raise AssertionError(f"{name}: the investor EA's refusal does not name netting:\n{log}")
                self.notes.append(f"{name}: the investor EA refused the netting account: {log.splitlines()[-1]}")
        a = m.open("trader", "buy", "0.50")
        await self.settle(1, "open A copied")
        m.open("trader", "sell", "0.30", sl="1.10600", tp="1.09500")
        await self.settle(1, "open B (with SL/TP) copied")
        m.modify("trader", a, sl="1.09000", tp="1.11500")
        await self.settle(1, "A's SL/TP mirrored")
        m.close_part("trader", a, "0.20")
        await self.settle(1, "first partial close of A")
        m.close_part("trader", a, "0.10")
        await self.settle(1, "second partial close of A")
        m.quote("1.09480", "1.09490")
        await self.settle(1, "B closed by its TP")
        m.quote("1.08990", "1.09000")
        await self.settle(1, "A closed by its SL")
        c = m.open("trader", "buy", "0.40")
        # mid-stream: once the daemon has C (its open to inv1 sent or about to be), not before
        # (then inv1 would just be offline: a refusal whose timing the two sides cannot share)
        await s.until(lambda: m.trader_events() > self.events, "C reported by the trader", SETTLE_S)
        await s.restart_ea("inv1")
        await self.settle(1, "open C copied across inv1's EA restart")
        if not self.short:
            await s.restart_terminal("inv2")
            m.close_part("trader", c, "0.10")
            await self.settle(1, "partial close of C after inv2's terminal restart")
        m.close_part("trader", c, str(m.server.positions(m.logins["trader"])[0].volume))
        await self.settle(1, "C closed")
        await s.stop("inv1")
        self.online.discard("inv1")
        d = m.open("trader", "sell", "0.20")
        await self.settle(1, "open D copied to inv2 while inv1 is offline")
        opened = m.trader_open_times()[d]
        await s.until(lambda: m.clock.now_ms() > opened + m.validity_ms + 500, "D's open validity to pass", SETTLE_S)
        await s.start("inv1")
        self.online.add("inv1")
        await self.settle(0, "inv1 back online (D expired for it)")
        m.close_part("trader", d, "0.20")
        await self.settle(1, "D closed")
        if not self.short:
            m.open("trader", "buy", "5.00")
            await self.settle(1, "open E (too big for inv1)")
            m.quote("1.07000", "1.07010")
            await self.settle(1, "the trader stopped out")


async def run_side(tmp: Path, roles: list[Role], make_side: Callable[[Market], Side], *, seed: int,
                   short: bool, timezone: ServerTimeZone = BROKER_DEFAULT) -> tuple[dict, list[str], list[str]]:
    """One side's run: its copies, and its problems (late opens, the daemon's offset warnings)."""
    m = Market(tmp, roles, seed=seed, validity_ms=VALIDITY_MS, timezone=timezone)
    side = make_side(m)
    try:
        sc = Scenario(m, side, short)
        await sc.run()
        return m.copies(), m.late_opens() + m.offset_mismatches(), sc.notes
    finally:
        await side.close()
        if isinstance(side, EaSide):
            side.write_logs(tmp / "logs")
        m.close()


REPO = Path(__file__).resolve().parent.parent
PLATFORMS = (("MT4", "mql4"), ("MT5", "mql5"))
PROGRAMS = (("trader", "MtBridgeTrader"), ("investor", "MtBridgeInvestor"))
# Several EAs live in one process: without this, g++ marks inline variables (the inputs
# table, _LastError, the log hook) STB_GNU_UNIQUE and glibc shares them across every copy of
# the library despite RTLD_LOCAL (mqlnative.host.loader refuses such a library).
# -O0 -g0: the libraries are built on every test run of a busy machine; speed is not the point.
SHARED_FLAGS = ("-fno-gnu-unique", "-O0", "-g0")
CACHE = REPO / "build" / "mqlnative" / "e2e"


def _inputs_digest(source_root: Path) -> str:
    """What a build depends on: the MQL tree, the translator, the headers, the runtime, the
    flags and the compiler. Equal digest, equal libraries: the build is reused."""
    from mqlnative.build import inputs_digest

    native = Path(__file__).resolve().parent
    files = sorted((source_root / "mql").rglob("*.mq*")) + sorted(native.glob("translate*.py")) + \
        [native / "build.py"] + sorted((native / "include").rglob("*")) + sorted((native / "runtime").rglob("*"))
    return inputs_digest(list(SHARED_FLAGS), [f for f in files if f.is_file()])[:16]


def build_libraries(out: Path, source_root: Path = REPO, cache: Path | None = CACHE) -> tuple[dict, dict]:
    """Build the trader and investor EAs for both branches (mqlnative.build, shared mode),
    two compilers at a time, each program in its own directory (they translate the same
    includes). Kept in `cache`/<digest of the inputs>: an unchanged tree is not built again."""
    from concurrent.futures import ThreadPoolExecutor

    from mqlnative.build import build
    from mqlnative.host.constants import Constants, check_against_simulator
    consts = {}
    for _, branch in PLATFORMS:
        consts[branch] = Constants.for_branch(branch)
        problems = check_against_simulator(consts[branch])
        if problems:
            raise RuntimeError(f"{branch} headers disagree with MetaTrader's values: {problems}")
    root = (cache / _inputs_digest(source_root)) if cache is not None else out / "build"
    # both branches at once, so the second program of each reuses its branch's runtime objects
    jobs = [(platform, branch, kind, program) for kind, program in PROGRAMS for platform, branch in PLATFORMS]

    def one(job) -> Path:
        platform, branch, kind, program = job
        lib = root / program / branch / "lib" / f"lib{program}.so"
        done = lib.with_suffix(".built")  # written after a complete link: a killed build is redone
        if done.exists() and lib.exists():
            return lib
        r = build(source_root / "mql" / "Experts" / f"{program}.mql", branch, "shared", extra_flags=SHARED_FLAGS,
                  out_root=root / program, source_root=source_root)
        if not r.ok:
            raise RuntimeError(f"{program} ({branch}) does not build:\n{r.log[-4000:]}")
        done.write_text(" ".join(r.command), encoding="utf-8")
        return r.output

    with ThreadPoolExecutor(2) as pool:
        outputs = list(pool.map(one, jobs))
    libs: dict[str, dict[str, Path]] = {}
    for (platform, _, kind, _), lib in zip(jobs, outputs):
        libs.setdefault(platform, {})[kind] = lib
    return libs, consts


def compare(reference: dict, ours: dict) -> list[str]:
    diffs = []
    for name in sorted(set(reference) | set(ours)):
        a, b = reference.get(name, []), ours.get(name, [])
        if a != b:
            diffs.append(f"{name}:\n  Python terminals: {a}\n  EAs:              {b}")
    return diffs


def duplicates(copies: dict) -> list[str]:
    out = []
    for name, rows in copies.items():
        tags = [r[1] for r in rows if r[0] == "open"]
        out += [f"{name}: {t} opened {tags.count(t)} times" for t in sorted(set(tags)) if tags.count(t) > 1]
    return out


async def run_config(label: str, tmp: Path, libs: dict, consts: dict, *, seed: int, short: bool,
                     timezone: ServerTimeZone = BROKER_DEFAULT, log=print) -> tuple[int, int]:
    opens = closes = 0
    for i, roles in enumerate(CONFIGS[label]):
        ref, ref_late, _ = await run_side(tmp / f"{label}-{i}-python", roles, PythonSide, seed=seed, short=short,
                                          timezone=timezone)
        ea, ea_late, notes = await run_side(tmp / f"{label}-{i}-ea", roles,
                                            lambda m, d=tmp / f"{label}-{i}-ea": EaSide(m, libs, consts, d),
                                            seed=seed, short=short, timezone=timezone)
        problems = compare(ref, ea) + duplicates(ref) + duplicates(ea) + ref_late + ea_late
        if problems:
            raise AssertionError(f"mql e2e {label}: the EAs differ from the Python terminals:\n" + "\n".join(problems))
        for n in notes:
            log(f"  {label}: {n}")
        opens += sum(1 for rows in ea.values() for r in rows if r[0] == "open")
        closes += sum(1 for rows in ea.values() for r in rows if r[0] == "close")
    return opens, closes


async def main_async(args) -> str:
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="mql-e2e-"))
    try:
        libs, consts = build_libraries(tmp, Path(getattr(args, "mql_root", None) or REPO))
        timezone = getattr(args, "timezone", None) or BROKER_DEFAULT
        oks, opens, closes = [], 0, 0
        for label in args.only:
            o, c = await run_config(label, tmp, libs, consts, seed=args.seed, short=args.short, timezone=timezone)
            opens, closes = opens + o, closes + c
            oks.append(f"{label} ok")
            print(f"mql e2e: {label}: {o} copies, {c} closes, identical", flush=True)
        return f"mql e2e: {', '.join(oks)}: {opens} copies, {closes} closes, identical to the Python terminals"
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def _zone(text: str) -> ServerTimeZone:
    try:
        return ServerTimeZone.parse(text)
    except DomainError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--short", action="store_true", help="the shorter scenario (the pytest run)")
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--only", type=lambda s: [x.strip() for x in s.split(",") if x.strip()],
                   default=["MT4", "MT5", "cross"])
    p.add_argument("--timezone", type=_zone, default=BROKER_DEFAULT, metavar="ZONE",
                   help=f"the trade server's and the daemon's zone, e.g. UTC-5 (default {BROKER_DEFAULT})")
    p.add_argument("--keep", metavar="DIR", help="keep the run's files (daemon journals, EA logs) in DIR")
    p.add_argument("--mql-root", metavar="DIR", help="build the EAs from DIR/mql instead of this checkout's")
    args = p.parse_args(argv)
    unknown = [x for x in args.only if x not in CONFIGS]
    if unknown:
        p.error(f"unknown configuration(s) {unknown}; known: {', '.join(CONFIGS)}")
    print(asyncio.run(main_async(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
