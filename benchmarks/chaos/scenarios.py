"""The link-chaos scenarios (issue 10). Each takes a temporary directory, the daemon's timers
and its size parameters, runs on real sockets, kills every process it started, and returns
its figures (plain numbers and lists; correctness figures are counts that must be 0).

Every wait is a condition polled with a deadline derived from `Timers`. The link faults (1-4)
are in `fault_scenarios`, the capacity scenarios (5-7) in `capacity_scenarios`; this module is
where the benchmark and the tests find them all.
"""

from __future__ import annotations

from benchmarks.chaos.capacity_scenarios import copy_latency, memory, restart_fanout
from benchmarks.chaos.common import tmpdir
from benchmarks.chaos.fault_scenarios import flood, investor_offline, slow_reader, stalls

__all__ = ["copy_latency", "flood", "investor_offline", "memory", "restart_fanout", "slow_reader", "stalls",
           "tmpdir"]
