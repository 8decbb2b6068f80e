"""Rebalancing's last act in the daemon shell (`mtbridge cluster hand-over`, docs/scaling.md):
the drained owner hands its terminals to the new owner instead of leaving them to notice its
silence.

Order, from `Daemon.close` after the last step and the final snapshot are committed:
release the lease reserved to the target, wait until the target holds it (its row then names
its endpoint), send every started session an unsolicited `redirect` (the session's next seq,
docs/protocol.md) naming that endpoint, close the ROUTER with a linger long enough for them
to leave. Nothing is journaled any more: from the target's takeover on, its token fences this
daemon, and the commands still unanswered are sent again by the target from the journal with
the same idempotency keys (no loss, no duplicate).

Example: d1 owns s1, `mtbridge cluster hand-over s1 d2`; d1 stops, releases s1, sees d2 take
it with endpoint tcp://10.0.0.2:5570 and sends 10 001 `redirect {shard: s1, endpoint:
tcp://10.0.0.2:5570}`; the terminals say `hello` to d2 at once (not after 5 heartbeats).
"""

from __future__ import annotations

import time
from time import perf_counter_ns
from typing import Any

HAND_OVER_LINGER_MS = 2000  # a handed-over daemon's redirects get this long to leave


def hand_over_terminals(daemon: Any, core: Any) -> bool:
    """True if this daemon was draining and has redirected its terminals (daemon: the
    server.Daemon shell, core: its DaemonCore)."""
    store = daemon.store
    draining_to = getattr(store, "draining_to", None)
    if draining_to is None or draining_to() is None or not hasattr(daemon, "router_sync"):
        return False
    shard = store.fence[0]
    lease = store.hand_over()
    endpoint = lease.endpoint if lease is not None else ""  # "": the terminals find the owner themselves
    terminals = core.redirect_all(shard, endpoint)
    sent, deadline = 0, time.monotonic() + HAND_OVER_LINGER_MS / 1000
    while True:  # a full pipe (AGAIN) leaves logins dirty: pump again, bounded
        daemon._send_deadline = perf_counter_ns() + daemon.config.ingest_budget_ms * 1_000_000
        sent += core.pump(daemon._send, daemon.clock())
        if not core.dirty or time.monotonic() > deadline:
            break
        time.sleep(0.005)  # the peers' pipes drain in libzmq's I/O thread
    daemon.log.info("cluster.handed_over", shard=shard, to=lease.owner if lease else "", endpoint=endpoint,
                    terminals=terminals, redirects_sent=sent)
    return True
