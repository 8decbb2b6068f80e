"""Property: for any sequence of trader deals, the daemon receives byte-identical frames from
the gateway plugin and from terminals (issue 14, item 3: "The daemon cannot tell whether a
login is served by an EA or by the plugin").

Pure and in memory (`gateway_world`): one server per mode, the daemon core, every frame
through the codec. Random sequences of the trader's opens, partial closes, closes and SL/TP
modifications, with quotes in between (which may fire the SL/TP set) and leverage changes on
the investor accounts; after each step every link polls. Modes: investors by a terminal
(`terminal`), by the gateway (`gateway`), and traders by the gateway as well (`gateway-both`).
"""

from __future__ import annotations

from decimal import Decimal as D

from gateway_world import INVESTORS, MASTER, world
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from simulator.prices import Tick
from simulator.server import TradeRequest
from simulator.server import retcodes as rc

ZERO = D(0)
POINT = D("0.00001")
SPREAD = 10  # points
MODES = ("terminal", "gateway", "gateway-both")

OPEN = st.tuples(st.just("open"), st.sampled_from(("buy", "sell")), st.integers(1, 80))  # hundredths of a lot
PARTIAL = st.tuples(st.just("partial"), st.integers(0, 7), st.integers(1, 99))  # position, percent closed
CLOSE = st.tuples(st.just("close"), st.integers(0, 7))
MODIFY = st.tuples(st.just("modify"), st.integers(0, 7), st.integers(0, 60), st.integers(0, 60))  # SL, TP points; 0 none
QUOTE = st.tuples(st.just("quote"), st.integers(-120, 120), st.integers(1, 2500))  # bid move (points), ms later
LEVERAGE = st.tuples(st.just("leverage"), st.sampled_from(INVESTORS), st.sampled_from((50, 100, 200)))
# modifications and quotes twice as likely: an SL/TP fires only after both
steps = st.one_of(OPEN, PARTIAL, CLOSE, MODIFY, MODIFY, QUOTE, QUOTE, LEVERAGE)


def _apply(server, logins, step) -> int | None:
    """Run one step on the server; the retcode of the trader's request (None: nothing sent)."""
    trader = logins["trader"]
    positions = sorted(server.positions(trader), key=lambda p: p.ticket)
    kind = step[0]
    if kind == "quote":
        tick = server.symbol_tick("EURUSD")
        bid = max(D("1.05000"), min(D("1.15000"), tick.bid + step[1] * POINT))
        server.on_tick(Tick("EURUSD", server.now_ms + step[2], bid, bid + SPREAD * POINT))
        return None
    if kind == "leverage":
        server.set_leverage(logins[step[1]], step[2])  # may be refused with positions open: same in every mode
        return None
    if kind == "open":
        otype = rc.ORDER_TYPE_BUY if step[1] == "buy" else rc.ORDER_TYPE_SELL
        request = TradeRequest(rc.TRADE_ACTION_DEAL, "EURUSD", D(step[2]) / 100, otype)
    elif not positions:
        return None
    else:
        p = positions[step[1] % len(positions)]
        buy = p.type == rc.POSITION_TYPE_BUY
        if kind == "modify":
            tick = server.symbol_tick("EURUSD")
            ref = tick.bid if buy else tick.ask
            sl = ZERO if not step[2] else ref - step[2] * POINT if buy else ref + step[2] * POINT
            tp = ZERO if not step[3] else ref + step[3] * POINT if buy else ref - step[3] * POINT
            request = TradeRequest(rc.TRADE_ACTION_SLTP, "EURUSD", position=p.ticket, sl=sl, tp=tp)
        else:
            volume = p.volume if kind == "close" else (p.volume * step[2] / 100).quantize(D("0.01"))
            if not 0 < volume <= p.volume:
                return None
            otype = rc.ORDER_TYPE_SELL if buy else rc.ORDER_TYPE_BUY
            request = TradeRequest(rc.TRADE_ACTION_DEAL, "EURUSD", volume, otype, position=p.ticket)
    return server.order_send(server.login(trader, MASTER), request, reason=rc.DEAL_REASON_CLIENT).retcode


def _run(mode: str, sequence) -> tuple[dict, list, list]:
    server, daemon, wire, logins, _ = world(mode)
    retcodes = []
    for step in sequence:
        retcodes.append(_apply(server, logins, step))
        wire.poll()
    assert not daemon.pending and not daemon.awaiting
    copies = [[(p.type, p.volume, p.sl, p.tp) for p in server.positions(logins[x])] for x in INVESTORS]
    return wire.up, retcodes, copies


@settings(max_examples=80, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(steps, min_size=1, max_size=16))
@example([("open", "buy", 50), ("modify", 0, 20, 30), ("quote", -40, 1000)])  # the SL fires, on the copies too
@example([("open", "sell", 30), ("open", "buy", 20), ("modify", 0, 30, 10), ("leverage", "inv3", 200),
          ("partial", 1, 50), ("quote", 25, 500), ("quote", -60, 1500), ("close", 0)])
def test_gateway_links_and_terminals_send_byte_identical_frames_for_any_trader_deals(sequence):
    runs = {mode: _run(mode, sequence) for mode in MODES}
    frames = {mode: r[0] for mode, r in runs.items()}
    # the same trader history in every mode (the investor side is what differs)
    assert runs["gateway"][1] == runs["terminal"][1] == runs["gateway-both"][1]
    assert runs["gateway"][2] == runs["terminal"][2] == runs["gateway-both"][2]
    assert frames["gateway"][b"I"] == frames["terminal"][b"I"]
    assert frames["gateway"][b"T"] == frames["terminal"][b"T"]
    assert frames["gateway-both"] == frames["terminal"]
