"""Pieces of the link-chaos scenarios, all on real loopback sockets with CURVE on.

* `Timers`: the daemon's heartbeat / offline / validity timers; every wait derives from them.
* `World`: keys + config (whichever validity key the daemon's config accepts), a daemon
  subprocess (`python -m bridge.cli daemon`, its own process group), the admin client,
  subscriptions, a `FeedCollector` and a `LoopProbe`; `close()` kills everything it started.
* `Terminal`: a protocol terminal (`bridge.daemon.client.TerminalClient`) for one or more
  logins with a `JudgingExecutor`: it executes each command at most once per key and records,
  for every `open`, when it arrived and whether it was past its validity (trader open time +
  validity) - executed late or refused as expired (if the daemon ever sends an expiry field).
* `TerminalGroup`: terminals in a worker process of their own (`benchmarks/chaos/worker.py`),
  for groups that get busy (a slow reader waking to thousands of frames) or are the victims:
  they cannot stall the heartbeats of the measured terminals, so a copy those lose is the
  daemon's doing, not the harness's.
* `Pump`: polls a set of in-process terminals with one zmq.Poller (answers heartbeats and commands).
* `Flooder`: sender subprocesses hammering the ROUTER with heartbeats and junk frames
  with non-blocking sends: frames handed to libzmq and frames refused by a full or absent pipe
  (the daemon banned and cut the key) are counted apart, and each ends on time.

Loop figures come from the daemon itself: `daemon.stats` `loop_lag_ms` / `turn_max_ms` (every
second, `FeedCollector.stats_max`) and the `journal.snapshot` log lines' `block_ms`. The
`LoopProbe` (admin ping round trips from a thread of this process) also counts this process's
own scheduling, so its figures are reported as client-side round trips, without a target.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgpack
import zmq

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bridge.daemon.client import AdminClient, Curve, Executor, TerminalClient, sync_context  # noqa: E402
from bridge.daemon.config import ConfigError, parse_config  # noqa: E402
from bridge.daemon.testing import make_setup  # noqa: E402
from benchmarks.chaos import placement  # noqa: E402
from bridge.protocol import RETCODE_EXPIRED, Open, Position  # noqa: E402

TRADER = 1001


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def pct(xs: list[float], p: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- timers / config
@dataclass(frozen=True)
class Timers:
    heartbeat_ms: int = 1000
    offline_after: int = 5
    validity_ms: int = 5000

    @property
    def offline_ms(self) -> int:
        return self.heartbeat_ms * self.offline_after

    def settle_s(self, extra_ms: int = 0) -> float:
        """A generous bound for anything the daemon should do on its own timers."""
        return (2 * self.validity_ms + 2 * self.offline_ms + 4 * self.heartbeat_ms + extra_ms) / 1000 + 5


def validity_setting(validity_ms: int) -> tuple[str, str, str]:
    """(section, key, toml line) of the open validity (docs/protocol.md §7.1)."""
    return "engine", "open_validity_ms", f"open_validity_ms = {validity_ms}"


def daemon_accepts(section: str, key: str, value: Any) -> bool:
    try:
        parse_config({section: {key: value}})
        return True
    except ConfigError:
        return False


# ---------------------------------------------------------------------------- daemon process
class Daemon:
    """The daemon in a subprocess of its own process group (SIGSTOP / SIGCONT / kill -9)."""

    def __init__(self, config_path: Path) -> None:
        self.config_path = config_path
        self.endpoints_file = config_path.parent / "endpoints.json"
        self.log_path = config_path.parent / "daemon.log"
        self.proc: subprocess.Popen | None = None
        self.endpoints: dict[str, Any] = {}
        self.stopped = False

    def start(self, timeout: float = 60.0) -> float:
        """Start; returns seconds until the endpoints file was written (sockets bound)."""
        if self.endpoints_file.exists():
            self.endpoints_file.unlink()
        cmd = [sys.executable, "-m", "bridge.cli", "daemon", "--config", str(self.config_path),
               "--endpoints-file", str(self.endpoints_file), "--log-level", "info"]
        env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        t0 = time.monotonic()
        with open(self.log_path, "ab") as logf:
            self.proc = subprocess.Popen(cmd, stdout=logf, stderr=logf, cwd=str(ROOT), env=env,
                                         start_new_session=True, preexec_fn=placement.daemon_side)
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            if self.endpoints_file.exists():
                try:
                    self.endpoints = json.loads(self.endpoints_file.read_text())
                    return time.monotonic() - t0
                except json.JSONDecodeError:
                    pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited {self.proc.returncode}: {self.log_path.read_text()[-2000:]}")
            time.sleep(0.005)
        self.kill()
        raise RuntimeError("daemon did not start in time")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop_signal(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)
        self.stopped = True

    def cont_signal(self) -> None:
        os.kill(self.pid, signal.SIGCONT)
        self.stopped = False

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def run_delay_ms(self) -> float:
        """How long the daemon's main thread (its event loop) waited runnable for a CPU so far
        (/proc/PID/schedstat): loop lag that is the machine's, not the daemon's own work."""
        try:
            return int(Path(f"/proc/{self.pid}/schedstat").read_text().split()[1]) / 1e6
        except (OSError, IndexError, ValueError):
            return float("nan")

    def cpu_s(self) -> float:
        """CPU seconds (user + system) the daemon process used so far."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return float("nan")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(30)

    def terminate(self, timeout: float = 30.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        if self.stopped:
            self.cont_signal()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_lines(self, event: str) -> list[dict]:
        out = []
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return out
        for line in text.splitlines():
            if event in line:
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    out.append({"event": event, "raw": line})
        return [x for x in out if x.get("event") == event or "raw" in x]


# ---------------------------------------------------------------------------- feed
class FeedCollector:
    """SUB on the daemon's feed in a thread: (recv wall ms, topic, body) for chosen topics."""

    TOPICS = (b"terminal.offline", b"terminal.online", b"record.copy_refused", b"record.copy_opened",
              b"daemon.stats", b"record.subscription_started", b"abuse")

    def __init__(self, endpoint: str, curve: Curve) -> None:
        self.endpoint, self.curve = endpoint, curve
        self.items: list[tuple[int, str, dict]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="feed", daemon=True)
        self._lock = threading.Lock()

    def start(self, timeout: float = 20.0) -> FeedCollector:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.topic("daemon.stats"):
            time.sleep(0.02)
        return self

    def _run(self) -> None:
        s = sync_context().socket(zmq.SUB)
        s.linger = 0
        s.setsockopt(zmq.RCVHWM, 0)
        s.curve_serverkey = self.curve.server_public.encode()
        s.curve_publickey, s.curve_secretkey = self.curve.public.encode(), self.curve.secret.encode()
        for t in self.TOPICS:
            s.setsockopt(zmq.SUBSCRIBE, t)
        s.connect(self.endpoint)
        try:
            while not self._stop.is_set():
                if not s.poll(50):
                    continue
                while True:
                    try:
                        topic, body = s.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    except ValueError:
                        continue
                    t = topic.decode()
                    if t == "snapshot":
                        continue
                    try:
                        b = msgpack.unpackb(body, raw=False, strict_map_key=False)
                    except Exception:  # noqa: BLE001
                        b = {}
                    with self._lock:
                        self.items.append((wall_ms(), t, b))
        finally:
            s.close(0)

    def topic(self, name: str, since_ms: int = 0) -> list[dict]:
        with self._lock:
            return [b for ts, t, b in self.items if t == name and ts >= since_ms]

    def stats_gap_ms(self, since_ms: int = 0, until_ms: int | None = None) -> float:
        """Longest gap between consecutive `daemon.stats` beats (their own `ts`), in a window."""
        with self._lock:
            ts = [b.get("ts", r) for r, t, b in self.items if t == "daemon.stats" and r >= since_ms
                  and (until_ms is None or r <= until_ms)]
        gaps = [b - a for a, b in zip(ts, ts[1:])]
        return float(max(gaps)) if gaps else None

    def _beats(self, since_ms: int, until_ms: int | None) -> list[dict]:
        """`daemon.stats` bodies covering [since_ms, until_ms] (by the daemon's `ts`; a beat
        covers the second before it)."""
        with self._lock:
            return [b for _, t, b in self.items if t == "daemon.stats" and b.get("ts", 0) >= since_ms
                    and (until_ms is None or b.get("ts", 0) <= until_ms + 1000)]

    def stats_max(self, field: str, since_ms: int, until_ms: int | None = None) -> float | None:
        """Max of a `daemon.stats` figure (e.g. `loop_lag_ms`, `turn_max_ms`: the daemon's own
        measure of its loop over the second before each beat) over a window."""
        vals = [float(b[field]) for b in self._beats(since_ms, until_ms) if b.get(field) is not None]
        return max(vals) if vals else None

    def stats_top(self, field: str, since_ms: int, until_ms: int | None = None, n: int = 3,
                  origin_ms: int | None = None) -> list[list[float]]:
        """The `n` highest beats of a `daemon.stats` figure: [ms after origin_ms (default since_ms), value]."""
        origin = since_ms if origin_ms is None else origin_ms
        xs = [(float(b[field]), b.get("ts", 0)) for b in self._beats(since_ms, until_ms) if b.get(field) is not None]
        return [[ts - origin, v] for v, ts in sorted(xs, reverse=True)[:n]]

    def stats_count(self, since_ms: int, until_ms: int | None = None) -> int:
        return len(self._beats(since_ms, until_ms))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)


