"""The imperative shell: asyncio + pyzmq around `DaemonCore`.

Sockets (one zmq.asyncio context):

* ROUTER `daemon.router`: terminals (DEALER). CURVE server, ZAP domain "mtbridge",
  ROUTER_MANDATORY (an unroutable send raises instead of vanishing), SNDHWM `daemon.sndhwm`
  (a full peer raises EAGAIN: the command stays pending in the journal and is retried).
* XPUB `daemon.pub`: the monitoring feed (docs/protocol.md §13), two frames per item: topic,
  msgpack map. XPUB_VERBOSE: every (re)subscription is read and answered at once with a
  `snapshot`; also a snapshot every `feed_snapshot_every_s` while one is live, and a
  `daemon.stats` every second. CURVE server with ZAP domain "mtbridge-feed": keys of role
  admin or monitor only.
* ROUTER `daemon.admin` (optional): back-office requests (msgpack maps), CURVE keys of role admin.
* REP `inproc://zeromq.zap.01`: our ZAP handler; accepts a CURVE client key only if it is on
  the allow-list with a role that may use the socket (domain "mtbridge": trader, investor,
  admin; domain "mtbridge-feed": admin, monitor) and answers with User-Id = the key's name,
  read back per message with `frame.get("User-Id")`.

Latencies and durations on the feed are measured here with `time.perf_counter_ns()` and
handed to the core as data (`mono_ns`).

Every step: feed frames to the core -> commit the core's batch (one SQLite transaction) ->
pump outbound frames -> publish the feed. Nothing leaves before its journal commit.

The periodic work (timer loop, WAL checkpoints, gc pause watch) is `server_timers.py`.
"""

from __future__ import annotations

import asyncio
import errno
import gc
import itertools
import json
import logging
import time
import traceback
from collections import deque
from pathlib import Path
from time import perf_counter_ns, thread_time_ns
from typing import Any

import msgpack
import structlog
import zmq
import zmq.asyncio
import zmq.backend

from bridge.daemon.cluster_handover import HAND_OVER_LINGER_MS, hand_over_terminals
from bridge.daemon.config import DaemonConfig, StartupError, check_server_key
from bridge.daemon.core import DaemonCore, SendResult
from bridge.daemon.feed_pacing import FeedShell
from bridge.daemon.feed_snapshot import SnapshotEncoder
from bridge.daemon.ledger_shell import ShardLedger, open_ledger
from bridge.daemon.peers import ADMIN_ZAP_DOMAIN, FEED_ZAP_DOMAIN, ZAP_DOMAIN, PeerShell
from bridge.daemon.service import ServiceShell, TaskCrashed
from bridge.daemon.sessions import FORGET_AFTER
from bridge.daemon.snapshots import Snapshots
from bridge.daemon.store import JournalLock, Store
from bridge.daemon.server_priority import yield_zmq_threads
from bridge.daemon.server_timers import TimerShell
from bridge.daemon.transport import TransportEvents
from bridge.daemon.wire import FeedEncoder

_SEND_MORE = int(zmq.NOBLOCK | zmq.SNDMORE)  # the identity frame of a ROUTER message
_NOBLOCK = int(zmq.NOBLOCK)
_OK = SendResult.OK
_raw_send = zmq.backend.Socket.send  # the backend (Cython) methods under pyzmq's Python-level wrappers
_raw_recv = zmq.backend.Socket.recv
_raw_get = zmq.backend.Socket.get  # EVENTS as a plain int (the wrapper makes it an enum Flag)
_EVENTS, _POLLIN = int(zmq.EVENTS), int(zmq.POLLIN)

_RUNS = itertools.count(1)
ZAP_ENDPOINT = "inproc://zeromq.zap.01"


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


