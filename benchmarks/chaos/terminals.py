"""Protocol terminals: in this process (`Terminal`, with a `JudgingExecutor`, polled by a
`Pump`) or in a worker process of their own (`TerminalGroup`, benchmarks/chaos/worker.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

import zmq

from benchmarks.chaos import placement
from benchmarks.chaos.common import ROOT, child_env, kill_group, wall_ms
from benchmarks.chaos.opens import Book, OpenSeen, expired_result, trader_ticket_of
from bridge.daemon.client import Executor, TerminalClient
from bridge.protocol import Open, Position

if TYPE_CHECKING:
    from benchmarks.chaos.world import World


class JudgingExecutor(Executor):
    """Executor that judges every `open` against the trader open time + validity, and refuses
    one received past its `expires` as a terminal must (RETCODE_EXPIRED, after the dedup)."""

    def __init__(self, client: TerminalClient, book: Book) -> None:
        super().__init__(client)
        self.book = book
        self.opens: list[OpenSeen] = []
        self.first_recv: dict[str, OpenSeen] = {}
        self.paused = False

    def handle(self, m: Any) -> None:
        if isinstance(m, Open) and m.key not in self.results:
            now = wall_ms()
            tt = trader_ticket_of(m.key)
            late = self.book.late(tt, now)
            if m.expires and now > m.expires:
                self.results[m.key] = expired_result(now)
                seen = OpenSeen(m.login, m.key, tt, now, time.perf_counter_ns(), late, False)
            else:
                seen = OpenSeen(m.login, m.key, tt, now, time.perf_counter_ns(), late, True)
            self.opens.append(seen)
            self.first_recv[m.key] = seen
        super().handle(m)
        if m.login in self.client.sessions:  # a re-hello (after a sequence error) reports what it holds
            self.client.set_positions(m.login, tuple(self.positions.get(m.login, {}).values()))

    # copies made = opens executed, per (login, trader ticket)
    def executed(self) -> list[OpenSeen]:
        return [o for o in self.opens if o.executed]


class Terminal:
    """One connection (DEALER, CURVE) for `logins`, executing commands."""

    def __init__(self, world: World, key: str, logins: list[int], *, execute: bool = True) -> None:
        self.world, self.key_name, self.logins = world, key, logins
        self.client = TerminalClient(world.daemon.endpoints["router"], world.setup.curve(key))
        self.client.sock.setsockopt(zmq.SNDTIMEO, 100)
        self.ex = JudgingExecutor(self.client, world.book) if execute else None
        for login in logins:
            self.client.hello(login)
        self.inbox_limit = True

    def welcomed(self) -> bool:
        return all(self.client.sessions[x].welcomed for x in self.logins)

    def reconnect(self, positions: dict[int, tuple[Position, ...]] | None = None) -> None:
        """A new socket (the terminal came back): hello with what it holds."""
        old = self.client
        old.close()
        self.client = TerminalClient(self.world.daemon.endpoints["router"], self.world.setup.curve(self.key_name))
        self.client.sock.setsockopt(zmq.SNDTIMEO, 100)
        if self.ex is not None:
            self.ex.client = self.client
            self.client.handlers.append(self.ex._on_message)
        for login in self.logins:
            held = tuple(self.ex.positions.get(login, {}).values()) if self.ex else ()
            self.client.hello(login, positions=held)

    def drop_inbox(self) -> None:
        self.client.inbox.clear()

    def close(self) -> None:
        self.client.close()


class _GroupOpens:
    """What a worker group reported, shaped like a `JudgingExecutor` for `judge()` / `_settled()`."""

    def __init__(self) -> None:
        self.opens: list[OpenSeen] = []

    def executed(self) -> list[OpenSeen]:
        return [o for o in self.opens if o.executed]


class TerminalGroup:
    """Terminals (one DEALER per login list) in a worker process of their own
    (`benchmarks/chaos/worker.py`), so that whatever they do (sleep, drain 10 000 frames on
    waking) cannot stall the heartbeats of the terminals the harness measures. A reader thread
    turns the worker's report lines into `OpenSeen` (late judged here, on `world.book`)."""

    asleep = False  # the Pump skips nothing of ours: we are not polled there

    def __init__(self, world: World, key: str, connections: list[list[int]]) -> None:
        self.world, self.key_name = world, key
        self.connections = [c for c in connections if c]
        self.logins = [x for c in self.connections for x in c]
        self.ex = _GroupOpens()
        self.end: dict[str, Any] | None = None
        self.is_welcomed = False
        self.lines_seen = 0
        cv = world.setup.curve(key)
        spec = world.tmp / f"worker-{key}-{id(self)}.json"
        spec.write_text(json.dumps({"endpoint": world.daemon.endpoints["router"], "connections": self.connections,
                                    "curve": {"server_public": cv.server_public, "public": cv.public,
                                              "secret": cv.secret, "role": cv.role}}))
        env = child_env()
        self.proc = subprocess.Popen([sys.executable, "-m", "benchmarks.chaos.worker", str(spec)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(ROOT),
                                     env=env, start_new_session=True, bufsize=1,
                                     preexec_fn=placement.generator_side)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._read, name=f"group-{key}", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        book = self.world.book
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines_seen += 1
            if line.startswith("O "):
                _, login, tt, recv_ms, recv_ns, executed, key = line.split(" ", 6)
                tt_i, recv = int(tt), int(recv_ms)
                late = book.late(tt_i, recv)
                self.ex.opens.append(OpenSeen(int(login), key.strip(), tt_i, recv, int(recv_ns), late,
                                              executed == "1"))
            elif line.startswith("W"):
                self.is_welcomed = True
            elif line.startswith("END "):
                self.end = json.loads(line[4:])
        self._done.set()

    def _say(self, word: str) -> None:
        try:
            self.proc.stdin.write(word + "\n")  # type: ignore[union-attr]
            self.proc.stdin.flush()  # type: ignore[union-attr]
        except (BrokenPipeError, ValueError):
            pass

    def welcomed(self) -> bool:
        return self.is_welcomed

    def sleep(self) -> None:
        self._say("sleep")

    def wake(self) -> None:
        self._say("wake")

    def finish(self, timeout: float = 30.0) -> dict[str, Any] | None:
        """Stop the worker; its closing report (executions per key, errors seen)."""
        if self.proc.poll() is None:
            self._say("stop")
        self._done.wait(timeout)
        self.close()
        return self.end

    def close(self) -> None:
        kill_group(self.proc, 10)


class Pump:
    """Poll many terminals at once; returns when `until()` or the deadline."""

    def __init__(self, terminals: list[Terminal], clients: list[TerminalClient] = ()) -> None:
        self.terminals = terminals
        self.clients = list(clients)  # plain clients (the trader): heartbeats and sequence errors

    def run(self, seconds: float, until=None) -> bool:  # noqa: ANN001
        deadline = time.monotonic() + seconds
        while True:
            if until is not None and until():
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return until is None
            poller = zmq.Poller()
            active = [t for t in self.terminals if not getattr(t, "asleep", False) and isinstance(t, Terminal)]
            for t in active:
                poller.register(t.client.sock, zmq.POLLIN)
            for c in self.clients:
                poller.register(c.sock, zmq.POLLIN)
            try:
                ready = dict(poller.poll(min(20, int(left * 1000) + 1)))
            except zmq.ZMQError:
                ready = {}
            for c in self.clients:
                try:
                    c.poll(0)
                except zmq.Again:
                    pass
                if len(c.inbox) > 1000:
                    c.inbox.clear()
            for t in active:
                try:
                    if t.client.sock in ready:
                        t.client.poll(0)
                    else:
                        t.client.heartbeat()
                except zmq.Again:
                    pass
                if len(t.client.inbox) > 10000:
                    t.client.inbox.clear()

