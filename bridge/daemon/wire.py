"""Pure translations at the daemon's edges.

* engine commands -> journal rows -> protocol frames (a fast canonical encoder for
  daemon-built, trusted messages: `bridge.protocol.encode` re-decodes its output as a
  self-check, too slow for a 10 000-investor fan-out; a test pins byte equality);
* engine events <-> journal JSON (replayed on recovery);
* engine records -> feed topics and msgpack-able maps.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any, Callable

import msgpack

from bridge.copytrading import events as ev
from bridge.copytrading import pending_messages as pm
from bridge.copytrading.commands import BalanceOperation, CloseCopy, Command, ModifyCopy, OpenCopy
from bridge.copytrading.state import dump as state_dump
from bridge.copytrading.state import stored_fields
from bridge.copytrading.state import load as state_load
from bridge.copytrading.engine import Engine
from bridge.daemon.store import CommandRow

if TYPE_CHECKING:
    from bridge.daemon.config import DaemonConfig

MAX_COMMENT = 31  # MT4/MT5 order comment length

_packer = msgpack.Packer(use_bin_type=True, use_single_float=False, autoreset=True)


# --- commands ---------------------------------------------------------------------------

def command_row(cmd: Command, seq: int) -> CommandRow:
    """Engine command -> its journal row."""
    return command_rows((cmd,), seq)[0]


def _order_row(cmd: object, seq: int) -> CommandRow:
    """Pending-order commands (issue 15 item 6) in the same columns: `side` holds the order
    type, `reason` the order's expiration (UTC ms as text, "0" = good till cancelled) - not
    `expires`, which is the daemon's send deadline of opens - and, for a stop-limit (item 3),
    `@` and its Limit price after it ("0@1.0865"): the other orders' rows stay as they were."""
    if type(cmd) is pm.PlaceOrder:
        return CommandRow(cmd.key, seq, cmd.id, cmd.account, "place_order", cmd.subscription, cmd.trader_order,
                          None, cmd.symbol, cmd.kind.value, str(cmd.volume), str(cmd.price), str(cmd.sl or 0),
                          str(cmd.tp or 0), _expiration_text(cmd.expiration, cmd.stoplimit))
    if type(cmd) is pm.ModifyOrder:
        return CommandRow(cmd.key, seq, cmd.id, cmd.account, "modify_order", cmd.subscription, cmd.trader_order,
                          cmd.order, None, None, None, str(cmd.price), str(cmd.sl or 0), str(cmd.tp or 0),
                          _expiration_text(cmd.expiration, cmd.stoplimit))
    if type(cmd) is pm.CancelOrder:
        return CommandRow(cmd.key, seq, cmd.id, cmd.account, "cancel_order", cmd.subscription, cmd.trader_order,
                          cmd.order, None, None, None, None, None, None, cmd.reason)
    raise TypeError(f"unknown command {type(cmd).__name__}")


def _expiration_text(expiration: int | None, stoplimit: Decimal | None) -> str:
    return f"{expiration or 0}@{stoplimit}" if stoplimit else str(expiration or 0)


def _order_times(row: CommandRow) -> tuple[int, float]:
    """(expiration, stoplimit) of an order command's row (`_order_row`)."""
    expiration, _, stoplimit = (row.reason or "0").partition("@")
    return int(expiration), _f(stoplimit)


_row = tuple.__new__  # CommandRow without its Python-level __new__ (same tuple, half the cost)


