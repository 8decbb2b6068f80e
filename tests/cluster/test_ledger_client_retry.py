"""The shipped admin client and the cluster ledger's exactly-once funding.

"exactly once even when two daemons race on the same request" (issue 16, section 2). The
ledger keys a request's funding on its *text* id (the client's idempotency token); the admin
client gives every request a UUID and sends the same request again, same id, after a lost
reply -- so a retried subscribe moves its money once (docs/scaling.md "Money that crosses
shards")."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

pytest.importorskip("psycopg")

import msgpack  # noqa: E402
import zmq  # noqa: E402

from bridge.daemon.adminclient import AdminClient  # noqa: E402
from ledgerkit import Shard, ledger_rows, register_trader, take_shard  # noqa: E402


class LossyAdmin:
    """A shard's admin endpoint (a ROUTER in a thread, the shard's ledger behind it) that loses
    the reply to the first `subscribe` it serves: the request ran, the client never heard."""

    def __init__(self, shard: Shard, ctx: zmq.Context) -> None:
        self.shard, self.seen = shard, []
        self.sock = ctx.socket(zmq.ROUTER)
        self.sock.linger = 0
        self.sock.bind("tcp://127.0.0.1:*")
        self.endpoint = self.sock.getsockopt_string(zmq.LAST_ENDPOINT)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        lost = False
        while not self.stop.is_set():
            if not self.sock.poll(50):
                continue
            ident, frame = self.sock.recv_multipart()
            request = msgpack.unpackb(frame, raw=False)
            self.seen.append(request["id"])
            reply = self.shard.admin(request["op"], request["id"], **request.get("args") or {})
            if request["op"] == "subscribe" and not lost:
                lost = True
                continue
            self.sock.send_multipart([ident, msgpack.packb(reply, use_bin_type=True, default=str)])

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.sock.close(0)


def test_a_retried_subscribe_through_the_admin_client_moves_its_money_once(pg_url: str) -> None:
    s1 = Shard(pg_url, "s1", take_shard(pg_url, "s1"))
    ctx = zmq.Context()
    server = LossyAdmin(s1, ctx)
    try:
        with AdminClient(server.endpoint, ctx=ctx) as client:
            assert client("deposit", owner="I", amount=Decimal(1000))["ok"]
            register_trader(s1, "T", 1001)
            # the first reply is lost: the client waits its timeout, then sends the same request
            reply = client("subscribe", timeout=2.0, retries=5, investor="I", trader="T", account=2001,
                           amount=Decimal(700))
        ids = server.seen[1:]  # the subscribe, sent and resent
        assert len(ids) >= 2 and len(set(ids)) == 1 and isinstance(ids[0], str), server.seen  # one token, resent
        assert reply["ok"] and reply["repeated"] is True and reply.get("refused") is None, reply
        assert [s.investor for s in s1.core.engine.subscriptions.values()] == ["I"]
        rows, balances = ledger_rows(pg_url)
        assert [r[0] for r in rows if r[0].startswith("req:subscribe:")] == [f"req:subscribe:{ids[0]}"]
        assert balances["wallet:I"] == Decimal(300)
    finally:
        server.close()
        s1.close()
        ctx.term()
