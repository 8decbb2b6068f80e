"""Simulated MetaTrader terminals: what the mtbridge expert advisors do, on the simulated
trade server, over the real wire protocol.

- `TerminalCore` (sans-I/O): decoded messages + server state + now in, messages out; one
  core speaks for one connection and any number of logins (see `simulator.terminals.core`).
- `TerminalClient` (asyncio + pyzmq DEALER, CURVE or insecure): the shell around a core,
  with reconnect/backoff and latency stamps (see `simulator.terminals.shell`).
- `LatencyRecorder`: trader event sent -> copy command received, perf_counter_ns.

A "trader terminal" and an "investor terminal" are the same core: the same EA runs on both
kinds of account. What differs is the password each login uses (`login_sessions`): master
-> role `trader` (may receive and execute commands), investor password -> role `investor`
(read-only reporting). Both report their accounts' events.
"""

from simulator.terminals.core import (
    CLOSE_REASONS,
    CommandSeen,
    StoredResult,
    TerminalCore,
    close_reason,
    position_map,
    wire_number,
)
from simulator.terminals.latency import LatencyRecorder, percentile, ticket_from_key

__all__ = [
    "CLOSE_REASONS", "CommandSeen", "LatencyRecorder", "StoredResult", "TerminalClient", "TerminalCore",
    "close_reason", "login_sessions", "percentile", "position_map", "ticket_from_key", "wire_number",
]  # fmt: skip


def login_sessions(server, credentials):
    """`TradeServer.login` for each (login, password); raises ValueError on a refusal."""
    out = []
    for login, password in credentials:
        s = server.login(login, password)
        if not hasattr(s, "read_only"):
            raise ValueError(f"login {login}: {s}")
        out.append(s)
    return out


def __getattr__(name):  # the shell imports pyzmq: load it only when asked for
    if name == "TerminalClient":
        from simulator.terminals.shell import TerminalClient

        return TerminalClient
    raise AttributeError(name)