def command_rows(cmds: list[Command] | tuple[Command, ...], seq: int) -> list[CommandRow]:
    """One step's commands -> their journal rows, the one place a row is built. A fan-out's
    10 000 opens share their price, side and usually volume objects: each is turned to text
    once."""
    out = []
    price = volume = side = None
    price_text = volume_text = side_text = ""
    for cmd in cmds:
        t = type(cmd)
        if t is OpenCopy:
            if cmd.reference_price is not price:
                price = cmd.reference_price
                price_text = str(price)
            if cmd.volume is not volume:
                volume = cmd.volume
                volume_text = str(volume)
            if cmd.side is not side:
                side = cmd.side
                side_text = side.value
            out.append(_row(CommandRow, (cmd.key, seq, cmd.id, cmd.account, "open", cmd.subscription,
                                         cmd.trader_ticket, None, cmd.symbol, side_text, volume_text, price_text,
                                         None, None, None, cmd.expires_at)))
        elif t is CloseCopy:
            out.append(CommandRow(cmd.key, seq, cmd.id, cmd.account, "close", cmd.subscription, cmd.trader_ticket,
                                  cmd.ticket, None, None, str(cmd.volume), None, None, None, cmd.reason))
        elif t is ModifyCopy:
            out.append(CommandRow(cmd.key, seq, cmd.id, cmd.account, "modify", cmd.subscription, cmd.trader_ticket,
                                  cmd.ticket, None, None, None, None, str(cmd.sl or 0), str(cmd.tp or 0), None))
        elif t is BalanceOperation:
            out.append(CommandRow(cmd.key, seq, cmd.id, cmd.account, "balance", cmd.subscription, 0, None, None,
                                  None, str(cmd.amount), None, None, None, cmd.reason))
        else:
            out.append(_order_row(cmd, seq))  # pending orders (issue 15 item 6); TypeError for others
    return out


def comment_for(key: str) -> str:
    """The tag an `open` carries in its comment: the key itself, or a digest if too long."""
    if len(key) <= MAX_COMMENT and key.isascii():
        return key
    return "k:" + hashlib.sha1(key.encode()).hexdigest()[: MAX_COMMENT - 2]


def _f(text: str | None) -> float:
    f = float(text) if text else 0.0
    return f if f != 0 else 0.0


def command_wire(row: CommandRow, id_: int, seq: int, ts: int, magic: int) -> dict[str, Any]:
    """A journaled command -> its wire map (canonical key order, numbers as float).

    One dict literal per type: this runs 10 000 times per fan-out."""
    if row.type == "open":
        if row.expires:
            return {"v": 1, "type": "open", "id": id_, "seq": seq, "ts": ts, "login": row.login, "key": row.key,
                    "symbol": row.symbol, "side": row.side, "volume": _f(row.volume), "sl": 0.0, "tp": 0.0,
                    "magic": magic, "comment": comment_for(row.key), "expires": row.expires}
        return {"v": 1, "type": "open", "id": id_, "seq": seq, "ts": ts, "login": row.login, "key": row.key,
                "symbol": row.symbol, "side": row.side, "volume": _f(row.volume), "sl": 0.0, "tp": 0.0,
                "magic": magic, "comment": comment_for(row.key)}
    if row.type == "close":
        return {"v": 1, "type": "close", "id": id_, "seq": seq, "ts": ts, "login": row.login, "key": row.key,
                "ticket": row.ticket, "volume": _f(row.volume)}
    if row.type == "modify":
        return {"v": 1, "type": "modify", "id": id_, "seq": seq, "ts": ts, "login": row.login, "key": row.key,
                "ticket": row.ticket, "sl": _f(row.sl), "tp": _f(row.tp)}
    if row.type == "place_order":
        expiration, stoplimit = _order_times(row)
        wire = {"v": 1, "type": "place_order", "id": id_, "seq": seq, "ts": ts, "login": row.login, "key": row.key,
                "symbol": row.symbol, "order_type": row.side, "volume": _f(row.volume), "price": _f(row.price),
                "sl": _f(row.sl), "tp": _f(row.tp), "expiration": expiration, "magic": magic,
                "comment": comment_for(row.key)}
        if stoplimit:  # optional on the wire: left out at 0 (the canonical form)
            wire["stoplimit"] = stoplimit
        return wire
    if row.type == "modify_order":
        expiration, stoplimit = _order_times(row)
        wire = {"v": 1, "type": "modify_order", "id": id_, "seq": seq, "ts": ts, "login": row.login, "key": row.key,
                "ticket": row.ticket, "price": _f(row.price), "sl": _f(row.sl), "tp": _f(row.tp),
                "expiration": expiration}
        if stoplimit:
            wire["stoplimit"] = stoplimit
        return wire
    if row.type == "cancel_order":
        return {"v": 1, "type": "cancel_order", "id": id_, "seq": seq, "ts": ts, "login": row.login, "key": row.key,
                "ticket": row.ticket}
    raise ValueError(f"{row.type} commands do not travel to terminals")


