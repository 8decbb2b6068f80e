"""The simulated terminal reports the daemon's conversion pairs (issue 12 item 1.3: "make sure
it does get them in the normal flow"): `welcome.quote_symbols` -> `quotes`, each symbol on
change and at most once per `quote_every_ms`, one frame per poll, from one login's stream."""

from __future__ import annotations

from decimal import Decimal as D

from test_terminals_core import MASTER, NOW, Daemon, account, new_server, quote, roundtrip

from bridge.protocol import Quotes, Welcome
from simulator.terminals import TerminalCore, login_sessions


def _started(server, logins, asked=("EURUSD", "USDJPY", "USDNGN"), every_ms=1000):
    core = TerminalCore(server, login_sessions(server, [(x, MASTER) for x in logins]), quote_every_ms=every_ms)
    core.connect(NOW)
    d = Daemon()
    for login in core.logins:
        core.receive(d.msg(Welcome, login, server_time=NOW, heartbeat_ms=1000, resume=False,
                           quote_symbols=asked), NOW)
    return core


def _quotes(out) -> list[Quotes]:
    return [m for m in roundtrip(out) if isinstance(m, Quotes)]


def test_the_asked_symbols_the_server_quotes_are_reported_on_change_at_most_once_per_interval():
    server = new_server()
    quote(server, "1.10000", "1.10010")
    quote(server, "150.100", "150.120", symbol="USDJPY")
    a, b = account(server), account(server, "bob@example.com")
    core = _started(server, [a, b])
    (msg,) = _quotes(core.poll(NOW))
    assert msg.login == min(a, b)  # one stream reports for the whole connection
    # USDNGN is not quoted by this server: skipped; the others as the first account sees them
    # (feed bid, ask + its account type's markup), at the quote's own time
    seen = [server.symbol_tick(s, msg.login) for s in ("EURUSD", "USDJPY")]
    assert [(q.symbol, q.bid, q.ask, q.time) for q in msg.quotes] == [(t.symbol, t.bid, t.ask, t.time_msc)
                                                                      for t in seen]
    assert msg.quotes[1].bid == D("150.100")
    assert _quotes(core.poll(NOW + 2000)) == []  # unchanged: nothing
    quote(server, "1.10020", "1.10030")
    (msg,) = _quotes(core.poll(NOW + 2100))
    assert [(q.symbol, q.bid) for q in msg.quotes] == [("EURUSD", D("1.1002"))]
    quote(server, "1.10040", "1.10050")  # a change within the interval waits for its end
    assert _quotes(core.poll(NOW + 2500)) == []
    (msg,) = _quotes(core.poll(NOW + 3100))
    assert [(q.symbol, q.bid) for q in msg.quotes] == [("EURUSD", D("1.1004"))]


def test_nothing_is_reported_without_quote_symbols():
    server = new_server()
    quote(server, "1.10000", "1.10010")
    core = _started(server, [account(server)], asked=())
    assert _quotes(core.poll(NOW)) == []
