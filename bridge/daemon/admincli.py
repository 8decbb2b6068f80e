"""`mtbridge admin OP ...`: the back office on the command line, over the daemon's admin API.

The subcommands and their options are generated from the admin table (`admin.OPS`): one
subcommand per op (`register_trader` -> `register-trader`), one option per argument
(`commission_pct` -> `--commission-pct`), required where the table requires it, the table's
rule as its help. An option left out is not sent (the daemon applies the table's default).
A nullable argument takes the word `nil`. Every request is checked against the same table
before it is sent (`AdminClient.build`), so the CLI cannot drift from the API.

Exit status: 0 done; 1 the daemon turned the request down (an engine refusal: `refused` in
an `ok: true` reply, or `ok: false` with `refused` / `unknown_key`); 2 the request was never
considered (bad arguments, checked here or by the daemon; a forbidden key; no reply in
`--timeout`; unreadable key files). Errors are one line on stderr. docs/operations.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from bridge.daemon import admin

ENV_ENDPOINT = "MTBRIDGE_ADMIN_ENDPOINT"
ENV_SERVER_KEY = "MTBRIDGE_SERVER_KEY"
ENV_CLIENT_KEY = "MTBRIDGE_ADMIN_KEY"
EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
NIL = "nil"
_PREFIX = "arg_"  # argparse dest of a table argument: arg_<name>
#: `ok: false` errors that are a decision of the daemon on a well-formed request, not a usage error
_REFUSAL_ERRORS = (admin.REFUSED, admin.UNKNOWN_KEY)


def command_name(op: admin.Op) -> str:
    return op.name.replace("_", "-")


def option_name(arg: admin.Arg) -> str:
    return "--" + arg.name.replace("_", "-")


# --- the table -> argparse -------------------------------------------------------------------------
def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register `admin` and one subcommand per op of the admin table."""
    p = commands.add_parser(
        "admin", help="back office on the command line: the daemon's admin API, one subcommand per op",
        description="Call the daemon's admin API (docs/protocol.md §14). One subcommand per op; options and their "
                    "rules come from the API's own table. Exit status: 0 done, 1 refused by the engine, 2 usage or "
                    f"connection error. Connection options may also come from ${ENV_ENDPOINT}, ${ENV_SERVER_KEY} "
                    f"and ${ENV_CLIENT_KEY}.",
        epilog="example: mtbridge admin deposit --endpoint tcp://127.0.0.1:5572 --server-key keys/server.pub "
               "--client-key keys/backoffice.key --owner inv-1 --amount 1000.00",
    )
    common = connection_options()
    ops = p.add_subparsers(dest="admin_op", metavar="OP", parser_class=type(p))
    for op in admin.OPS.values():
        add_op(ops, op, common)
    p.set_defaults(handler=run_admin, admin_parser=p)


def connection_options() -> argparse.ArgumentParser:
    """The options every subcommand takes (a parent parser, so they may follow the op)."""
    c = argparse.ArgumentParser(add_help=False)
    g = c.add_argument_group("connection and output")
    g.add_argument("--endpoint", metavar="ADDRESS", default=os.environ.get(ENV_ENDPOINT),
                   help=f"the daemon's admin endpoint, e.g. tcp://127.0.0.1:5572 (daemon.admin; or ${ENV_ENDPOINT})")
    g.add_argument("--server-key", metavar="KEY", default=os.environ.get(ENV_SERVER_KEY),
                   help=f"the daemon's CURVE public key: 40 Z85 characters or a key file (or ${ENV_SERVER_KEY})")
    g.add_argument("--client-key", metavar="FILE", default=os.environ.get(ENV_CLIENT_KEY),
                   help="this back office's key pair file, role admin on the daemon's allow-list: mtbridge keys "
                        f"terminal NAME --role admin --out DIR --allow-list allow.toml (or ${ENV_CLIENT_KEY})")
    g.add_argument("--insecure", action="store_true", help="plain text (a daemon started with --insecure)")
    g.add_argument("--timeout", type=_seconds, default=10.0, metavar="S", help="wait at most S seconds (default 10)")
    g.add_argument("--json", action="store_true", help="print the daemon's reply map as JSON")
    g.add_argument("--shard", metavar="NAME", help="daemons sharded by trader: the shard the request is for, where "
                   "its arguments do not say it (a subscription id, a wallet, a shard's lists); any daemon of the "
                   "cluster routes the request to that shard's owner (docs/scaling.md)")
    g.add_argument("--id", type=_request_id, metavar="TEXT", help="the request's id, its idempotency token (text, 1-"
                   f"{admin.MAX_ID_TEXT} characters; default a new UUID): send a request again with the same --id "
                   "(after a timeout, say) and a cluster ledger moves its money once (docs/scaling.md)")
    return c