class SchedSampler:
    """Samples the daemon loop thread's run-queue wait (`Daemon.run_delay_ms`) every 100 ms in a
    thread, so each `daemon.stats` beat's loop lag can be set beside how long, in that same
    second, the loop was runnable but the machine gave it no CPU."""

    def __init__(self, daemon: Daemon, every_s: float = 0.1) -> None:
        self.daemon, self.every_s = daemon, every_s
        self.samples: list[tuple[int, float]] = []  # (wall ms, run delay ms so far)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sched", daemon=True)

    def start(self) -> SchedSampler:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            v = self.daemon.run_delay_ms()
            if v == v:
                self.samples.append((wall_ms(), v))

    def wait_ms(self, a_ms: int, b_ms: int) -> float | None:
        """Run-queue wait between the samples nearest a_ms and b_ms."""
        xs = list(self.samples)
        before = [v for t, v in xs if t <= a_ms]
        after = [v for t, v in xs if t >= b_ms]
        if not before or not after:
            return None
        return round(after[0] - before[-1], 1)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)


def lag_beside_wait(feed: FeedCollector, sched: SchedSampler, since_ms: int, until_ms: int, origin_ms: int,
                    n: int = 3) -> list[list[float | None]]:
    """The `n` worst `loop_lag_ms` beats: [ms after origin, loop_lag_ms, run-queue wait ms of the
    daemon's loop thread in the second the beat covers (sampled from here), and the daemon's own
    split of that late timer's sleep: loop thread CPU ms, loop thread run-queue wait ms]."""
    out = []
    beats = {b.get("ts", 0): b for b in feed._beats(since_ms, until_ms)}
    for off, lag in feed.stats_top("loop_lag_ms", since_ms, until_ms, n, origin_ms=origin_ms):
        ts = int(off + origin_ms)
        b = beats.get(ts, {})
        out.append([off, lag, sched.wait_ms(ts - 1000, ts), b.get("loop_lag_cpu_ms"), b.get("loop_lag_wait_ms")])
    return out


