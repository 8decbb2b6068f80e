"""Run an unmodified MetaTrader5 script on the simulator::

    python -m simulator.mt5 [--scenario FILE] [--seed N] [--step POLICY] [--strict] SCRIPT [ARGS...]

The terminal is started first (the scenario: --scenario, else MTBRIDGE_SCENARIO, else the
packaged default), then the script runs with:

- ``import MetaTrader5`` resolved to `simulator.mt5` (its ``initialize()`` finds the
  terminal running);
- every clock it can read on the virtual clock (freezegun): ``time.time()``,
  ``datetime.now()``, ``datetime.utcnow()``, ``date.today()``, ``time.localtime()``... The
  "local" time zone is the trade server's, so ``datetime.now()`` is the server wall clock
  that naive datetime arguments are read in, and
  ``history_deals_get(datetime.now() - timedelta(days=1), datetime.now())`` finds today's
  deals; ``time.time()`` and ``datetime.utcnow()`` are UTC;
- ``time.sleep(s)`` letting `s` seconds of virtual time pass;
- the end of the scenario ending the script: the first call after it prints
  ``simulator.mt5: ...`` on stderr and exits with status 0, so ``while True:`` loops end.
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys
import time
from datetime import timedelta

import simulator.mt5 as mt5
from simulator.mt5._core import ScenarioEnded


class _VirtualClocks:
    """freezegun's frozen time, moved to the terminal's virtual time whenever it changes."""

    def __init__(self, start_ms: int, offset_ms: int) -> None:
        from freezegun import api, freeze_time

        from simulator.clock import ms_to_datetime
        self._api, self._dt = api, ms_to_datetime
        self._freezer = freeze_time(ms_to_datetime(start_ms), tz_offset=timedelta(milliseconds=offset_ms))
        self._frozen = self._freezer.start()

    def move(self, utc_ms: int) -> None:
        srv = mt5.server()
        self._frozen.move_to(self._dt(utc_ms))
        if srv is not None and self._api.tz_offsets:  # daylight saving moves the server clock
            self._api.tz_offsets[-1] = timedelta(milliseconds=srv.timezone.to_server(utc_ms) - utc_ms)

    def stop(self) -> None:
        self._freezer.stop()


def _preimport(script: str) -> None:
    """Import the script's installed dependencies (pandas...) before the clocks are frozen:
    a C extension that subclasses datetime crashes when first imported under freezegun. The
    script's own modules (next to it) are left for the script to import in its order."""
    import ast
    import importlib
    import importlib.util
    try:
        tree = ast.parse(open(script, encoding="utf-8").read(), script)
    except (OSError, SyntaxError, ValueError):
        return  # the script itself will report it
    here = os.path.dirname(os.path.abspath(script))
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
              and not node.level}
    for name in sorted(names):
        if name.split(".")[0] == "MetaTrader5" or name in sys.modules:
            continue
        try:
            spec = importlib.util.find_spec(name.split(".")[0])
            if spec is None or (spec.origin or "").startswith(here + os.sep):
                continue
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the script will meet the same error in its own time
            continue


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m simulator.mt5",
        description="Run a MetaTrader5 script on the simulated terminal: `import MetaTrader5` is the "
        "simulator and the script's clocks are virtual (docs/simulator.md).")
    p.add_argument("--scenario", metavar="FILE",
                   help="scenario TOML (default: $MTBRIDGE_SCENARIO, else the packaged default scenario)")
    p.add_argument("--seed", help="scenario seed (default: $MTBRIDGE_SEED, else the scenario's seed)")
    p.add_argument("--step", metavar="POLICY",
                   help='what each symbol_info_tick() call does to virtual time: "tick" (the next quote), '
                   '"none" or a duration such as "1s" (default: $MTBRIDGE_STEP, else the scenario\'s mt5_step)')
    p.add_argument("--strict", action="store_true",
                   help="refuse market orders a live server may refuse: an int volume, no price, a price beyond "
                        "deviation (requote), filling RETURN (default: $MTBRIDGE_STRICT, else the scenario's strict)")
    p.add_argument("script", help="the Python script to run")
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the script (its sys.argv[1:])")
    a = p.parse_args(argv)
    if not os.path.isfile(a.script):
        print(f"simulator.mt5: error: no such script: {a.script}", file=sys.stderr)
        return 2
    if a.scenario:
        os.environ["MTBRIDGE_SCENARIO"] = a.scenario
    if a.seed:
        os.environ["MTBRIDGE_SEED"] = a.seed
    if a.step:
        os.environ["MTBRIDGE_STEP"] = a.step
    if a.strict:
        os.environ["MTBRIDGE_STRICT"] = "1"
    if not mt5.initialize():
        print(f"simulator.mt5: cannot start the terminal: {mt5.last_error()[1]}", file=sys.stderr)
        return 2
    sys.path.insert(0, os.path.dirname(os.path.abspath(a.script)))  # as `python SCRIPT` does
    _preimport(a.script)
    terminal = mt5._T
    srv = mt5.server()
    clocks = _VirtualClocks(srv.now_ms, srv.timezone.to_server(srv.now_ms) - srv.now_ms)
    terminal.on_time = clocks.move
    terminal.stop_at_end = True
    sys.modules["MetaTrader5"] = mt5
    real_sleep = time.sleep
    time.sleep = mt5.sleep  # type: ignore[assignment]
    sys.argv = [a.script, *a.args]
    try:
        runpy.run_path(a.script, run_name="__main__")
    except ScenarioEnded as end:
        print(f"simulator.mt5: the script was stopped: {end}", file=sys.stderr)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        time.sleep = real_sleep
        terminal.on_time = None
        terminal.stop_at_end = False
        clocks.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
