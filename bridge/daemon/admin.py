"""The back-office (admin) API as data: docs/protocol.md section 14.

`OPS` (in `admin_table`, re-exported here) is the table of every request the admin endpoint
answers: per op its arguments (name, wire type, bounds, required or default), the reply
fields and the error codes, each with a
one-line doc. Everything else reads the table: `parse_request` validates a request against
it, the doc's op reference and the golden vectors (tests/vectors/generate_admin.py) are
rendered from it, so a client author never has to read a Python `TypeError`.

Pure: no sockets, no clock. The daemon's `on_admin` is

    authorise -> parse_request -> run(request, core, now) -> reply map

where `core` is anything that satisfies `AdminCore` (the daemon core, once wired; until then
`CoreAdapter` in tests/vectors/generate_admin.py), so this module imports nothing from
`bridge.daemon.core`. The shell decodes the frame with `decode_frame`
(same size limit as the terminal socket) and hands the result, value or error, to `on_admin`:

    def on_admin(self, request, key_name, now, mono_ns=None) -> dict:
        ...                                   # now, mono
        if not <key_name is an admin key>:    # log and publish auth.admin_refused, admin.peek(request)
            return admin.forbidden(request)
        parsed = admin.parse_request(request)
        if isinstance(parsed, admin.AdminError):
            return admin.error_reply(parsed)
        return admin.run(parsed, self, now)

A reply with `ok: false` means the request did not reach the engine (nothing journaled),
except `refused`: the engine raised a `DomainError` on the event. A request the
engine turns down by rule is journaled and answered `ok: true` with its `record.refused`
(also summarised in `refused`): refusals are records, not errors (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

import msgpack

from bridge.copytrading import events as ev
from bridge.copytrading.records import Refused
from bridge.daemon import admin_queries as queries
from bridge.daemon import wire
from bridge.daemon.admin_table import (  # noqa: F401 - the table's names are this module's API too
    FRAME_TOO_LARGE, NOT_MSGPACK, LIMIT_EXCEEDED, BAD_REQUEST, FORBIDDEN, UNKNOWN_OP, BAD_ARGS, UNKNOWN_KEY,
    UNKNOWN_SUBSCRIPTION, REFUSED, ERRORS, COMMON_ERRORS, MAX_ENTRIES, MAX_ARGS, MAX_ID_TEXT, MAX_OP_TEXT, ID_TEXT, UINT_MAX,
    INT_MIN, DEC_INT_DIGITS, DEC_PLACES, _SHOW, _DECIMAL_TEXT, ENVELOPE, Arg, Field, Op, OPS)
from bridge.domain.errors import DomainError
from bridge.domain.money import to_decimal
from bridge.protocol.codec import is_limit_error


# --- requests and errors as values -----------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AdminError:
    """An `ok: false` reply as data. `field`: `id` / `op` / `args` / `args.NAME`, or ""."""

    id: object
    error: str
    detail: str
    field: str = ""
    code: str = ""  # refused: the engine's code


@dataclass(frozen=True, slots=True)
class AdminRequest:
    id: object
    op: Op
    args: Mapping[str, object] = field(default_factory=dict)  # every argument, converted, defaults in

    def event(self, now: int) -> ev.Event:
        """The engine event, stamped `now` (the daemon's clock). Only for ops with an event."""
        assert self.op.event is not None, self.op.name
        return self.op.event(now=now, **self.args)  # type: ignore[no-any-return]


def decode_frame(frame: bytes, max_frame_size: int) -> object:
    """The raw admin frame -> the request value, or an AdminError. Same size limit as the
    terminal socket; maps and arrays are capped before they are built."""
    if len(frame) > max_frame_size:
        return AdminError(None, FRAME_TOO_LARGE, f"frame of {len(frame)} bytes > limit {max_frame_size}")
    try:
        return msgpack.unpackb(frame, raw=False, strict_map_key=False, max_str_len=max_frame_size,
                               max_bin_len=max_frame_size, max_ext_len=max_frame_size,
                               max_array_len=MAX_ENTRIES, max_map_len=MAX_ENTRIES)
    except ValueError as exc:  # msgpack's limit errors are ValueErrors naming the limit
        if is_limit_error(exc):
            return AdminError(None, LIMIT_EXCEEDED, f"a map or array has more than {MAX_ENTRIES} entries")
        return _not_msgpack(exc)
    except Exception as exc:  # noqa: BLE001 - any undecodable frame is the peer's error, never ours
        return _not_msgpack(exc)


def _not_msgpack(exc: Exception) -> AdminError:
    why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return AdminError(None, NOT_MSGPACK, _short(f"not one valid msgpack value ({why})", 200))


def parse_request(request: object) -> AdminRequest | AdminError:
    """Validate `{id, op, args}` against `OPS`. The first problem wins, in this order: the
    envelope, the op, unknown argument names, missing required ones (table order), each
    value (table order). An AdminError (from `decode_frame`) passes through unchanged."""
    if isinstance(request, AdminError):
        return request
    if not isinstance(request, dict):
        return AdminError(None, BAD_REQUEST, f"expected a map {{id, op, args}}, got {_type(request)}")
    rid = request.get("id")
    if not _valid_id(rid):
        return AdminError(None, BAD_REQUEST, f"id: must be nil, a whole number or text of at most {MAX_ID_TEXT} "
                                             f"characters, got {_show(rid)}", "id")
    for key in request:
        if key not in ENVELOPE:
            return AdminError(rid, BAD_REQUEST, f"unknown field {_show(key)} (known: id, op, args)",
                              key[:_SHOW] if isinstance(key, str) else "")
    op_name = request.get("op")
    if not isinstance(op_name, str) or not op_name:
        return AdminError(rid, BAD_REQUEST, f"op: must be text, got {_show(op_name)}", "op")
    op = OPS.get(op_name)
    if op is None:
        return AdminError(rid, UNKNOWN_OP, f"unknown op {_show(op_name)} (known: {', '.join(OPS)})", "op")
    args = request.get("args")
    if args is None:
        args = {}
    if not isinstance(args, dict):
        return AdminError(rid, BAD_REQUEST, f"args: must be a map, got {_type(args)}", "args")
    if len(args) > MAX_ARGS:
        return AdminError(rid, BAD_ARGS, f"args: at most {MAX_ARGS} entries, got {len(args)}", "args")
    unknown = [k for k in args if not isinstance(k, str) or op.arg(k) is None]
    if unknown:
        known = ", ".join(a.name for a in op.args) or "none"
        names = ", ".join(_show(k) for k in unknown[:8]) + (", ..." if len(unknown) > 8 else "")
        return AdminError(rid, BAD_ARGS, f"{op.name}: unknown argument {names} (known: {known})", "args")
    for a in op.args:
        if a.required and a.name not in args:
            return AdminError(rid, BAD_ARGS, f"args.{a.name}: required ({a.rule()})", f"args.{a.name}")
    out: dict[str, object] = {}
    for a in op.args:
        if a.name not in args:
            out[a.name] = a.default
            continue
        value = convert(a, args[a.name])
        if isinstance(value, _Bad):
            why = f" ({value.why})" if value.why else ""
            return AdminError(rid, BAD_ARGS, f"args.{a.name}: must be {a.rule()}, got {_show(args[a.name])}{why}",
                              f"args.{a.name}")
        out[a.name] = value
    return AdminRequest(rid, op, out)


@dataclass(frozen=True, slots=True)
class _Bad:
    why: str = ""  # what, beyond the rule, is wrong (e.g. too many decimal places)


_BAD = _Bad()


def convert(arg: Arg, value: object) -> object:
    """One wire value -> the engine's value, or `_BAD`. Exact: floats go through `repr`."""
    if value is None:
        return None if arg.nullable else _BAD
    kind = arg.type
    if kind == "bool":
        return value if isinstance(value, bool) else _BAD
    if kind in ("uint", "int"):
        if isinstance(value, bool) or not isinstance(value, int):
            return _BAD
        return value if arg.low <= value <= arg.high else _BAD
    if kind in ("text", "enum"):
        if not isinstance(value, str) or len(value) > arg.max_len or (not value and not arg.empty):
            return _BAD
        if arg.enum is None:
            return value
        return arg.enum(value) if value in arg.choices else _BAD
    return _decimal(arg, value)


def _decimal(arg: Arg, value: object) -> object:
    if isinstance(value, str) and (len(value) > 40 or not _DECIMAL_TEXT.match(value)):
        return _BAD  # plain ASCII notation only: Decimal() would also take "1_0", " 1" or other digits
    if not isinstance(value, (str, int, float)):
        return _BAD
    try:
        d = to_decimal(value)  # bools refused; floats via repr
    except DomainError:
        return _BAD
    places = -d.as_tuple().exponent  # type: ignore[operator]
    if d and places > DEC_PLACES:
        return _Bad(f"{places} decimal places, at most {DEC_PLACES}")
    if d and d.adjusted() >= DEC_INT_DIGITS:
        return _Bad(f"at most {DEC_INT_DIGITS} digits before the point")
    if arg.minimum is not None and (d <= arg.minimum if arg.above else d < arg.minimum):
        return _BAD
    if arg.maximum is not None and d > arg.maximum:
        return _BAD
    return d


# --- running a request ------------------------------------------------------------------------
class AdminCore(Protocol):
    """What `run` needs from the daemon core."""

    def feed_engine(self, event: ev.Event) -> Sequence[object]:
        """Journal and run `event`; every record of the step (follow-up events the core feeds
        itself included, e.g. balance operations it confirms), in order. May raise DomainError."""
        ...

    def balance_result(self, key: str, ok: bool, retcode: int, message: str) -> Sequence[object] | None:
        """Book the back office's answer for the pending balance operation `key`; its step's
        records, or None if no pending balance operation has that key (nothing done)."""
        ...

    def status(self) -> dict: ...

    def copy_map(self) -> dict: ...

    @property
    def now(self) -> int: ...

    @property
    def engine(self) -> Any:
        """The engine, read-only, for the list queries (admin_queries.py)."""
        ...


def run(request: AdminRequest, core: AdminCore, now: int) -> dict:
    """Carry out a parsed request on `core` at `now` -> the reply map."""
    op = request.op
    try:
        if op.event is None:
            return _QUERIES[op.name](request, core)
        records = core.feed_engine(request.event(now))
    except DomainError as err:
        return error_reply(AdminError(request.id, REFUSED, err.detail, code=err.code))
    refusal = next((r for r in records if type(r) is Refused and r.request == op.name), None)
    refused = None if refusal is None else {"code": refusal.code, "detail": refusal.detail}
    return ok_reply(request.id, records=record_maps(records), refused=refused)


def _balance_result(request: AdminRequest, core: AdminCore) -> dict:
    key, ok, retcode, message = (request.args[k] for k in ("key", "ok", "retcode", "message"))
    records = core.balance_result(key, ok, retcode, message)  # type: ignore[arg-type]
    if records is None:
        return error_reply(AdminError(request.id, UNKNOWN_KEY, f"no pending balance operation {_show(key)}",
                                      "args.key"))
    return ok_reply(request.id, records=record_maps(records))


def _get_copy_settings(request: AdminRequest, core: AdminCore) -> dict:
    sub = request.args["subscription"]
    found = queries.copy_settings(core.engine, sub)  # type: ignore[arg-type]
    if found is None:
        return error_reply(AdminError(request.id, UNKNOWN_SUBSCRIPTION, f"no subscription {sub}",
                                      "args.subscription"))
    return ok_reply(request.id, **found)


# The ops that are not engine events (every op is one or the other; a test checks).
_QUERIES = {
    "get_copy_settings": _get_copy_settings,
    "balance_result": _balance_result,
    "status": lambda request, core: ok_reply(request.id, **core.status()),
    "copies": lambda request, core: ok_reply(request.id, copies=core.copy_map()),
    "ping": lambda request, core: ok_reply(request.id, now=core.now),
    "list_traders": lambda request, core: ok_reply(request.id, **queries.list_traders(
        core.engine, request.args["after"], request.args["limit"])),  # type: ignore[arg-type]
    "list_subscriptions": lambda request, core: ok_reply(request.id, **queries.list_subscriptions(
        core.engine, *(request.args[k] for k in ("after", "limit", "trader", "investor", "live")))),  # type: ignore[arg-type]
    "wallet": lambda request, core: ok_reply(request.id, **queries.wallets(
        core.engine, *(request.args[k] for k in ("owner", "after", "limit")))),  # type: ignore[arg-type]
}


def handle(request: object, core: AdminCore, now: int) -> dict:
    """parse_request + run, for a caller that has already authorised the key."""
    parsed = parse_request(request)
    if isinstance(parsed, AdminError):
        return error_reply(parsed)
    return run(parsed, core, now)


# --- replies --------------------------------------------------------------------------------
def ok_reply(rid: object, **fields: object) -> dict:
    return {"id": rid, "ok": True, **fields}


def error_reply(err: AdminError) -> dict:
    """`{id, ok: false, error, detail}` + `field` (where one is to blame) + `code` (refused)."""
    out: dict[str, object] = {"id": err.id, "ok": False, "error": err.error, "detail": err.detail}
    if err.field:
        out["field"] = err.field
    if err.code:
        out["code"] = err.code
    return out


def forbidden(request: object) -> dict:
    """The reply to a key that may not use the admin endpoint (the core decides and logs)."""
    return error_reply(AdminError(peek(request)[0], FORBIDDEN, "admin role required"))


def peek(request: object) -> tuple[object, str]:
    """(id, op) of a request as far as they are valid, for replies and logs before parsing."""
    if not isinstance(request, dict):
        return None, ""
    rid, op = request.get("id"), request.get("op")
    return (rid if _valid_id(rid) else None), (op[:MAX_OP_TEXT] if isinstance(op, str) else "")


def record_maps(records: Sequence[object]) -> list[dict]:
    """Engine records -> reply maps: the feed's topic plus the record's persisted fields."""
    return [{"topic": wire.record_topic(r), **wire.plain(r)} for r in records]  # type: ignore[dict-item]


# --- small helpers -----------------------------------------------------------------------------
def _valid_id(rid: object) -> bool:
    if rid is None or isinstance(rid, str) and len(rid) <= MAX_ID_TEXT:
        return True
    return isinstance(rid, int) and not isinstance(rid, bool) and INT_MIN <= rid <= 2**64 - 1


def _type(value: object) -> str:
    return {dict: "a map", list: "an array", str: "text", bytes: "binary", bool: "a bool", int: "a whole number",
            float: "a float", type(None): "nil"}.get(type(value), type(value).__name__)


def _show(value: object) -> str:
    """A bad value as a detail shows it: JSON-like, cut to a readable length."""
    if isinstance(value, str):
        return _short('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"', _SHOW)
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return _short(repr(value), _SHOW)
    return _type(value)


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."