class LoopProbe:
    """Round trips of a cheap admin request (unknown op -> error reply) on the daemon's loop,
    one every `every_s`: the longest round trip bounds the loop's longest block."""

    def __init__(self, endpoint: str, curve: Curve, every_s: float = 0.02) -> None:
        self.endpoint, self.curve, self.every_s = endpoint, curve, every_s
        self.samples: list[tuple[float, float]] = []  # (monotonic send time, rtt ms)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="probe", daemon=True)

    def start(self) -> LoopProbe:
        self._thread.start()
        return self

    def _run(self) -> None:
        admin = AdminClient(self.endpoint, self.curve)
        try:
            while not self._stop.is_set():
                t0 = time.monotonic()
                self.inflight = t0
                try:
                    admin("ping", timeout=600)
                except TimeoutError:
                    continue
                finally:
                    self.inflight = None
                self.samples.append((t0, (time.monotonic() - t0) * 1000))
                time.sleep(self.every_s)
        finally:
            admin.close()

    inflight: float | None = None

    def max_ms(self, since: float = 0.0, until: float | None = None) -> float | None:
        """Longest round trip overlapping [since, until] (one still in flight counts so far)."""
        end = time.monotonic() if until is None else until
        xs = [r for t, r in list(self.samples) if t <= end and t + r / 1000 >= since]
        if self.inflight is not None and self.inflight <= end:
            xs.append((time.monotonic() - self.inflight) * 1000)
        return max(xs) if xs else None

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)


# ---------------------------------------------------------------------------- terminals
def trader_ticket_of(key: str) -> int:
    """'s12-t7001-open-1' -> 7001."""
    m = re.search(r"-t(\d+)-", key)
    return int(m.group(1)) if m else -1


