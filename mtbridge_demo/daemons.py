"""The demo's daemons behind one small interface: in the demo's process (the plain demo, as
always) or each in a process of its own (`--shards N`: N daemon processes on loopback).

The run drives a daemon through five calls — `admin` (a back-office request, then the shell's
step: journal, then send), `tick` (engine time moves: TimePassed, then the step), `counters`
(frames in and out, anything outstanding: the run's quiescence), `summary` (the report's
figures) and `close` — each carrying the demo's virtual time `now`, which is the daemon's
clock. A daemon process runs `bridge.daemon.server.Daemon` in its own asyncio loop and answers
these calls on a pipe (`serve`), between its sockets' events; its terminals talk to it over
ZeroMQ like any terminal. Same calls, same order, same `now`: the same engine steps.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from bridge.copytrading.events import TimePassed

CALL_TIMEOUT_S = 300  # a daemon process that does not answer a call within this is reported dead


class QuietLog:
    """The daemon's structlog sink during the demo: counts warnings, prints nothing."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def _record(self, level: str, event: str, **_: Any) -> None:
        if level != "info":
            self.counts[event] += 1

    def get_effective_level(self) -> int:  # the daemon builds its debug events only below INFO
        return logging.INFO

    def __getattr__(self, level: str) -> Callable[..., None]:
        return lambda event, **kw: self._record(level, event, **kw)


class InProcess:
    """A daemon in this process; its clock is `clock()` (the demo's virtual time)."""

    def __init__(self, config: Any, insecure: bool, clock: Callable[[], int], feed_held_quotes: bool = False) -> None:
        from bridge.daemon.server import Daemon

        self.daemon = Daemon(config, insecure=insecure, log=QuietLog(), clock=clock)
        self.started = False
        # A quote the daemon's gate held (one PriceTick per symbol per second) is fed by its timer
        # loop once its clock moved on. In the demo's process that loop only runs when the demo
        # awaits; in a process of its own it runs whenever, so a held quote could reach the engine
        # before or after the next frame. There `tick` feeds it, at the moment time moves.
        self.feed_held_quotes = feed_held_quotes

    async def start(self) -> None:
        await self.daemon.start()
        self.started = True

    @property
    def endpoints(self) -> dict[str, str]:
        return self.daemon.endpoints

    def admin(self, request: dict, now: int) -> dict:
        reply = self.daemon.core.on_admin(request, "demo-admin", now)
        self.daemon._commit()  # the shell's step: journal, then send
        return reply

    def tick(self, now: int, moved: bool) -> None:
        core = self.daemon.core
        if self.feed_held_quotes and core.quote_gate.held:
            core._feed_held_quotes(now)  # what core.tick does first; the same order here
        if moved:
            core.feed_engine(TimePassed(now))
        self.daemon._commit()  # the shell's step: journal, then send

    def counters(self) -> tuple[int, int, bool]:
        """(frames in, frames out, anything outstanding: backlog, awaited replies, pending commands)."""
        d, core = self.daemon, self.daemon.core
        return d.stats["frames_in"], d.stats["frames_out"], bool(core.has_backlog or core.awaiting or core.pending)

    def state(self) -> str:
        core = self.daemon.core
        return f"pending={len(core.pending)} awaiting={len(core.awaiting)} backlog={core.has_backlog}"

    def summary(self) -> dict:
        d, core = self.daemon, self.daemon.core
        d._commit()
        return {"stop_outs": core.feed.tallies.get("stop_outs", 0),
                "wallets": dict(core.engine.wallets.balances),
                "subscriptions": sorted(int(k) for k in core.status()["subscriptions"]),
                "frames_in": d.stats["frames_in"], "frames_out": d.stats["frames_out"],
                "warnings": dict(d.log.counts)}

    async def close(self) -> None:
        if self.started:
            self.started = False
            await self.daemon.close()


