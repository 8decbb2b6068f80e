"""Flood sender processes: one login each on one authorised key, heartbeats and junk frames sent
without ever blocking, for a set duration."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.chaos import placement
from benchmarks.chaos.common import ROOT, child_env, kill_group

if TYPE_CHECKING:
    from benchmarks.chaos.world import World


FLOODER = r"""
import os, sys, time, zmq, msgpack
from bridge.protocol import Hello, Heartbeat, encode
from decimal import Decimal
endpoint, server_pub, pub, sec, login, duration, junk_every = sys.argv[1:8]
login, duration, junk_every = int(login), float(duration), int(junk_every)
ctx = zmq.Context()
s = ctx.socket(zmq.DEALER)
s.linger = 0
s.setsockopt(zmq.SNDHWM, 0)
s.curve_serverkey, s.curve_publickey, s.curve_secretkey = server_pub.encode(), pub.encode(), sec.encode()
s.connect(endpoint)
ids = int(time.time() * 1e6) * 10
now = int(time.time() * 1000)
s.send(encode(Hello(id=ids, seq=1, ts=now, login=login, role="trader", platform="MT4", account_type="mt4_standard",
                    currency="USD", leverage=100, balance=Decimal(1000), equity=Decimal(1000), positions=())))
deadline = time.monotonic() + 20
welcomed = False
while time.monotonic() < deadline and not welcomed:
    if s.poll(100):
        welcomed = b"welcome" in s.recv()
tmpl = msgpack.unpackb(encode(Heartbeat(id=ids + 1, seq=2, ts=now, login=login)), raw=False)
print("ready", flush=True)
sys.stdin.readline()  # go
packb = msgpack.packb
NB = zmq.NOBLOCK
sent = junk = blocked = n = 0
seq = 1
t0 = time.monotonic()
end = t0 + duration
while True:
    # never block: a full or absent pipe (the daemon banned and cut the key) refuses the frame,
    # counted apart, and the flooder keeps trying until its duration ends
    for _ in range(500):
        n += 1
        if junk_every and n % junk_every == 0:
            frame, is_junk = b"\xc1junk", True
        else:
            seq += 1
            tmpl["id"] = ids + seq
            tmpl["seq"] = seq
            frame, is_junk = packb(tmpl), False
        try:
            s.send(frame, NB)
        except zmq.Again:
            blocked += 1
            continue
        sent += 1
        junk += is_junk
    try:
        while True:
            s.recv(NB)
    except zmq.Again:
        pass
    if time.monotonic() >= end:
        break
elapsed = time.monotonic() - t0
print(f"{sent} {junk} {blocked} {elapsed}", flush=True)
s.close(0)
ctx.term()
"""


class Flooder:
    """`n` sender processes, one login each, bound to the one authorised key `key`."""

    def __init__(self, world: World, key: str, logins: list[int], duration_s: float, junk_every: int) -> None:
        self.procs: list[subprocess.Popen] = []
        k = world.setup.keys[key]
        env = child_env()
        self.errs: list[Path] = []
        for login in logins:
            err = world.tmp / f"flooder-{login}.err"  # why a flooder ended early, if it does
            self.errs.append(err)
            with open(err, "wb") as errf:
                self.procs.append(subprocess.Popen(
                    [sys.executable, "-c", FLOODER, world.daemon.endpoints["router"], world.setup.server.public,
                     k.public, k.secret, str(login), str(duration_s), str(junk_every)],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errf, text=True, cwd=str(ROOT),
                    env=env, start_new_session=True, preexec_fn=placement.generator_side))
        # their start-up is read in threads: the harness keeps pumping its terminals meanwhile
        self.lines: dict[int, list[str]] = {p.pid: [] for p in self.procs}
        self._readers = [threading.Thread(target=self._read, args=(p,), daemon=True) for p in self.procs]
        for t in self._readers:
            t.start()

    def _read(self, p: subprocess.Popen) -> None:
        for line in p.stdout:  # type: ignore[union-attr]
            self.lines[p.pid].append(line)

    def ready(self) -> bool:
        """Every flooder welcomed (or gone: `go` then finds out)."""
        for p in self.procs:
            if not any("ready" in x for x in self.lines[p.pid]) and p.poll() is None:
                return False
        return True

    def ended(self) -> bool:
        return all(p.poll() is not None for p in self.procs)

    def go(self) -> None:
        for p, err in zip(self.procs, self.errs):
            try:
                p.stdin.write("go\n")  # type: ignore[union-attr]
                p.stdin.flush()  # type: ignore[union-attr]
            except BrokenPipeError:
                p.wait(10)
                raise RuntimeError(f"a flooder ended before the flood (exit {p.returncode}): "
                                   f"{''.join(self.lines[p.pid])[-500:]!r} {err.read_text(errors='replace')[-2000:]}"
                                   ) from None

    def results(self, timeout: float) -> dict[str, Any]:
        """frames_sent (handed to libzmq), junk (of those), frames_blocked (refused by a full or
        absent pipe), elapsed_s (longest), late (flooders that did not end within `timeout`)."""
        r = {"frames_sent": 0, "junk": 0, "frames_blocked": 0, "elapsed_s": 0.0, "late": 0}
        for p, t in zip(self.procs, self._readers):
            try:
                p.wait(timeout=timeout)
                t.join(5)
                a, b, c, d = "".join(self.lines[p.pid]).split()[-4:]
                r["frames_sent"] += int(a)
                r["junk"] += int(b)
                r["frames_blocked"] += int(c)
                r["elapsed_s"] = max(r["elapsed_s"], float(d))
            except (subprocess.TimeoutExpired, ValueError):
                r["late"] += 1
        return r

    def kill(self) -> None:
        for p in self.procs:
            kill_group(p, 10)