def add_op(ops: argparse._SubParsersAction, op: admin.Op, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    what = f"engine event {op.event.__name__}" if op.event is not None else "a query, changes nothing"
    refusals = f" Refusals (exit 1): {', '.join(op.refusals)}." if op.refusals else ""
    sp = ops.add_parser(command_name(op), parents=[common], help=op.doc,
                        description=f"{op.doc[0].upper()}{op.doc[1:]} ({what}).{refusals}")
    for a in op.args:
        add_argument(sp, a)
    sp.set_defaults(admin_op=op.name)
    return sp


def add_argument(parser: argparse.ArgumentParser, arg: admin.Arg) -> None:
    rule = arg.rule().replace("%", "%%")
    if arg.required:
        default = ""
    elif arg.default is None:
        default = "; default nil"
    elif isinstance(arg.default, type(admin.ev.UNSET)):
        default = "; absent: unchanged"
    else:
        value = getattr(arg.default, "value", arg.default)
        default = f"; default {json.dumps(value)}"
    help_text = f"{arg.doc.replace('%', '%%')} [{rule}{default}]"
    kw: dict[str, Any] = {"dest": _PREFIX + arg.name, "default": argparse.SUPPRESS, "help": help_text}
    if arg.required:
        kw["required"] = True
    if arg.type == "bool":
        parser.add_argument(option_name(arg), action=argparse.BooleanOptionalAction, **kw)
        return
    kw["type"] = value_parser(arg)
    kw["metavar"] = {"uint": "N", "int": "N", "decimal": "DECIMAL", "enum": "|".join(arg.choices)}.get(arg.type,
                                                                                                         "TEXT")
    if arg.nullable:
        kw["metavar"] += "|nil"
    parser.add_argument(option_name(arg), **kw)


def value_parser(arg: admin.Arg) -> Any:
    """The text of one option -> the wire value. Whole numbers become ints; decimals stay exact
    text; `nil` is None where the table allows it. The table's own rule is checked later on
    the whole request (`AdminClient.build`), with the daemon's wording."""

    def parse(text: str) -> object:
        if arg.nullable and text == NIL:
            return None
        if arg.type in ("uint", "int"):
            try:
                return int(text, 10)
            except ValueError:
                raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if arg.type == "enum" and text not in arg.choices:
            raise argparse.ArgumentTypeError(f"{text!r}: must be one of {', '.join(arg.choices)}")
        return text

    parse.__name__ = arg.type  # argparse names the type in its messages
    return parse


def _request_id(text: str) -> str:
    """The admin API's text id (at most MAX_ID_TEXT characters); blank is a mistake, not a token."""
    if not text.strip() or len(text) > admin.MAX_ID_TEXT:
        raise argparse.ArgumentTypeError(f"must be text of 1-{admin.MAX_ID_TEXT} characters, got {len(text)}")
    return text


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"{text} must be above 0 and at most 3600")
    return value


def request_args(op: admin.Op, ns: argparse.Namespace) -> dict[str, object]:
    """The arguments given on the command line (an absent option is not sent)."""
    return {a.name: getattr(ns, _PREFIX + a.name) for a in op.args if hasattr(ns, _PREFIX + a.name)}


# --- running -----------------------------------------------------------------------------------
class _Fail(Exception):
    def __init__(self, line: str, status: int = EXIT_USAGE) -> None:
        super().__init__(line)
        self.status = status


def run_admin(args: argparse.Namespace) -> int:
    if not getattr(args, "admin_op", None):
        args.admin_parser.print_help(sys.stderr)
        return EXIT_USAGE
    op = admin.OPS[args.admin_op]
    name = f"mtbridge admin {command_name(op)}"
    try:
        reply = call(op, args)
    except _Fail as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        return exc.status
    status = exit_status(reply)
    if args.json:
        print(json.dumps(reply, indent=2, ensure_ascii=False, default=str))
    elif status == EXIT_OK:
        print(render(op, reply))
    line = problem_line(reply)
    if line:
        print(f"{name}: {line}", file=sys.stderr)
    return status


def call(op: admin.Op, args: argparse.Namespace) -> dict:
    from bridge.daemon.adminclient import AdminArgsError, AdminClient, admin_keys

    try:
        request = AdminClient.build(op.name, getattr(args, "id", None) or str(uuid.uuid4()), **request_args(op, args))
    except AdminArgsError as exc:
        raise _Fail(_error_text(admin.error_reply(exc.error))) from None
    if getattr(args, "shard", None):
        request["shard"] = args.shard
    if not args.endpoint:
        raise _Fail(f"--endpoint ADDRESS is required (the daemon's admin endpoint; or ${ENV_ENDPOINT})")
    curve = None
    if not args.insecure:
        if not args.server_key or not args.client_key:
            raise _Fail("--server-key and --client-key (an admin key pair on the daemon's allow-list) are required, "
                        "or --insecure for a daemon started with --insecure")
        try:
            curve = admin_keys(args.server_key, args.client_key)
        except ValueError as exc:
            raise _Fail(str(exc)) from None
    try:
        with AdminClient(args.endpoint, curve) as client:
            return client.request(request, args.timeout)
    except TimeoutError:
        # A CURVE handshake the daemon refuses (wrong server key, a key not of role admin) is silence too.
        hint = "" if args.insecure else (", is --server-key the daemon's and --client-key an admin key on its "
                                         "allow-list")
        raise _Fail(f"no reply from {args.endpoint} in {args.timeout:g} s: is the daemon running there{hint}?") \
            from None
    except Exception as exc:  # noqa: BLE001 - a malformed endpoint is zmq's error: one line
        raise _Fail(f"cannot reach {args.endpoint}: {exc}") from None