def pack(wire: dict[str, Any]) -> bytes:
    """Canonical msgpack of a trusted wire map (= bridge.protocol.pack_canonical, one shared packer)."""
    return _packer.pack(wire)


def simple_wire(type_: str, id_: int, seq: int, ts: int, login: int, **body: Any) -> dict[str, Any]:
    wire = {"v": 1, "type": type_, "id": id_, "seq": seq, "ts": ts, "login": login}
    wire.update(body)
    return wire


# --- events <-> journal -----------------------------------------------------------------

EVENT_TYPES: dict[str, type] = {cls.__name__: cls for cls in (
    ev.WalletDeposited, ev.WalletWithdrawn, ev.TraderRegistered, ev.TraderCommissionChanged, ev.CommissionCapSet,
    ev.PartnerRegistered, ev.ClientAssigned, ev.Subscribe, ev.EditSettings, ev.Resume, ev.StopCopying,
    ev.TraderPositionOpened, ev.TraderPositionModified, ev.TraderPositionClosed, ev.TraderSnapshot,
    ev.CommandFilled, ev.CommandRefused, ev.CopyClosedByServer, ev.AccountUpdated, ev.PriceTick, ev.TimePassed,
    ev.TerminalOnline, ev.TerminalOffline, ev.OpenWithdrawn, ev.InvestorSnapshot, ev.CopyVanished,
    ev.RebateSet, ev.ChangeInvestment, ev.WalletTransferred, ev.TraderDisabled, ev.SuspendCopying,
    ev.CloseOneCopy, ev.CloseAllCopies, ev.SetCopySettings, *pm.PENDING_EVENTS)}


# Events and records travel as the engine persists them: one conversion rule.
plain = state_dump


def _compact_encoder() -> Callable[[Any], str]:
    """One encoder for every journal body, the bytes of `json.dumps(v, separators=(",", ":"))`.
    `json.dumps` with `separators` builds a new encoder per call (a fifth of a 3 000-refusal
    fan-out's journaling); `JSONEncoder.encode` still builds its C encoder per call (40% of a
    record's encoding): built once here. No circular-reference check: bodies are fresh trees
    of `plain` values (a cycle would raise RecursionError instead of ValueError)."""
    encoder = json.JSONEncoder(separators=(",", ":"))
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator (another interpreter): the pure-Python path, same bytes
        return encoder.encode
    chunks = make(None, encoder.default, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, True)
    join = "".join

    def compact_json(value: Any) -> str:
        return join(chunks(value, 0))

    return compact_json


compact_json = _compact_encoder()


def event_body(event: object) -> str:
    encode = _FLAT.get(type(event))
    if encode is None:
        encode = _FLAT[type(event)] = _flat_encoder(type(event))
    text = encode(event) if encode is not None else None
    return text if text is not None else compact_json(plain(event))


_ESCAPE = getattr(json.encoder, "c_encode_basestring_ascii", None) or json.encoder.encode_basestring_ascii
_FLAT: dict[type, Callable[[object], str | None] | None] = {}  # event class -> its encoder (None: generic)


def _other_json(v: Any) -> str | None:
    """What `compact_json(plain(v))` writes for a bool or a text or int enum; None for anything else."""
    if type(v) is bool:
        return "true" if v else "false"
    if isinstance(v, Enum) and type(v._value_) in (str, int):
        return _ESCAPE(v._value_) if type(v._value_) is str else str(v._value_)
    return None


