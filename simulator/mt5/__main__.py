"""Run an unmodified MetaTrader5 script on the simulator::

    python -m simulator.mt5 [--scenario FILE] [--seed N] SCRIPT [ARGS...]

``import MetaTrader5`` inside the script resolves to `simulator.mt5`; ``time.sleep(s)``
lets `s` seconds of virtual time pass and ``time.time()`` returns the virtual time, for the
duration of the script. --scenario/--seed set MTBRIDGE_SCENARIO/MTBRIDGE_SEED.
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys
import time

import simulator.mt5 as mt5


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m simulator.mt5")
    p.add_argument("--scenario")
    p.add_argument("--seed")
    p.add_argument("script")
    p.add_argument("args", nargs=argparse.REMAINDER)
    a = p.parse_args(argv)
    if a.scenario:
        os.environ["MTBRIDGE_SCENARIO"] = a.scenario
    if a.seed:
        os.environ["MTBRIDGE_SEED"] = a.seed
    sys.modules["MetaTrader5"] = mt5
    real_sleep, real_time = time.sleep, time.time
    time.sleep = mt5.sleep  # type: ignore[assignment]
    time.time = mt5.now  # type: ignore[assignment]
    sys.argv = [a.script, *a.args]
    try:
        runpy.run_path(a.script, run_name="__main__")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        time.sleep, time.time = real_sleep, real_time
    return 0


if __name__ == "__main__":
    sys.exit(main())
