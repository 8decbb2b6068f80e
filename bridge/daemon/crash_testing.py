"""kill -9 at random points during fan-outs, on real sockets: the scenario shared by
tests/integration/test_daemon_crash.py (60 investors, in the suite) and
benchmarks/bench_kill_fanout.py (thousands, with its figures).

The daemon runs as a subprocess (`python -m bridge.cli daemon`). A trader opens and closes
positions; N investor subscriptions copy them (one investor connection bound to all N
logins, executing each command key once: `client.Executor`). A seeded RNG picks kill delays,
so kills land before, during and after the journaling of a fan-out, its sends, its SQLite
commit, and while results come back. After the last restart `violations` checks:

* every command the journal holds was executed by its terminal exactly once per key;
* no copy was opened twice for one (subscription, trader position);
* every command is answered (status done) and the engine's copy map equals the positions the
  investor terminals hold, for every trader position still open, and nothing else.
"""

from __future__ import annotations

import random
from collections import Counter
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from bridge.daemon.client import AdminClient, Executor, TerminalClient, wait_until
from bridge.daemon.testing import DaemonProcess, Setup, journal_commands, make_setup
from bridge.protocol import Open, Position

TRADER = 1001
FIRST_INVESTOR = 3001


@dataclass
class KillRun:
    """What one run left: the terminals' view, the journal's and the engine's."""

    investors: list[int]
    kills: int = 0
    settled: bool = False
    diagnosis: str = ""
    seconds: float = 0.0
    open_positions: set[int] = field(default_factory=set)  # trader tickets still open
    executions: dict[str, int] = field(default_factory=dict)  # key -> times executed
    received: int = 0  # command frames the investor connection received (re-sends included)
    opens: list[tuple[int, str]] = field(default_factory=list)  # (login, key) of every open received
    rows: list[tuple[str, int, str, str]] = field(default_factory=list)  # journal: key, login, type, status
    copies: dict = field(default_factory=dict)  # admin `copies`: subscription -> trader ticket -> copy
    held: dict[int, set[tuple[int, int, Decimal]]] = field(default_factory=dict)  # login -> terminal positions

    def violations(self) -> list[str]:
        out = []
        if not self.settled:
            out.append(f"never settled: {self.diagnosis}")
        if not self.executions:
            out.append("nothing executed")
        out += [f"{key} executed {n} times" for key, n in self.executions.items() if n != 1]
        executed_opens = {(login, key) for login, key in self.opens if key in self.executions}
        per_copy = Counter((login, key.split("-")[1]) for login, key in executed_opens)  # key: s<sub>-t<ticket>-...
        out += [f"login {login} trader ticket {t[1:]} opened {n} times" for (login, t), n in per_copy.items() if n > 1]
        journaled = {key for key, _, t, _ in self.rows if t != "balance"}
        if journaled != set(self.executions):
            out.append(f"journaled but not executed {sorted(journaled - set(self.executions))[:5]}, executed but "
                       f"not journaled {sorted(set(self.executions) - journaled)[:5]}")
        out += [f"{key}: {status}" for key, _, _, status in self.rows if status != "done"][:10]
        for sub_id, book in self.copies.items():
            login = self.investors[int(sub_id) - 1]
            engine_view = {(int(t), c["ticket"], Decimal(c["volume"])) for t, c in book.items()}
            if engine_view != self.held.get(login, set()):
                out.append(f"subscription {sub_id}: engine {sorted(engine_view)[:3]} != terminal "
                           f"{sorted(self.held.get(login, set()))[:3]}")
            if {t for t, _, _ in engine_view} != self.open_positions:
                out.append(f"subscription {sub_id} copies {sorted(t for t, _, _ in engine_view)} of open "
                           f"{sorted(self.open_positions)}")
        return out


def subscribe_investors(admin: AdminClient, logins: list[int]) -> None:
    """Trader `T` on account `TRADER` (commission 10 %), and per login an investor `I<i>`
    funded and subscribed with 100 000."""
    assert admin("register_trader", trader="T", account=TRADER, account_type="mt4_standard", leverage=100,
                 commission_pct="10")["ok"]
    for i, login in enumerate(logins):
        assert admin("deposit", owner=f"I{i}", amount="100000")["ok"]
        assert admin("subscribe", investor=f"I{i}", trader="T", account=login, amount="100000")["ok"]