@dataclass
class OpenSeen:
    login: int
    key: str
    trader_ticket: int
    recv_ms: int
    recv_ns: int
    late: bool  # arrived past trader open time + validity
    executed: bool  # executed (not refused as expired) the first time this key came


@dataclass
class Book:
    """What the test knows of the trader: open time (wall ms) and send time (perf ns) per ticket."""

    validity_ms: int
    open_ms: dict[int, int] = field(default_factory=dict)
    sent_ns: dict[int, int] = field(default_factory=dict)


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
            opened = self.book.open_ms.get(tt)
            late = opened is not None and now > opened + self.book.validity_ms
            if m.expires and now > m.expires:
                self.results[m.key] = dict(ok=False, retcode=RETCODE_EXPIRED, ticket=0, price=Decimal(0),
                                           volume=Decimal(0), time=now, message="expired")
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
        env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
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
                opened = book.open_ms.get(tt_i)
                late = opened is not None and recv > opened + book.validity_ms
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
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)


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


# ---------------------------------------------------------------------------- flood
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
        env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
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
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait(10)


# ---------------------------------------------------------------------------- world
class World:
    """keys: name -> (logins, role); 'trader' and 'ops' are added."""

    def __init__(self, tmp: Path, keys: dict[str, tuple[list[int], str]], timers: Timers, *,
                 journal: str = "", daemon: str = "") -> None:
        self.tmp, self.timers = tmp, timers
        section, self.validity_key, line = validity_setting(timers.validity_ms)
        daemon_lines = f"offline_after = {timers.offline_after}\n{daemon}"
        engine_lines = ""
        if section == "daemon":
            daemon_lines += f"\n{line}\n"
        else:
            engine_lines = line
        self.validity_section = section
        all_keys = {"trader": ([TRADER], "trader"), **keys, "ops": ([], "admin")}
        self.setup = make_setup(tmp, all_keys, heartbeat_ms=timers.heartbeat_ms, extra=daemon_lines,
                                engine=engine_lines)
        if journal:
            text = self.setup.config_path.read_text()
            self.setup.config_path.write_text(text.replace('path = "journal.db"\n', f'path = "journal.db"\n{journal}\n'))
        self.daemon = Daemon(self.setup.config_path)
        self.book = Book(timers.validity_ms)
        self.admin: AdminClient | None = None
        self.feed: FeedCollector | None = None
        self.probe: LoopProbe | None = None
        self.sched: SchedSampler | None = None
        self.terminals: list[Terminal] = []
        self.groups: list[TerminalGroup] = []
        self.flooders: list[Flooder] = []
        self.sub_of: dict[int, int] = {}  # investor login -> subscription id
        self.login_of: dict[int, int] = {}
        self.trader: TerminalClient | None = None
        self.positions: dict[int, Position] = {}
        self.next_ticket = 70_000

    # -- life cycle
    def start(self, *, feed: bool = True, probe: bool = False) -> World:
        self.daemon.start()
        self.admin = AdminClient(self.daemon.endpoints["admin"], self.setup.curve("ops"))
        assert self.admin("register_trader", trader="T", account=TRADER, account_type="mt4_standard", leverage=100,
                          commission_pct="0")["ok"]
        if feed:
            self.feed = FeedCollector(self.daemon.endpoints["pub"], self.setup.curve("ops")).start()
        if probe:
            self.probe = LoopProbe(self.daemon.endpoints["admin"], self.setup.curve("ops")).start()
            self.sched = SchedSampler(self.daemon).start()
        return self

    def pin_ports(self) -> None:
        """Keep the endpoints across restarts."""
        text = self.setup.config_path.read_text()
        for name in ("router", "pub", "admin"):
            text = text.replace(f'{name} = "tcp://127.0.0.1:*"', f'{name} = "{self.daemon.endpoints[name]}"', 1)
        self.setup.config_path.write_text(text)

    def close(self) -> None:
        for f in self.flooders:
            f.kill()
        if self.probe is not None:
            self.probe.close()
        if self.sched is not None:
            self.sched.close()
        if self.feed is not None:
            self.feed.close()
        for t in self.terminals:
            t.close()
        for g in self.groups:
            g.close()
        if self.trader is not None:
            self.trader.close()
        if self.admin is not None:
            self.admin.close()
        try:
            self.daemon.terminate(15)
        finally:
            self.daemon.kill()

    # -- back office
    def subscribe(self, logins: list[int], progress: str = "") -> None:
        assert self.admin is not None
        t0 = time.monotonic()
        for i, login in enumerate(logins):
            owner = f"I{login}"
            assert self.admin("deposit", owner=owner, amount="1000000")["ok"]
            r = self.admin("subscribe", investor=owner, trader="T", account=login, amount="1000000")
            assert r["ok"], r
            sub = next(rec["subscription"] for rec in r["records"] if rec["topic"] == "record.subscription_started")
            self.sub_of[login] = int(sub)
            self.login_of[int(sub)] = login
            if progress and i and i % 2000 == 0:
                log(f"{progress}: {i}/{len(logins)} subscriptions ({time.monotonic() - t0:.0f} s)")

    # -- terminals
    def connect_trader(self) -> TerminalClient:
        self.trader = TerminalClient(self.daemon.endpoints["router"], self.setup.curve("trader"))
        self.trader.sock.setsockopt(zmq.SNDTIMEO, 100)
        self.trader.hello(TRADER)
        return self.trader

    def terminal(self, key: str, logins: list[int], **kw: Any) -> Terminal:
        t = Terminal(self, key, logins, **kw)
        self.terminals.append(t)
        return t

    def group(self, key: str, connections: list[list[int]]) -> TerminalGroup:
        """Terminals in a worker process of their own (see `TerminalGroup`)."""
        g = TerminalGroup(self, key, connections)
        self.groups.append(g)
        return g

    def wait_welcomed(self, pump: Pump, timeout: float) -> bool:
        assert self.trader is not None
        return pump.run(timeout, lambda: (self.trader.sessions[TRADER].welcomed
                                          and all(t.welcomed() for t in pump.terminals)))

    # -- trader deals
    def trader_open(self) -> int:
        assert self.trader is not None
        self.next_ticket += 1
        ticket = self.next_ticket
        now = wall_ms()
        self.book.open_ms[ticket] = now
        self.book.sent_ns[ticket] = time.perf_counter_ns()
        p = self.trader.opened(TRADER, ticket, time_ms=now)
        self.positions[ticket] = p
        self.trader.set_positions(TRADER, tuple(self.positions.values()))
        return ticket

    def trader_close(self, ticket: int) -> None:
        assert self.trader is not None
        self.positions.pop(ticket, None)
        self.trader.set_positions(TRADER, tuple(self.positions.values()))
        self.trader.closed(TRADER, ticket, "0.1")

    # -- judging
    def copy_map(self) -> dict[int, dict[int, dict]]:
        assert self.admin is not None
        copies = self.admin("copies", timeout=120)["copies"]
        return {self.login_of.get(int(s), -int(s)): {int(t): c for t, c in book.items()}
                for s, book in copies.items()}

    def refusals(self) -> dict[tuple[int, int], str]:
        """(investor login, trader ticket) -> code of its CopyRefused on the feed."""
        assert self.feed is not None
        out = {}
        for b in self.feed.topic("record.copy_refused"):
            login = self.login_of.get(int(b.get("subscription", -1)))
            if login is not None:
                out[(login, int(b.get("trader_ticket", -1)))] = str(b.get("code"))
        return out

    def offline_logins(self, since_ms: int = 0) -> list[int]:
        assert self.feed is not None
        return [int(b.get("login", 0)) for b in self.feed.topic("terminal.offline", since_ms)]


def judge(world: World, terminals: list[Terminal], tickets: list[int]) -> dict[str, Any]:
    """Copies of `tickets` on the logins of `terminals`: made, duplicated, late, refused."""
    made: Counter = Counter()
    late_exec = 0
    latencies: list[float] = []
    logins = [x for t in terminals for x in t.logins]
    want = {(login, tk) for login in logins for tk in tickets}
    for t in terminals:
        assert t.ex is not None
        for o in t.ex.executed():
            if (o.login, o.trader_ticket) not in want:
                continue
            made[(o.login, o.trader_ticket)] += 1
            late_exec += o.late
            sent = world.book.sent_ns.get(o.trader_ticket)
            if sent is not None:
                latencies.append((o.recv_ns - sent) / 1e6)
    refused = world.refusals()
    not_made = want - set(made)
    refused_codes = Counter(refused[k] for k in not_made if k in refused)
    return {
        "expected": len(want), "made": len(made), "duplicated": sum(n - 1 for n in made.values()),
        "late_executed": late_exec, "not_made": len(not_made),
        "not_made_unrefused": sum(1 for k in not_made if k not in refused),
        "refused_by_code": dict(refused_codes), "latencies_ms": latencies,
    }
