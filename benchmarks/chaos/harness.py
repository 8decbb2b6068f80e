"""Pieces of the link-chaos scenarios, all on real loopback sockets with CURVE on. Each lives in
a module of its own; this one is where the benchmark and the tests import them from.

* `Timers` (timers.py): the daemon's heartbeat / offline / validity timers; every wait
  derives from them.
* `World` (world.py): keys + config (whichever validity key the daemon's config accepts), a
  daemon subprocess (`Daemon`, daemon_process.py: `python -m bridge.cli daemon`, its own
  process group), the admin client, subscriptions, a `FeedCollector` and a `LoopProbe`;
  `close()` kills everything it started.
* `Terminal` (terminals.py): a protocol terminal (`bridge.daemon.client.TerminalClient`) for
  one or more logins with a `JudgingExecutor`: it executes each command at most once per key
  and records, for every `open`, when it arrived and whether it was past its validity (trader
  open time + validity; `Book`, `OpenSeen` in opens.py) - executed late or refused as expired
  (if the daemon ever sends an expiry field). `judge` (judging.py) counts the copies made,
  duplicated, late and refused.
* `TerminalGroup` (terminals.py): terminals in a worker process of their own
  (`benchmarks/chaos/worker.py`), for groups that get busy (a slow reader waking to thousands
  of frames) or are the victims: they cannot stall the heartbeats of the measured terminals,
  so a copy those lose is the daemon's doing, not the harness's.
* `Pump` (terminals.py): polls a set of in-process terminals with one zmq.Poller (answers
  heartbeats and commands).
* `Flooder` (flooder.py): sender subprocesses hammering the ROUTER with heartbeats and junk
  frames with non-blocking sends: frames handed to libzmq and frames refused by a full or
  absent pipe (the daemon banned and cut the key) are counted apart, and each ends on time.

Loop figures come from the daemon itself: `daemon.stats` `loop_lag_ms` / `turn_max_ms` (every
second, `FeedCollector.stats_max`, feed_collector.py) and the `journal.snapshot` log lines'
`block_ms`. The `LoopProbe` (loop_probes.py: admin ping round trips from a thread of this
process) also counts this process's own scheduling, so its figures are reported as
client-side round trips, without a target; `SchedSampler` and `lag_beside_wait` (same module)
set the daemon's worst loop lags beside its loop thread's run-queue wait.
"""

from __future__ import annotations

from benchmarks.chaos.common import ROOT, TRADER, log, pct, wall_ms
from benchmarks.chaos.daemon_process import Daemon
from benchmarks.chaos.feed_collector import FeedCollector
from benchmarks.chaos.flooder import FLOODER, Flooder
from benchmarks.chaos.judging import judge
from benchmarks.chaos.loop_probes import LoopProbe, SchedSampler, lag_beside_wait
from benchmarks.chaos.opens import Book, OpenSeen, trader_ticket_of
from benchmarks.chaos.terminals import JudgingExecutor, Pump, Terminal, TerminalGroup
from benchmarks.chaos.timers import Timers, daemon_accepts, validity_setting
from benchmarks.chaos.world import World

__all__ = ["ROOT", "TRADER", "Book", "Daemon", "FLOODER", "FeedCollector", "Flooder", "JudgingExecutor",
           "LoopProbe", "OpenSeen", "Pump", "SchedSampler", "Terminal", "TerminalGroup", "Timers", "World",
           "daemon_accepts", "judge", "lag_beside_wait", "log", "pct", "trader_ticket_of", "validity_setting",
           "wall_ms"]
