"""CURVE + ZAP: unknown keys and plain-text peers get nothing; wrong-login messages are refused;
malformed frames (hypothesis) never crash the daemon, which keeps serving meanwhile."""

from __future__ import annotations

import time
from pathlib import Path

import msgpack
import pytest
from typing import Any
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.daemon.client import AdminClient, Curve, Executor, TerminalClient, sync_context, wait_until
from bridge.daemon.config import load_config
from bridge.daemon.keys import generate_keypair
from bridge.daemon.running import DaemonThread
from bridge.daemon.testing import journal_commands, make_setup
from bridge.protocol import Heartbeat, Open

pytestmark = pytest.mark.integration

TRADER, INV = 1001, 2001


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory):
    setup = make_setup(tmp_path_factory.mktemp("sec"), {"trader": ([TRADER], "trader"),
                                                       "investor": ([INV], "investor"),
                                                       "fuzzer": ([4001], "investor"),
                                                       "ops": ([], "admin")}, heartbeat_ms=500)
    daemon = DaemonThread(load_config(setup.config_path)).start()
    feed = sync_context().socket(zmq.SUB)
    feed.linger = 0
    ops = setup.curve("ops")  # the feed is CURVE too: keys of role admin or monitor
    feed.curve_serverkey, feed.curve_publickey, feed.curve_secretkey = (
        ops.server_public.encode(), ops.public.encode(), ops.secret.encode())
    feed.setsockopt(zmq.SUBSCRIBE, b"auth.")
    feed.setsockopt(zmq.SUBSCRIBE, b"daemon.stats")
    feed.connect(daemon.endpoints["pub"])
    # the feed's CURVE handshake must be done before a test provokes its first refusal: a
    # refusal published to nobody is then aggregated for log_aggregate_ms (the next one waits)
    assert _feed_topics(feed, "daemon.stats", 60.0), "the feed never delivered a daemon.stats beat"
    feed.setsockopt(zmq.UNSUBSCRIBE, b"daemon.stats")
    yield setup, daemon, feed
    feed.close()
    daemon.stop()


