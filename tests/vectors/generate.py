"""Regenerate tests/vectors/protocol_vectors.json, the protocol's golden vectors.

    .venv/bin/python tests/vectors/generate.py          # rewrite the file
    .venv/bin/python tests/vectors/generate.py --check  # exit 1 if it is stale

Deterministic: fixed values only, no clock, no randomness. Each vector is
{"name", "type", "hex", "value"}: `hex` is the canonical frame, `value` the msgpack
map it decodes to (floats as JSON numbers). The MQL codec must reproduce `hex`.
Never edit the JSON by hand; change this script and rerun it.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from decimal import Decimal as D
from pathlib import Path

import msgpack

from bridge.protocol import (
    AccountUpdate, Close, CommandResult, ErrorReply, Heartbeat, Hello, Message, Modify, Open,
    Position, PositionClosed, PositionModified, PositionOpened, Quote, Quotes, Redirect, Welcome, encode,
)  # fmt: skip
from bridge.protocol import (
    CancelOrder, ModifyOrder, Order, OrderFilled, OrderModified, OrderPlaced, OrderRemoved, OrdersSnapshot, PlaceOrder,
)  # fmt: skip

OUT = Path(__file__).with_name("protocol_vectors.json")

T0 = 1_700_000_000_000  # 2023-11-14T22:13:20Z, a fixed instant
LOGIN = 5_001_234

EURUSD = Position(
    ticket=70_001, symbol="EURUSD", side="buy", volume=D("1.5"), price=D("1.0853"),
    sl=D("1.08"), tp=D("0"), time=T0 - 60_000, magic=20_240_101, comment="copy:7f3a",
)  # fmt: skip
XAUUSD = Position(
    ticket=70_002, symbol="XAUUSD", side="sell", volume=D("0.01"), price=D("1987.65"),
    sl=D("0"), tp=D("1950.5"), time=T0 - 30_000, magic=0, comment="",
)  # fmt: skip


def _hello(seq_id: int, positions: tuple[Position, ...], platform: str = "MT5", offset: int = 7_200_000,
           margin_mode: str = "hedging") -> Hello:
    return Hello(
        id=seq_id, seq=1, ts=T0, login=LOGIN, role="trader", platform=platform,  # type: ignore[arg-type]
        account_type="mt5_standard" if platform == "MT5" else "mt4_standard", currency="USD",
        leverage=500, balance=D("10000"), equity=D("10012.37"), positions=positions, utc_offset_ms=offset,
        margin_mode=margin_mode,  # type: ignore[arg-type]
    )  # fmt: skip


VECTORS: tuple[tuple[str, Message], ...] = (
    ("hello_empty_positions", _hello(1, ())),
    ("hello_one_position_mt4", _hello(2, (EURUSD,), platform="MT4")),
    ("hello_two_positions", _hello(3, (EURUSD, XAUUSD))),
    ("hello_negative_offset", _hello(14, (), offset=-16_200_000)),  # UTC-4:30
    ("heartbeat_terminal", Heartbeat(id=4, seq=2, ts=T0 + 1_000, login=LOGIN)),
    ("heartbeat_small_ints", Heartbeat(id=0, seq=1, ts=0, login=127)),
    ("heartbeat_daemon", Heartbeat(id=900_001, seq=7, ts=T0 + 1_001, login=LOGIN)),
    (
        "position_opened_unicode_comment",
        PositionOpened(
            id=5, seq=3, ts=T0 + 1_500, login=LOGIN, ticket=70_003, symbol="GBPUSD", side="sell",
            volume=D("0.25"), price=D("1.4584"), sl=D("1.47"), tp=D("1.44"), time=T0 + 1_400,
            magic=-42, comment="копия ✓ 複製",
        ),  # fmt: skip
    ),
    (
        "position_opened_large_ticket",
        PositionOpened(
            id=6, seq=4, ts=T0 + 1_600, login=LOGIN, ticket=2**32 + 17, symbol="US30.cash",
            side="buy", volume=D("10000"), price=D("35123.4"), sl=D("0"), tp=D("0"),
            time=T0 + 1_550, magic=2**31 - 1, comment="max volume",
        ),  # fmt: skip
    ),
    (
        "position_modified",
        PositionModified(id=7, seq=5, ts=T0 + 2_000, login=LOGIN, ticket=70_001, sl=D("1.081"), tp=D("1.095"), time=T0 + 1_990),
    ),
    # the optional position `swap` (docs/protocol.md section 4, "Swap"): in a hello's position map,
    # at an open carried over a rollover, and a swap change alone after a rollover
    ("hello_position_with_swap", _hello(15, (dataclasses.replace(XAUUSD, swap=D("-3.27")),))),
    (
        "position_opened_with_swap",
        PositionOpened(
            id=16, seq=2, ts=T0 + 1_700, login=LOGIN, ticket=70_005, symbol="EURUSD", side="buy",
            volume=D("1"), price=D("1.0853"), sl=D("0"), tp=D("0"), time=T0 - 86_400_000,
            magic=0, comment="", swap=D("-7.2"),
        ),  # fmt: skip
    ),
    (
        "position_modified_swap_only",
        PositionModified(id=17, seq=6, ts=T0 + 2_100, login=LOGIN, ticket=70_001, sl=D("1.081"), tp=D("1.095"),
                         time=T0 + 2_050, swap=D("-21.6")),
    ),
    (
        "position_closed_partial",
        PositionClosed(
            id=8, seq=6, ts=T0 + 3_000, login=LOGIN, ticket=70_001, volume=D("0.5"), remaining=D("1"),
            price=D("1.0871"), time=T0 + 2_990, reason="client", profit=D("90"),
        ),  # fmt: skip
    ),
    (
        "position_closed_negative_profit",
        PositionClosed(
            id=9, seq=7, ts=T0 + 4_000, login=LOGIN, ticket=70_003, volume=D("0.25"), remaining=D("0"),
            price=D("1.47"), time=T0 + 3_990, reason="sl", profit=D("-290.5"),
        ),  # fmt: skip
    ),
    (
        "account_update",
        AccountUpdate(
            id=10, seq=8, ts=T0 + 5_000, login=LOGIN, balance=D("9809.5"), equity=D("9790.12"),
            margin=D("325.56"), free_margin=D("9464.56"), leverage=500,
        ),  # fmt: skip
    ),
    (
        "account_update_negative_free_margin",
        AccountUpdate(
            id=11, seq=9, ts=T0 + 6_000, login=LOGIN, balance=D("100"), equity=D("-12.5"),
            margin=D("250"), free_margin=D("-262.5"), leverage=1000,
        ),  # fmt: skip
    ),
    (
        "command_result_done",
        CommandResult(
            id=12, seq=10, ts=T0 + 7_000, login=LOGIN, key="c1.5001234.000017.open", ok=True,
            retcode=10009, ticket=70_004, price=D("1.31752"), volume=D("0.3"), time=T0 + 6_990, message="",
        ),  # fmt: skip
    ),
    (
        "command_result_no_money",
        CommandResult(
            id=13, seq=11, ts=T0 + 8_000, login=LOGIN, key="c1.5001234.000018.open", ok=False,
            retcode=10019, ticket=0, price=D("0"), volume=D("0"), time=T0 + 7_990, message="not enough money",
        ),  # fmt: skip
    ),
    (
        "quotes",
        Quotes(
            id=14, seq=12, ts=T0 + 9_000, login=LOGIN, quotes=(
                Quote(symbol="EURUSD", bid=D("1.08501"), ask=D("1.08512"), time=T0 + 8_990),
                Quote(symbol="USDJPY", bid=D("150.123"), ask=D("150.135"), time=T0 + 8_995),
            ),
        ),  # fmt: skip
    ),
    ("welcome", Welcome(id=900_000, seq=1, ts=T0 + 10, login=LOGIN, server_time=T0 + 10, heartbeat_ms=1000, resume=False)),
    ("welcome_resume", Welcome(id=900_100, seq=1, ts=T0 + 20, login=LOGIN, server_time=T0 + 20, heartbeat_ms=1000, resume=True)),
    ("welcome_resume_last_id", Welcome(id=900_200, seq=1, ts=T0 + 30, login=LOGIN, server_time=T0 + 30, heartbeat_ms=1000,
                                       resume=True, last_id=1_700_000_000_123_456)),
    ("welcome_quote_symbols", Welcome(id=900_300, seq=1, ts=T0 + 40, login=LOGIN, server_time=T0 + 40,
                                      heartbeat_ms=1000, resume=True, last_id=14,
                                      quote_symbols=("AUDUSD", "EURUSD", "GBPUSD", "USDCAD", "USDCHF", "USDJPY",
                                                     "USDNGN"))),
    ("redirect", Redirect(id=900_400, seq=1, ts=T0 + 50, login=LOGIN, shard="s2", endpoint="tcp://10.0.0.2:5570")),
    ("redirect_no_owner", Redirect(id=900_500, seq=1, ts=T0 + 60, login=LOGIN, shard="s2", endpoint="")),
    (
        "open",
        Open(
            id=900_002, seq=2, ts=T0 + 100, login=LOGIN, key="c1.5001234.000017.open", symbol="EURUSD",
            side="buy", volume=D("0.3"), sl=D("0"), tp=D("1.33"), magic=7_700_017, comment="c1.000017",
            expires=T0 + 30_100,
        ),  # fmt: skip
    ),
    ("close", Close(id=900_003, seq=3, ts=T0 + 200, login=LOGIN, key="c1.5001234.000019.close", ticket=70_004, volume=D("0.1"))),
    (
        "modify",
        Modify(id=900_004, seq=4, ts=T0 + 300, login=LOGIN, key="c1.5001234.000020.modify", ticket=70_004, sl=D("1.31"), tp=D("0")),
    ),
    # pending orders (issue 15 item 6): appended, the earlier vectors unchanged
    (
        "order_placed",
        OrderPlaced(
            id=15, seq=13, ts=T0 + 11_000, login=LOGIN, ticket=70_010, symbol="EURUSD", order_type="buy_limit",
            volume=D("0.1"), price=D("1.08"), sl=D("1.07"), tp=D("1.1"), expiration=T0 + 86_400_000,
            time=T0 + 10_990,
        ),  # fmt: skip
    ),
    (
        "order_modified",
        OrderModified(
            id=16, seq=14, ts=T0 + 12_000, login=LOGIN, ticket=70_010, price=D("1.079"), sl=D("1.069"),
            tp=D("1.099"), expiration=0, time=T0 + 11_990,
        ),  # fmt: skip
    ),
    ("order_removed", OrderRemoved(id=17, seq=15, ts=T0 + 13_000, login=LOGIN, ticket=70_011, removal="expired",
                                   time=T0 + 12_990)),
    (
        "order_filled",
        OrderFilled(
            id=18, seq=16, ts=T0 + 14_000, login=LOGIN, ticket=70_010, position=70_010, symbol="EURUSD",
            side="buy", volume=D("0.1"), price=D("1.079"), sl=D("1.069"), tp=D("1.099"), time=T0 + 13_990,
        ),  # fmt: skip
    ),
    (
        "place_order",
        PlaceOrder(
            id=900_006, seq=6, ts=T0 + 500, login=LOGIN, key="s3-o70010-place-1", symbol="EURUSD",
            order_type="sell_stop", volume=D("0.2"), price=D("1.08"), sl=D("1.1"), tp=D("1.07"),
            expiration=T0 + 86_400_000, magic=7_700_021, comment="s3-o70010",
        ),  # fmt: skip
    ),
    (
        "modify_order",
        ModifyOrder(id=900_007, seq=7, ts=T0 + 600, login=LOGIN, key="s3-o70010-modify-2", ticket=80_001,
                    price=D("1.079"), sl=D("1.099"), tp=D("1.069"), expiration=0),
    ),
    ("cancel_order", CancelOrder(id=900_008, seq=8, ts=T0 + 700, login=LOGIN, key="s3-o70010-cancel-3", ticket=80_001)),
    (
        "error",
        ErrorReply(
            id=900_005, seq=5, ts=T0 + 400, login=LOGIN, code="missing_field",
            detail="required field is absent", ref_id=13, field="volume",
        ),  # fmt: skip
    ),
    # the optional `margin_mode` (docs/protocol.md, hello): an MT5 netting account says it; hedging is left out
    ("hello_netting_account", _hello(30, (XAUUSD,), margin_mode="netting")),
    # issue 15 items 1, 3, 4: a stop-limit with its Limit price and the order's magic, the
    # orders snapshot after a welcome; appended, the earlier vectors unchanged
    (
        "order_placed_stop_limit_magic",
        OrderPlaced(
            id=19, seq=17, ts=T0 + 15_000, login=LOGIN, ticket=70_012, symbol="EURUSD",
            order_type="buy_stop_limit", volume=D("0.1"), price=D("1.0875"), sl=D("1.08"), tp=D("1.1"),
            expiration=0, time=T0 + 14_990, stoplimit=D("1.0865"), magic=2_024_001,
        ),  # fmt: skip
    ),
    (
        "place_order_stop_limit",
        PlaceOrder(
            id=900_009, seq=9, ts=T0 + 800, login=LOGIN, key="s3-o70012-place-1", symbol="EURUSD",
            order_type="buy_stop_limit", volume=D("0.2"), price=D("1.0875"), sl=D("1.08"), tp=D("1.1"),
            expiration=0, magic=7_700_021, comment="s3-o70012", stoplimit=D("1.0865"),
        ),  # fmt: skip
    ),
    (
        "modify_order_stop_limit",
        ModifyOrder(id=900_010, seq=10, ts=T0 + 900, login=LOGIN, key="s3-o70012-modify-2", ticket=80_002,
                    price=D("1.088"), sl=D("1.08"), tp=D("1.1"), expiration=0, stoplimit=D("1.087")),
    ),
    (
        "orders_snapshot",
        OrdersSnapshot(
            id=20, seq=2, ts=T0 + 16_000, login=LOGIN,
            orders=(
                Order(ticket=70_010, symbol="EURUSD", order_type="buy_limit", volume=D("0.1"), price=D("1.079"),
                      sl=D("1.069"), tp=D("1.099"), expiration=0, time=T0 + 11_990),
                Order(ticket=70_012, symbol="EURUSD", order_type="buy_stop_limit", volume=D("0.1"),
                      price=D("1.0875"), sl=D("1.08"), tp=D("1.1"), expiration=T0 + 86_400_000, time=T0 + 14_990,
                      stoplimit=D("1.0865"), magic=2_024_001),
            ),
        ),  # fmt: skip
    ),
)


def build_vectors() -> list[dict[str, object]]:
    vectors = []
    for name, message in VECTORS:
        frame = encode(message)
        value = msgpack.unpackb(frame, raw=False)
        vectors.append({"name": name, "type": message.TYPE, "hex": frame.hex(), "value": value})
    return vectors


def render() -> str:
    return json.dumps(build_vectors(), indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is stale: run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {len(VECTORS)} vectors to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
