"""Where the chaos run's processes may run (`--placement`).

`split`: the daemon gets CPU 0 to itself and everything else the run starts
(the harness, the terminal worker groups, the flooders, the feed collector) shares CPU 1.
That is the deployment the loop-block figures are about: terminals and attackers live on
other hosts, so their CPU is not the daemon's. On a 2-core box, `shared` lets the flooders
and 3 000 simulated terminals take the daemon's core too: its loop then waits in the
kernel's run queue (the last full runs gave it 36-49 % of a core), and the loop block
measures the benchmark's own load, not the daemon. `shared` (the default) lets every process
run anywhere. Measured here, split was worse: the daemon's libzmq I/O thread then shares the
loop's single core (docs in bench_link_chaos.py).

With fewer than 2 CPUs, `split` degrades to `shared` (and the BENCH line says so).

Generators' priority (`--generators-nice N`, bench_link_chaos.py): the processes that stand
for other hosts' load - the terminal worker groups and the flooders - run at nice N, so on
this shared box they take the CPU the daemon leaves instead of competing with it as equals
(in production they are on other machines). The harness (the trader terminal, the probes,
the bookkeeping) and the daemon keep their priority. A second, labelled figure: the run at
nice 0 is always printed first."""

from __future__ import annotations

import os

_mode = "shared"
_daemon_cpu: int | None = None
_generators_nice = 0


def choose(mode: str) -> str:
    """Apply `mode` to this process (children inherit it); returns the placement in effect."""
    global _mode, _daemon_cpu
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if mode == "split" and len(cpus) >= 2:
        _daemon_cpu = cpus[0]
        os.sched_setaffinity(0, set(cpus[1:]))
        _mode = "split"
    else:
        _mode = "shared"
    return _mode


def daemon_side() -> None:
    """preexec_fn of the daemon's Popen: under `split`, the first CPU only."""
    if _daemon_cpu is not None:
        os.sched_setaffinity(0, {_daemon_cpu})


def set_generators_nice(n: int) -> None:
    """The niceness `generator_side` gives the load generators started from now on."""
    global _generators_nice
    _generators_nice = max(0, n)


def generators_nice() -> int:
    return _generators_nice


def generator_side() -> None:
    """preexec_fn of the terminal worker groups and the flooders: nice N when set (0: unchanged).

    Each of them starts a session of its own (setsid, before this runs), and with the kernel's
    autogroup scheduling (/proc/sys/kernel/sched_autogroup_enabled = 1, the default on desktop
    and many server kernels) every session is a scheduling group with equal weight: a process's
    own nice value only orders the threads *inside* its group. `os.nice` alone therefore left a
    flooder's group the same share as the daemon's (measured: flood loop block 873 ms at
    nice 10 vs 912 at nice 0). So the group's nice is set too (/proc/self/autogroup)."""
    if _generators_nice:
        os.nice(_generators_nice)
        try:
            with open("/proc/self/autogroup", "w") as f:
                f.write(str(_generators_nice))
        except OSError:  # no autogroup (or not allowed): the process nice is all there is
            pass