def _feed_item(feed: zmq.Socket, want: str, match: Any, timeout: float = 10.0) -> bool:
    """True once an item of topic `want` whose body satisfies `match` arrives."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if feed.poll(100):
            topic, body = feed.recv_multipart()
            if topic.decode() == want and match(msgpack.unpackb(body, raw=False)):
                return True
    return False


def _feed_topics(feed: zmq.Socket, want: str, timeout: float = 10.0) -> bool:
    return _feed_item(feed, want, lambda _body: True, timeout)


def test_unknown_key_gets_nothing_and_is_logged(env) -> None:  # noqa: ANN001
    setup, daemon, feed = env
    stranger = generate_keypair()
    curve = Curve(setup.server.public, stranger.public, stranger.secret)
    seen, clients = False, []
    try:
        deadline = time.monotonic() + 30
        while not seen and time.monotonic() < deadline:  # a fresh handshake each round (slow-joiner safe)
            c = TerminalClient(daemon.endpoints["router"], curve)
            clients.append(c)
            try:
                c.hello(TRADER)
            except zmq.Again:
                pass  # no handshaken peer to queue to: expected for a refused key
            seen = _feed_topics(feed, "auth.denied", 1.0)
        assert seen
        assert not wait_until(lambda: any(c.inbox for c in clients), clients, 1.0)
        assert TRADER not in daemon.call(lambda: list(daemon.daemon.core.session_of))
    finally:
        for c in clients:
            c.close()


def test_plain_text_peer_gets_nothing_and_is_logged_with_its_address(env) -> None:  # noqa: ANN001
    _setup, daemon, feed = env
    c = TerminalClient(daemon.endpoints["router"], None)
    try:
        try:
            c.hello(TRADER)
        except zmq.Again:
            pass  # no handshaken peer to queue to
        assert not wait_until(lambda: bool(c.inbox), [c], 1.0)
        assert TRADER not in daemon.call(lambda: list(daemon.daemon.core.session_of))
        # who hangs up first decides what libzmq can tell: a mechanism mismatch, or the peer closing
        assert _feed_item(feed, "auth.denied", lambda b: b.get("socket") == "router" and (
            "not CURVE" in b.get("reason", "") or "no CURVE" in b.get("reason", "")))
    finally:
        c.close()


def test_a_known_key_with_the_wrong_secret_is_refused_and_logged(env) -> None:  # noqa: ANN001
    setup, daemon, feed = env
    known = setup.curve("trader")
    impostor = generate_keypair()  # someone who knows the public key but not its secret
    c = TerminalClient(daemon.endpoints["router"], Curve(known.server_public, known.public, impostor.secret,
                                                         "trader"))
    try:
        try:
            c.hello(TRADER)
        except zmq.Again:
            pass
        assert _feed_item(feed, "auth.denied", lambda b: b.get("socket") == "router" and (
            "CURVE handshake failed" in b.get("reason", "") or "no CURVE" in b.get("reason", ""))
            and bool(b.get("address")))
        assert not wait_until(lambda: bool(c.inbox), [c], 0.5)
    finally:
        c.close()


def test_message_for_unbound_login_is_refused(env) -> None:  # noqa: ANN001
    setup, daemon, feed = env
    c = TerminalClient(daemon.endpoints["router"], setup.curve("investor"))
    try:
        c.hello(TRADER)  # the investor key is bound to 2001 only
        assert wait_until(lambda: any(e.code == "login_not_bound" for e in c.errors), [c], 10)
        assert _feed_topics(feed, "auth.login_refused")
        assert TRADER not in daemon.call(lambda: list(daemon.daemon.core.session_of))
    finally:
        c.close()


def test_admin_requires_an_admin_key(env) -> None:  # noqa: ANN001
    """A terminal key is refused at the handshake (ZAP domain mtbridge-admin): no request of
    its is ever read, and the refusal is on the feed with the socket and the peer address."""
    setup, daemon, feed = env
    a = AdminClient(daemon.endpoints["admin"], setup.curve("trader"))
    try:
        with pytest.raises(TimeoutError):
            a("status", timeout=1.0)
        assert _feed_item(feed, "auth.denied", lambda b: b.get("socket") == "admin" and b.get("reason") == "role"
                          and bool(b.get("address")))
    finally:
        a.close()


_frames = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda d: msgpack.packb(d, use_bin_type=True),
              st.dictionaries(st.sampled_from(["v", "type", "id", "seq", "ts", "login", "key", "ok", "ticket",
                                               "positions", "volume", "x"]),
                              st.one_of(st.integers(-2**63, 2**64 - 1), st.floats(), st.text(max_size=20),
                                        st.booleans(), st.none(), st.binary(max_size=10),
                                        st.sampled_from(["hello", "heartbeat", "command_result", "open",
                                                         "position_opened"]),
                                        st.lists(st.integers(-2**63, 2**63 - 1), max_size=3)),
                              max_size=12)),
    st.lists(st.binary(max_size=20), min_size=2, max_size=3),  # multi-frame messages
)


def test_malformed_frames_never_crash_and_traffic_flows(env) -> None:  # noqa: ANN001
    setup, daemon, _feed = env
    admin = AdminClient(daemon.endpoints["admin"], setup.curve("ops"))
    trader = TerminalClient(daemon.endpoints["router"], setup.curve("trader"))
    inv = TerminalClient(daemon.endpoints["router"], setup.curve("investor"))
    fuzz = TerminalClient(daemon.endpoints["router"], setup.curve("fuzzer"))
    ex = Executor(inv)
    clients = [inv, trader, fuzz]
    try:
        assert admin("register_trader", trader="T", account=TRADER, account_type="mt4_standard", leverage=100,
                     commission_pct="0")["ok"]
        assert admin("deposit", owner="I", amount="100000")["ok"]
        assert admin("subscribe", investor="I", trader="T", account=INV, amount="100000")["ok"]
        trader.hello(TRADER)
        inv.hello(INV)
        fuzz.hello(4001)
        assert wait_until(lambda: trader.sessions[TRADER].welcomed and inv.sessions[INV].welcomed, clients)
        tickets = iter(range(10_000, 20_000))

        @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
        @given(frames=st.lists(_frames, min_size=1, max_size=4))
        def run(frames: list) -> None:
            for f in frames:
                fuzz.send_raw(f)
            ticket = next(tickets)
            trader.opened(TRADER, ticket, volume="0.01")
            key = f"s1-t{ticket}-open-1"
            assert wait_until(lambda: key in ex.executions, clients, 20), "well-formed traffic stalled"

        run()
        # the fuzzer's own session still works after all that
        fuzz.reconnect()
        assert wait_until(lambda: fuzz.sessions[4001].welcomed, clients, 10)
        fuzz.send(4001, Heartbeat)
        assert all(n == 1 for n in ex.executions.values())
        assert len([m for m in inv.inbox if isinstance(m, Open)]) == len(ex.executions)
        assert daemon.thread.is_alive()
        assert all(status == "done" for _, _, t, status in journal_commands(setup.journal) if t == "open")
    finally:
        for c in clients:
            c.close()
        admin.close()