def exit_status(reply: dict) -> int:
    if not reply.get("ok"):
        return EXIT_REFUSED if reply.get("error") in _REFUSAL_ERRORS else EXIT_USAGE
    return EXIT_REFUSED if reply.get("refused") else EXIT_OK


def problem_line(reply: dict) -> str:
    """The one stderr line of a reply that is not a success ("" for a success)."""
    if not reply.get("ok"):
        return ("refused: " if reply.get("error") in _REFUSAL_ERRORS else "error: ") + _error_text(reply)
    refused = reply.get("refused")
    if refused:
        return f"refused: {refused.get('code')}: {refused.get('detail')}"
    return ""


def _error_text(reply: dict) -> str:
    code = f" {reply['code']}" if reply.get("code") else ""
    where = f" [{reply['field']}]" if reply.get("field") else ""
    return f"{reply.get('error')}{code}: {reply.get('detail')}{where}"


# --- human output ----------------------------------------------------------------------------------
def render(op: admin.Op, reply: dict) -> str:
    if "records" in reply:
        return render_records(reply["records"])
    if op.name == "status":
        return render_status(reply)
    if op.name == "copies":
        rows = [{"subscription": sub, "trader_ticket": t, **copy}
                for sub, copies in reply.get("copies", {}).items() for t, copy in copies.items()]
        return table(rows) if rows else "no copies"
    if op.name == "get_copy_settings":
        return render_copy_settings(reply)
    if op.name == "ping":
        now = reply.get("now", 0)
        stamp = datetime.fromtimestamp(now / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        return f"pong: daemon clock {stamp} UTC ({now} ms)"
    lists = [f.name for f in op.reply if f.type.startswith("array of maps")]
    if lists:
        rows = reply.get(lists[0]) or []
        out = table(rows) if rows else f"no {lists[0]}"
        if reply.get("more"):
            last = next(iter(rows[-1].values()))
            out += f"\n(more: ask again with --after {last})"
        return out
    return "\n".join(f"{k}: {_cell(v)}" for k, v in reply.items() if k not in ("id", "ok"))


def render_copy_settings(reply: dict) -> str:
    """A subscription's copy settings, one per line, the ones changed from the seed's terms marked."""
    changed = reply.get("changed") or {}
    settings = reply.get("settings") or {}
    width = max((len(k) for k in settings), default=0)
    head = (f"subscription {reply.get('subscription')}: mode {reply.get('mode')}, "
            + (f"{len(changed)} setting(s) changed from the seed's terms (*)" if changed else "the seed's terms"))

    def shown(v: object) -> str:
        if isinstance(v, dict):
            return ", ".join(f"{a}={b}" for a, b in v.items()) or "-"
        if isinstance(v, list):
            return ", ".join(map(str, v)) or "-"
        return "-" if v == "" else _cell(v)

    return "\n".join([head, *(f"{'*' if k in changed else ' '} {k:<{width}}  {shown(v)}" for k, v in settings.items())])


def render_records(records: Sequence[dict]) -> str:
    """One line per engine record: its name, then its fields as key=value (decimals as given)."""
    if not records:
        return "done (no records)"
    lines = []
    for r in records:
        name = str(r.get("topic", "")).removeprefix("record.")
        fields = " ".join(f"{k}={_cell(v)}" for k, v in r.items() if k not in ("topic", "now") and v is not None)
        lines.append(f"{name:<24} {fields}".rstrip())
    return "\n".join(lines)


def render_status(reply: dict) -> str:
    sessions = reply.get("sessions") or []
    head = [f"sessions          {len(sessions)}" + (f"  ({', '.join(map(str, sessions[:20]))}"
                                                    f"{', ...' if len(sessions) > 20 else ''})" if sessions else ""),
            f"connections       {reply.get('connections')}",
            f"pending commands  {reply.get('pending_commands')}",
            f"journal seq       {reply.get('journal_seq')}"]
    subs = [{"subscription": k, **v} for k, v in (reply.get("subscriptions") or {}).items()]
    return "\n".join(head) + "\n\n" + (table(subs) if subs else "no subscriptions")


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _numeric(text: str) -> bool:
    body = text.removeprefix("-")
    return text != "-" and bool(body) and body.replace(".", "", 1).isdigit()


def table(rows: Sequence[dict]) -> str:
    """Rows of maps -> an aligned text table: the first row's keys as columns; numbers
    right-aligned, exactly as the daemon wrote them."""
    columns = list(rows[0])
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    right = [all(_numeric(row[i]) or row[i] == "-" for row in cells) for i in range(len(columns))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right)).rstrip()

    return "\n".join([line(columns), line(["-" * w for w in widths]), *(line(row) for row in cells)])
