"""The loop thread first: libzmq's own threads yield the CPU to it.

The event loop thread does everything that must be on time (timers, heartbeats, handshakes,
commits, sends); libzmq's I/O thread does the socket work under it (TCP, CURVE decryption of
every frame that arrives, whoever sent it). Under a flood the I/O thread decrypts as fast as
frames come and stays runnable, and on a host with fewer free cores than runnable threads the
kernel shares a core between it and the loop as equals: the loop then runs a fraction of the
time and each of its turns stretches by that factor.

So the daemon raises the nice value of libzmq's threads (`ZMQbg/IO/*`, `ZMQbg/Reaper`) by
`IO_THREAD_NICE` over its own: an unprivileged call (raising nice needs no capability) that
changes nothing while a core is free, and lets the loop run first when the two compete. The
I/O thread is never starved of what the loop needs: it delivers the frames the loop reads,
and the loop, once its turn is done, sleeps (the kernel then runs the I/O thread at any nice).
What waits meanwhile is bounded by the socket's high-water marks (frames stay in libzmq's
pipes or in the kernel's TCP buffers). Weight at nice +5 is 335 against 1024 at nice 0: a
loop and an I/O thread both runnable on one core get ~75 % and ~25 % of it.

Measured (docs/operations.md "What makes the loop late"): on a 2-core box at load 3-4 the
flood's worst timer was 92 and 103 ms late at equal priorities, 80 and 115 ms with this
(alternating runs): within that box's noise. It is kept for the case it is built for, the loop
and the I/O thread alone on a busy core; the host's other load is a matter of group shares.
"""

from __future__ import annotations

import os

IO_THREAD_NICE = 5
_ZMQ_THREADS = ("ZMQbg/IO/", "ZMQbg/Reaper")


def zmq_thread_ids() -> list[int]:
    """Thread ids of libzmq's background threads in this process (Linux /proc; [] elsewhere)."""
    out = []
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                name = f.read().strip()
        except OSError:
            continue
        if name.startswith(_ZMQ_THREADS):
            out.append(int(tid))
    return out


def yield_zmq_threads(nice: int = IO_THREAD_NICE) -> dict[int, int]:
    """Raise libzmq's threads' nice value by `nice` over this thread's; {tid: new nice}.
    Best effort: a thread that is gone, or a system without per-thread priorities, is skipped."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return {}
    base = os.getpriority(os.PRIO_PROCESS, 0)
    done = {}
    for tid in zmq_thread_ids():
        try:
            os.setpriority(os.PRIO_PROCESS, tid, min(19, base + nice))
            done[tid] = os.getpriority(os.PRIO_PROCESS, tid)
        except OSError:
            continue
    return done
