"""`mtbridge admin`: the subcommands are generated from the admin table (no daemon here).

Issue 13 §2: "`mtbridge admin ...`: a command-line back office over the admin API [...]
`--json` on every command, one-line errors with exit status 2."
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from bridge.cli import build_parser, main
from bridge.daemon import admin, admincli

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "admin_vectors.json").read_text())


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def admin_parsers() -> dict[str, argparse.ArgumentParser]:
    return _subparsers(_subparsers(build_parser())["admin"])


def test_one_subcommand_per_op_and_one_option_per_argument() -> None:
    parsers = admin_parsers()
    assert list(parsers) == [op.name.replace("_", "-") for op in admin.OPS.values()]
    for op in admin.OPS.values():
        options = {a.dest: a for a in parsers[admincli.command_name(op)]._actions}
        for arg in op.args:
            action = options["arg_" + arg.name]
            assert action.option_strings[0] == "--" + arg.name.replace("_", "-")
            assert action.required is arg.required
            assert arg.doc.split("(")[0].strip().replace("%", "%%") in action.help
        for common in ("endpoint", "server_key", "client_key", "timeout", "json", "insecure"):
            assert common in options


def _argv(op: admin.Op, args: dict) -> list[str]:
    argv = [admincli.command_name(op)]
    for name, value in args.items():
        arg = op.arg(name)
        assert arg is not None
        if arg.type == "bool":
            argv.append(("--" if value else "--no-") + name.replace("_", "-"))
        else:
            argv += ["--" + name.replace("_", "-"), "nil" if value is None else str(value)]
    return argv


@pytest.mark.parametrize("vector", [v for v in VECTORS if v["op"] in admin.OPS and v["reply"].get("ok")
                                    and v["name"] == v["op"]], ids=lambda v: v["name"])
def test_every_golden_request_round_trips_through_the_command_line(vector: dict) -> None:
    op = admin.OPS[vector["op"]]
    args = (vector["value"].get("args") or {})
    ns = build_parser().parse_args(["admin", *_argv(op, args)])
    sent = admincli.request_args(op, ns)
    assert set(sent) == set(args)  # what was left out is not sent
    from_cli = admin.parse_request({"id": 1, "op": op.name, "args": sent})
    from_vector = admin.parse_request({**vector["value"], "id": 1})
    assert isinstance(from_cli, admin.AdminRequest) and from_cli.args == from_vector.args  # type: ignore[union-attr]


def test_nil_reaches_a_nullable_argument_only() -> None:
    ns = build_parser().parse_args(["admin", "stop", "--subscription", "3", "--requester", "nil", "--close-open"])
    assert admincli.request_args(admin.OPS["stop"], ns) == {"subscription": 3, "requester": None, "close_open": True}
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["admin", "stop", "--subscription", "nil", "--requester", "x"])
    assert exc.value.code == 2


def test_bad_arguments_are_one_line_exit_2_with_the_daemon_wording(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["admin", "deposit", "--owner", "x", "--amount", "-5", "--insecure", "--endpoint", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err
    expected = admin.error_reply(admin.parse_request(  # the same table, the same words
        {"id": 1, "op": "deposit", "args": {"owner": "x", "amount": "-5"}}))  # type: ignore[arg-type]
    assert status == 2 and err.count("\n") == 1 and expected["detail"] in err
    assert main(["admin", "ping", "--endpoint", "tcp://127.0.0.1:9"]) == 2  # no keys and not --insecure
    assert "--server-key and --client-key" in capsys.readouterr().err


def test_exit_status_of_replies() -> None:
    assert admincli.exit_status({"ok": True, "refused": None}) == 0
    assert admincli.exit_status({"ok": True, "refused": {"code": "insufficient_funds", "detail": "..."}}) == 1
    assert admincli.exit_status({"ok": False, "error": "refused", "code": "x", "detail": "..."}) == 1
    assert admincli.exit_status({"ok": False, "error": "unknown_key", "detail": "..."}) == 1
    for error in admin.COMMON_ERRORS:
        assert admincli.exit_status({"ok": False, "error": error, "detail": "..."}) == 2


def test_tables_align_and_keep_decimals_as_given() -> None:
    text = admincli.table([{"owner": "inv-1", "balance": "1000.00"}, {"owner": "a", "balance": "0.5"}])
    assert text.splitlines() == ["owner  balance", "-----  -------", "inv-1  1000.00", "a          0.5"]
    reply = next(v["reply"] for v in VECTORS if v["name"] == "transfer")
    lines = admincli.render(admin.OPS["transfer"], reply).splitlines()
    assert [line.split()[0] for line in lines] == ["wallet_movement", "wallet_movement"]
    assert "amount=-100.00" in lines[0] and "kind=transfer_in" in lines[1]


def test_admin_help_has_no_internal_spec_references():
    # review (desk-and-ops, user 1 #10): help text quoted seed clauses ("seed 000", "§4.3")
    import re

    from bridge.daemon.admin_table import OPS

    texts = [op.doc for op in OPS.values()] + [a.doc for op in OPS.values() for a in op.args]
    assert not [t for t in texts if re.search(r"seed 0\d\d|§", t)]


def _sent_ids(argv: list[str], capsys: pytest.CaptureFixture[str]) -> list[object]:
    """The ids `mtbridge admin ARGV --endpoint E` sends, to a stand-in daemon that answers ok."""
    import threading

    import msgpack
    import zmq

    ctx = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    sock.linger = 0
    sock.bind("tcp://127.0.0.1:*")
    seen: list[object] = []

    def serve() -> None:
        ident, frame = sock.recv_multipart()
        seen.append(msgpack.unpackb(frame, raw=False)["id"])
        sock.send_multipart([ident, msgpack.packb({"id": seen[-1], "ok": True, "pong": True})])

    t = threading.Thread(target=serve)
    t.start()
    try:
        assert main(["admin", *argv, "--insecure", "--endpoint", sock.getsockopt_string(zmq.LAST_ENDPOINT)]) == 0
    finally:
        t.join()
        sock.close(0)
        ctx.term()
    capsys.readouterr()
    return seen


def test_a_request_s_id_is_its_idempotency_token_given_by_id_or_a_new_uuid(capsys: pytest.CaptureFixture[str]) -> None:
    """docs/scaling.md: "A *text* request id is the client's idempotency token (a UUID, say)"."""
    import uuid

    assert _sent_ids(["ping", "--id", "sub-2026-12-02-0007"], capsys) == ["sub-2026-12-02-0007"]
    (fresh,) = _sent_ids(["ping"], capsys)
    assert isinstance(fresh, str) and str(uuid.UUID(fresh)) == fresh
    for bad in ("x" * (admin.MAX_ID_TEXT + 1), "", "  "):
        with pytest.raises(SystemExit) as exc:
            build_parser().parse_args(["admin", "ping", "--id", bad])
        assert exc.value.code == 2
    assert build_parser().parse_args(["admin", "ping", "--id", "x" * admin.MAX_ID_TEXT]).id == "x" * admin.MAX_ID_TEXT
