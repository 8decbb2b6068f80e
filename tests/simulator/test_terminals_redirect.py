"""The simulated terminal follows `redirect` (daemons sharded by trader, docs/protocol.md).

"A terminal may connect to any daemon; one that does not own its login answers `hello` with a
`redirect` (documented in docs/protocol.md, implemented in the simulated terminals and the
EAs)." (issue 16, section 2)"""

from __future__ import annotations

from bridge.protocol import Redirect, Welcome
from simulator.terminals import TerminalCore, login_sessions
from simulator.terminals.core import MAX_REDIRECTS
from tests.simulator.test_terminals_core import MASTER, NOW, account, new_server, quote


def core_of() -> tuple[TerminalCore, int]:
    server = new_server()
    quote(server, "1.10000", "1.10010")
    login = account(server)
    (session,) = login_sessions(server, [(login, MASTER)])
    return TerminalCore(server, [session], next_id=100), login


def redirect(login: int, endpoint: str, seq: int = 1) -> Redirect:
    return Redirect(id=900, seq=seq, ts=NOW, login=login, shard="s2", endpoint=endpoint)


def test_a_redirect_sends_the_terminal_to_the_shards_owner_with_a_new_hello() -> None:
    core, login = core_of()
    core.connect(NOW)
    assert core.receive(redirect(login, "tcp://10.0.0.2:5570"), NOW) == []
    assert core.redirect_to == "tcp://10.0.0.2:5570"
    assert core.check(NOW) == f"login {login}: shard s2 is served at tcp://10.0.0.2:5570"
    assert not core.welcomed()
    (hello,) = core.connect(NOW + 1)  # the shell reconnected there
    assert hello.seq == 1
    core.receive(Welcome(id=901, seq=1, ts=NOW, login=login, server_time=NOW, heartbeat_ms=1000, resume=True), NOW)
    assert core.welcomed() and core.redirects == 0


def test_no_owner_yet_and_a_bounce_between_stale_daemons_are_bounded() -> None:
    core, login = core_of()
    core.connect(NOW)
    core.receive(redirect(login, ""), NOW)
    assert core.redirect_to == "" and "(no owner yet)" in core.check(NOW)
    for i in range(MAX_REDIRECTS - 1):
        core.connect(NOW + i)
        core.receive(redirect(login, f"tcp://10.0.0.{i % 2 + 1}:5570"), NOW)
    core.connect(NOW + 10)
    core.receive(redirect(login, "tcp://10.0.0.1:5570"), NOW)  # one too many: back off
    assert core.redirect_to is None and "redirect refused" in core.check(NOW) and core.redirects == 0


def test_an_unsolicited_redirect_mid_session_moves_the_terminal_and_a_stray_one_is_refused() -> None:
    """Rebalancing: "moving a shard to another daemon on purpose (drain, hand over the lease,
    redirect terminals)" (issue 16, section 2) -- the drained daemon sends `redirect` as the
    session's next seq (docs/protocol.md `redirect`)."""
    core, login = core_of()
    core.connect(NOW)
    core.receive(Welcome(id=901, seq=1, ts=NOW, login=login, server_time=NOW, heartbeat_ms=1000, resume=False), NOW)
    assert core.welcomed()
    core.receive(redirect(login, "tcp://10.0.0.2:5570", seq=2), NOW)  # the welcomed session's next seq
    assert core.redirect_to == "tcp://10.0.0.2:5570"
    assert core.check(NOW) == f"login {login}: shard s2 is served at tcp://10.0.0.2:5570"
    (hello,) = core.connect(NOW + 1)
    assert hello.seq == 1
    core.receive(Welcome(id=902, seq=1, ts=NOW, login=login, server_time=NOW, heartbeat_ms=1000, resume=True), NOW)
    core.receive(redirect(login, "tcp://10.0.0.3:5570", seq=5), NOW)  # a gap: not this session's next frame
    assert core.redirect_to is None and "redirect refused" in core.check(NOW)
