"""Issue 12 item 8 at the daemon: a terminal frame with any numeric field outside its range is
answered with an `error` naming the field and the range, and changes nothing (no event, no
record, the engine's state byte for byte the same); the daemon never raises on it.

Every int and number field of every terminal -> daemon message, from the schema, with the
values that are outside every field's range and still fit msgpack (huge, negative huge, a
denormal, NaN, infinity, 2^64-1)."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import msgpack
import pytest
from corekit import T0, Net, make

from bridge.protocol.schema import (ENVELOPE, INT_KINDS, NUMBER_KINDS, ORDER_FIELDS, POSITION_FIELDS, QUOTE_FIELDS,
                                    SCHEMA, Direction)

LOGIN = 1001  # the trader account corekit registers
HELLO = dict(role="trader", platform="MT4", account_type="mt4_standard", currency="USD", leverage=100,
             balance=1000.0, equity=1000.0, positions=[], utc_offset_ms=0)
POSITION = dict(ticket=77, symbol="EURUSD", side="buy", volume=0.1, price=1.1, sl=0.0, tp=0.0, time=T0 + 1,
                magic=0, comment="")
BODIES = {
    "hello": HELLO,
    "position_opened": POSITION,
    "position_modified": dict(ticket=77, sl=1.0, tp=1.2, time=T0 + 2),
    "position_closed": dict(ticket=77, volume=0.1, remaining=0.0, price=1.2, time=T0 + 3, reason="client",
                            profit=10.0),
    "account_update": dict(balance=1000.0, equity=1000.0, margin=0.0, free_margin=1000.0, leverage=100),
    "command_result": dict(key="k", ok=True, retcode=10009, ticket=5, price=1.1, volume=0.1, time=T0 + 1,
                           message=""),
    "heartbeat": {},
    "quotes": dict(quotes=[dict(symbol="EURUSD", bid=1.1, ask=1.1001, time=T0 + 1)]),
    # pending orders (issue 15 item 6)
    "order_placed": dict(ticket=88, symbol="EURUSD", order_type="buy_limit", volume=0.1, price=1.09, sl=0.0, tp=0.0,
                         expiration=0, time=T0 + 1),
    "order_modified": dict(ticket=88, price=1.08, sl=0.0, tp=0.0, expiration=0, time=T0 + 2),
    "order_removed": dict(ticket=88, removal="cancelled", time=T0 + 3),
    "order_filled": dict(ticket=88, position=88, symbol="EURUSD", side="buy", volume=0.1, price=1.08, sl=0.0,
                         tp=0.0, time=T0 + 4),
}
ORDER = dict(BODIES["order_placed"], stoplimit=0.0, magic=5)
BODIES["orders_snapshot"] = dict(orders=[ORDER])  # after the welcome (issue 15 item 1)
TO_DAEMON = [t for t, s in SCHEMA.items() if Direction.TO_DAEMON in s.directions]
HOSTILE = {"int": [2**64 - 1, 2**63, -(2**63), 0.5, True], "number": [1e308, -1e308, 5e-324, math.nan, -math.inf,
                                                                      2**64 - 1, True]}


def cases() -> list[tuple[str, str, object]]:
    out = []
    for type_ in TO_DAEMON:
        fields = [(f.name, f) for f in ENVELOPE[2:] + SCHEMA[type_].fields]
        if type_ == "hello":
            fields += [(f"positions[0].{f.name}", f) for f in POSITION_FIELDS]
        if type_ == "quotes":
            fields += [(f"quotes[0].{f.name}", f) for f in QUOTE_FIELDS]
        if type_ == "orders_snapshot":
            fields += [(f"orders[0].{f.name}", f) for f in ORDER_FIELDS]
        for path, f in fields:
            kind = "int" if f.kind in INT_KINDS else "number" if f.kind in NUMBER_KINDS else None
            if kind is None:
                continue
            for value in HOSTILE[kind]:
                if f.kind in INT_KINDS and type(value) is int and f.int_range()[0] <= value <= f.int_range()[1]:
                    continue  # inside this field's range (magic takes any msgpack int)
                out.append((type_, path, value))
    return out


CASES = cases()
_IDS = itertools.count(10**6)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory):
    cfg, store, core = make(Path(tmp_path_factory.mktemp("ranges")))
    return core, store, Net()


def send(core, store, net, conn: bytes, type_: str, seq: int, now: int, fields: dict | None = None) -> list:
    body = {"v": 1, "type": type_, "id": next(_IDS), "seq": seq, "ts": now, "login": LOGIN,
            **BODIES[type_], **(fields or {})}
    core.on_frame(conn, None, msgpack.packb(body), now)
    store.write(core.take_batch())
    core.pump(net, now)
    return net.take(conn)


@pytest.mark.parametrize(("type_", "path", "value"), CASES, ids=[f"{t}.{p}={v!r}" for t, p, v in CASES])
def test_an_out_of_range_field_is_answered_and_changes_nothing(daemon, type_, path, value) -> None:
    core, store, net = daemon
    conn = f"c-{type_}-{path}-{value!r}".encode()  # its own connection (and rate bucket)
    now = T0 + 1000
    if type_ != "hello":
        send(core, store, net, conn, "hello", 1, now)
    state, seq, records = core.engine.to_bytes(), core.seq, store.db.execute("SELECT count(*) FROM records").fetchone()
    fields: dict[str, object] = {}
    if path.startswith("positions[0]."):
        fields["positions"] = [dict(POSITION, **{path.split(".", 1)[1]: value})]
    elif path.startswith("orders[0]."):
        fields["orders"] = [dict(ORDER, **{path.split(".", 1)[1]: value})]
    elif path.startswith("quotes[0]."):
        fields["quotes"] = [dict(BODIES["quotes"]["quotes"][0], **{path.split(".", 1)[1]: value})]
    else:
        fields[path] = value
    replies = send(core, store, net, conn, type_, 1 if type_ == "hello" else 2, now, fields)
    errors = [m for m in replies if m.TYPE == "error"]
    assert len(errors) == 1 and errors[0].field == path, replies
    assert errors[0].code in ("out_of_range", "negative_value", "zero_volume", "volume_too_large", "not_finite",
                              "inexact_number", "wrong_type")
    assert core.engine.to_bytes() == state and core.seq == seq  # no event reached the engine
    assert store.db.execute("SELECT count(*) FROM records").fetchone() == records


def test_the_sweep_reaches_every_terminal_message() -> None:
    assert {t for t, _, _ in CASES} == set(TO_DAEMON) and len(CASES) > 150