def _flat_encoder(cls: type) -> Callable[[object], str | None] | None:
    """The journal JSON of an event whose fields are all leaves (ints, texts, Decimals, None,
    text enums: TraderPositionOpened, CommandFilled, ...), written by straight-line code made
    once per class: ~2 us instead of `compact_json(plain(event))`'s ~4. None from the encoder
    (a nested or UNSET value): the generic path writes that event (a test pins both equal)."""
    if not dataclasses.is_dataclass(cls):
        return None
    names = stored_fields(cls)
    lines = ["def encode(e):"]
    for i, name in enumerate(names):
        lines += [f"    v = e.{name}", "    t = type(v)",
                  f"    if t is int: s{i} = v",  # the f-string writes int's text (= json's)
                  f"    elif t is str: s{i} = escape(v)",
                  f"    elif t is Decimal: s{i} = f'\"{{v}}\"'",
                  f"    elif v is None: s{i} = 'null'",
                  f"    else:", f"        s{i} = other_json(v)", f"        if s{i} is None: return None"]
    lines.append("    return f'{{" + ",".join(f"{_ESCAPE(name)}:{{s{i}}}" for i, name in enumerate(names)) + "}}'")
    # a Decimal's text is digits, '.', 'E', signs and letters: nothing to escape
    scope: dict[str, Any] = {"escape": _ESCAPE, "Decimal": Decimal, "other_json": _other_json}
    exec(compile("\n".join(lines) + "\n", f"<journal JSON of {cls.__name__}>", "exec"), scope)  # noqa: S102
    return scope["encode"]  # type: ignore[no-any-return]


def event_from(type_name: str, body: str) -> object:
    cls = EVENT_TYPES[type_name]
    data = json.loads(body)
    if cls is ev.EditSettings:
        prot = data.pop("protection_pct", ev.UNSET)
        mode = data.pop("mode", ev.UNSET)
        event = state_load(cls, {**data, "mode": None, "protection_pct": None})
        return dataclasses.replace(event, mode=mode,  # type: ignore[type-var]
                                   protection_pct=Decimal(prot) if isinstance(prot, str) else prot)
    return state_load(cls, data)


# --- records -> feed ----------------------------------------------------------------------

def snake(name: str) -> str:
    """CopyOpened -> copy_opened, IBCredited -> ib_credited."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


_TOPICS: dict[type, str] = {}  # record class -> its feed topic (a handful of classes)


def record_topic(record: object) -> str:
    t = type(record)
    topic = _TOPICS.get(t)
    if topic is None:
        topic = _TOPICS[t] = "record." + snake(t.__name__)
    return topic


class FeedEncoder:
    """One feed item -> its two frames (docs/protocol.md §13): topic, msgpack map. A stray
    Decimal (or other non-msgpack value) travels as its exact text. One packer and the
    topics' bytes are reused: a 2 000-refusal fan-out publishes 2 000 items in one turn."""

    def __init__(self) -> None:
        self._pack = msgpack.Packer(use_bin_type=True, default=str).pack
        self._topics: dict[str, bytes] = {}

    def __call__(self, topic: str, body: dict[str, Any]) -> tuple[bytes, bytes]:
        t = self._topics.get(topic)
        if t is None:
            t = self._topics[topic] = topic.encode()
        return t, self._pack(body)


def feed_frame(topic: str, body: dict[str, Any]) -> list[bytes]:
    return list(FeedEncoder()(topic, body))


def replayed_engine(config: DaemonConfig, snapshot: bytes | str | None, events: list) -> Engine:
    """Engine = `snapshot` (or a fresh one) + `events` (journal rows: seq, now, type, body)."""
    if isinstance(snapshot, bytes):
        engine = Engine.from_bytes(snapshot, config.engine, config.rules)
    elif snapshot is not None:  # a schema 1 journal's JSON
        engine = Engine.from_state(json.loads(snapshot), config.engine, config.rules)
    else:
        engine = Engine(config.engine, config.rules)
    for _seq, _now, type_name, body in events:
        engine.handle(event_from(type_name, body))  # type: ignore[arg-type]
    return engine
