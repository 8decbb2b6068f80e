"""`mtbridge simulate`: run a scenario on the simulated trade server and print its summary.

Registered on the `mtbridge` command through the `mtbridge.commands` entry-point group (see
pyproject.toml and `bridge.cli`): the simulator plugs into the bridge's shell, the bridge never
imports the simulator. The scenario machinery is imported only when the command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from bridge.progress import progress_bar


class _Usage(Exception):
    """Bad input: one line on stderr, exit status 2."""


def add_commands(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "simulate", help="run a simulation scenario on the simulated trade server",
        description="Run a scenario (TOML: symbols and feeds, accounts, scripted orders, strategies) and print "
                    "a summary per account and the journal digest. Same scenario + seed = same digest.",
        epilog="example: mtbridge simulate --scenario examples/scenarios/quiet_week.toml --seed 1 --until 3d",
    )
    p.add_argument("--scenario", required=True, metavar="FILE", help="scenario file (TOML)")
    p.add_argument("--seed", type=int, default=None, metavar="N",
                   help="seed of the run (default: the scenario's seed, else 0)")
    p.add_argument("--until", metavar="DURATION", help="stop after this much simulated time, e.g. 90m, 36h, 7d")
    p.add_argument("--journal", metavar="FILE", help="write the journal as JSON lines")
    p.add_argument("--json", action="store_true",
                   help="print the summary as one JSON object (with `digest` and the trade list `trades`)")
    p.add_argument("--trades", metavar="FILE", help="write the trade list (every buy/sell deal) as CSV")
    p.add_argument("--chart", metavar="DIR", help="write an equity chart per account as DIR/<account>.svg")
    p.add_argument("--strict", action="store_true",
                   help="refuse market orders a live server may refuse: no price, a price beyond deviation "
                        "(requote), filling RETURN; the simulator's own orders carry the current price "
                        "(docs/simulator.md)")
    p.add_argument("--strategy", metavar="FILE.py:CLASS",
                   help="your own strategy class (the interface of simulator/strategies.py) in place of the "
                        "scenario's strategies: on each [[strategies]] account and symbol, else the first account "
                        "on the first symbol (docs/simulator.md)")
    p.set_defaults(handler=run_simulate)


def simulated_date(ms: int) -> str:
    """The simulated time a progress bar shows: '2024-01-10 14:05 UTC'."""
    from simulator.clock import ms_to_datetime

    return ms_to_datetime(ms).strftime("%Y-%m-%d %H:%M UTC")


def with_date(bar: Callable[..., None], start_ms: int) -> Callable[[int, int], None]:
    """The runner's `progress(done_ms, total_ms)` -> the bar, with the simulated date as its note."""
    return lambda done, total: bar(done, total, note=f"at {simulated_date(start_ms + done)}")


def with_user_strategy(scenario, ref: str):
    """The scenario with `ref` (path/to/file.py:ClassName, from the current directory) in place of
    its strategies: the same account, symbol and `every` for each [[strategies]] table (the other
    parameters belong to the built-in it replaces), else one on the first account and the first
    symbol, `every` the class's default."""
    import dataclasses

    from simulator.scenario import StrategySpec
    from simulator.strategies import StrategyLoadError, StrategyParamError, check_user_params, load_strategy

    try:
        cls = load_strategy(ref)
    except StrategyLoadError as exc:
        raise _Usage(f"--strategy: {exc}") from None
    if scenario.strategies:
        specs = [StrategySpec(s.index, s.account, ref, s.symbol,
                              tuple((k, v) for k, v in s.params if k == "every"), cls) for s in scenario.strategies]
    else:
        specs = [StrategySpec(0, scenario.accounts[0].id, ref, scenario.feeds[0].symbol, (), cls)]
    for s in specs:
        try:
            check_user_params(cls, dict(s.params))
        except StrategyParamError as exc:
            raise _Usage(f"--strategy {ref}: {exc}") from None
    return dataclasses.replace(scenario, strategies=tuple(specs))


def run_simulate(args: argparse.Namespace) -> int:
    try:
        return _simulate(args)
    except _Usage as exc:
        print(f"mtbridge simulate: error: {exc}", file=sys.stderr)
        return 2


def _simulate(args: argparse.Namespace) -> int:
    from simulator.prices import FeedError
    from simulator.runner import Simulation, SimulationError
    from simulator.scenario import ScenarioError, load_scenario, parse_duration

    try:
        scenario = load_scenario(args.scenario)
        if args.strategy:
            scenario = with_user_strategy(scenario, args.strategy)
        until = None
        if args.until is not None:
            try:
                until = scenario.start_ms + parse_duration(args.until)
            except ValueError as exc:
                raise _Usage(f"--until: {exc}") from None
        sim = Simulation(scenario, args.seed, until_ms=until, strict=args.strict)
        with progress_bar("simulating", enabled=not args.json) as bar:
            summary = sim.run(progress=with_date(bar, scenario.start_ms) if bar is not None else None)
    except (ScenarioError, SimulationError) as exc:
        raise _Usage(str(exc)) from None
    except FeedError as exc:
        raise _Usage(f"{args.scenario}: tick file: {exc}") from None
    if args.journal:
        try:
            sim.server.journal.write(args.journal)
        except OSError as exc:
            raise _Usage(f"--journal {args.journal}: {exc.strerror}") from None
    if args.trades:
        try:
            with open(args.trades, "w", encoding="utf-8", newline="") as f:
                f.write(summary.trades_csv())
        except OSError as exc:
            raise _Usage(f"--trades {args.trades}: {exc.strerror}") from None
    if args.chart:
        from simulator.report import write_charts

        try:
            write_charts(args.chart, summary.charts())
        except OSError as exc:
            raise _Usage(f"--chart {args.chart}: {exc.strerror}") from None
    if args.json:
        print(json.dumps(summary.to_json(), indent=2))
    else:
        print(summary.to_text())
    return 0