def copy_terminals(router: str, setup: Setup, logins: list[int], clients: list[TerminalClient],
                   timeout: float = 30.0, *, follow_redirects: bool = False
                   ) -> tuple[TerminalClient, TerminalClient, Executor]:
    """(trader, investors, executor): the trader's connection (keys `trader`) and one investor
    connection speaking for `logins` (key `investors`, each command key executed once), added
    to `clients` and welcomed, every session (asserted within `timeout` s)."""
    trader = TerminalClient(router, setup.curve("trader"))
    inv = TerminalClient(router, setup.curve("investors"))
    clients += [inv, trader]
    for c in (inv, trader):
        c.follow_redirects = follow_redirects
    ex = Executor(inv)
    trader.hello(TRADER)
    for login in logins:
        inv.hello(login)
    assert wait_until(lambda: all(s.welcomed for s in inv.sessions.values()) and trader.sessions[TRADER].welcomed,
                      clients, timeout)
    return trader, inv, ex


def kill_during_fanouts(tmp: Path, *, investors: int, steps: int, seed: int, journal_url: str = "",
                        settle_s: float = 40.0, kill_share: float = 0.6) -> KillRun:
    """One run: `steps` trader steps (an open, every third also a close), a kill -9 and a
    restart after a share `kill_share` of them, then a wait of up to `settle_s` for every
    command to be answered and every open trader position copied once per subscription."""
    rng = random.Random(seed)
    logins = list(range(FIRST_INVESTOR, FIRST_INVESTOR + investors))
    run = KillRun(logins)
    setup = make_setup(tmp, {"trader": ([TRADER], "trader"), "investors": (logins, "investor"),
                             "ops": ([], "admin")},
                       heartbeat_ms=250, engine="open_validity_ms = 600000", journal_url=journal_url)
    daemon = DaemonProcess(setup.config_path).start()
    clients: list[TerminalClient] = []
    admin = None
    t0 = time.monotonic()
    try:
        def connect_admin() -> AdminClient:
            return AdminClient(daemon.endpoints["admin"], setup.curve("ops"))

        admin = connect_admin()
        subscribe_investors(admin, logins)
        # Endpoints keep their ports across restarts: pin them in the config now that we know them.
        text = setup.config_path.read_text()
        for name in ("router", "pub", "admin"):
            text = text.replace(f'{name} = "tcp://127.0.0.1:*"', f'{name} = "{daemon.endpoints[name]}"', 1)
        setup.config_path.write_text(text)

        trader, inv, ex = copy_terminals(daemon.endpoints["router"], setup, logins, clients, 30 + investors / 100)

        open_positions: dict[int, Position] = {}

        def restart() -> None:
            daemon.kill()
            run.kills += 1
            daemon.start()

        for step in range(steps):
            ticket = 7000 + step
            open_positions[ticket] = trader.opened(TRADER, ticket, volume="0.1")
            trader.set_positions(TRADER, tuple(open_positions.values()))
            if step % 3 == 2:  # close an older one
                old = sorted(open_positions)[0]
                del open_positions[old]
                trader.set_positions(TRADER, tuple(open_positions.values()))
                trader.closed(TRADER, old, "0.1")
            if rng.random() < kill_share:
                deadline = time.monotonic() + rng.uniform(0.0, 0.25)
                wait_until(lambda: time.monotonic() >= deadline, clients, 5)  # keep answering meanwhile
                restart()
            else:
                wait_until(lambda: False, clients, rng.uniform(0.05, 0.3))

        def held() -> set[tuple[int, int]]:
            return {(login, int(p.comment.split("-")[1][1:])) for login, book in ex.positions.items()
                    for p in book.values()}

        want = {(login, t) for login in logins for t in open_positions}

        # Let everything settle: every position still open is copied once per subscription, closed ones not.
        def settled() -> bool:
            rows = journal_commands(setup.journal)
            if any(status == "pending" for _, _, t, status in rows if t != "balance"):
                return False
            return held() == want

        run.settled = wait_until(settled, clients, settle_s)
        if not run.settled:
            rows = journal_commands(setup.journal)
            pending = [r for r in rows if r[3] == "pending"]
            run.diagnosis = (f"pending={pending[:5]} ({len(pending)}), extra={sorted(held() - want)[:5]}, "
                             f"missing={sorted(want - held())[:5]} ({len(want - held())}), "
                             f"errors={trader.errors[-3:]} {inv.errors[-3:]}, log={daemon.log_path.read_text()[-3000:]}")
        run.seconds = time.monotonic() - t0
        admin.close()
        admin = connect_admin()
        run.copies = admin("copies")["copies"]
        assert daemon.terminate() == 0
    finally:
        for c in clients:
            c.close()
        if admin is not None:
            admin.close()
        daemon.kill()
    run.open_positions = set(open_positions)
    run.executions = dict(ex.executions)
    run.received = sum(ex.received.values())
    run.opens = [(m.login, m.key) for m in inv.inbox if isinstance(m, Open)]
    run.rows = journal_commands(setup.journal)
    run.held = {login: {(int(p.comment.split("-")[1][1:]), p.ticket, p.volume) for p in book.values()}
                for login, book in ex.positions.items()}
    return run