class Daemon(ServiceShell, PeerShell, FeedShell, TimerShell):
    def __init__(self, config: DaemonConfig, *, insecure: bool = False, store: Store | None = None,
                 log: Any = None, clock: Any = wall_ms, endpoints_file: str | Path | None = None) -> None:
        check_server_key(config, insecure)
        self.config = config
        self.insecure = insecure
        self.clock = clock
        self.log = log or structlog.get_logger("mtbridge.daemon")
        # debug events (per turn, per command) are built only when a level of debug was asked
        # for (`--log-level debug`): structlog's unconfigured default (level NOTSET, in-process
        # tests and tools) writes everything, and a fan-out would print a line per command
        level = getattr(self.log, "get_effective_level", None)
        self.debug = level is not None and level() == logging.DEBUG
        self.lock: JournalLock | None = None
        self.store = store or self._open_journal(config)
        self.ledger: ShardLedger | None = None  # [cluster] ledger = true (bridge/daemon/ledger_shell.py)
        self._settle: Any = None  # set with the core: the SQLite journal's `settle`
        self.crashed: BaseException | None = None  # the exception of a task that crashed (exit non-zero)
        self.health: Any = None  # bridge.daemon.health.Health once started with `daemon.health`
        self.watchdog: Any = None  # sd_notify while systemd watches this process (WatchdogSec), set by run()
        self.endpoints_file = Path(endpoints_file) if endpoints_file else None
        self.ctx = zmq.asyncio.Context()
        self._stop: asyncio.Event | None = None  # created in the running loop
        self.core: DaemonCore | None = None
        self.endpoints: dict[str, str] = {}
        self._tasks: list[asyncio.Task] = []
        self._loops: list[Any] = []  # the tasks' coroutines (closed if start fails before they run)
        self._closed = False
        self.stats = {"frames_in": 0, "frames_out": 0, "commits": 0, "feed_items": 0, "feed_dropped": 0,
                      "feed_subscriptions": 0, "cuts_skipped": 0}
        self.instance = ""
        self._feed_frames = FeedEncoder()
        self._snapshot_frames = SnapshotEncoder()  # the same bytes, from the unchanged rows' cached bytes
        self.init_feed_pacing()
        self._step_start: int | None = None  # perf_counter_ns of the oldest input not yet committed
        self.feed_subscriptions = 0  # live subscriptions on the feed (subscribe - unsubscribe messages)
        self._drain_scheduled = False
        self.timer_due_ns = 0  # perf_counter_ns at which the sleeping timer pass is due (0: not asleep)
        self._send_deadline = 0  # perf_counter_ns after which `_send` defers (the turn's budget)
        self._pump_cut = False  # the last pump stopped at the deadline, not at a full pipe
        self.commit_ns_per_row = 5_000  # measured (moving average): a turn reserves its commit's time
        self.loop_lag_ns = self.turn_max_ns = 0  # the loop's own health, reported in daemon.stats
        self.lag_cpu_ns = self.lag_wait_ns = 0  # over the latest timer's sleep: loop thread CPU, run-queue wait
        self.turn_cpu_ns = 0  # the loop thread's CPU time in the longest turn (wall - CPU = waiting for a core)
        self.gc_max_ns = self._gc_start = 0  # the longest cyclic collection in the last second (a loop pause)
        self.fd_of: dict[bytes, int] = {}  # connection -> the socket fd its frames come from
        self.socket_of: dict[bytes, int] = {}  # connection -> that socket's inode (is the fd still it?)
        self.conns_on_fd: dict[int, set[bytes]] = {}
        self.closing_on_fd: dict[int, list[set[bytes]]] = {}  # earlier connections of a reused fd
        self.peer_of: dict[int, str] = {}  # accepted fd -> peer address
        self.handshake_failures: deque[tuple[str, int]] = deque()
        self.webhooks: Any = None  # a WebhookSender when [webhooks] is configured

    # ------------------------------------------------------------------ start / stop
    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            self._abort()
            raise

    async def _start(self) -> None:
        now = self.clock()
        self._stop = asyncio.Event()
        t_start = time.perf_counter()
        take_warm = getattr(self.store, "take_warm", None)  # [cluster]: a warm standby's state
        warm = take_warm() if take_warm is not None else None
        recovery, engine, caught_up = warm if warm is not None else (self.store.recover(), None, 0)
        t_read = time.perf_counter()
        run = next(_RUNS)
        self.instance = f"{now}-{_pid()}" + (f"-{run}" if run > 1 else "")
        self.core = DaemonCore.recover(self.config, recovery, now=now, insecure=self.insecure,
                                       instance=self.instance, engine=engine)
        t_core = time.perf_counter()
        self.core.debug = self.debug
        self.core.route_login = getattr(self.store, "route_login", None)  # [cluster]: redirects
        self.core.reload = self.store.recover  # an engine exception rebuilds the engine from the journal
        self.core.route_admin = getattr(self.store, "route_admin", None)  # [cluster]: admin routing
        self.core.placement_refusal = getattr(self.store, "placement_refusal", None)  # [cluster]: one shard per login
        if self.core.route_admin is not None:
            self.core.shard = self.store.fence[0]
        self.ledger = open_ledger(self.core, self.store, self.config)  # [cluster] ledger: money on PostgreSQL
        # the SQLite journal's commit after the sends (store_ahead.py); None: `write` committed
        self._settle = getattr(self.store, "settle", None) if self.ledger is None else None
        self._commit()
        cfg = self.config
        if not self.insecure:
            self.zap = self.ctx.socket(zmq.REP)
            self.zap.linger = 0
            self.zap.bind(ZAP_ENDPOINT)
            self._tasks.append(self._task(self._zap_loop(), "zap"))
        self.router = self._server_socket(zmq.ROUTER)
        self.router.setsockopt(zmq.ROUTER_MANDATORY, 1)
        self.router.setsockopt(zmq.SNDHWM, cfg.sndhwm)
        self.router.setsockopt(zmq.RCVHWM, max(cfg.sndhwm, 1000))
        self.router.setsockopt(zmq.MAXMSGSIZE, cfg.max_frame_size * 4)  # larger: disconnect; else error reply
        # ZMTP heartbeats: libzmq's I/O thread judges dead peers, whatever our loop is doing
        # Transport death is judged late on purpose (FORGET_AFTER offline periods, 20 s by
        # default): a daemon paused 10 s (GC, disk, SIGSTOP) must find its peers still there,
        # and the peers (told this TTL) must not hang up on it meanwhile. "Offline" for copy
        # decisions comes sooner, from the core's own silence rule.
        dead_after = cfg.heartbeat_ms * cfg.offline_after * FORGET_AFTER
        if dead_after <= _ZMTP_TTL_MAX:  # a longer one (heartbeats off, e.g. the paced demo): none
            self.router.setsockopt(zmq.HEARTBEAT_IVL, cfg.heartbeat_ms)
            self.router.setsockopt(zmq.HEARTBEAT_TIMEOUT, dead_after)
            self.router.setsockopt(zmq.HEARTBEAT_TTL, dead_after)
        loop = asyncio.get_running_loop()
        self.transport = TransportEvents(self.ctx, self.router, lambda: loop.call_soon_threadsafe(self._drain_soon))
        self._bind(self.router, "router", cfg.router)
        self.router_sync = zmq.Socket.shadow(self.router.underlying)
        self.pub = self._server_socket(zmq.XPUB, FEED_ZAP_DOMAIN)
        self.pub.linger = 0
        self.pub.setsockopt(zmq.XPUB_VERBOSE, 1)  # every subscription message, also repeated ones
        self.pub.setsockopt(zmq.XPUB_VERBOSER, 1)  # and every unsubscription (a disconnect included)
        self.pub.setsockopt(zmq.SNDHWM, 100_000)
        self._bind(self.pub, "pub", cfg.pub)
        self.pub_sync = zmq.Socket.shadow(self.pub.underlying)
        niced = yield_zmq_threads()  # the loop first when they compete for a core
        self.log.info("daemon.zmq_threads", threads=len(niced), nice=sorted(set(niced.values())))
        self.endpoints = {"router": self._last(self.router), "pub": self._last(self.pub)}
        if cfg.admin:
            self.admin = self._server_socket(zmq.ROUTER, ADMIN_ZAP_DOMAIN)
            self.admin.setsockopt(zmq.MAXMSGSIZE, cfg.max_frame_size)  # same limit as the terminal socket
            self._bind(self.admin, "admin", cfg.admin)
            self.endpoints["admin"] = self._last(self.admin)
            self._tasks.append(self._task(self._admin_loop(), "admin"))
        if self.config.server_key is not None:
            self.endpoints["server_public_key"] = self.config.server_key.public
        if cfg.health:
            from bridge.daemon.health import Health, HealthServer

            self.health = Health(self)
            self.health.attach()
            self._health_server = HealthServer(self.health, cfg.health)
            try:
                self.endpoints["health"] = await self._health_server.start()
            except OSError as exc:
                raise StartupError(f"cannot listen on daemon.health {cfg.health}: {exc.strerror}") from None
        if cfg.webhooks is not None:
            from bridge.daemon.webhook_sender import start_sender

            self.webhooks = start_sender(cfg.webhooks, self.log)
            self._tasks.append(self._task(self.webhooks.run(), "webhooks"))
        self._tasks.append(self._task(self._router_loop(), "router"))
        self._tasks.append(self._task(self._feed_loop(), "feed"))
        self._tasks.append(self._task(self._timer_loop(), "timer"))
        self._tasks.append(self._task(self._checkpoint_loop(), "checkpoint"))
        t_bound = time.perf_counter()
        gc.collect()
        gc.callbacks.append(self._gc_watch)
        gc.freeze()  # the recovered state is long-lived: keep it out of the young collections
        gc.set_threshold(50_000, 20, 100)
        t_gc = time.perf_counter()
        # where a start's time goes (docs/scaling.md "Failover"): the journal read (warm: the
        # standby's catch-up), the engine and core, sockets and tasks, the heap's collection
        acquired = getattr(self.store, "acquired_at", 0.0) or t_start
        phases = (("open", acquired, t_start), ("recovery", t_start, t_read), ("core", t_read, t_core),
                  ("sockets", t_core, t_bound), ("gc", t_bound, t_gc))
        self.start_ms = {name: round((b - a) * 1000, 1) for name, a, b in phases}
        if take_warm is not None:
            self.log.info("daemon.warm_standby", used=warm is not None, caught_up_events=caught_up,
                          problem=getattr(self.store, "warm_problem", "") or None,
                          **(getattr(self.store, "warm_stats", None) or {}))
        self.log.info("daemon.started", **self.endpoints, curve=not self.insecure,
                      allow_list=len(cfg.allow), journal=str(cfg.journal_path), pid=_pid(), instance=self.instance)
        self._publish("daemon.started", curve=not self.insecure, **{k: v for k, v in self.endpoints.items()})
        if self.insecure:
            self._warn_insecure()
        # no snapshot here: nobody can have subscribed to a socket just bound, and a monitor that
        # was connected before (a restart, a failover) re-sends its subscription, which is
        # answered with one (_drain_feed). Building it for nobody cost a takeover 0.2-1 s before
        # it served its first terminal (docs/scaling.md "Failover").
        self._commit()
        self.log.info("daemon.start_ms", **self.start_ms)
        if self.endpoints_file:
            tmp = self.endpoints_file.with_suffix(".tmp")
            tmp.write_text(json.dumps({**self.endpoints, "pid": _pid()}))
            tmp.replace(self.endpoints_file)

    def _server_socket(self, kind: int, domain: bytes = ZAP_DOMAIN) -> zmq.asyncio.Socket:
        sock = self.ctx.socket(kind)
        sock.linger = 500
        if not self.insecure:
            assert self.config.server_key is not None and self.config.server_key.secret is not None
            sock.curve_server = True
            sock.curve_secretkey = self.config.server_key.secret.encode()
            sock.curve_publickey = self.config.server_key.public.encode()
            sock.zap_domain = domain
        return sock

    @staticmethod
    def _last(sock: zmq.Socket) -> str:
        return sock.getsockopt(zmq.LAST_ENDPOINT).decode()

    def _warn_insecure(self) -> None:
        self.log.warning("daemon.insecure", message="CURVE IS OFF: any process that can reach the ROUTER "
                         "can speak for any login. Use only for local tests.", router=self.endpoints.get("router"))
        self._publish("daemon.insecure")

    def request_stop(self) -> None:
        if self.health is not None:
            self.health.stopping = True
        if self._stop is not None:
            self._stop.set()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.health is not None:
            self.health.stopping = True
            await self._health_server.close()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            try:
                await t
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
        core = self.core
        if core is not None:
            snapshots = getattr(self, "snapshots", None) or Snapshots.of(self.store, self.config, self.log)
            seq = await snapshots.close(core, self.clock(), self._commit)
            self._publish("daemon.stopped", journal_seq=seq)
        handed_over = core is not None and hand_over_terminals(self, core)
        if getattr(self, "transport", None) is not None:
            self.transport.close(self.router)
        for name in ("router", "admin", "pub", "zap"):
            sock = getattr(self, name, None)
            if sock is not None:
                sock.close(linger=(HAND_OVER_LINGER_MS if handed_over else 200) if name == "router" else 0)
        if self._gc_watch in gc.callbacks:
            gc.callbacks.remove(self._gc_watch)
        self.store.close()  # WAL checkpoint
        self.ctx.term()
        if self.lock is not None:
            self.lock.release()
        self.log.info("daemon.stopped", frames_in=self.stats["frames_in"], frames_out=self.stats["frames_out"],
                      **({"crashed_task": self.crashed.args[0]} if isinstance(self.crashed, TaskCrashed) else {}))

    # ------------------------------------------------------------------ the step
    def _send(self, conn: bytes, frame: bytes) -> SendResult:
        if perf_counter_ns() > self._send_deadline:  # the turn's time is up: the rest goes next turn
            self._pump_cut = True
            return SendResult.LATER
        sock = self.router_sync
        try:
            # two plain sends: pyzmq's send_multipart adds a Python loop per frame, and its
            # Python-level `Socket.send` half the cost of the backend's (a fan-out sends 20 000).
            # On a ROUTER the identity frame is queued atomically with the frame that ends the message.
            _raw_send(sock, conn, _SEND_MORE)
            _raw_send(sock, frame, _NOBLOCK)
        except zmq.Again:
            return SendResult.AGAIN
        except zmq.ZMQError as exc:
            if exc.errno == errno.EHOSTUNREACH:
                return SendResult.UNROUTABLE
            raise
        return _OK

    def _mark_input(self) -> int:
        """perf_counter_ns now; remembered as the step's start if it is its first input."""
        t = perf_counter_ns()
        if self._step_start is None:
            self._step_start = t
        return t

    def _commit(self, deadline_ns: int | None = None) -> None:
        """Journal the step, then send what it queued until `deadline_ns` (perf_counter_ns; by
        default one `ingest_budget_ms` from now), and at least half a budget of sending: a
        turn that spent its time reading still moves its backlog. Past it `_send` answers
        LATER (the core stops sending); the rest goes on the next turn, scheduled at once."""
        core = self.core
        assert core is not None
        batch = core.take_batch() if self.ledger is None else self.ledger.take_batch()  # + its sweep
        rows = commit_ns = 0
        if batch:
            t = perf_counter_ns()
            (self.store if self.ledger is None else self.ledger).write(batch)
            rows = batch.size()
            commit_ns = perf_counter_ns() - t
            self.stats["commits"] += 1
            if self._step_start is not None:
                core.note_commit(perf_counter_ns() - self._step_start)
        self._step_start = None
        if hasattr(self, "router_sync"):
            budget_ns = self.config.ingest_budget_ms * 1_000_000
            now_ns = perf_counter_ns()
            self._send_deadline = max(deadline_ns or now_ns + budget_ns, now_ns + budget_ns // 2)
            self._pump_cut = False
            self.stats["frames_out"] += core.pump(self._send, self.clock())
            if self._pump_cut:
                self._drain_soon()  # the rest of the backlog, after whatever else is waiting
        if batch and self._settle is not None:  # the step's SQLite commit, once its commands left (store_ahead.py)
            t = perf_counter_ns()
            self._settle()
            commit_ns += perf_counter_ns() - t
        if rows:  # the commit's cost per row, so a turn can reserve time for its own commit
            self.commit_ns_per_row += (min(commit_ns // rows, 1_000_000) - self.commit_ns_per_row) // 8
        self._send_feed()
        for level, event, kw in core.take_logs():
            getattr(self.log, level)(event, **kw)

    def _publish(self, topic: str, **body: Any) -> None:
        """A shell-originated item (daemon.*, auth.denied): through the core, for the envelope."""
        core = self.core
        if core is None:
            return
        core.publish(topic, **body)
        self._commit()

    # ------------------------------------------------------------------ loops
    def _task(self, coro: Any, name: str) -> asyncio.Task:
        async def guarded() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except BaseException as exc:
                # the exception as fields (JSON logs carry no exc_info rendering); the process
                # then exits non-zero, so a supervisor (systemd Restart=on-failure) restarts it
                self.log.error("daemon.task_crashed", task=name, exc_type=type(exc).__name__,
                               exc_message=str(exc), traceback=traceback.format_exc())
                if self.crashed is None:
                    self.crashed = TaskCrashed(name, exc)
                self.request_stop()
                raise

        self._loops.append(coro)
        return asyncio.create_task(guarded(), name=name)

    async def _router_loop(self) -> None:
        """Readiness callbacks on the ROUTER's FD (edge-triggered: a turn that leaves frames
        behind schedules the next one itself); the transport thread wakes it too."""
        loop = asyncio.get_running_loop()
        fd = self.router_sync.getsockopt(zmq.FD)
        loop.add_reader(fd, self._on_readable)
        self._drain_soon()
        try:
            await asyncio.Event().wait()
        finally:
            loop.remove_reader(fd)

    def _drain_soon(self) -> None:
        """Queue one router turn behind what the loop has waiting; at most one is ever queued.
        Every caller (the FD's readiness, a turn that left frames or sends behind, the transport
        thread) shares it: were each to queue a turn of its own, each queued turn would queue
        its successor, and under a steady flood the turns per loop iteration would grow without
        bound (measured: 9 -> 31 per iteration within a second, the timers 0.9 s late)."""
        if not self._drain_scheduled and not self._closed:
            self._drain_scheduled = True
            asyncio.get_running_loop().call_soon(self._queued_turn)

    def _queued_turn(self) -> None:
        if self._timers_overdue():  # the timer pass's wake-up is queued behind us: it goes first
            asyncio.get_running_loop().call_soon(self._queued_turn)
            return
        self._drain_scheduled = False
        self._drain_router()

    def _on_readable(self) -> None:
        """The ROUTER's FD is readable: read now, unless a queued turn is due to read anyway,
        or the timer pass is due (then a turn is queued behind it)."""
        if not self._drain_scheduled:
            if self._timers_overdue():
                self._drain_soon()
            else:
                self._drain_router()

    def _timers_overdue(self) -> bool:
        """The timer pass (ticks: heartbeats out, silence, expiry) is due and has not run. Its
        wake-up takes two loop iterations (the sleep's handle, then the task's step), each
        behind the turn queued before it: under a flood two more turns started after it fell
        due, and the slow reader's wake measured it 75-130 ms late (turns of 25-37 ms). So a
        turn steps aside for it, for a while only: a timer task that is gone (stopping) never
        holds the turns back."""
        due = self.timer_due_ns
        if not due:
            return False
        return 0 <= perf_counter_ns() - due < OVERDUE_GRACE_NS

    def _drain_router(self) -> None:
        """One bounded turn: transport events first, then at most `ingest_batch` frames or
        `ingest_budget_ms` of work (libzmq's ROUTER fair-queues its peers, so a flooding peer
        gets one share of them), one commit, and back to the event loop so timers and the
        other sockets run between turns. When the socket is found empty, the core learns it
        could read everything.

        The budget covers the whole turn: the clock is read after every frame (a frame can
        cost a fan-out), reading stops early enough to leave time for the commit the frames
        made (its rows x the measured cost per row), and sending stops at the budget's end
        (`_commit`). Example, budget 20 ms: 14 ms of results read, 1 200 journal rows at 4 us
        reserved -> reading stops; the commit takes ~5 ms, sending gets the rest of the 20 ms
        (at least 10 ms), and what is left goes on the next turn. That turn sends first, then
        reads (at least one frame): a 10 000-open fan-out leaves before new work is taken on."""
        if self._closed:  # a wake-up queued by the transport thread while we were closing
            return
        core = self.core
        assert core is not None
        self._drain_monitor()
        sync = self.router_sync
        now = self.clock()
        empty = False
        budget_ns = self.config.ingest_budget_ms * 1_000_000
        # No cyclic collection inside a step, nor before the turns that send the rest of what
        # it queued: a 10 000-investor fan-out allocates ~70 000 tracked objects, and the young
        # collection they trigger (~20 ms) would land between its first sends and its last.
        gc.disable()
        try:
            cpu0 = thread_time_ns()
            start = perf_counter_ns()
            deadline = start + budget_ns
            debug = self.debug
            if debug:
                in0, out0 = self.stats["frames_in"], self.stats["frames_out"]
            if self._pump_cut:  # journaled commands the last turn had no time to send go first
                self._commit(start + budget_ns * 3 // 4)
            per_row = self.commit_ns_per_row
            batch = core.pending_batch()  # the same object until the commit below
            for _ in range(self.config.ingest_batch):
                # EVENTS says whether a message waits: no zmq.Again raised (and its traceback
                # built) at the end of every turn, nor pyzmq's Python-level recv_multipart
                if not _raw_get(sync, _EVENTS) & _POLLIN:
                    empty = True
                    break
                frame = _raw_recv(sync, _NOBLOCK, False)
                parts = [frame]
                while frame.more:  # a message arrives whole: its other frames are there
                    frame = _raw_recv(sync, _NOBLOCK, False)
                    parts.append(frame)
                self._handle(parts, now)
                if perf_counter_ns() + per_row * batch.size() > deadline:
                    break  # a turn of expensive frames (hellos, results) ends on time, not on count
            if empty:
                core.on_read_idle(now)
            rows = batch.size() if debug else 0
            self._commit(deadline)  # sends on the socket, which may swallow the FD's edge: EVENTS is re-checked
            if debug and (self.stats["frames_in"] > in0 or self.stats["frames_out"] > out0):
                self.log.debug("loop.turn", frames_in=self.stats["frames_in"] - in0, rows=rows,
                               frames_out=self.stats["frames_out"] - out0, drained=empty,
                               wall_us=(perf_counter_ns() - start) // 1000)
        finally:
            if not self._pump_cut:  # else the turn that sends the rest (scheduled) enables it
                gc.enable()
        wall = perf_counter_ns() - start
        if wall > self.turn_max_ns:
            self.turn_max_ns, self.turn_cpu_ns = wall, thread_time_ns() - cpu0
        self._cut()
        if _raw_get(sync, _EVENTS) & _POLLIN:
            self._drain_soon()
        elif not empty:
            core.on_read_idle(now)

    def _handle(self, parts: list, now: int) -> None:
        core = self.core
        assert core is not None
        self.stats["frames_in"] += 1
        mono = self._mark_input()
        conn = parts[0].bytes
        last = parts[-1]
        if conn not in self.fd_of:
            self._track(conn, last)
        key_name = None
        if not self.insecure:
            try:
                key_name = last.get("User-Id")
            except zmq.ZMQError:
                key_name = None
        if len(parts) != 2:
            core.on_violation(conn, key_name, f"{len(parts) - 1} frames in one message", now)
            return
        core.on_frame(conn, key_name, last.bytes, now, mono)
        if core.feed.open_fanouts:
            core.timed(perf_counter_ns())

    async def _feed_loop(self) -> None:
        """Subscription messages on the XPUB (readiness callbacks, like the ROUTER)."""
        loop = asyncio.get_running_loop()
        fd = self.pub_sync.getsockopt(zmq.FD)
        loop.add_reader(fd, self._drain_feed)
        loop.call_soon(self._drain_feed)
        try:
            await asyncio.Event().wait()
        finally:
            loop.remove_reader(fd)

    def _drain_feed(self) -> None:
        """A message starting with byte 1 is a (re)subscription: answer with a snapshot at once
        (one per drain, however many subscriptions arrived)."""
        sync = self.pub_sync
        core = self.core
        assert core is not None
        subscribed = False
        while sync.getsockopt(zmq.EVENTS) & zmq.POLLIN:
            try:
                msg = sync.recv(zmq.NOBLOCK)
            except zmq.Again:
                break
            if msg[:1] == b"\x01":
                subscribed = True
                self.stats["feed_subscriptions"] += 1
                self.feed_subscriptions += 1
            elif msg[:1] == b"\x00":
                self.feed_subscriptions = max(0, self.feed_subscriptions - 1)
        if subscribed:
            core.publish_snapshot(self.clock())
            self._commit()

    async def _admin_loop(self) -> None:
        core = self.core
        assert core is not None
        while True:
            parts = await self.admin.recv_multipart(copy=False)
            if len(parts) != 2:
                continue
            key_name = None
            if not self.insecure:
                try:
                    key_name = parts[-1].get("User-Id")
                except zmq.ZMQError:
                    key_name = None
            request = parts[1].bytes  # decoded (within the frame limit) by the core
            on_admin = core.on_admin if self.ledger is None else self.ledger.admin  # [cluster] ledger: money first
            reply = on_admin(request, key_name, self.clock(), self._mark_input())
            self._commit()  # journaled before the reply
            self._drain_soon()  # its sends may have taken the ROUTER FD's edge; a turn of its own
            try:
                await self.admin.send_multipart([parts[0].bytes, msgpack.packb(reply, use_bin_type=True,
                                                                                default=str)])
            except zmq.ZMQError:
                pass


OVERDUE_GRACE_NS = 1_000_000_000  # a timer pass this late is presumed gone: turns stop waiting for it
_ZMTP_TTL_MAX = 6_553_599  # ms: libzmq carries the TTL in deciseconds in 16 bits

def _pid() -> int:
    import os

    return os.getpid()