# ------------------------------------------------------------------ a daemon in its own process
def serve(conn: Any, config: Any, insecure: bool, now: int) -> None:
    """The daemon process's main: start the daemon, say where it listens, answer calls."""
    asyncio.run(_serve(conn, config, insecure, now))


async def _serve(conn: Any, config: Any, insecure: bool, now: int) -> None:
    clock = {"now": now}
    local = InProcess(config, insecure, lambda: clock["now"], feed_held_quotes=True)
    try:
        await local.start()
    except BaseException as exc:  # noqa: BLE001 - reported to the demo, one line
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ok", local.endpoints))
    done = asyncio.Event()
    loop = asyncio.get_running_loop()

    def answer() -> None:
        try:
            op, now_, args = conn.recv()
        except (EOFError, OSError):  # the demo is gone
            done.set()
            return
        if now_ is not None:
            clock["now"] = now_
        if op == "close":
            done.set()
            return
        try:
            conn.send(("ok", getattr(local, op)(*args)))
        except Exception as exc:  # noqa: BLE001 - the demo raises it
            conn.send(("error", f"{type(exc).__name__}: {exc}"))

    loop.add_reader(conn.fileno(), answer)
    try:
        await done.wait()
    finally:
        loop.remove_reader(conn.fileno())
        await local.close()  # the last step committed; the lease released
        try:
            conn.send(("ok", "closed"))
        except OSError:
            pass


class InChildProcess:
    """A daemon in a process of its own (spawned: no copy of the demo's sockets or threads)."""

    def __init__(self, config: Any, insecure: bool, now: int, name: str) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.name = name
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=serve, args=(child, config, insecure, now), name=f"mtbridge-demo-{name}",
                                daemon=True)
        self._child = child
        self.endpoints: dict[str, str] = {}
        self.started = False

    @property
    def pid(self) -> int | None:
        return self.proc.pid

    def _answer(self, timeout: float) -> Any:
        if not self.conn.poll(timeout):
            raise RuntimeError(f"daemon {self.name} (pid {self.proc.pid}) did not answer within {timeout:g} s")
        try:
            kind, value = self.conn.recv()
        except EOFError:
            raise RuntimeError(f"daemon {self.name} (pid {self.proc.pid}) exited "
                               f"(status {self.proc.exitcode})") from None
        if kind == "error":
            raise RuntimeError(f"daemon {self.name}: {value}")
        return value

    async def start(self) -> None:
        self.proc.start()
        self._child.close()
        self.endpoints = await asyncio.to_thread(self._answer, CALL_TIMEOUT_S)
        self.started = True

    def _call(self, op: str, now: int | None, *args: Any) -> Any:
        self.conn.send((op, now, args))
        return self._answer(CALL_TIMEOUT_S)

    def admin(self, request: dict, now: int) -> dict:
        return self._call("admin", now, request, now)

    def tick(self, now: int, moved: bool) -> None:
        self._call("tick", now, now, moved)

    def counters(self) -> tuple[int, int, bool]:
        return self._call("counters", None)

    def state(self) -> str:
        return self._call("state", None)

    def summary(self) -> dict:
        return self._call("summary", None)

    async def close(self) -> None:
        if self.started:
            self.started = False
            try:
                self.conn.send(("close", None, ()))
                await asyncio.to_thread(self._answer, 60)
            except (RuntimeError, OSError):
                pass
        if self.proc.pid is None:  # never started
            self.conn.close()
            return
        await asyncio.to_thread(self.proc.join, 60)
        if self.proc.is_alive():  # it did not stop: it was ours, end it
            self.proc.kill()
            self.proc.join(10)
        self.conn.close()


def wallet_total(summaries: list[dict]) -> dict[str, str]:
    """Every daemon's wallets, summed by owner (a partner's credits can come from two shards)."""
    total: dict[str, Decimal] = {}
    for s in summaries:
        for owner, amount in s["wallets"].items():
            total[owner] = total[owner] + amount if owner in total else amount
    return {k: str(v) for k, v in sorted(total.items()) if v}
