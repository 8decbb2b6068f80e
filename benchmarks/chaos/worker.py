"""A group of simulated terminals in a process of its own (`python -m benchmarks.chaos.worker SPEC`).

The harness runs thousands of terminals; a group that gets busy (a slow reader waking up to
10 000 queued frames) must not stall the others' heartbeats, so heavy or "victim" groups run
here, apart from the measured ones. SPEC is a JSON file: `endpoint`, `curve` (server_public,
public, secret, role), `connections` (a list of login lists, one DEALER each).

Control on stdin, one word a line: `sleep` (stop reading and heartbeating), `wake`, `stop`.
Reports on stdout, one line each, flushed every poll turn:

* `W` once every session was welcomed;
* `O login ticket recv_ms recv_ns executed key` for the first arrival of each `open` key
  (executed 0 = refused as expired by the terminal, after its dedup);
* `END {json}` at `stop`: executions per key (must all be 1), error codes seen, poll turns.

recv_ns is `perf_counter_ns` (CLOCK_MONOTONIC, comparable across processes on Linux).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import zmq

from benchmarks.chaos.common import wall_ms
from benchmarks.chaos.opens import expired_result, trader_ticket_of
from bridge.daemon.client import Curve, Executor, TerminalClient
from bridge.protocol import Open


class _Reporting(Executor):
    def __init__(self, client: TerminalClient, out: list[str]) -> None:
        super().__init__(client)
        self.out = out

    def handle(self, m: Any) -> None:
        if isinstance(m, Open) and m.key not in self.results:
            now = wall_ms()
            executed = 1
            if m.expires and now > m.expires:  # a terminal refuses an open received past its expiry
                self.results[m.key] = expired_result(now)
                executed = 0
            tt = trader_ticket_of(m.key)
            self.out.append(f"O {m.login} {tt} {now} {time.perf_counter_ns()} {executed} {m.key}")
        super().handle(m)


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    c = spec["curve"]
    curve = Curve(c["server_public"], c["public"], c["secret"], c.get("role", "investor"))
    out: list[str] = []
    clients: list[TerminalClient] = []
    execs: list[_Reporting] = []
    for logins in spec["connections"]:
        cl = TerminalClient(spec["endpoint"], curve)
        cl.sock.setsockopt(zmq.SNDTIMEO, 100)
        execs.append(_Reporting(cl, out))
        for login in logins:
            cl.hello(login)
        clients.append(cl)
    stdin = sys.stdin.fileno()
    os.set_blocking(stdin, False)
    buf = b""
    asleep = welcomed = False
    errors: Counter = Counter()
    turns = 0
    running = True
    while running:
        poller = zmq.Poller()
        poller.register(stdin, zmq.POLLIN)
        if not asleep:
            for cl in clients:
                poller.register(cl.sock, zmq.POLLIN)
        ready = dict(poller.poll(20))
        turns += 1
        if ready.get(stdin):
            try:
                chunk = os.read(stdin, 4096)
            except BlockingIOError:
                chunk = b""
            if not chunk and ready.get(stdin):
                running = False  # parent gone
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                word = line.decode().strip()
                if word == "sleep":
                    asleep = True
                elif word == "wake":
                    asleep = False
                elif word == "stop":
                    running = False
        if not asleep:
            for cl in clients:
                try:
                    if cl.sock in ready:
                        cl.poll(0)
                    else:
                        cl.heartbeat()
                except zmq.Again:
                    pass
                for e in cl.errors:
                    errors[e.code] += 1
                cl.errors.clear()
                cl.inbox.clear()
            if not welcomed and all(s.welcomed for cl in clients for s in cl.sessions.values()):
                welcomed = True
                out.append("W")
        if out:
            sys.stdout.write("\n".join(out) + "\n")
            sys.stdout.flush()
            out.clear()
    dup = {k: n for ex in execs for k, n in ex.executions.items() if n != 1}
    end = {"executions": sum(len(ex.executions) for ex in execs), "executed_more_than_once": dup,
           "errors": dict(errors), "turns": turns}
    sys.stdout.write("END " + json.dumps(end) + "\n")
    sys.stdout.flush()
    for cl in clients:
        cl.close()


if __name__ == "__main__":
    main()
